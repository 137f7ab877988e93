#include "nilus/connectors/registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "nilus/connectors/custom/custom_connector.h"
#include "nilus/connectors/files/files_source.h"
#include "nilus/connectors/lakehouse/lakehouse_connector.h"
#include "nilus/connectors/mysql/mysql_connector.h"
#include "nilus/connectors/postgres/postgres_connector.h"
#include "nilus/connectors/sqlite/sqlite_connector.h"
#include "nilus/core/strings.h"

namespace nilus {

namespace {

/// The one list of built-in connectors. Adding a connector adds one line here.
Status RegisterBuiltinConnectors(ConnectorRegistry& registry) {
  NILUS_RETURN_NOT_OK(RegisterCustom(registry));
  NILUS_RETURN_NOT_OK(RegisterFiles(registry));
  NILUS_RETURN_NOT_OK(RegisterLakehouse(registry));
  NILUS_RETURN_NOT_OK(RegisterMysql(registry));
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

DestinationTraits ConnectorRegistry::SinkTraits(const Uri& uri) const {
  auto it = destination_traits_.find(uri.scheme());
  return it == destination_traits_.end() ? DestinationTraits{} : it->second;
}

Status ConnectorRegistry::AddDestination(const std::string& scheme, DestinationFactory factory,
                                         DestinationTraits traits) {
  if (!destinations_.emplace(scheme, std::move(factory)).second) {
    return Status::Internal("destination scheme '{}' registered twice", scheme);
  }
  destination_traits_[scheme] = std::move(traits);
  return Status::OK();
}

namespace {

/// The schemes whose traits list `option`.
template <typename Traits>
std::vector<std::string> Honouring(const std::map<std::string, Traits>& traits, const std::string& option) {
  std::vector<std::string> out;
  for (const auto& [scheme, t] : traits) {
    if (std::find(t.options.begin(), t.options.end(), option) != t.options.end()) out.push_back(scheme);
  }
  return out;
}

}  // namespace

Status ConnectorRegistry::CheckOptions(const Pipeline& p) const {
  auto check = [&](const auto& given, const auto& traits, const std::string& scheme, const char* side,
                   auto every) -> Status {
    for (const auto& [name, where] : given) {
      if (every(name)) continue;
      auto own = traits.find(scheme);
      if (own != traits.end() &&
          std::find(own->second.options.begin(), own->second.options.end(), name) != own->second.options.end()) {
        continue;
      }
      std::vector<std::string> honouring = Honouring(traits, name);
      if (honouring.empty()) {
        spdlog::warn("{}: {} option '{}' is not implemented by any connector of this nilus yet; it is ignored", where,
                     side, name);
        continue;
      }
      return Status::InvalidInput("{}: {} option '{}' is not honoured by the {}:// {}; it applies to: {}", where, side,
                                  name, scheme, side == std::string("source") ? "source" : "destination",
                                  Join(honouring, ", "));
    }
    return Status::OK();
  };
  NILUS_RETURN_NOT_OK(check(p.source_options.given, traits_, p.source.scheme(), "source", HonouredByEverySource));
  const SourceOptions& o = p.source_options;
  if (o.IsChangeCapture()) {
    SourceTraits t = Traits(p.source);
    if (!t.change_capture) {
      return Status::InvalidInput(
          "the source options name change-data-capture options (engine, slot.name, table.include.list …), but the "
          "{}:// source has no change data capture; it is available for: {}",
          p.source.scheme(), Join(ChangeCaptureSchemes(), ", "));
    }
    if (t.check_change_options) NILUS_RETURN_NOT_OK(t.check_change_options(o));
    if (!SinkTraits(p.destination).holds_state) {
      return Status::InvalidInput(
          "change data capture into {}:// is not possible: the stream's position must commit with the changes, and "
          "that destination holds no state; capture into a database or the lakehouse",
          p.destination.scheme());
    }
  }
  if (o.yield_limit > 0 && !o.incremental_key.empty() && !Traits(p.source).reads_in_key_order) {
    return Status::InvalidInput(
        "yield-limit with incremental-key: the {}:// source cannot read in key order, so a read it cuts short would "
        "resume at a cursor that skips the rest of the file; use one or the other (yield-limit alone resumes at the "
        "line where it stopped)",
        p.source.scheme());
  }
  if (auto own = destination_traits_.find(p.destination.scheme()); own != destination_traits_.end()) {
    for (const auto& [name, where] : p.sink_options.given) {
      const auto& not_yet = own->second.not_yet;
      if (std::find(not_yet.begin(), not_yet.end(), name) != not_yet.end()) {
        return Status::InvalidInput(
            "{}: sink option '{}' is not implemented by the {}:// destination yet; leave it out", where, name,
            p.destination.scheme());
      }
    }
  }
  return check(p.sink_options.given, destination_traits_, p.destination.scheme(), "sink", HonouredByEverySink);
}

std::vector<std::string> ConnectorRegistry::ChangeCaptureSchemes() const {
  std::vector<std::string> out;
  for (const auto& [scheme, t] : traits_) {
    if (t.change_capture) out.push_back(scheme + "://");
  }
  return out;
}

Result<std::unique_ptr<ChangeSource>> ConnectorRegistry::OpenChangeSource(const Uri& uri, std::stop_token stop) const {
  NILUS_RETURN_NOT_OK(CheckSource(uri));
  SourceTraits t = Traits(uri);
  if (!t.change_capture) {
    return Status::InvalidInput("the {}:// source has no change data capture; it is available for: {}", uri.scheme(),
                                Join(ChangeCaptureSchemes(), ", "));
  }
  return t.change_capture(uri, std::move(stop));
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
