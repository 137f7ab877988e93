#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nilus/connectors/registry.h"
#include "nilus/core/options.h"
#include "nilus/manifest/cron.h"

namespace nilus {

/// A source or sink as written: its address and options, with where each came from.
struct EndpointSpec {
  std::string address;
  std::string where;  ///< "file:line:col" of the address, or "flag --source-uri"
  std::vector<RawOption> options;
};

/// What a scheduled run does while an earlier run of the same workflow is still running.
enum class ConcurrencyPolicy {
  kAllow,    ///< runs beside it (the pipeline's lock makes the later load wait for the earlier one)
  kForbid,   ///< is skipped
  kReplace,  ///< stops it (its load rolls back), then runs
};

/// `workflow.schedule`: when `nilus serve --manifests` runs a workflow.
struct WorkflowSchedule {
  CronSchedule cron;
  std::optional<SystemTime> end_on;  ///< no run starts after it
  ConcurrencyPolicy policy = ConcurrencyPolicy::kAllow;
};

/// The pipelines of one manifest, in the order they run.
struct Manifest {
  std::string path;
  std::string name;       ///< the manifest's name: for a file without one, its stem
  std::string kind;       ///< workflow, service or stackSpec
  std::string log_level;  ///< from logLevel, empty when not set
  std::optional<WorkflowSchedule> schedule;
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
