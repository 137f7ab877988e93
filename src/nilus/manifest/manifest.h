#pragma once

#include <string>
#include <vector>

#include "nilus/connectors/registry.h"
#include "nilus/core/options.h"

namespace nilus {

/// A source or sink as written: its address and options, with where each came from.
struct EndpointSpec {
  std::string address;
  std::string where;  ///< "file:line:col" of the address, or "flag --source-uri"
  std::vector<RawOption> options;
};

/// The pipelines of one manifest, in the order they run.
struct Manifest {
  std::string path;
  std::string kind;       ///< workflow, service or stackSpec
  std::string log_level;  ///< from logLevel, empty when not set
  std::string schedule;   ///< the workflow's cron expression, empty when none
  std::vector<Pipeline> pipelines;
};

/// Reads, interpolates and validates a manifest in any of the three shapes of DESIGN §1.1
/// (workflow, service, bare stackSpec). Errors name the file, line and column.
Result<Manifest> LoadManifest(const std::string& path, const ConnectorRegistry& registry);

/// Turns a source and a sink as written into a validated pipeline: `{NAME}` placeholders are
/// replaced from the environment, `dataos://NAME` addresses resolved through the depot file,
/// options checked, schemes looked up. Used by manifests and by `nilus ingest`.
Result<Pipeline> ResolvePipeline(const std::string& name, const EndpointSpec& source, const EndpointSpec& sink,
                                 const ConnectorRegistry& registry);

/// Resolves an address as written: `dataos://NAME` through the depot file, then `{NAME}`
/// placeholders; `where` says where it was written, for errors.
Result<Uri> ResolveAddress(const std::string& address, const std::string& where);

/// Replaces `{NAME}` with the environment variable NAME (`{{` is a literal brace). A missing
/// variable is an error naming it and `where`. Values are not secrets by themselves: those that
/// fill a secret's place (an address's password, a `password=` or `token=` parameter, an option
/// named so) are registered where they are parsed.
Result<std::string> Interpolate(const std::string& text, const std::string& where);

}  // namespace nilus
