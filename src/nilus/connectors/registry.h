#pragma once

#include <functional>
#include <map>
#include <memory>
#include <stop_token>
#include <string>

#include "nilus/connectors/connector.h"

namespace nilus {

/// Opens a connector for one run; its work stops when `stop` is requested.
using SourceFactory = std::function<Result<std::unique_ptr<Source>>(const Uri&, std::stop_token stop)>;
using DestinationFactory = std::function<Result<std::unique_ptr<Destination>>(const Uri&, std::stop_token stop)>;

/// What a source can do beyond reading, so manifests can be validated without connecting.
struct SourceTraits {
  /// `Source::PrimaryKey` reads the key from the source's catalog, so `merge` needs none given.
  bool discovers_primary_key = false;
};

/// Maps address schemes to connector factories. Filled by `RegisterBuiltinConnectors`, one
/// explicit list; registering a scheme twice is an error.
class ConnectorRegistry {
 public:
  Status AddSource(const std::string& scheme, SourceFactory factory, SourceTraits traits = {});
  Status AddDestination(const std::string& scheme, DestinationFactory factory);

  Result<std::unique_ptr<Source>> OpenSource(const Uri& uri, std::stop_token stop = {}) const;
  Result<std::unique_ptr<Destination>> OpenDestination(const Uri& uri, std::stop_token stop = {}) const;
  /// Checks that a scheme has a source (or destination) without opening anything.
  Status CheckSource(const Uri& uri) const;
  Status CheckDestination(const Uri& uri) const;
  /// The traits of the source for `uri` (defaults for an unknown scheme).
  SourceTraits Traits(const Uri& uri) const;

  /// The registry with every connector built into this binary.
  static const ConnectorRegistry& Builtin();

 private:
  std::map<std::string, SourceFactory> sources_;
  std::map<std::string, SourceTraits> traits_;
  std::map<std::string, DestinationFactory> destinations_;
};

}  // namespace nilus
