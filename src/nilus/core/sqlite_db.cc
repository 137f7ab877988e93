#include "nilus/core/sqlite_db.h"

#include <chrono>
#include <thread>

namespace nilus {

namespace {

/// SQLite calls the progress handler every this many virtual machine steps: about a
/// millisecond of work, so a stop request interrupts a long statement at once.
constexpr int kProgressSteps = 10000;

}  // namespace

Result<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->LastError("sqlite");
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, bool create, std::stop_token stop) {
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
  auto out = std::unique_ptr<SqliteDb>(new SqliteDb(db, path, std::move(stop)));
  if (out->stop_.stop_possible()) sqlite3_progress_handler(db, kProgressSteps, &SqliteDb::OnProgress, out.get());
  // Check it is a database at all before anything else touches it.
  if (Status st = out->Exec("SELECT count(*) FROM sqlite_schema"); !st.ok()) {
    if ((sqlite3_extended_errcode(db) & 0xff) == SQLITE_NOTADB) {
      return Status::InvalidInput("{} is not a SQLite database ({})", path, st.message());
    }
    return st;
  }
  return out;
}

int SqliteDb::OnProgress(void* self) {
  auto* db = static_cast<SqliteDb*>(self);
  return db->interruptible_ && db->stop_.stop_requested() ? 1 : 0;
}

Status SqliteDb::LastError(std::string_view what) const {
  int code = sqlite3_extended_errcode(db_) & 0xff;
  std::string msg = sqlite3_errmsg(db_);
  switch (code) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable("{}: database {} is busy ({})", what, path_, msg);
    case SQLITE_INTERRUPT:
      return Status::Cancelled("interrupted");
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return Status::IOError(
          "{}: cannot write SQLite database {} ({}); check that the file and its folder are writable by this user "
          "(SQLite writes a -wal and a -shm file beside the database)",
          what, path_, msg);
    case SQLITE_FULL:
    case SQLITE_IOERR:
      return Status::IOError("{}: {} ({})", what, msg, path_);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Status::IOError("{}: {} is not a usable SQLite database ({})", what, path_, msg);
    default:
      return Status::InvalidInput("{}: {} (in {})", what, msg, path_);
  }
}

Status SqliteDb::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    sqlite3_free(err);
    return LastError("sqlite");
  }
  return Status::OK();
}

Status SqliteDb::UseWal() {
  for (int attempt = 0;; ++attempt) {
    {
      NILUS_ASSIGN_OR_RAISE(SqliteStatement mode, Prepare("PRAGMA journal_mode"));
      NILUS_ASSIGN_OR_RAISE(bool row, mode.Step());
      if (row && std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(mode.get(), 0))) == "wal") {
        return Status::OK();
      }
    }
    Status st = Exec("PRAGMA journal_mode=WAL");
    // Changing the mode needs the file to itself, and SQLite does not wait for that.
    if (st.code() != StatusCode::kUnavailable || attempt >= 100) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<SqliteStatement> SqliteDb::Prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
    return LastError("sqlite");
  }
  return SqliteStatement(*this, stmt);
}

bool SqliteDb::TableExists(const std::string& name) {
  auto stmt = Prepare("SELECT 1 FROM sqlite_schema WHERE type IN ('table','view') AND name = ?");
  if (!stmt.ok()) return false;
  stmt->BindText(1, name);
  auto row = stmt->Step();
  return row.ok() && *row;
}

}  // namespace nilus
