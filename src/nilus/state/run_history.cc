#include "nilus/state/run_history.h"

#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "nilus/core/secrets.h"
#include "nilus/core/sqlite_db.h"
#include "nilus/core/uri.h"
#include "nilus/core/values.h"
#include "nilus/state/remote_history.h"

namespace nilus {

namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS runs_info (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id             TEXT NOT NULL UNIQUE,
  dataos_resource_id TEXT NOT NULL,
  run_as_user        TEXT NOT NULL,
  load_id            TEXT,
  source_depot       TEXT,
  destination_depot  TEXT,
  destination_uri    TEXT,
  destination_schema TEXT,
  started_at         TEXT NOT NULL,
  finished_at        TEXT NOT NULL,
  duration_sec       REAL NOT NULL,
  records_count      TEXT NOT NULL,
  files_size_mb      REAL NOT NULL,
  memory_mb          REAL NOT NULL,
  cpu_percent        REAL NOT NULL,
  first_run          INTEGER NOT NULL,
  is_success         INTEGER NOT NULL,
  error              TEXT,
  pipeline_state     TEXT
);
CREATE INDEX IF NOT EXISTS runs_info_resource ON runs_info (dataos_resource_id, started_at);
CREATE INDEX IF NOT EXISTS runs_info_started ON runs_info (started_at);
CREATE TABLE IF NOT EXISTS extract_info (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id       TEXT NOT NULL REFERENCES runs_info (run_id) ON DELETE CASCADE,
  source_table TEXT NOT NULL,
  records      INTEGER NOT NULL,
  duration_sec REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS normalize_info (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id       TEXT NOT NULL REFERENCES runs_info (run_id) ON DELETE CASCADE,
  table_name   TEXT NOT NULL,
  records      INTEGER NOT NULL,
  duration_sec REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS load_info (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id       TEXT NOT NULL REFERENCES runs_info (run_id) ON DELETE CASCADE,
  table_name   TEXT NOT NULL,
  load_id      TEXT NOT NULL,
  records      INTEGER NOT NULL,
  size_mb      REAL NOT NULL,
  files_loaded INTEGER NOT NULL,
  duration_sec REAL NOT NULL,
  schema       TEXT NOT NULL
);
-- A run's stages by its run_id: the stats' sums and the retention's cascade read them so.
CREATE INDEX IF NOT EXISTS extract_info_run ON extract_info (run_id);
CREATE INDEX IF NOT EXISTS normalize_info_run ON normalize_info (run_id);
CREATE INDEX IF NOT EXISTS load_info_run ON load_info (run_id);
CREATE TABLE IF NOT EXISTS pipeline_totals (
  pipeline      TEXT PRIMARY KEY,
  successes     INTEGER NOT NULL,
  failures      INTEGER NOT NULL,
  duration_sum  REAL NOT NULL,
  le_1 INTEGER NOT NULL, le_5 INTEGER NOT NULL, le_15 INTEGER NOT NULL, le_60 INTEGER NOT NULL,
  le_300 INTEGER NOT NULL, le_900 INTEGER NOT NULL, le_3600 INTEGER NOT NULL,
  last_finished REAL NOT NULL,
  last_success  INTEGER NOT NULL,
  retries       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS table_totals (
  pipeline   TEXT NOT NULL,
  table_name TEXT NOT NULL,
  records    INTEGER NOT NULL,
  bytes      REAL NOT NULL,
  PRIMARY KEY (pipeline, table_name)
);
CREATE TABLE IF NOT EXISTS export_queue (run_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS pull_state (id INTEGER PRIMARY KEY CHECK (id = 1), last_remote_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cdc_status (
  pipeline        TEXT PRIMARY KEY,
  source          TEXT NOT NULL,
  started_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  position        TEXT,
  changes_applied INTEGER NOT NULL,
  lag_seconds     REAL NOT NULL,
  lag_bytes       INTEGER,
  state           TEXT NOT NULL,
  error           TEXT
);
)sql";

/// The totals of a history written before they were kept: from the runs it holds, once.
constexpr char kBackfill[] = R"sql(
INSERT INTO pipeline_totals
SELECT dataos_resource_id, sum(is_success), count(*) - sum(is_success), sum(duration_sec), sum(duration_sec <= 1),
  sum(duration_sec <= 5), sum(duration_sec <= 15), sum(duration_sec <= 60), sum(duration_sec <= 300),
  sum(duration_sec <= 900), sum(duration_sec <= 3600),
  (SELECT (julianday(x.finished_at) - 2440587.5) * 86400.0 FROM runs_info x
     WHERE x.dataos_resource_id = r.dataos_resource_id ORDER BY x.started_at DESC, x.id DESC LIMIT 1),
  (SELECT x.is_success FROM runs_info x
     WHERE x.dataos_resource_id = r.dataos_resource_id ORDER BY x.started_at DESC, x.id DESC LIMIT 1), 0
FROM runs_info r WHERE NOT EXISTS (SELECT 1 FROM pipeline_totals) GROUP BY dataos_resource_id;
INSERT INTO table_totals
SELECT r.dataos_resource_id, l.table_name, sum(l.records), sum(l.size_mb) * 1e6
FROM load_info l JOIN runs_info r USING (run_id) WHERE NOT EXISTS (SELECT 1 FROM table_totals) GROUP BY 1, 2;
)sql";

}  // namespace

RunHistory::RunHistory(std::unique_ptr<SqliteDb> db, int retention_days, std::string remote_uri)
    : db_(std::move(db)), retention_days_(retention_days), remote_uri_(std::move(remote_uri)) {}
RunHistory::~RunHistory() = default;

std::string HistoryNow() { return HistoryTime(std::chrono::system_clock::now()); }

std::string CurrentUser() {
  if (const char* user = std::getenv("USER"); user && *user) return user;
  if (const passwd* pw = getpwuid(geteuid())) return pw->pw_name;
  return std::to_string(geteuid());
}

std::string HistoryTime(std::chrono::system_clock::time_point t) {
  const int64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::string out = FormatTimestamp(micros, false);  // 2026-11-30 20:04:00.022936
  out[10] = 'T';
  if (out.size() == 19) out += ".000000";
  return out + "Z";
}

Status RunHistory::ReportCdc(const CdcReport& r) {
  NILUS_ASSIGN_OR_RAISE(SqliteStatement up, db_->Prepare(R"sql(
INSERT INTO cdc_status (pipeline, source, started_at, updated_at, position, changes_applied, lag_seconds, lag_bytes,
  state, error)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (pipeline) DO UPDATE SET source = excluded.source, started_at = excluded.started_at,
  updated_at = excluded.updated_at, position = coalesce(excluded.position, position),
  changes_applied = changes_applied + excluded.changes_applied, lag_seconds = excluded.lag_seconds,
  lag_bytes = excluded.lag_bytes, state = excluded.state, error = excluded.error)sql"));
  up.BindText(1, r.pipeline);
  up.BindText(2, r.source);
  up.BindText(3, r.started_at);
  up.BindText(4, HistoryNow());
  if (!r.position.is_null()) up.BindText(5, r.position.dump());
  sqlite3_bind_int64(up.get(), 6, r.changes);
  sqlite3_bind_double(up.get(), 7, r.lag_seconds);
  if (r.lag_bytes >= 0) sqlite3_bind_int64(up.get(), 8, r.lag_bytes);
  up.BindText(9, r.state);
  if (!r.error.empty()) up.BindText(10, r.error);
  NILUS_RETURN_NOT_OK(up.Step().status());
  if (!remote_uri_.empty()) {
    auto remote = Remote();
    Status st = remote.ok() ? (*remote)->ExportCdc(*db_, r.pipeline) : remote.status();
    if (!st.ok()) {
      remote_connection_.reset();
      if (!warned_) {
        warned_ = true;
        spdlog::warn("the service's reports are not sent to the run history at NILUS_METADATA_URI: {}",
                     MaskSecrets(st.message()));
      }
    }
  }
  return Status::OK();
}

Result<nlohmann::json> RunHistory::CdcStatuses() {
  NILUS_ASSIGN_OR_RAISE(SqliteStatement q, db_->Prepare(R"sql(
SELECT pipeline, source, started_at, updated_at, position, changes_applied, lag_seconds, lag_bytes, state, error
FROM cdc_status ORDER BY pipeline)sql"));
  nlohmann::json out = nlohmann::json::array();
  while (true) {
    NILUS_ASSIGN_OR_RAISE(bool row, q.Step());
    if (!row) break;
    auto text = [&](int i) -> nlohmann::json {
      const unsigned char* v = sqlite3_column_text(q.get(), i);
      return v ? nlohmann::json(reinterpret_cast<const char*>(v)) : nlohmann::json();
    };
    nlohmann::json position = text(4);
    if (position.is_string()) position = nlohmann::json::parse(position.get<std::string>(), nullptr, false);
    out.push_back({{"pipeline", text(0)},
                   {"source", text(1)},
                   {"started_at", text(2)},
                   {"updated_at", text(3)},
                   {"position", position},
                   {"changes_applied", sqlite3_column_int64(q.get(), 5)},
                   {"lag_seconds", sqlite3_column_double(q.get(), 6)},
                   {"lag_bytes", sqlite3_column_type(q.get(), 7) == SQLITE_NULL
                                     ? nlohmann::json()
                                     : nlohmann::json(sqlite3_column_int64(q.get(), 7))},
                   {"state", text(8)},
                   {"error", text(9)}});
  }
  return out;
}

Result<int> HistoryRetentionDays() {
  const char* v = std::getenv("NILUS_HISTORY_RETENTION_DAYS");
  if (!v || !*v) return 90;
  int64_t days = 0;
  if (!ParseBigint(v, &days) || days < 1 || days > 36500) {
    return Status::InvalidInput("NILUS_HISTORY_RETENTION_DAYS='{}' must be a number of days (1 or more), e.g. 30", v);
  }
  return static_cast<int>(days);
}

Result<std::string> MetadataUri() {
  const char* v = std::getenv("NILUS_METADATA_URI");
  if (!v || !*v) return std::string();
  auto uri = Uri::Parse(v);
  if (!uri.ok() || (uri->scheme() != "postgresql" && uri->scheme() != "postgres")) {
    return Status::InvalidInput(
        "NILUS_METADATA_URI must be a PostgreSQL address (postgresql://user:password@host:5432/database), or unset "
        "for the history under $NILUS_HOME");
  }
  if (!uri->password().empty()) RegisterSecret(uri->password());
  return std::string(v);
}

Result<RemoteHistory*> RunHistory::Remote() {
  if (remote_connection_) return remote_connection_.get();
  // A history that did not answer is tried again a minute later, not at every report.
  const auto now = std::chrono::steady_clock::now();
  if (now < retry_remote_at_) return Status::Unavailable("the run history at NILUS_METADATA_URI did not answer lately");
  auto connected = RemoteHistory::Connect(remote_uri_);
  if (!connected.ok()) {
    retry_remote_at_ = now + std::chrono::minutes(1);
    return connected.status();
  }
  remote_connection_ = std::move(*connected);
  return remote_connection_.get();
}

void RunHistory::FlushExports() {
  auto ids = [&]() -> Result<std::vector<std::string>> {
    NILUS_ASSIGN_OR_RAISE(SqliteStatement q, db_->Prepare("SELECT run_id FROM export_queue ORDER BY rowid"));
    std::vector<std::string> out;
    while (true) {
      NILUS_ASSIGN_OR_RAISE(bool row, q.Step());
      if (!row) return out;
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(q.get(), 0)));
    }
  }();
  Status st = ids.status();
  if (st.ok() && !ids->empty()) {
    auto remote = Remote();
    st = remote.ok() ? (*remote)->Export(*db_, *ids, retention_days_) : remote.status();
    if (st.ok()) st = db_->Exec("DELETE FROM export_queue");
  }
  if (!st.ok()) {
    remote_connection_.reset();  // connect anew next time
    spdlog::warn("{} run{} wait in {} for the run history at NILUS_METADATA_URI, and go with the next run: {}",
                 ids.ok() ? ids->size() : 0, ids.ok() && ids->size() == 1 ? "" : "s", db_->path(),
                 MaskSecrets(st.message()));
  }
}

Status RunHistory::Pull() {
  if (remote_uri_.empty()) return Status::OK();
  auto body = [&]() -> Status {
    NILUS_ASSIGN_OR_RAISE(RemoteHistory * remote, Remote());
    while (true) {
      NILUS_ASSIGN_OR_RAISE(SqliteStatement last,
                            db_->Prepare("SELECT coalesce((SELECT last_remote_id FROM pull_state), 0)"));
      NILUS_RETURN_NOT_OK(last.Step().status());
      const int64_t after = sqlite3_column_int64(last.get(), 0);
      constexpr int kBatch = 1000;
      NILUS_ASSIGN_OR_RAISE(RemoteHistory::Batch b, remote->RunsAfter(after, kBatch));
      if (b.runs.empty()) break;
      NILUS_RETURN_NOT_OK(db_->Exec("BEGIN IMMEDIATE"));
      auto apply = [&]() -> Status {
        // rows: text values (or null) in the columns' order of `insert`.
        auto put = [&](const std::string& insert, const std::vector<nlohmann::json>& row, size_t from) -> Status {
          NILUS_ASSIGN_OR_RAISE(SqliteStatement q, db_->Prepare(insert));
          for (size_t i = from; i < row.size(); ++i) {
            if (!row[i].is_null()) q.BindText(static_cast<int>(i - from + 1), row[i].get<std::string>());
          }
          return q.Step().status();
        };
        auto stages = [&](const std::string& table, const std::string& columns,
                          const std::vector<std::vector<nlohmann::json>>& rows, const std::string& run_id) -> Status {
          const size_t n = std::count(columns.begin(), columns.end(), ',') + 1;
          std::string marks = "?";
          for (size_t i = 1; i < n; ++i) marks += ", ?";
          for (const auto& row : rows) {
            if (row[0] != run_id) continue;
            NILUS_RETURN_NOT_OK(put(fmt::format("INSERT INTO {} ({}) VALUES ({})", table, columns, marks), row, 0));
          }
          return Status::OK();
        };
        for (const auto& run : b.runs) {
          NILUS_RETURN_NOT_OK(put(R"sql(INSERT OR IGNORE INTO runs_info (run_id, dataos_resource_id, run_as_user,
  load_id, source_depot, destination_depot, destination_uri, destination_schema, started_at, finished_at, duration_sec,
  records_count, files_size_mb, memory_mb, cpu_percent, first_run, is_success, error, pipeline_state)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?))sql",
                                  run, 1));
          if (sqlite3_changes(db_->handle()) == 0) continue;  // recorded here already
          const std::string id = run[1].get<std::string>();
          NILUS_RETURN_NOT_OK(stages("extract_info", "run_id, source_table, records, duration_sec", b.extract, id));
          NILUS_RETURN_NOT_OK(stages("normalize_info", "run_id, table_name, records, duration_sec", b.normalize, id));
          NILUS_RETURN_NOT_OK(
              stages("load_info", "run_id, table_name, load_id, records, size_mb, files_loaded, duration_sec, schema",
                     b.load, id));
          NILUS_RETURN_NOT_OK(AddTotals(id, 0));
        }
        NILUS_ASSIGN_OR_RAISE(SqliteStatement mark, db_->Prepare("INSERT OR REPLACE INTO pull_state VALUES (1, ?)"));
        sqlite3_bind_int64(mark.get(), 1, std::stoll(b.runs.back()[0].get<std::string>()));
        return mark.Step().status();
      };
      Status st = apply();
      if (!st.ok()) {
        (void)db_->Exec("ROLLBACK");
        return st;
      }
      NILUS_RETURN_NOT_OK(db_->Exec("COMMIT"));
      if (b.runs.size() < static_cast<size_t>(kBatch)) break;
    }
    // The services' reports, as the remote history has them now.
    NILUS_ASSIGN_OR_RAISE(auto reports, remote->CdcStatuses());
    for (const auto& row : reports) {
      NILUS_ASSIGN_OR_RAISE(SqliteStatement q, db_->Prepare(R"sql(INSERT OR REPLACE INTO cdc_status (pipeline, source,
  started_at, updated_at, position, changes_applied, lag_seconds, lag_bytes, state, error)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?))sql"));
      for (size_t i = 0; i < row.size(); ++i) {
        if (!row[i].is_null()) q.BindText(static_cast<int>(i + 1), row[i].get<std::string>());
      }
      NILUS_RETURN_NOT_OK(q.Step().status());
    }
    return Status::OK();
  };
  Status st = body();
  if (!st.ok()) remote_connection_.reset();
  return st;
}

Result<std::unique_ptr<RunHistory>> RunHistory::Open(const std::string& home, int retention_days,
                                                     const std::string& remote_uri) {
  std::error_code ec;
  std::filesystem::create_directories(home, ec);
  if (ec) return Status::FailedPrecondition("cannot create the Nilus home folder {} ({})", home, ec.message());
  const std::string path = home + "/metadata.db";
  NILUS_ASSIGN_OR_RAISE(auto db, SqliteDb::Open(path, true));
  chmod(path.c_str(), 0600);
  NILUS_RETURN_NOT_OK(db->UseWal());
  NILUS_RETURN_NOT_OK(
      db->Exec(std::string("PRAGMA foreign_keys = ON; BEGIN IMMEDIATE;") + kSchema + kBackfill + "COMMIT;"));
  return std::unique_ptr<RunHistory>(new RunHistory(std::move(db), retention_days, remote_uri));
}

Status RunHistory::AddTotals(const std::string& run_id, int64_t retries) {
  NILUS_ASSIGN_OR_RAISE(SqliteStatement totals, db_->Prepare(R"sql(
INSERT INTO pipeline_totals
SELECT dataos_resource_id, is_success, 1 - is_success, duration_sec, duration_sec <= 1, duration_sec <= 5,
  duration_sec <= 15, duration_sec <= 60, duration_sec <= 300, duration_sec <= 900, duration_sec <= 3600,
  (julianday(finished_at) - 2440587.5) * 86400.0, is_success, ?2
FROM runs_info WHERE run_id = ?1
ON CONFLICT (pipeline) DO UPDATE SET successes = successes + excluded.successes,
  failures = failures + excluded.failures, duration_sum = duration_sum + excluded.duration_sum,
  le_1 = le_1 + excluded.le_1, le_5 = le_5 + excluded.le_5, le_15 = le_15 + excluded.le_15,
  le_60 = le_60 + excluded.le_60, le_300 = le_300 + excluded.le_300, le_900 = le_900 + excluded.le_900,
  le_3600 = le_3600 + excluded.le_3600, last_finished = excluded.last_finished,
  last_success = excluded.last_success, retries = retries + excluded.retries)sql"));
  totals.BindText(1, run_id);
  sqlite3_bind_int64(totals.get(), 2, retries);
  NILUS_RETURN_NOT_OK(totals.Step().status());
  NILUS_ASSIGN_OR_RAISE(SqliteStatement tables, db_->Prepare(R"sql(
INSERT INTO table_totals
SELECT r.dataos_resource_id, l.table_name, l.records, l.size_mb * 1e6
FROM load_info l JOIN runs_info r USING (run_id) WHERE l.run_id = ?1
ON CONFLICT (pipeline, table_name) DO UPDATE SET records = records + excluded.records,
  bytes = bytes + excluded.bytes)sql"));
  tables.BindText(1, run_id);
  return tables.Step().status();
}

Status RunHistory::Record(const RunRecord& r) {
  NILUS_RETURN_NOT_OK(Insert(r));
  if (!remote_uri_.empty()) FlushExports();
  return Status::OK();
}

Status RunHistory::Insert(const RunRecord& r) {
  NILUS_RETURN_NOT_OK(db_->Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    int64_t bytes = 0;
    nlohmann::json counts = nlohmann::json::object();
    for (const auto& t : r.tables) {
      bytes += t.bytes;
      counts[t.dest_table] = counts.value(t.dest_table, int64_t{0}) + t.rows;
    }
    NILUS_ASSIGN_OR_RAISE(SqliteStatement run, db_->Prepare(R"sql(
INSERT INTO runs_info (run_id, dataos_resource_id, run_as_user, load_id, source_depot, destination_depot,
  destination_uri, destination_schema, started_at, finished_at, duration_sec, records_count, files_size_mb, memory_mb,
  cpu_percent, first_run, is_success, error, pipeline_state)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
  NOT EXISTS (SELECT 1 FROM runs_info WHERE dataos_resource_id = ?2), ?16, ?17, ?18))sql"));
    run.BindText(1, r.run_id);
    run.BindText(2, r.pipeline);
    run.BindText(3, r.run_as_user);
    if (!r.tables.empty()) run.BindText(4, r.tables.back().load_id);
    run.BindText(5, r.source_depot);
    run.BindText(6, r.destination_depot);
    run.BindText(7, r.destination_uri);
    run.BindText(8, r.destination_schema);
    run.BindText(9, r.started_at);
    run.BindText(10, r.finished_at);
    sqlite3_bind_double(run.get(), 11, r.duration_sec);
    run.BindText(12, counts.dump());
    sqlite3_bind_double(run.get(), 13, static_cast<double>(bytes) / 1e6);
    sqlite3_bind_double(run.get(), 14, r.memory_mb);
    sqlite3_bind_double(run.get(), 15, r.cpu_percent);
    sqlite3_bind_int(run.get(), 16, r.is_success ? 1 : 0);
    if (!r.error.is_null()) run.BindText(17, r.error.dump());
    if (!r.pipeline_state.is_null()) run.BindText(18, r.pipeline_state.dump());
    NILUS_RETURN_NOT_OK(run.Step().status());
    for (const auto& t : r.tables) {
      NILUS_ASSIGN_OR_RAISE(SqliteStatement extract,
                            db_->Prepare("INSERT INTO extract_info (run_id, source_table, records, duration_sec) "
                                         "VALUES (?, ?, ?, ?)"));
      extract.BindText(1, r.run_id);
      extract.BindText(2, t.source_table);
      sqlite3_bind_int64(extract.get(), 3, t.rows);
      sqlite3_bind_double(extract.get(), 4, t.seconds);
      NILUS_RETURN_NOT_OK(extract.Step().status());
      NILUS_ASSIGN_OR_RAISE(SqliteStatement normalize,
                            db_->Prepare("INSERT INTO normalize_info (run_id, table_name, records, duration_sec) "
                                         "VALUES (?, ?, ?, ?)"));
      normalize.BindText(1, r.run_id);
      normalize.BindText(2, t.dest_table);
      sqlite3_bind_int64(normalize.get(), 3, t.rows);
      sqlite3_bind_double(normalize.get(), 4, t.normalize_seconds);
      NILUS_RETURN_NOT_OK(normalize.Step().status());
      NILUS_ASSIGN_OR_RAISE(SqliteStatement load, db_->Prepare(R"sql(
INSERT INTO load_info (run_id, table_name, load_id, records, size_mb, files_loaded, duration_sec, schema)
VALUES (?, ?, ?, ?, ?, ?, ?, ?))sql"));
      load.BindText(1, r.run_id);
      load.BindText(2, t.dest_table);
      load.BindText(3, t.load_id);
      sqlite3_bind_int64(load.get(), 4, t.rows);
      sqlite3_bind_double(load.get(), 5, static_cast<double>(t.bytes) / 1e6);
      sqlite3_bind_int64(load.get(), 6, t.files_loaded);
      sqlite3_bind_double(load.get(), 7, t.seconds);
      load.BindText(8, t.schema.is_null() ? "[]" : t.schema.dump());
      NILUS_RETURN_NOT_OK(load.Step().status());
    }
    // The totals of the metrics, kept here (retention below does not touch them).
    NILUS_RETURN_NOT_OK(AddTotals(r.run_id, r.retries));
    if (!remote_uri_.empty()) {
      NILUS_ASSIGN_OR_RAISE(SqliteStatement queue, db_->Prepare("INSERT OR IGNORE INTO export_queue VALUES (?)"));
      queue.BindText(1, r.run_id);
      NILUS_RETURN_NOT_OK(queue.Step().status());
    }
    // Retention: the runs older than the limit, with their stages (ON DELETE CASCADE).
    NILUS_ASSIGN_OR_RAISE(SqliteStatement old,
                          db_->Prepare("DELETE FROM runs_info WHERE started_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', "
                                       "'-' || ? || ' days')"));
    sqlite3_bind_int(old.get(), 1, retention_days_);
    return old.Step().status();
  };
  Status st = body();
  if (!st.ok()) {
    (void)db_->Exec("ROLLBACK");
    return st;
  }
  return db_->Exec("COMMIT");
}

namespace {

/// The current row of `stmt` as a JSON object: numbers as numbers, the JSON columns parsed,
/// first_run and is_success as booleans.
nlohmann::json RowJson(const SqliteStatement& stmt) {
  nlohmann::json row = nlohmann::json::object();
  for (int i = 0; i < sqlite3_column_count(stmt.get()); ++i) {
    const std::string name = sqlite3_column_name(stmt.get(), i);
    switch (sqlite3_column_type(stmt.get(), i)) {
      case SQLITE_NULL:
        row[name] = nullptr;
        break;
      case SQLITE_INTEGER: {
        const int64_t v = sqlite3_column_int64(stmt.get(), i);
        if (name == "first_run" || name == "is_success" || name == "last_success") {
          row[name] = v != 0;
        } else {
          row[name] = v;
        }
        break;
      }
      case SQLITE_FLOAT:
        row[name] = sqlite3_column_double(stmt.get(), i);
        break;
      default: {
        std::string text(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), i)));
        if (name == "records_count" || name == "error" || name == "pipeline_state") {
          row[name] = nlohmann::json::parse(text, nullptr, false);
        } else {
          row[name] = std::move(text);
        }
      }
    }
  }
  return row;
}

}  // namespace

Result<nlohmann::json> RunHistory::Runs(const RunQuery& q) {
  std::string where = " WHERE 1 = 1";
  std::vector<std::string> args;
  auto add = [&](const std::string& term, const std::string& value) {
    where += " AND " + term;
    args.push_back(value);
  };
  if (!q.pipeline.empty()) add("dataos_resource_id = ?", q.pipeline);
  if (!q.run_as_user.empty()) add("run_as_user = ?", q.run_as_user);
  if (q.is_success) add("is_success = ?", *q.is_success ? "1" : "0");
  if (!q.started_gte.empty()) add("started_at >= ?", q.started_gte);
  if (!q.started_lte.empty()) add("started_at <= ?", q.started_lte);
  auto bind = [&](SqliteStatement& stmt) {
    for (size_t i = 0; i < args.size(); ++i) stmt.BindText(static_cast<int>(i) + 1, args[i]);
  };
  NILUS_ASSIGN_OR_RAISE(SqliteStatement count, db_->Prepare("SELECT count(*) FROM runs_info" + where));
  bind(count);
  NILUS_ASSIGN_OR_RAISE(bool counted, count.Step());
  const int64_t total = counted ? sqlite3_column_int64(count.get(), 0) : 0;
  NILUS_ASSIGN_OR_RAISE(SqliteStatement rows, db_->Prepare("SELECT * FROM runs_info" + where +
                                                           " ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?"));
  bind(rows);
  sqlite3_bind_int64(rows.get(), static_cast<int>(args.size()) + 1, q.limit);
  sqlite3_bind_int64(rows.get(), static_cast<int>(args.size()) + 2, q.offset);
  nlohmann::json items = nlohmann::json::array();
  while (true) {
    NILUS_ASSIGN_OR_RAISE(bool row, rows.Step());
    if (!row) break;
    items.push_back(RowJson(rows));
  }
  return nlohmann::json{{"items", std::move(items)}, {"total", total}, {"limit", q.limit}, {"offset", q.offset}};
}

Result<RunTotals> RunHistory::Totals() {
  RunTotals out;
  NILUS_ASSIGN_OR_RAISE(SqliteStatement runs, db_->Prepare(R"sql(
SELECT pipeline, successes, failures, duration_sum, le_1, le_5, le_15, le_60, le_300, le_900, le_3600, last_finished,
  last_success, retries
FROM pipeline_totals ORDER BY pipeline)sql"));
  while (true) {
    NILUS_ASSIGN_OR_RAISE(bool row, runs.Step());
    if (!row) break;
    RunTotals::Pipeline p;
    p.name = reinterpret_cast<const char*>(sqlite3_column_text(runs.get(), 0));
    p.successes = sqlite3_column_int64(runs.get(), 1);
    p.failures = sqlite3_column_int64(runs.get(), 2);
    p.duration_sum = sqlite3_column_double(runs.get(), 3);
    for (size_t i = 0; i < p.buckets.size(); ++i)
      p.buckets[i] = sqlite3_column_int64(runs.get(), 4 + static_cast<int>(i));
    p.last_finished = sqlite3_column_double(runs.get(), 11);
    p.last_success = sqlite3_column_int(runs.get(), 12) != 0;
    p.retries = sqlite3_column_int64(runs.get(), 13);
    out.pipelines.push_back(std::move(p));
  }
  NILUS_ASSIGN_OR_RAISE(SqliteStatement tables,
                        db_->Prepare("SELECT pipeline, table_name, records, bytes FROM table_totals ORDER BY 1, 2"));
  while (true) {
    NILUS_ASSIGN_OR_RAISE(bool row, tables.Step());
    if (!row) break;
    out.tables.push_back({reinterpret_cast<const char*>(sqlite3_column_text(tables.get(), 0)),
                          reinterpret_cast<const char*>(sqlite3_column_text(tables.get(), 1)),
                          sqlite3_column_int64(tables.get(), 2), sqlite3_column_double(tables.get(), 3)});
  }
  return out;
}

Result<nlohmann::json> RunHistory::Stats(const std::string& pipeline, int64_t period_days) {
  NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt, db_->Prepare(R"sql(
SELECT r.dataos_resource_id AS pipeline, count(*) AS runs, sum(r.is_success) AS successes,
  count(*) - sum(r.is_success) AS failures, round(1.0 * sum(r.is_success) / count(*), 4) AS success_rate,
  avg(r.duration_sec) AS avg_duration_sec, max(r.duration_sec) AS max_duration_sec,
  coalesce(sum((SELECT sum(l.records) FROM load_info l WHERE l.run_id = r.run_id)), 0) AS records_loaded,
  max(r.started_at) AS last_started_at,
  (SELECT is_success FROM runs_info x WHERE x.dataos_resource_id = r.dataos_resource_id
     ORDER BY started_at DESC, id DESC LIMIT 1) AS last_success
FROM runs_info r
WHERE (?1 = '' OR r.dataos_resource_id = ?1)
  AND r.started_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || ?2 || ' days')
GROUP BY r.dataos_resource_id ORDER BY r.dataos_resource_id)sql"));
  stmt.BindText(1, pipeline);
  sqlite3_bind_int64(stmt.get(), 2, period_days);
  nlohmann::json out = nlohmann::json::array();
  while (true) {
    NILUS_ASSIGN_OR_RAISE(bool row, stmt.Step());
    if (!row) break;
    out.push_back(RowJson(stmt));
  }
  return out;
}

}  // namespace nilus
