#include "nilus/connectors/registry.h"

#include <vector>

#include "nilus/connectors/files/files_source.h"
#include "nilus/connectors/postgres/postgres_connector.h"
#include "nilus/connectors/sqlite/sqlite_connector.h"
#include "nilus/core/strings.h"

namespace nilus {

namespace {

/// The one list of built-in connectors. Adding a connector adds one line here.
Status RegisterBuiltinConnectors(ConnectorRegistry& registry) {
  NILUS_RETURN_NOT_OK(RegisterFiles(registry));
  NILUS_RETURN_NOT_OK(RegisterPostgres(registry));
  NILUS_RETURN_NOT_OK(RegisterSqlite(registry));
  return Status::OK();
}

template <typename Map>
std::vector<std::string> Schemes(const Map& map) {
  std::vector<std::string> out;
  for (const auto& [scheme, factory] : map) out.push_back(scheme + "://");
  return out;
}

}  // namespace

Status ConnectorRegistry::AddSource(const std::string& scheme, SourceFactory factory, SourceTraits traits) {
  if (!sources_.emplace(scheme, std::move(factory)).second) {
    return Status::Internal("source scheme '{}' registered twice", scheme);
  }
  traits_[scheme] = traits;
  return Status::OK();
}

SourceTraits ConnectorRegistry::Traits(const Uri& uri) const {
  auto it = traits_.find(uri.scheme());
  return it == traits_.end() ? SourceTraits{} : it->second;
}

Status ConnectorRegistry::AddDestination(const std::string& scheme, DestinationFactory factory) {
  if (!destinations_.emplace(scheme, std::move(factory)).second) {
    return Status::Internal("destination scheme '{}' registered twice", scheme);
  }
  return Status::OK();
}

Status ConnectorRegistry::CheckSource(const Uri& uri) const {
  if (sources_.count(uri.scheme()) == 0) {
    return Status::InvalidInput("no source for addresses starting '{}://' ({}); available sources: {}", uri.scheme(),
                                uri.Masked(), Join(Schemes(sources_), ", "));
  }
  return Status::OK();
}

Status ConnectorRegistry::CheckDestination(const Uri& uri) const {
  if (destinations_.count(uri.scheme()) == 0) {
    return Status::InvalidInput("no destination for addresses starting '{}://' ({}); available destinations: {}",
                                uri.scheme(), uri.Masked(), Join(Schemes(destinations_), ", "));
  }
  return Status::OK();
}

Result<std::unique_ptr<Source>> ConnectorRegistry::OpenSource(const Uri& uri, std::stop_token stop) const {
  NILUS_RETURN_NOT_OK(CheckSource(uri));
  return sources_.at(uri.scheme())(uri, std::move(stop));
}

Result<std::unique_ptr<Destination>> ConnectorRegistry::OpenDestination(const Uri& uri, std::stop_token stop) const {
  NILUS_RETURN_NOT_OK(CheckDestination(uri));
  return destinations_.at(uri.scheme())(uri, std::move(stop));
}

const ConnectorRegistry& ConnectorRegistry::Builtin() {
  static const ConnectorRegistry registry = [] {
    ConnectorRegistry r;
    Status st = RegisterBuiltinConnectors(r);
    NILUS_DCHECK(st.ok());
    return r;
  }();
  return registry;
}

}  // namespace nilus
