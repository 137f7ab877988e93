#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nilus/core/status.h"

namespace nilus {

class SqliteDb;

/// One table's entry in the local state store.
struct StateEntry {
  std::string pipeline;
  std::string table;
  std::string destination;  ///< the destination address as written
  nlohmann::json state;
  std::string load_id;
  std::string updated_at;
};

/// One version of the schema of a pipeline's tables, as `nilus schema show` lists it.
struct SchemaVersion {
  std::string pipeline;
  std::string table;  ///< the pipeline's dest-table
  int version = 0;
  std::string load_id;     ///< the load that made it
  nlohmann::json changes;  ///< what that load changed, one line each
  nlohmann::json schema;   ///< the tables and their columns
  std::string recorded_at;
};

/// The local copy of pipeline state under `$NILUS_HOME` (`state.db`, SQLite), for `nilus state`.
/// The destination holds the authoritative copy, committed with the data (DESIGN §2.2).
class StateStore {
 public:
  /// Opens (creating) `home`/state.db; `home` is made when missing.
  static Result<std::unique_ptr<StateStore>> Open(const std::string& home);
  ~StateStore();

  Status Save(const StateEntry& entry);
  Result<std::vector<StateEntry>> List(const std::string& pipeline);
  /// Removes the state and the schema history of `pipeline`.
  Status Remove(const std::string& pipeline);

  /// Records a schema version ({} or a version already recorded: nothing happens), from the
  /// "schema" member of a committed state.
  Status SaveSchema(const std::string& pipeline, const std::string& table, const nlohmann::json& schema);
  /// Every recorded schema version of `pipeline`, oldest first.
  Result<std::vector<SchemaVersion>> SchemaHistory(const std::string& pipeline);

 private:
  explicit StateStore(std::unique_ptr<SqliteDb> db);
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace nilus
