#include "nilus/state/state_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "nilus/core/sqlite_db.h"

namespace nilus {

namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS pipeline_state (
  pipeline    TEXT NOT NULL,
  table_name  TEXT NOT NULL,
  destination TEXT NOT NULL,
  state       TEXT NOT NULL,
  load_id     TEXT NOT NULL,
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (pipeline, table_name)
);
CREATE TABLE IF NOT EXISTS schema_versions (
  pipeline    TEXT NOT NULL,
  table_name  TEXT NOT NULL,
  version     INTEGER NOT NULL,
  load_id     TEXT NOT NULL,
  changes     TEXT NOT NULL,
  schema      TEXT NOT NULL,
  recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (pipeline, table_name, version)
);
)sql";

}  // namespace

StateStore::StateStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
StateStore::~StateStore() = default;

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& home) {
  std::error_code ec;
  std::filesystem::create_directories(home, ec);
  if (ec) {
    return Status::FailedPrecondition(
        "cannot create the Nilus home folder {} ({}); set NILUS_HOME to a writable folder", home, ec.message());
  }
  std::string path = home + "/state.db";
  NILUS_ASSIGN_OR_RAISE(auto db, SqliteDb::Open(path, true));
  // The store remembers destination addresses: keep it private to the user.
  chmod(path.c_str(), 0600);
  NILUS_RETURN_NOT_OK(db->UseWal());
  // In a write transaction: several runs may open the store at once.
  NILUS_RETURN_NOT_OK(db->Exec(std::string("BEGIN IMMEDIATE;") + kSchema + "COMMIT;"));
  return std::unique_ptr<StateStore>(new StateStore(std::move(db)));
}

Status StateStore::Save(const StateEntry& e) {
  NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt,
                        db_->Prepare("INSERT OR REPLACE INTO pipeline_state (pipeline, table_name, destination, state, "
                                     "load_id) VALUES (?, ?, ?, ?, ?)"));
  stmt.BindText(1, e.pipeline);
  stmt.BindText(2, e.table);
  stmt.BindText(3, e.destination);
  stmt.BindText(4, e.state.dump());
  stmt.BindText(5, e.load_id);
  return stmt.Step().status();
}

Result<std::vector<StateEntry>> StateStore::List(const std::string& pipeline) {
  NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt,
                        db_->Prepare("SELECT pipeline, table_name, destination, state, load_id, updated_at FROM "
                                     "pipeline_state WHERE pipeline = ? OR ? = '' ORDER BY pipeline, table_name"));
  stmt.BindText(1, pipeline);
  stmt.BindText(2, pipeline);
  std::vector<StateEntry> out;
  while (true) {
    NILUS_ASSIGN_OR_RAISE(bool row, stmt.Step());
    if (!row) break;
    auto col = [&](int i) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), i))); };
    StateEntry e{col(0), col(1), col(2), nlohmann::json::parse(col(3), nullptr, false), col(4), col(5)};
    out.push_back(std::move(e));
  }
  return out;
}

Status StateStore::Remove(const std::string& pipeline) {
  for (const char* sql :
       {"DELETE FROM pipeline_state WHERE pipeline = ?", "DELETE FROM schema_versions WHERE pipeline = ?"}) {
    NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt, db_->Prepare(sql));
    stmt.BindText(1, pipeline);
    NILUS_RETURN_NOT_OK(stmt.Step().status());
  }
  return Status::OK();
}

Status StateStore::SaveSchema(const std::string& pipeline, const std::string& table, const nlohmann::json& schema) {
  if (!schema.is_object() || schema.value("version", 0) <= 0) return Status::OK();
  NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt,
                        db_->Prepare("INSERT OR IGNORE INTO schema_versions (pipeline, table_name, version, load_id, "
                                     "changes, schema) VALUES (?, ?, ?, ?, ?, ?)"));
  stmt.BindText(1, pipeline);
  stmt.BindText(2, table);
  sqlite3_bind_int(stmt.get(), 3, schema.value("version", 0));
  stmt.BindText(4, schema.value("load_id", ""));
  stmt.BindText(5, schema.value("changes", nlohmann::json::array()).dump());
  stmt.BindText(6, schema.value("tables", nlohmann::json::array()).dump());
  return stmt.Step().status();
}

Result<std::vector<SchemaVersion>> StateStore::SchemaHistory(const std::string& pipeline) {
  NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt,
                        db_->Prepare("SELECT pipeline, table_name, version, load_id, changes, schema, recorded_at FROM "
                                     "schema_versions WHERE pipeline = ? ORDER BY table_name, version"));
  stmt.BindText(1, pipeline);
  std::vector<SchemaVersion> out;
  while (true) {
    NILUS_ASSIGN_OR_RAISE(bool row, stmt.Step());
    if (!row) break;
    auto col = [&](int i) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), i))); };
    out.push_back({col(0), col(1), sqlite3_column_int(stmt.get(), 2), col(3),
                   nlohmann::json::parse(col(4), nullptr, false), nlohmann::json::parse(col(5), nullptr, false),
                   col(6)});
  }
  return out;
}

}  // namespace nilus
