#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>

#include "nilus/core/status.h"
#include "nilus/core/uri.h"

namespace nilus {

/// A prepared statement; finalized on destruction.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteStatement(SqliteStatement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  ~SqliteStatement() { sqlite3_finalize(stmt_); }

  sqlite3_stmt* get() const { return stmt_; }
  /// Runs one step: true when a row is ready, false when done.
  Result<bool> Step();
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  void BindText(int i, std::string_view v) {
    sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

/// A connection to one SQLite database file.
class SqliteDb {
 public:
  /// Opens `path`; with `create`, makes the file when it does not exist.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, bool create);
  ~SqliteDb() { sqlite3_close_v2(db_); }

  Status Exec(const std::string& sql);
  Result<SqliteStatement> Prepare(const std::string& sql);
  bool TableExists(const std::string& name);
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  /// Turns the connection's last error into a Status with the right code (busy: Unavailable).
  Status LastError(std::string_view what) const;

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

/// The file path of a `sqlite:///relative.db` or `sqlite:////absolute.db` address.
Result<std::string> SqlitePath(const Uri& uri);

/// The SQLite table that holds `schema.table`: `schema__table`, or `table` for schema `main`.
std::string SqliteTableName(const std::string& schema, const std::string& table);

}  // namespace nilus
