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

/// The local copy of pipeline state under `$NILUS_HOME` (`state.db`, SQLite), for `nilus state`.
/// The destination holds the authoritative copy, committed with the data (DESIGN §2.2).
class StateStore {
 public:
  /// Opens (creating) `home`/state.db; `home` is made when missing.
  static Result<std::unique_ptr<StateStore>> Open(const std::string& home);
  ~StateStore();

  Status Save(const StateEntry& entry);
  Result<std::vector<StateEntry>> List(const std::string& pipeline);
  Status Remove(const std::string& pipeline);

  /// `$NILUS_HOME`, or ~/.nilus.
  static std::string DefaultHome();

 private:
  explicit StateStore(std::unique_ptr<SqliteDb> db);
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace nilus
