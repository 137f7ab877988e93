#pragma once

#include <functional>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "nilus/connectors/connector.h"

namespace nilus {

/// Opens a connector for one run; its work stops when `stop` is requested.
using SourceFactory = std::function<Result<std::unique_ptr<Source>>(const Uri&, std::stop_token stop)>;
using ChangeSourceFactory = std::function<Result<std::unique_ptr<ChangeSource>>(const Uri&, std::stop_token stop)>;
using DestinationFactory = std::function<Result<std::unique_ptr<Destination>>(const Uri&, std::stop_token stop)>;

/// What a source can do beyond reading, so manifests can be validated without connecting.
struct SourceTraits {
  /// `Source::PrimaryKey` reads the key from the source's catalog, so `merge` needs none given.
  bool discovers_primary_key = false;
  /// It can read rows in `incremental-key` order (SQL), so a read cut by `yield-limit` resumes
  /// at the saved cursor; without it, such a read resumes at the source's own position and an
  /// incremental key is refused beside yield-limit.
  bool reads_in_key_order = false;
  /// The source options it honours beyond those every source has (HonouredByEverySource).
  std::vector<std::string> options = {};
  /// Opens its change data capture, when it has one (a pipeline whose source options include
  /// Debezium's, SourceOptions::IsChangeCapture).
  ChangeSourceFactory change_capture = nullptr;
  /// Checks the change-capture options beyond their kinds (values that go together).
  std::function<Status(const SourceOptions&)> check_change_options = nullptr;
  /// It may yield several tables, named by the source (Source::Streams): `dest-table` may name
  /// only the schema they land in.
  bool names_tables = false;
};

/// What a destination honours, so manifests can be validated without connecting.
struct DestinationTraits {
  /// The sink options it honours beyond those every destination has (HonouredByEverySink).
  std::vector<std::string> options = {};
  /// The sink options that belong to it but that it does not honour yet: refused, not ignored.
  std::vector<std::string> not_yet = {};
  /// It keeps the pipeline's state beside the data (a database, the lakehouse). A destination
  /// that cannot (a Python destination) reads it from the local state store instead
  /// (LoadSpec::local_state), and its loads are exactly-once only when it is idempotent.
  bool holds_state = true;
};

/// Maps address schemes to connector factories. Filled by `RegisterBuiltinConnectors`, one
/// explicit list; registering a scheme twice is an error.
class ConnectorRegistry {
 public:
  Status AddSource(const std::string& scheme, SourceFactory factory, SourceTraits traits = {});
  Status AddDestination(const std::string& scheme, DestinationFactory factory, DestinationTraits traits = {});

  Result<std::unique_ptr<Source>> OpenSource(const Uri& uri, std::stop_token stop = {}) const;
  Result<std::unique_ptr<Destination>> OpenDestination(const Uri& uri, std::stop_token stop = {}) const;
  /// Opens the change data capture of the source for `uri`; InvalidInput when it has none.
  Result<std::unique_ptr<ChangeSource>> OpenChangeSource(const Uri& uri, std::stop_token stop = {}) const;
  /// Checks that a scheme has a source (or destination) without opening anything.
  Status CheckSource(const Uri& uri) const;
  Status CheckDestination(const Uri& uri) const;
  /// The traits of the source for `uri` (defaults for an unknown scheme).
  SourceTraits Traits(const Uri& uri) const;
  /// The traits of the destination for `uri` (defaults for an unknown scheme).
  DestinationTraits SinkTraits(const Uri& uri) const;
  /// Refuses (InvalidInput, naming the connectors that honour it) every option the pipeline's
  /// source or destination does not honour; an option no connector of this build honours yet
  /// (the CDC and lakehouse ones) is a warning, once.
  Status CheckOptions(const Pipeline& pipeline) const;

  /// The registry with every connector built into this binary.
  static const ConnectorRegistry& Builtin();

 private:
  /// The schemes whose sources have change data capture, for messages.
  std::vector<std::string> ChangeCaptureSchemes() const;

  std::map<std::string, SourceFactory> sources_;
  std::map<std::string, SourceTraits> traits_;
  std::map<std::string, DestinationFactory> destinations_;
  std::map<std::string, DestinationTraits> destination_traits_;
};

}  // namespace nilus
