#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "nilus/connectors/postgres/pg_connection.h"
#include "nilus/connectors/postgres/pg_types.h"
#include "nilus/connectors/postgres/postgres_internal.h"
#include "nilus/connectors/sql/sql_destination.h"
#include "nilus/core/strings.h"

namespace nilus {

namespace {

// Bookkeeping tables, one of each per destination schema (DESIGN §2.2). {0} is the schema.
constexpr char kCreateBookkeeping[] = R"sql(
CREATE SCHEMA IF NOT EXISTS {0};
CREATE TABLE IF NOT EXISTS {0}._nilus_loads (
  load_id       text NOT NULL,
  pipeline      text NOT NULL,
  table_name    text NOT NULL,
  strategy      text NOT NULL,
  status        text NOT NULL,
  rows          bigint NOT NULL,
  bytes         bigint NOT NULL,
  started_at    timestamptz NOT NULL,
  finished_at   timestamptz NOT NULL DEFAULT now(),
  nilus_version text NOT NULL
);
CREATE TABLE IF NOT EXISTS {0}._nilus_state (
  pipeline   text NOT NULL,
  table_name text NOT NULL,
  state      jsonb NOT NULL,
  load_id    text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline, table_name)
);
)sql";

constexpr char kColumnTypes[] =
    "SELECT a.attname, a.atttypid FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 "
    "AND NOT a.attisdropped ORDER BY a.attnum";

// The columns of each valid index of a table, in index order, and whether it is unique.
constexpr char kIndexColumns[] = R"sql(
SELECT i.indexrelid::text, a.attname, i.indisunique AND i.indnkeyatts = cardinality(i.indkey)
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = $1::regclass AND i.indisvalid
ORDER BY i.indexrelid, k.pos
)sql";

// The pipeline's lock: a transaction-level advisory lock keyed by a hash of its name.
constexpr char kTryLock[] = "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))";

constexpr size_t kCopyFlushBytes = 1 << 20;

/// PostgreSQL's bulk path: COPY … FROM STDIN, binary when every column has a binary encoder
/// for its destination type, text otherwise.
class PgBulkWriter final : public BulkWriter {
 public:
  PgBulkWriter(PgConnection& conn, std::string what, std::vector<uint32_t> oids, bool binary, std::string load_id)
      : conn_(conn), what_(std::move(what)), oids_(std::move(oids)), binary_(binary), load_id_(std::move(load_id)) {
    if (binary_) {
      buf_.append("PGCOPY\n\377\r\n\0", 11);
      buf_.append(8, '\0');  // flags, header extension length
    }
  }

  ~PgBulkWriter() override {
    if (finished_) return;
    PQputCopyEnd(conn_.get(), "load abandoned");
    while (PGresult* r = PQgetResult(conn_.get())) PQclear(r);
  }

  Status Write(const RecordBatch& batch) override {
    for (int64_t r = 0; r < batch.num_rows(); ++r) {
      if (binary_) {
        uint16_t n = __builtin_bswap16(static_cast<uint16_t>(batch.num_columns() + 1));
        buf_.append(reinterpret_cast<const char*>(&n), 2);
        for (size_t c = 0; c < batch.num_columns(); ++c) {
          Status st = EncodePgBinary(oids_[c], batch.column(c), r, buf_);
          if (!st.ok()) {
            return st.WithContext(
                fmt::format("{}, row {}, column '{}'", what_, rows_ + r + 1, batch.schema().field(c).name));
          }
        }
        uint32_t len = __builtin_bswap32(static_cast<uint32_t>(load_id_.size()));
        buf_.append(reinterpret_cast<const char*>(&len), 4);
        buf_ += load_id_;
      } else {
        for (size_t c = 0; c < batch.num_columns(); ++c) {
          EncodePgText(batch.column(c), r, buf_);
          buf_ += '\t';
        }
        buf_ += load_id_;
        buf_ += '\n';
      }
      if (buf_.size() >= kCopyFlushBytes) NILUS_RETURN_NOT_OK(Flush());
    }
    rows_ += batch.num_rows();
    return Status::OK();
  }

  Status Finish() override {
    if (binary_) buf_.append("\xff\xff", 2);
    NILUS_RETURN_NOT_OK(Flush());
    finished_ = true;
    if (PQputCopyEnd(conn_.get(), nullptr) != 1) return conn_.ErrorStatus(nullptr, "ending COPY");
    PgResult res(PQgetResult(conn_.get()));
    Status st;
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) st = conn_.ErrorStatus(res.get(), what_);
    while (PGresult* r = PQgetResult(conn_.get())) PQclear(r);
    return st;
  }

 private:
  Status Flush() {
    if (conn_.stop().stop_requested()) return Status::Cancelled("interrupted");
    if (!buf_.empty() && PQputCopyData(conn_.get(), buf_.data(), static_cast<int>(buf_.size())) != 1) {
      return conn_.ErrorStatus(nullptr, what_);
    }
    buf_.clear();
    return Status::OK();
  }

  PgConnection& conn_;
  std::string what_;
  std::vector<uint32_t> oids_;
  bool binary_;
  std::string load_id_;
  std::string buf_;
  int64_t rows_ = 0;  // written before this batch, for messages
  bool finished_ = false;
};

class PgDialect final : public SqlDialect {
 public:
  explicit PgDialect(std::unique_ptr<PgConnection> conn) : conn_(std::move(conn)) {}

  std::string Ref(const SqlTable& t) const override {
    return t.temp ? "pg_temp." + QuoteIdent(t.name) : QuoteIdent(t.schema) + "." + QuoteIdent(t.name);
  }
  std::string LocalName(const SqlTable& t) const override { return t.name; }
  SqlTable Bookkeeping(const std::string& schema, const std::string& name) const override { return {schema, name}; }

  std::string ColumnType(const Field& field) const override { return PgTypeForField(field); }
  std::string SequenceType() const override { return "bigserial"; }

  Status EnsureBookkeeping(const std::string& schema) override {
    schemas_.insert(schema);
    return conn_->Exec(fmt::format(kCreateBookkeeping, QuoteIdent(schema))).status();
  }
  Status EnsureSchema(const std::string& schema) override {
    if (!schemas_.insert(schema).second) return Status::OK();
    return conn_->Exec("CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(schema)).status();
  }
  std::string TruncateSql(const SqlTable& t) const override { return "TRUNCATE " + Ref(t); }

  Status Exec(const std::string& sql) override { return conn_->Exec(sql).status(); }

  Result<SqlRows> Query(const std::string& sql, const std::vector<std::optional<std::string>>& params) override {
    NILUS_ASSIGN_OR_RAISE(PgResult res, conn_->Exec(sql, params));
    SqlRows rows;
    if (!res.get()) return rows;
    for (int r = 0; r < res.rows(); ++r) {
      auto& row = rows.emplace_back();
      for (int c = 0; c < PQnfields(res.get()); ++c) {
        row.push_back(res.IsNull(r, c) ? std::nullopt : std::optional<std::string>(res.Get(r, c)));
      }
    }
    return rows;
  }

  Result<std::vector<std::string>> ColumnNames(const SqlTable& t) override {
    std::vector<std::string> out;
    NILUS_ASSIGN_OR_RAISE(bool exists, Exists(t));
    if (!exists) return out;
    NILUS_ASSIGN_OR_RAISE(PgResult types, conn_->Exec(kColumnTypes, {Ref(t)}));
    for (int r = 0; r < types.rows(); ++r) out.push_back(types.Get(r, 0));
    return out;
  }

  Result<std::vector<Field>> TableColumns(const SqlTable& t) override {
    std::vector<Field> out;
    NILUS_ASSIGN_OR_RAISE(bool exists, Exists(t));
    if (!exists) return out;
    NILUS_ASSIGN_OR_RAISE(auto columns, PgTableColumns(*conn_, Ref(t)));
    for (const auto& c : columns) {
      if (c.name == kLoadIdColumn) continue;
      out.push_back({c.name, c.type.logical, true, "postgresql:" + c.type.sql_type});
    }
    return out;
  }

  Result<KeyIndex> IndexOn(const SqlTable& t, const std::vector<std::string>& columns) override {
    NILUS_ASSIGN_OR_RAISE(PgResult res, conn_->Exec(kIndexColumns, {Ref(t)}));
    IndexColumns indexes;
    for (int r = 0; r < res.rows(); ++r) {
      auto& index = indexes[res.Get(r, 0)];
      index.first.push_back(res.Get(r, 1));
      index.second = res.Get(r, 2) == "t";
    }
    return BestIndex(indexes, columns);
  }

  /// The merge sorts the staged rows by key: statistics, and memory to sort in (this
  /// transaction only).
  Status PrepareMerge(const SqlTable& staging, bool first) override {
    return conn_->Exec((first ? "ANALYZE " + Ref(staging) + "; " : "") + "SET LOCAL work_mem = '64MB'").status();
  }
  std::string TempTableClause() const override { return " ON COMMIT DELETE ROWS"; }
  bool UpsertsInPlace() const override { return false; }
  std::string WholeRow(const std::string& alias, const std::vector<std::string>& columns) const override {
    std::vector<std::string> qualified;
    for (const auto& c : columns) qualified.push_back(alias + "." + c);
    return fmt::format("ROW({})::text", Join(qualified, ", "));
  }
  std::string SameWholeRow(const std::string& a, const std::string& b,
                           const std::vector<std::string>& columns) const override {
    return WholeRow(a, columns) + " = " + WholeRow(b, columns);  // text equality: a hash join
  }
  std::string RowLocator() const override { return "ctid"; }

  Result<std::unique_ptr<BulkWriter>> OpenBulk(const SqlTable& t, const Schema& schema,
                                               const std::string& load_id) override {
    NILUS_ASSIGN_OR_RAISE(PgResult types, conn_->Exec(kColumnTypes, {Ref(t)}));
    std::map<std::string, uint32_t> by_name;
    for (int r = 0; r < types.rows(); ++r) {
      by_name[types.Get(r, 0)] = static_cast<uint32_t>(std::stoul(types.Get(r, 1)));
    }
    std::vector<uint32_t> oids;
    bool binary = true;
    std::string cols;
    for (const auto& f : schema.fields()) {
      oids.push_back(by_name[f.name]);
      binary = binary && CanEncodePgBinary(oids.back(), f.type);
      cols += QuoteIdent(f.name) + ", ";
    }
    cols += QuoteIdent(kLoadIdColumn);
    NILUS_RETURN_NOT_OK(
        conn_->Exec(fmt::format("COPY {} ({}) FROM STDIN (FORMAT {})", Ref(t), cols, binary ? "binary" : "text"))
            .status());
    std::string what = t.temp ? "loading the staging table" : fmt::format("loading into {}.{}", t.schema, t.name);
    return std::unique_ptr<BulkWriter>(new PgBulkWriter(*conn_, what, std::move(oids), binary, load_id));
  }

  /// A transaction-level advisory lock keyed by the pipeline: a second load of the pipeline
  /// waits here until the first commits or rolls back, then reads the state it committed.
  Status BeginLocked(const LoadSpec& load) override {
    NILUS_RETURN_NOT_OK(conn_->Exec("BEGIN").status());
    if (load.durable) NILUS_RETURN_NOT_OK(conn_->Exec("SET LOCAL synchronous_commit = on").status());
    std::string key = fmt::format("nilus:{}:{}", load.pipeline, load.state_table);
    Status st = AwaitPipelineLock(load, conn_->stop(), [&]() -> Result<bool> {
      NILUS_ASSIGN_OR_RAISE(PgResult locked, conn_->Exec(kTryLock, {key}));
      return locked.Get(0, 0) == "t";
    });
    if (!st.ok()) Rollback();
    return st;
  }

  Status Commit() override { return conn_->ExecToEnd("COMMIT").status(); }

  void Rollback() override {
    schemas_.clear();
    auto st = conn_->ExecToEnd("ROLLBACK");
    if (!st.ok()) spdlog::debug("rollback: {}", st.status().message());
  }

  Result<std::vector<SqlTable>> StateTables() override {
    NILUS_ASSIGN_OR_RAISE(PgResult res,
                          conn_->Exec("SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                      "WHERE c.relname = '_nilus_state' AND c.relkind = 'r'"));
    std::vector<SqlTable> out;
    for (int r = 0; r < res.rows(); ++r) out.push_back({res.Get(r, 0), "_nilus_state"});
    return out;
  }

 private:
  Result<bool> Exists(const SqlTable& t) {
    NILUS_ASSIGN_OR_RAISE(PgResult exists, conn_->Exec("SELECT to_regclass($1) IS NOT NULL", {Ref(t)}));
    return exists.Get(0, 0) == "t";
  }

  std::unique_ptr<PgConnection> conn_;
  std::set<std::string> schemas_;  // made sure of in this connection
};

}  // namespace

Result<std::unique_ptr<SqlDestination>> OpenPostgresSql(const Uri& uri, std::stop_token stop) {
  NILUS_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(uri, stop));
  return std::make_unique<SqlDestination>(std::make_unique<PgDialect>(std::move(conn)), std::move(stop));
}

Result<std::unique_ptr<Destination>> OpenPostgresDestination(const Uri& uri, std::stop_token stop) {
  NILUS_ASSIGN_OR_RAISE(auto dest, OpenPostgresSql(uri, std::move(stop)));
  return std::unique_ptr<Destination>(std::move(dest));
}

}  // namespace nilus
