#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <set>

#include "nilus/connectors/sqlite/sqlite_db.h"
#include "nilus/connectors/sqlite/sqlite_internal.h"
#include "nilus/connectors/sqlite/sqlite_types.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

// Bookkeeping tables, one of each per database file (DESIGN §2.2).
constexpr char kCreateBookkeeping[] = R"sql(
CREATE TABLE IF NOT EXISTS _nilus_loads (
  load_id     TEXT NOT NULL,
  pipeline    TEXT NOT NULL,
  table_name  TEXT NOT NULL,
  strategy    TEXT NOT NULL,
  status      TEXT NOT NULL,
  rows        BIGINT NOT NULL,
  bytes       BIGINT NOT NULL,
  started_at  TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  nilus_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS _nilus_state (
  pipeline   TEXT NOT NULL,
  table_name TEXT NOT NULL,
  state      JSON_TEXT NOT NULL,
  load_id    TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (pipeline, table_name)
);
)sql";

std::string NowIso() {
  auto now = std::chrono::system_clock::now();
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  return FormatTimestamp(micros, true);
}

/// Binds the value at row `r` of `column` to parameter `p`.
void BindValue(sqlite3_stmt* stmt, int p, const Column& column, int64_t r) {
  if (column.IsNull(r)) {
    sqlite3_bind_null(stmt, p);
    return;
  }
  switch (column.type().id) {
    case TypeId::kBool:
      sqlite3_bind_int(stmt, p, column.Bool(r) ? 1 : 0);
      return;
    case TypeId::kBigint:
      sqlite3_bind_int64(stmt, p, column.Int64(r));
      return;
    case TypeId::kDouble: {
      double v = column.Double(r);
      if (v != v) {  // SQLite stores NaN as NULL; keep it as text instead
        sqlite3_bind_text(stmt, p, "NaN", 3, SQLITE_STATIC);
      } else {
        sqlite3_bind_double(stmt, p, v);
      }
      return;
    }
    case TypeId::kBinary: {
      auto v = column.View(r);
      sqlite3_bind_blob64(stmt, p, v.data(), v.size(), SQLITE_STATIC);
      return;
    }
    case TypeId::kDecimal:
    case TypeId::kText:
    case TypeId::kJson: {
      auto v = column.View(r);
      sqlite3_bind_text64(stmt, p, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
      return;
    }
    default: {
      char buf[kMaxFormattedValue];
      size_t n = 0;
      switch (column.type().id) {
        case TypeId::kDate:
          n = FormatDateTo(column.Int64(r), buf);
          break;
        case TypeId::kTime:
          n = FormatTimeTo(column.Int64(r), buf);
          break;
        case TypeId::kTimestamp:
          n = FormatTimestampTo(column.Int64(r), false, buf);
          break;
        case TypeId::kTimestampTz:
          n = FormatTimestampTo(column.Int64(r), true, buf);
          break;
        default:  // uuid
          n = FormatUuidTo(column.View(r), buf);
      }
      sqlite3_bind_text64(stmt, p, buf, n, SQLITE_TRANSIENT, SQLITE_UTF8);
      return;
    }
  }
}

class SqliteTableLoad final : public TableLoad {
 public:
  SqliteTableLoad(SqliteDb& db, LoadRequest request) : db_(db), request_(std::move(request)) {}

  ~SqliteTableLoad() override {
    if (!committed_) {
      Status st = db_.Exec("ROLLBACK");
      if (!st.ok()) spdlog::debug("rollback: {}", st.message());
    }
  }

  Status Start() {
    NILUS_RETURN_NOT_OK(db_.Exec("BEGIN IMMEDIATE"));
    NILUS_RETURN_NOT_OK(db_.Exec(kCreateBookkeeping));
    if (request_.strategy == WriteDisposition::kMerge) {
      NILUS_RETURN_NOT_OK(db_.Exec("DROP TABLE IF EXISTS temp._nilus_staging"));
    }
    return Status::OK();
  }

  Status Write(const std::string& name, const RecordBatch& batch) override {
    NILUS_ASSIGN_OR_RAISE(Target * target, TargetFor(name));
    if (!(batch.schema() == target->schema) || !target->insert)
      NILUS_RETURN_NOT_OK(PrepareFor(*target, batch.schema()));
    sqlite3_stmt* stmt = target->insert->get();
    const int load_param = static_cast<int>(batch.num_columns()) + 1;
    sqlite3_bind_text(stmt, load_param, request_.load_id.c_str(), static_cast<int>(request_.load_id.size()),
                      SQLITE_STATIC);
    for (int64_t r = 0; r < batch.num_rows(); ++r) {
      for (size_t c = 0; c < batch.num_columns(); ++c) BindValue(stmt, static_cast<int>(c) + 1, batch.column(c), r);
      auto step = target->insert->Step();
      if (!step.ok()) return step.status().WithContext(fmt::format("inserting into {}", target->table));
      sqlite3_reset(stmt);
    }
    return Status::OK();
  }

  Status Commit(const LoadRecord& record, const nlohmann::json& state) override {
    for (auto& [name, target] : targets_) target.insert.reset();
    NILUS_ASSIGN_OR_RAISE(Target * root, TargetFor(request_.dest_table));
    switch (request_.strategy) {
      case WriteDisposition::kAppend:
        break;
      case WriteDisposition::kReplace:
        NILUS_RETURN_NOT_OK(SwapIn(*root));
        for (const auto& child : record.child_tables) {
          NILUS_ASSIGN_OR_RAISE(Target * t, TargetFor(child));
          NILUS_RETURN_NOT_OK(SwapIn(*t));
        }
        break;
      case WriteDisposition::kMerge:
        if (root->schema.num_fields() > 0) NILUS_RETURN_NOT_OK(Merge(*root, record.child_tables));
        break;
    }
    NILUS_RETURN_NOT_OK(WriteBookkeeping(record, state));
    NILUS_RETURN_NOT_OK(db_.Exec("COMMIT"));
    committed_ = true;
    return Status::OK();
  }

 private:
  /// One table of the load: where its batches go and the statement that inserts them.
  struct Target {
    std::string table;   // the destination table
    std::string target;  // where batches go: the table, its replacement, or the merge staging table
    bool staging = false;
    Schema schema;
    std::unique_ptr<SqliteStatement> insert;
  };

  Result<Target*> TargetFor(const std::string& name) {
    auto [it, added] = targets_.try_emplace(name);
    Target& t = it->second;
    if (added) {
      t.table = SqliteTableName(request_.dest_schema, name);
      bool root = name == request_.dest_table;
      switch (request_.strategy) {
        case WriteDisposition::kAppend:
          t.target = t.table;
          break;
        case WriteDisposition::kReplace:
          t.target = t.table + "__nilus_new";
          NILUS_RETURN_NOT_OK(db_.Exec("DROP TABLE IF EXISTS " + QuoteIdent(t.target)));
          break;
        case WriteDisposition::kMerge:
          // Child rows go straight into their table; Merge drops those of rows that lost.
          t.staging = root;
          t.target = root ? "_nilus_staging" : t.table;
          break;
      }
    }
    return &t;
  }

  /// Makes the target table hold every column of `schema` (creating or altering it) and
  /// prepares the insert statement for it.
  Status PrepareFor(Target& t, const Schema& schema) {
    t.insert.reset();
    NILUS_RETURN_NOT_OK(EnsureColumns(t.target, schema, t.staging));
    if (t.staging) NILUS_RETURN_NOT_OK(EnsureColumns(t.table, schema, false));
    std::string cols, params;
    for (const auto& f : schema.fields()) {
      cols += QuoteIdent(f.name) + ", ";
      params += "?, ";
    }
    std::string ref = (t.staging ? "temp." : "") + QuoteIdent(t.target);
    NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt, db_.Prepare(fmt::format("INSERT INTO {} ({}{}) VALUES ({}?)", ref, cols,
                                                                        QuoteIdent(kLoadIdColumn), params)));
    t.insert = std::make_unique<SqliteStatement>(std::move(stmt));
    t.schema = schema;
    return Status::OK();
  }

  Result<std::set<std::string>> Columns(const std::string& table, bool temp) {
    std::set<std::string> existing;
    NILUS_ASSIGN_OR_RAISE(SqliteStatement info,
                          db_.Prepare(fmt::format("PRAGMA {}table_info({})", temp ? "temp." : "", QuoteIdent(table))));
    while (true) {
      NILUS_ASSIGN_OR_RAISE(bool row, info.Step());
      if (!row) break;
      existing.insert(reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 1)));
    }
    return existing;
  }

  Status EnsureColumns(const std::string& table, const Schema& schema, bool temp) {
    std::string ref = (temp ? "temp." : "") + QuoteIdent(table);
    NILUS_ASSIGN_OR_RAISE(auto existing, Columns(table, temp));
    if (existing.empty()) {
      std::string cols;
      for (const auto& f : schema.fields()) cols += QuoteIdent(f.name) + " " + SqliteDeclaredType(f.type) + ", ";
      cols += QuoteIdent(kLoadIdColumn) + " TEXT NOT NULL";
      bool keyed = !temp && request_.strategy == WriteDisposition::kMerge && !request_.primary_key.empty() &&
                   table == SqliteTableName(request_.dest_schema, request_.dest_table);
      if (keyed) {
        NILUS_ASSIGN_OR_RAISE(auto keys, QuotedPrimaryKey(request_, schema));
        cols += ", PRIMARY KEY (" + Join(keys, ", ") + ")";
      }
      return db_.Exec(fmt::format("CREATE {}TABLE {} ({})", temp ? "TEMP " : "", QuoteIdent(table), cols));
    }
    for (const auto& f : schema.fields()) {
      if (existing.count(f.name)) continue;
      spdlog::info("adding column {} {} to {}", f.name, f.type.ToString(), table);
      NILUS_RETURN_NOT_OK(db_.Exec(
          fmt::format("ALTER TABLE {} ADD COLUMN {} {}", ref, QuoteIdent(f.name), SqliteDeclaredType(f.type))));
    }
    return Status::OK();
  }

  /// A replace: the new table takes the old one's place inside the load's transaction, so readers
  /// see the old table until the commit. A table the load wrote nothing to keeps its shape, empty.
  Status SwapIn(const Target& t) {
    std::string quoted = QuoteIdent(t.table);
    if (t.schema.num_fields() > 0 || db_.TableExists(t.target)) {
      NILUS_RETURN_NOT_OK(db_.Exec("DROP TABLE IF EXISTS " + quoted));
      return db_.Exec(fmt::format("ALTER TABLE {} RENAME TO {}", QuoteIdent(t.target), quoted));
    }
    if (db_.TableExists(t.table)) return db_.Exec("DELETE FROM " + quoted);
    return Status::OK();
  }

  /// Upserts the staged rows: the last staged row of each key replaces the table's row. The
  /// child rows of replaced rows go, and so do the new child rows of staged rows that lost to a
  /// later row of the same key.
  Status Merge(const Target& root, const std::vector<std::string>& child_tables) {
    NILUS_ASSIGN_OR_RAISE(auto keys, QuotedPrimaryKey(request_, root.schema));
    std::vector<std::string> cols;
    for (const auto& f : root.schema.fields()) cols.push_back(QuoteIdent(f.name));
    cols.push_back(QuoteIdent(kLoadIdColumn));
    std::string match;
    for (const auto& k : keys) match += (match.empty() ? "" : " AND ") + fmt::format("t.{0} IS s.{0}", k);
    std::string quoted = QuoteIdent(root.table);
    std::string replaced =
        fmt::format("SELECT t._nilus_id FROM {} AS t WHERE EXISTS (SELECT 1 FROM temp._nilus_staging AS s WHERE {})",
                    quoted, match);
    std::vector<std::string> children;  // child tables that link to their root rows
    NILUS_ASSIGN_OR_RAISE(auto root_columns, Columns(root.table, false));
    for (const auto& child : child_tables) {
      std::string table = SqliteTableName(request_.dest_schema, child);
      NILUS_ASSIGN_OR_RAISE(auto columns, Columns(table, false));
      if (columns.count("_nilus_root_id") && root_columns.count("_nilus_id")) children.push_back(QuoteIdent(table));
    }
    for (const auto& child : children) {
      NILUS_RETURN_NOT_OK(db_.Exec(fmt::format("DELETE FROM {} WHERE _nilus_root_id IN ({})", child, replaced)));
    }
    NILUS_RETURN_NOT_OK(db_.Exec(fmt::format(
        "DELETE FROM {0} AS t WHERE EXISTS (SELECT 1 FROM temp._nilus_staging AS s WHERE {1})", quoted, match)));
    NILUS_RETURN_NOT_OK(
        db_.Exec(fmt::format("INSERT INTO {0} ({1}) SELECT {1} FROM temp._nilus_staging WHERE rowid IN "
                             "(SELECT max(rowid) FROM temp._nilus_staging GROUP BY {2})",
                             quoted, Join(cols, ", "), Join(keys, ", "))));
    for (const auto& child : children) {
      NILUS_RETURN_NOT_OK(db_.Exec(
          fmt::format("DELETE FROM {0} AS c WHERE _nilus_load_id = {1} AND NOT EXISTS (SELECT 1 FROM {2} AS r WHERE "
                      "r._nilus_load_id = {1} AND r._nilus_id = c._nilus_root_id)",
                      child, QuoteLiteral(request_.load_id), quoted)));
    }
    return db_.Exec("DROP TABLE temp._nilus_staging");
  }

  Status WriteBookkeeping(const LoadRecord& record, const nlohmann::json& state) {
    auto insert_load = db_.Prepare(
        "INSERT INTO _nilus_loads (load_id, pipeline, table_name, strategy, status, rows, bytes, started_at, "
        "finished_at, nilus_version) VALUES (?, ?, ?, ?, 'committed', ?, ?, ?, ?, ?)");
    if (!insert_load.ok()) return insert_load.status();
    auto* s = insert_load->get();
    insert_load->BindText(1, record.load_id);
    insert_load->BindText(2, record.pipeline);
    insert_load->BindText(3, record.table);
    insert_load->BindText(4, record.strategy);
    sqlite3_bind_int64(s, 5, record.rows);
    sqlite3_bind_int64(s, 6, record.bytes);
    insert_load->BindText(7, record.started_at);
    std::string now = NowIso();
    insert_load->BindText(8, now);
    insert_load->BindText(9, NILUS_VERSION);
    NILUS_RETURN_NOT_OK(insert_load->Step().status());

    auto upsert_state = db_.Prepare(
        "INSERT INTO _nilus_state (pipeline, table_name, state, load_id, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (pipeline, table_name) DO UPDATE SET state = excluded.state, load_id = excluded.load_id, "
        "updated_at = excluded.updated_at");
    if (!upsert_state.ok()) return upsert_state.status();
    upsert_state->BindText(1, record.pipeline);
    upsert_state->BindText(2, record.table);
    upsert_state->BindText(3, state.dump());
    upsert_state->BindText(4, record.load_id);
    upsert_state->BindText(5, now);
    return upsert_state->Step().status();
  }

  SqliteDb& db_;
  LoadRequest request_;
  std::map<std::string, Target> targets_;  // by table name, without the destination schema
  bool committed_ = false;
};

class SqliteDestination final : public Destination {
 public:
  explicit SqliteDestination(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  Result<nlohmann::json> ReadState(const std::string& pipeline, const std::string& table) override {
    if (!db_->TableExists("_nilus_state")) return nlohmann::json::object();
    NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt,
                          db_->Prepare("SELECT state FROM _nilus_state WHERE pipeline = ? AND table_name = ?"));
    stmt.BindText(1, pipeline);
    stmt.BindText(2, table);
    NILUS_ASSIGN_OR_RAISE(bool row, stmt.Step());
    if (!row) return nlohmann::json::object();
    auto state =
        nlohmann::json::parse(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0)), nullptr, false);
    if (state.is_discarded()) {
      return Status::FailedPrecondition(
          "the state of {} / {} in {} is not valid JSON; reset it with nilus state reset {}", pipeline, table,
          db_->path(), pipeline);
    }
    return state;
  }

  Status ResetState(const std::string& pipeline) override {
    if (!db_->TableExists("_nilus_state")) return Status::OK();
    NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt, db_->Prepare("DELETE FROM _nilus_state WHERE pipeline = ?"));
    stmt.BindText(1, pipeline);
    return stmt.Step().status();
  }

  Result<std::vector<Field>> TableColumns(const std::string& schema, const std::string& table) override {
    NILUS_ASSIGN_OR_RAISE(SqliteStatement info, db_->Prepare("SELECT name, type FROM pragma_table_info(?)"));
    info.BindText(1, SqliteTableName(schema, table));
    std::vector<Field> out;
    while (true) {
      NILUS_ASSIGN_OR_RAISE(bool row, info.Step());
      if (!row) break;
      std::string name = reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 0));
      const auto* declared = reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 1));
      if (name == kLoadIdColumn) continue;
      out.push_back({name, LogicalTypeOfDeclared(declared ? declared : "", LogicalType::Text())});
    }
    return out;
  }

  Result<std::unique_ptr<TableLoad>> Begin(const LoadRequest& request) override {
    auto load = std::make_unique<SqliteTableLoad>(*db_, request);
    NILUS_RETURN_NOT_OK(load->Start());
    return std::unique_ptr<TableLoad>(std::move(load));
  }

 private:
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace

Result<std::unique_ptr<Destination>> OpenSqliteDestination(const Uri& uri) {
  NILUS_ASSIGN_OR_RAISE(std::string path, SqlitePath(uri));
  NILUS_ASSIGN_OR_RAISE(auto db, SqliteDb::Open(path, true));
  // WAL: readers keep reading the last committed data while a load runs.
  NILUS_RETURN_NOT_OK(db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"));
  return std::unique_ptr<Destination>(new SqliteDestination(std::move(db)));
}

}  // namespace nilus
