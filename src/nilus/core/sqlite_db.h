#pragma once

#include <sqlite3.h>

#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "nilus/core/status.h"

namespace nilus {

class SqliteDb;

/// A prepared statement; finalized on destruction.
class SqliteStatement {
 public:
  SqliteStatement(const SqliteDb& db, sqlite3_stmt* stmt) : db_(&db), stmt_(stmt) {}
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
    sqlite3_bind_text64(stmt_, i, v.empty() ? "" : v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }

 private:
  const SqliteDb* db_;
  sqlite3_stmt* stmt_;
};

/// A connection to one SQLite database file. Used by one thread at a time.
class SqliteDb {
 public:
  /// Opens `path`; with `create`, makes the file when it does not exist. Statements stop with
  /// Cancelled, within milliseconds, once `stop` is requested (unless `SetInterruptible(false)`).
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, bool create, std::stop_token stop = {});
  ~SqliteDb() { sqlite3_close_v2(db_); }

  Status Exec(const std::string& sql);
  /// Puts the file in WAL mode (readers keep reading the last committed data while a load
  /// writes), unless it is already; another process may be doing the same at that moment.
  Status UseWal();
  Result<SqliteStatement> Prepare(const std::string& sql);
  bool TableExists(const std::string& name);
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }
  const std::stop_token& stop() const { return stop_; }

  /// While false, a stop request does not interrupt statements: a COMMIT, once started, finishes.
  void SetInterruptible(bool interruptible) { interruptible_ = interruptible; }

  /// Turns the connection's last error into a Status whose code says what to do: busy is
  /// Unavailable, an interrupt after a stop request Cancelled, a file that cannot be written
  /// IOError, a constraint or a bad value InvalidInput.
  Status LastError(std::string_view what) const;

 private:
  SqliteDb(sqlite3* db, std::string path, std::stop_token stop)
      : db_(db), path_(std::move(path)), stop_(std::move(stop)) {}
  static int OnProgress(void* self);

  sqlite3* db_;
  std::string path_;
  std::stop_token stop_;
  bool interruptible_ = true;
};

}  // namespace nilus
