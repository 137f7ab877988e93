#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "nilus/connectors/sql/sql_destination.h"
#include "nilus/connectors/sqlite/sqlite_internal.h"
#include "nilus/connectors/sqlite/sqlite_types.h"
#include "nilus/core/sqlite_db.h"
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

/// How long one attempt to take the write lock waits before the wait loop checks for a stop.
constexpr int kLockAttemptMillis = 250;
/// How long other statements wait for a lock (a checkpoint, a reader upgrading).
constexpr int kBusyTimeoutMillis = 10000;

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
    // An empty value of a column without bytes has no data pointer, and SQLite binds a null
    // pointer as NULL: bind "" instead.
    case TypeId::kBinary: {
      auto v = column.View(r);
      sqlite3_bind_blob64(stmt, p, v.empty() ? "" : v.data(), v.size(), SQLITE_STATIC);
      return;
    }
    case TypeId::kDecimal:
    case TypeId::kText:
    case TypeId::kJson: {
      auto v = column.View(r);
      sqlite3_bind_text64(stmt, p, v.empty() ? "" : v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
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

/// SQLite's bulk path: one prepared INSERT, stepped once per row.
class SqliteBulkWriter final : public BulkWriter {
 public:
  SqliteBulkWriter(SqliteStatement insert, std::string table, std::string load_id, size_t columns)
      : insert_(std::move(insert)), table_(std::move(table)), load_id_(std::move(load_id)), columns_(columns) {}

  Status Write(const RecordBatch& batch) override {
    sqlite3_stmt* stmt = insert_.get();
    const int load_param = static_cast<int>(columns_) + 1;
    sqlite3_bind_text(stmt, load_param, load_id_.c_str(), static_cast<int>(load_id_.size()), SQLITE_STATIC);
    for (int64_t r = 0; r < batch.num_rows(); ++r) {
      for (size_t c = 0; c < columns_; ++c) BindValue(stmt, static_cast<int>(c) + 1, batch.column(c), r);
      auto step = insert_.Step();
      if (!step.ok()) return step.status().WithContext(fmt::format("inserting into {}", table_));
      sqlite3_reset(stmt);
    }
    return Status::OK();
  }

  Status Finish() override { return Status::OK(); }

 private:
  SqliteStatement insert_;
  std::string table_;
  std::string load_id_;
  size_t columns_;
};

class SqliteDialect final : public SqlDialect {
 public:
  explicit SqliteDialect(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  std::string Ref(const SqlTable& t) const override {
    return t.temp ? "temp." + QuoteIdent(t.name) : QuoteIdent(LocalName(t));
  }
  std::string LocalName(const SqlTable& t) const override { return SqliteTableName(t.schema, t.name); }
  SqlTable Bookkeeping(const std::string&, const std::string& name) const override { return {"", name}; }

  std::string ColumnType(const Field& field) const override { return SqliteDeclaredType(field.type); }
  // INTEGER, exactly, makes a one-column key the rowid: lookups and upserts walk one b-tree.
  std::string KeyColumnType(const Field& field, bool whole) const override {
    return whole && field.type.id == TypeId::kBigint ? "INTEGER" : ColumnType(field);
  }
  std::string SequenceType() const override { return "INTEGER PRIMARY KEY"; }
  Status EnsureBookkeeping(const std::string&) override { return db_->Exec(kCreateBookkeeping); }
  Status EnsureSchema(const std::string&) override { return Status::OK(); }
  std::string TruncateSql(const SqlTable& t) const override { return "DELETE FROM " + Ref(t); }

  Status Exec(const std::string& sql) override { return db_->Exec(sql); }

  Result<SqlRows> Query(const std::string& sql, const std::vector<std::optional<std::string>>& params) override {
    NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt, db_->Prepare(sql));
    for (size_t i = 0; i < params.size(); ++i) {
      int index = sqlite3_bind_parameter_index(stmt.get(), fmt::format("${}", i + 1).c_str());
      if (index == 0) continue;
      if (params[i]) {
        stmt.BindText(index, *params[i]);
      } else {
        sqlite3_bind_null(stmt.get(), index);
      }
    }
    SqlRows rows;
    while (true) {
      NILUS_ASSIGN_OR_RAISE(bool row, stmt.Step());
      if (!row) break;
      auto& out = rows.emplace_back();
      for (int c = 0; c < sqlite3_column_count(stmt.get()); ++c) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), c));
        out.push_back(text ? std::optional<std::string>(std::string(text, sqlite3_column_bytes(stmt.get(), c)))
                           : std::nullopt);
      }
    }
    return rows;
  }

  Result<std::vector<std::string>> ColumnNames(const SqlTable& t) override {
    NILUS_ASSIGN_OR_RAISE(SqlRows rows, TableInfo(t));
    std::vector<std::string> out;
    for (const auto& row : rows) out.push_back(*row[0]);
    return out;
  }

  Result<std::vector<Field>> TableColumns(const SqlTable& t) override {
    NILUS_ASSIGN_OR_RAISE(SqlRows rows, TableInfo(t));
    std::vector<Field> out;
    for (const auto& row : rows) {
      if (*row[0] == kLoadIdColumn) continue;
      out.push_back({*row[0], LogicalTypeOfDeclared(row[1].value_or(""), LogicalType::Text())});
    }
    return out;
  }

  Result<KeyIndex> IndexOn(const SqlTable& t, const std::vector<std::string>& columns) override {
    // An INTEGER PRIMARY KEY is the rowid itself: the table is its index.
    NILUS_ASSIGN_OR_RAISE(SqlRows info, TableInfo(t));
    if (columns.size() == 1) {
      for (const auto& row : info) {
        if (*row[0] == columns[0] && row[3] == "1" && ToLower(row[1].value_or("")) == "integer") {
          return KeyIndex::kUnique;
        }
      }
    }
    KeyIndex best = KeyIndex::kNone;
    NILUS_ASSIGN_OR_RAISE(SqlRows indexes, Query("SELECT name, \"unique\" FROM pragma_index_list($1)", {LocalName(t)}));
    for (const auto& index : indexes) {
      NILUS_ASSIGN_OR_RAISE(SqlRows cols, Query("SELECT name FROM pragma_index_info($1) ORDER BY seqno", {*index[0]}));
      if (cols.size() < columns.size()) continue;
      std::vector<std::string> lead;
      for (size_t i = 0; i < columns.size(); ++i) lead.push_back(cols[i][0].value_or(""));
      if (!std::is_permutation(lead.begin(), lead.end(), columns.begin())) continue;
      if (cols.size() == columns.size() && index[1] == "1") return KeyIndex::kUnique;
      best = KeyIndex::kIndexed;
    }
    return best;
  }

  Status PrepareMerge(const SqlTable&, bool) override { return Status::OK(); }
  std::string TempTableClause() const override { return ""; }
  bool UpsertsInPlace() const override { return true; }
  std::string SameWholeRow(const std::string& a, const std::string& b,
                           const std::vector<std::string>& columns) const override {
    return fmt::format("({}) IS ({})", WholeRow(a, columns), WholeRow(b, columns));
  }
  std::string RowLocator() const override { return "rowid"; }

  Result<std::unique_ptr<BulkWriter>> OpenBulk(const SqlTable& t, const Schema& schema,
                                               const std::string& load_id) override {
    std::string cols, params;
    for (const auto& f : schema.fields()) {
      cols += QuoteIdent(f.name) + ", ";
      params += "?, ";
    }
    NILUS_ASSIGN_OR_RAISE(SqliteStatement insert, db_->Prepare(fmt::format("INSERT INTO {} ({}{}) VALUES ({}?)", Ref(t),
                                                                           cols, QuoteIdent(kLoadIdColumn), params)));
    return std::unique_ptr<BulkWriter>(
        new SqliteBulkWriter(std::move(insert), t.schema + "." + t.name, load_id, schema.num_fields()));
  }

  /// SQLite has one writer at a time per file: BEGIN IMMEDIATE takes the write lock, so the
  /// state read next is the last one committed.
  Status BeginLocked(const LoadSpec& load) override {
    const auto timeout = load.lock_timeout;
    auto start = std::chrono::steady_clock::now();
    sqlite3_busy_timeout(db_->handle(), kLockAttemptMillis);
    NILUS_RETURN_NOT_OK(db_->Exec(load.durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
    Status st;
    for (bool told = false;; told = true) {
      st = db_->Exec("BEGIN IMMEDIATE");
      if (st.code() != StatusCode::kUnavailable) break;
      if (db_->stop().stop_requested()) {
        st = Status::Cancelled("interrupted while waiting for another load to finish");
        break;
      }
      auto waited = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
      if (waited >= timeout) {
        st = Status::FailedPrecondition(
            "pipeline {}: another load has been writing to {} for more than {} s (SQLite lets one load write at a "
            "time); run again when it is done, or wait longer with --lock-timeout",
            load.pipeline, db_->path(), timeout.count());
        break;
      }
      if (!told) {
        spdlog::warn(
            "pipeline {}: another load is writing to {}; SQLite lets one load write at a time, waiting up "
            "to {} s",
            load.pipeline, db_->path(), timeout.count());
      }
    }
    sqlite3_busy_timeout(db_->handle(), kBusyTimeoutMillis);
    return st;
  }

  Status Commit() override {
    db_->SetInterruptible(false);
    Status st = db_->Exec("COMMIT");
    db_->SetInterruptible(true);
    return st;
  }

  void Rollback() override {
    db_->SetInterruptible(false);
    if (!sqlite3_get_autocommit(db_->handle())) {
      Status st = db_->Exec("ROLLBACK");
      if (!st.ok()) spdlog::debug("rollback: {}", st.message());
    }
    db_->SetInterruptible(true);
  }

  Result<std::vector<SqlTable>> StateTables() override {
    if (!db_->TableExists("_nilus_state")) return std::vector<SqlTable>{};
    return std::vector<SqlTable>{{"", "_nilus_state"}};
  }

 private:
  Result<SqlRows> TableInfo(const SqlTable& t) {
    return Query("SELECT name, type, \"notnull\", pk FROM pragma_table_info($1, $2)",
                 {t.temp ? t.name : LocalName(t), std::string(t.temp ? "temp" : "main")});
  }

  std::unique_ptr<SqliteDb> db_;
};

}  // namespace

Result<std::unique_ptr<SqlDestination>> OpenSqliteFile(const std::string& path, std::stop_token stop) {
  NILUS_ASSIGN_OR_RAISE(auto db, SqliteDb::Open(path, true, stop));
  NILUS_RETURN_NOT_OK(db->UseWal());
  NILUS_RETURN_NOT_OK(db->Exec("PRAGMA synchronous=NORMAL"));
  return std::make_unique<SqlDestination>(std::make_unique<SqliteDialect>(std::move(db)), std::move(stop));
}

Result<std::unique_ptr<Destination>> OpenSqliteDestination(const Uri& uri, std::stop_token stop) {
  NILUS_ASSIGN_OR_RAISE(std::string path, SqlitePath(uri));
  NILUS_ASSIGN_OR_RAISE(auto dest, OpenSqliteFile(path, std::move(stop)));
  return std::unique_ptr<Destination>(std::move(dest));
}

}  // namespace nilus
