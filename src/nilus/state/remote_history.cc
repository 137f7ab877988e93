#include "nilus/state/remote_history.h"

#include <fmt/format.h>

#include "nilus/core/strings.h"
#include "nilus/core/uri.h"

namespace nilus {

namespace {

/// A column of the history: its name (the same here and in the local SQLite tables) and its
/// PostgreSQL type.
struct Column {
  const char* name;
  const char* type;
};
struct Table {
  const char* name;
  std::vector<Column> columns;
};

const Table kRuns{"runs_info",
                  {{"run_id", "text"},
                   {"dataos_resource_id", "text"},
                   {"run_as_user", "text"},
                   {"load_id", "text"},
                   {"source_depot", "text"},
                   {"destination_depot", "text"},
                   {"destination_uri", "text"},
                   {"destination_schema", "text"},
                   {"started_at", "timestamptz"},
                   {"finished_at", "timestamptz"},
                   {"duration_sec", "float8"},
                   {"records_count", "jsonb"},
                   {"files_size_mb", "float8"},
                   {"memory_mb", "float8"},
                   {"cpu_percent", "float8"},
                   {"first_run", "boolean"},
                   {"is_success", "boolean"},
                   {"error", "jsonb"},
                   {"pipeline_state", "jsonb"}}};
const Table kExtract{"extract_info",
                     {{"run_id", "text"}, {"source_table", "text"}, {"records", "bigint"}, {"duration_sec", "float8"}}};
const Table kNormalize{"normalize_info",
                       {{"run_id", "text"}, {"table_name", "text"}, {"records", "bigint"}, {"duration_sec", "float8"}}};
const Table kLoad{"load_info",
                  {{"run_id", "text"},
                   {"table_name", "text"},
                   {"load_id", "text"},
                   {"records", "bigint"},
                   {"size_mb", "float8"},
                   {"files_loaded", "bigint"},
                   {"duration_sec", "float8"},
                   {"schema", "jsonb"}}};
const Table kCdc{"cdc_status",
                 {{"pipeline", "text"},
                  {"source", "text"},
                  {"started_at", "timestamptz"},
                  {"updated_at", "timestamptz"},
                  {"position", "jsonb"},
                  {"changes_applied", "bigint"},
                  {"lag_seconds", "float8"},
                  {"lag_bytes", "bigint"},
                  {"state", "text"},
                  {"error", "text"}}};
const Table* const kStages[] = {&kExtract, &kNormalize, &kLoad};

std::string Names(const Table& t) {
  std::vector<std::string> out;
  for (const auto& c : t.columns) out.emplace_back(c.name);
  return Join(out, ", ");
}

/// `$1::type, $2::type, …`
std::string Params(const Table& t) {
  std::vector<std::string> out;
  for (size_t i = 0; i < t.columns.size(); ++i) out.push_back(fmt::format("${}::{}", i + 1, t.columns[i].type));
  return Join(out, ", ");
}

/// The columns as text in the local forms: times as the local history writes them, booleans as
/// 0 and 1, JSON as text.
std::string LocalForms(const Table& t, const std::string& alias) {
  std::vector<std::string> out;
  for (const auto& c : t.columns) {
    const std::string col = alias + "." + c.name;
    const std::string type = c.type;
    if (type == "timestamptz") {
      out.push_back(fmt::format("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", col));
    } else if (type == "boolean") {
      out.push_back(col + "::int::text");
    } else {
      out.push_back(col + "::text");
    }
  }
  return Join(out, ", ");
}

std::string Ddl() {
  std::string out = "CREATE TABLE IF NOT EXISTS runs_info (id bigserial PRIMARY KEY";
  for (const auto& c : kRuns.columns) out += fmt::format(", {} {}", c.name, c.type);
  out += ", UNIQUE (run_id));\n";
  out += "CREATE INDEX IF NOT EXISTS runs_info_resource ON runs_info (dataos_resource_id, started_at);\n";
  out += "CREATE INDEX IF NOT EXISTS runs_info_started ON runs_info (started_at);\n";
  for (const Table* t : kStages) {
    out += fmt::format("CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY", t->name);
    for (const auto& c : t->columns) {
      out += fmt::format(", {} {}", c.name, c.type);
      if (std::string(c.name) == "run_id") out += " NOT NULL REFERENCES runs_info (run_id) ON DELETE CASCADE";
    }
    out += fmt::format(");\nCREATE INDEX IF NOT EXISTS {}_run ON {} (run_id);\n", t->name, t->name);
  }
  out += "CREATE TABLE IF NOT EXISTS cdc_status (";
  for (size_t i = 0; i < kCdc.columns.size(); ++i) {
    out += fmt::format("{}{} {}", i ? ", " : "", kCdc.columns[i].name, kCdc.columns[i].type);
  }
  return out + ", PRIMARY KEY (pipeline));\n";
}

/// The rows of a local query, each value as text (null for NULL).
Result<std::vector<std::vector<std::string>>> LocalRows(SqliteDb& db, const std::string& sql, const std::string& arg,
                                                        std::vector<bool>* nulls) {
  NILUS_ASSIGN_OR_RAISE(SqliteStatement q, db.Prepare(sql));
  q.BindText(1, arg);
  std::vector<std::vector<std::string>> out;
  nulls->clear();
  while (true) {
    NILUS_ASSIGN_OR_RAISE(bool row, q.Step());
    if (!row) break;
    std::vector<std::string> values;
    for (int i = 0; i < sqlite3_column_count(q.get()); ++i) {
      const unsigned char* v = sqlite3_column_text(q.get(), i);
      nulls->push_back(v == nullptr);
      values.emplace_back(v ? reinterpret_cast<const char*>(v) : "");
    }
    out.push_back(std::move(values));
  }
  return out;
}

}  // namespace

RemoteHistory::~RemoteHistory() { PQfinish(conn_); }

Result<std::unique_ptr<RemoteHistory>> RemoteHistory::Connect(const std::string& uri) {
  NILUS_ASSIGN_OR_RAISE(Uri parsed, Uri::Parse(uri));
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {uri.c_str(), "5", "nilus-history", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  std::unique_ptr<RemoteHistory> out(new RemoteHistory(conn, parsed.Masked()));
  if (PQstatus(conn) != CONNECTION_OK) {
    return Status::Unavailable("cannot connect to the run history at {}: {}", out->where_, Trim(PQerrorMessage(conn)));
  }
  // Two runs that start together must not both create the tables.
  NILUS_RETURN_NOT_OK(out->Exec("BEGIN; SELECT pg_advisory_xact_lock(7340044); " + Ddl() + "COMMIT;"));
  return out;
}

Status RemoteHistory::Exec(const std::string& sql, const std::vector<const char*>& params) {
  PGresult* r = params.empty() ? PQexec(conn_, sql.c_str())
                               : PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                              params.data(), nullptr, nullptr, 0);
  const ExecStatusType st = PQresultStatus(r);
  std::string error = PQresultErrorMessage(r);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    if (PQtransactionStatus(conn_) == PQTRANS_INERROR) PQclear(PQexec(conn_, "ROLLBACK"));
    return Status::Unavailable("the run history at {}: {}", where_, Trim(error));
  }
  return Status::OK();
}

Result<std::vector<std::vector<nlohmann::json>>> RemoteHistory::Query(const std::string& sql,
                                                                      const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* r =
      PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    std::string error = PQresultErrorMessage(r);
    PQclear(r);
    return Status::Unavailable("the run history at {}: {}", where_, Trim(error));
  }
  std::vector<std::vector<nlohmann::json>> rows;
  for (int i = 0; i < PQntuples(r); ++i) {
    std::vector<nlohmann::json> row;
    for (int j = 0; j < PQnfields(r); ++j) {
      row.push_back(PQgetisnull(r, i, j) ? nlohmann::json() : nlohmann::json(PQgetvalue(r, i, j)));
    }
    rows.push_back(std::move(row));
  }
  PQclear(r);
  return rows;
}

Status RemoteHistory::Export(SqliteDb& local, const std::vector<std::string>& run_ids, int retention_days) {
  NILUS_RETURN_NOT_OK(Exec("BEGIN"));
  auto body = [&]() -> Status {
    std::vector<bool> nulls;
    for (const auto& id : run_ids) {
      NILUS_ASSIGN_OR_RAISE(
          auto runs,
          LocalRows(local, fmt::format("SELECT {} FROM runs_info WHERE run_id = ?", Names(kRuns)), id, &nulls));
      if (runs.empty()) continue;  // removed by retention before it could be sent
      std::vector<const char*> params;
      for (size_t i = 0; i < runs[0].size(); ++i) params.push_back(nulls[i] ? nullptr : runs[0][i].c_str());
      PGresult* r = PQexecParams(
          conn_,
          fmt::format("INSERT INTO runs_info ({}) VALUES ({}) ON CONFLICT (run_id) DO NOTHING RETURNING id",
                      Names(kRuns), Params(kRuns))
              .c_str(),
          static_cast<int>(params.size()), nullptr, params.data(), nullptr, nullptr, 0);
      const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
      const bool inserted = ok && PQntuples(r) == 1;
      std::string error = PQresultErrorMessage(r);
      PQclear(r);
      if (!ok) return Status::Unavailable("the run history at {}: {}", where_, Trim(error));
      if (!inserted) continue;  // sent before, by a flush whose answer was lost
      for (const Table* t : kStages) {
        NILUS_ASSIGN_OR_RAISE(
            auto rows,
            LocalRows(local, fmt::format("SELECT {} FROM {} WHERE run_id = ? ORDER BY id", Names(*t), t->name), id,
                      &nulls));
        size_t n = 0;
        for (const auto& row : rows) {
          std::vector<const char*> values;
          for (const auto& v : row) values.push_back(nulls[n++] ? nullptr : v.c_str());
          NILUS_RETURN_NOT_OK(
              Exec(fmt::format("INSERT INTO {} ({}) VALUES ({})", t->name, Names(*t), Params(*t)), values));
        }
      }
    }
    const std::string days = std::to_string(retention_days);
    return Exec("DELETE FROM runs_info WHERE started_at < now() - make_interval(days => $1::int)", {days.c_str()});
  };
  Status st = body();
  if (!st.ok()) {
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) PQclear(PQexec(conn_, "ROLLBACK"));
    return st;
  }
  return Exec("COMMIT");
}

Status RemoteHistory::ExportCdc(SqliteDb& local, const std::string& pipeline) {
  std::vector<bool> nulls;
  NILUS_ASSIGN_OR_RAISE(
      auto rows,
      LocalRows(local, fmt::format("SELECT {} FROM cdc_status WHERE pipeline = ?", Names(kCdc)), pipeline, &nulls));
  if (rows.empty()) return Status::OK();
  std::vector<const char*> values;
  for (size_t i = 0; i < rows[0].size(); ++i) values.push_back(nulls[i] ? nullptr : rows[0][i].c_str());
  std::vector<std::string> set;
  for (const auto& c : kCdc.columns) set.push_back(fmt::format("{0} = excluded.{0}", c.name));
  return Exec(fmt::format("INSERT INTO cdc_status ({}) VALUES ({}) ON CONFLICT (pipeline) DO UPDATE SET {}",
                          Names(kCdc), Params(kCdc), Join(set, ", ")),
              values);
}

Result<RemoteHistory::Batch> RemoteHistory::RunsAfter(int64_t after, int limit) {
  Batch b;
  const std::vector<std::string> args = {std::to_string(after), std::to_string(limit)};
  NILUS_ASSIGN_OR_RAISE(b.runs, Query(fmt::format("SELECT r.id::text, {} FROM runs_info r WHERE r.id > $1::bigint "
                                                  "ORDER BY r.id LIMIT $2::int",
                                                  LocalForms(kRuns, "r")),
                                      args));
  if (b.runs.empty()) return b;
  const std::vector<std::string> range = {std::to_string(after), b.runs.back()[0].get<std::string>()};
  auto stage = [&](const Table& t) {
    return Query(fmt::format("SELECT {} FROM {} s WHERE s.run_id IN (SELECT run_id FROM runs_info WHERE id > "
                             "$1::bigint AND id <= $2::bigint) ORDER BY s.id",
                             LocalForms(t, "s"), t.name),
                 range);
  };
  NILUS_ASSIGN_OR_RAISE(b.extract, stage(kExtract));
  NILUS_ASSIGN_OR_RAISE(b.normalize, stage(kNormalize));
  NILUS_ASSIGN_OR_RAISE(b.load, stage(kLoad));
  return b;
}

Result<std::vector<std::vector<nlohmann::json>>> RemoteHistory::CdcStatuses() {
  return Query(fmt::format("SELECT {} FROM cdc_status c", LocalForms(kCdc, "c")), {});
}

}  // namespace nilus
