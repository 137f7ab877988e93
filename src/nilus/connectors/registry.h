#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "nilus/connectors/connector.h"

namespace nilus {

using SourceFactory = std::function<Result<std::unique_ptr<Source>>(const Uri&)>;
using DestinationFactory = std::function<Result<std::unique_ptr<Destination>>(const Uri&)>;

/// Maps address schemes to connector factories. Filled by `RegisterBuiltinConnectors`, one
/// explicit list; registering a scheme twice is an error.
class ConnectorRegistry {
 public:
  Status AddSource(const std::string& scheme, SourceFactory factory);
  Status AddDestination(const std::string& scheme, DestinationFactory factory);

  Result<std::unique_ptr<Source>> OpenSource(const Uri& uri) const;
  Result<std::unique_ptr<Destination>> OpenDestination(const Uri& uri) const;
  /// Checks that a scheme has a source (or destination) without opening anything.
  Status CheckSource(const Uri& uri) const;
  Status CheckDestination(const Uri& uri) const;

  /// The registry with every connector built into this binary.
  static const ConnectorRegistry& Builtin();

 private:
  std::map<std::string, SourceFactory> sources_;
  std::map<std::string, DestinationFactory> destinations_;
};

}  // namespace nilus
