#include "nilus/connectors/sqlite/sqlite_db.h"

#include "nilus/core/uri.h"

namespace nilus {

Result<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  int code = sqlite3_extended_errcode(db_);
  std::string msg = sqlite3_errmsg(db_);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
    return Status::Unavailable("sqlite: database is busy ({})", msg);
  }
  if ((code & 0xff) == SQLITE_FULL || (code & 0xff) == SQLITE_IOERR) return Status::IOError("sqlite: {}", msg);
  return Status::InvalidInput("sqlite: {}", msg);
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, bool create) {
  // Memory statistics cost a global mutex on every allocation; Nilus does not read them.
  // Must precede SQLite's initialization, which the first open does.
  static const int configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)configured;
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    if (!create && rc == SQLITE_CANTOPEN) {
      return Status::InvalidInput("SQLite database {} does not exist or cannot be opened ({})", path, msg);
    }
    return Status::IOError("cannot open SQLite database {}: {}; check that the folder exists and is writable", path,
                           msg);
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_extended_result_codes(db, 1);
  auto out = std::unique_ptr<SqliteDb>(new SqliteDb(db, path));
  // Check it is a database at all before anything else touches it.
  if (Status st = out->Exec("SELECT count(*) FROM sqlite_schema"); !st.ok()) {
    return Status::InvalidInput("{} is not a SQLite database ({})", path, st.message());
  }
  return out;
}

Status SqliteDb::LastError(std::string_view what) const {
  int code = sqlite3_extended_errcode(db_) & 0xff;
  std::string msg = sqlite3_errmsg(db_);
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return Status::Unavailable("{}: database is busy ({})", what, msg);
  if (code == SQLITE_FULL || code == SQLITE_IOERR || code == SQLITE_READONLY) {
    return Status::IOError("{}: {}", what, msg);
  }
  return Status::InvalidInput("{}: {}", what, msg);
}

Status SqliteDb::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    sqlite3_free(err);
    return LastError(fmt::format("sqlite {}", path_));
  }
  return Status::OK();
}

Result<SqliteStatement> SqliteDb::Prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
    return LastError(fmt::format("sqlite {}", path_));
  }
  return SqliteStatement(db_, stmt);
}

bool SqliteDb::TableExists(const std::string& name) {
  auto stmt = Prepare("SELECT 1 FROM sqlite_schema WHERE type IN ('table','view') AND name = ?");
  if (!stmt.ok()) return false;
  stmt->BindText(1, name);
  auto row = stmt->Step();
  return row.ok() && *row;
}

Result<std::string> SqlitePath(const Uri& uri) {
  if (!uri.host().empty() || uri.path().size() < 2) {
    return Status::InvalidInput("{}: a SQLite address is sqlite:///relative/path.db or sqlite:////absolute/path.db",
                                uri.Masked());
  }
  return uri.path().substr(1);
}

std::string SqliteTableName(const std::string& schema, const std::string& table) {
  if (schema.empty() || schema == "main") return table;
  return schema + "__" + table;
}

}  // namespace nilus
