#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "nilus/connectors/postgres/pg_connection.h"
#include "nilus/connectors/postgres/pg_types.h"
#include "nilus/connectors/postgres/postgres_internal.h"
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

constexpr char kInsertLoad[] =
    "INSERT INTO {}._nilus_loads (load_id, pipeline, table_name, strategy, status, rows, bytes, started_at, "
    "nilus_version) VALUES ($1, $2, $3, $4, 'committed', $5, $6, $7, $8)";
constexpr char kUpsertState[] =
    "INSERT INTO {}._nilus_state (pipeline, table_name, state, load_id) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (pipeline, table_name) DO UPDATE SET state = excluded.state, load_id = excluded.load_id, "
    "updated_at = now()";
constexpr char kColumnTypes[] =
    "SELECT a.attname, a.atttypid FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 "
    "AND NOT a.attisdropped";

constexpr size_t kCopyFlushBytes = 1 << 20;

class PgTableLoad final : public TableLoad {
 public:
  PgTableLoad(PgConnection& conn, LoadRequest request) : conn_(conn), request_(std::move(request)) {
    schema_ref_ = QuoteIdent(request_.dest_schema);
    table_ref_ = schema_ref_ + "." + QuoteIdent(request_.dest_table);
    switch (request_.strategy) {
      case WriteDisposition::kAppend:
        target_ref_ = table_ref_;
        break;
      case WriteDisposition::kReplace:
        target_ref_ = schema_ref_ + "." + QuoteIdent(request_.dest_table + "__nilus_new");
        break;
      case WriteDisposition::kMerge:
        target_ref_ = "pg_temp._nilus_staging";
        break;
    }
  }

  ~PgTableLoad() override {
    if (!committed_) {
      if (in_copy_) PQputCopyEnd(conn_.get(), "load abandoned");
      PgResult drain(PQgetResult(conn_.get()));
      while (PGresult* r = PQgetResult(conn_.get())) PQclear(r);
      auto rollback = conn_.Exec("ROLLBACK");
      if (!rollback.ok()) spdlog::debug("rollback: {}", rollback.status().message());
    }
  }

  Status Start() {
    NILUS_RETURN_NOT_OK(conn_.Exec("BEGIN").status());
    NILUS_RETURN_NOT_OK(conn_.Exec(fmt::format(kCreateBookkeeping, schema_ref_)).status());
    if (request_.strategy == WriteDisposition::kReplace) {
      NILUS_RETURN_NOT_OK(conn_.Exec("DROP TABLE IF EXISTS " + target_ref_).status());
    }
    return Status::OK();
  }

  Status Write(const RecordBatch& batch) override {
    if (!in_copy_ || !(batch.schema() == schema_)) NILUS_RETURN_NOT_OK(StartCopy(batch.schema()));
    for (int64_t r = 0; r < batch.num_rows(); ++r) {
      if (binary_) {
        uint16_t n = __builtin_bswap16(static_cast<uint16_t>(batch.num_columns() + 1));
        buf_.append(reinterpret_cast<const char*>(&n), 2);
        for (size_t c = 0; c < batch.num_columns(); ++c) {
          Status st = EncodePgBinary(dest_oids_[c], batch.column(c), r, buf_);
          if (!st.ok()) return st.WithContext(fmt::format("column '{}'", batch.schema().field(c).name));
        }
        uint32_t len = __builtin_bswap32(static_cast<uint32_t>(request_.load_id.size()));
        buf_.append(reinterpret_cast<const char*>(&len), 4);
        buf_ += request_.load_id;
      } else {
        for (size_t c = 0; c < batch.num_columns(); ++c) {
          EncodePgText(batch.column(c), r, buf_);
          buf_ += '\t';
        }
        buf_ += request_.load_id;
        buf_ += '\n';
      }
      if (buf_.size() >= kCopyFlushBytes) NILUS_RETURN_NOT_OK(Flush());
    }
    return Status::OK();
  }

  Status Commit(const LoadRecord& record, const nlohmann::json& state) override {
    NILUS_RETURN_NOT_OK(EndCopy());
    switch (request_.strategy) {
      case WriteDisposition::kAppend:
        break;
      case WriteDisposition::kReplace:
        NILUS_RETURN_NOT_OK(SwapIn());
        break;
      case WriteDisposition::kMerge:
        if (schema_.num_fields() > 0) NILUS_RETURN_NOT_OK(MergeStaging());
        break;
    }
    NILUS_RETURN_NOT_OK(
        conn_
            .Exec(fmt::format(kInsertLoad, schema_ref_),
                  {record.load_id, record.pipeline, record.table, record.strategy, std::to_string(record.rows),
                   std::to_string(record.bytes), record.started_at, std::string(NILUS_VERSION)})
            .status());
    NILUS_RETURN_NOT_OK(
        conn_
            .Exec(fmt::format(kUpsertState, schema_ref_), {record.pipeline, record.table, state.dump(), record.load_id})
            .status());
    NILUS_RETURN_NOT_OK(conn_.Exec("COMMIT").status());
    committed_ = true;
    return Status::OK();
  }

 private:
  /// Makes the target hold every column of `schema`, then starts a COPY into it: binary when
  /// every column has a binary encoder for its destination type, text otherwise.
  Status StartCopy(const Schema& schema) {
    NILUS_RETURN_NOT_OK(EndCopy());
    if (request_.strategy == WriteDisposition::kMerge) {
      NILUS_RETURN_NOT_OK(EnsureTable(table_ref_, schema, true));
      NILUS_RETURN_NOT_OK(EnsureStaging(schema));
    } else {
      NILUS_RETURN_NOT_OK(EnsureTable(target_ref_, schema, false));
    }
    NILUS_ASSIGN_OR_RAISE(PgResult types, conn_.Exec(kColumnTypes, {target_ref_}));
    std::map<std::string, uint32_t> oids;
    for (int r = 0; r < types.rows(); ++r) oids[types.Get(r, 0)] = static_cast<uint32_t>(std::stoul(types.Get(r, 1)));
    dest_oids_.clear();
    binary_ = true;
    std::string cols;
    for (const auto& f : schema.fields()) {
      uint32_t oid = oids[f.name];
      dest_oids_.push_back(oid);
      binary_ = binary_ && CanEncodePgBinary(oid, f.type);
      cols += QuoteIdent(f.name) + ", ";
    }
    cols += QuoteIdent(kLoadIdColumn);
    NILUS_RETURN_NOT_OK(
        conn_.Exec(fmt::format("COPY {} ({}) FROM STDIN (FORMAT {})", target_ref_, cols, binary_ ? "binary" : "text"))
            .status());
    in_copy_ = true;
    schema_ = schema;
    buf_.clear();
    if (binary_) {
      buf_.append("PGCOPY\n\377\r\n\0", 11);
      buf_.append(8, '\0');  // flags, header extension length
    }
    return Status::OK();
  }

  Status Flush() {
    if (!buf_.empty() && PQputCopyData(conn_.get(), buf_.data(), static_cast<int>(buf_.size())) != 1) {
      return conn_.ErrorStatus(nullptr, "sending rows");
    }
    buf_.clear();
    return Status::OK();
  }

  Status EndCopy() {
    if (!in_copy_) return Status::OK();
    if (binary_) buf_.append("\xff\xff", 2);
    NILUS_RETURN_NOT_OK(Flush());
    in_copy_ = false;
    if (PQputCopyEnd(conn_.get(), nullptr) != 1) return conn_.ErrorStatus(nullptr, "ending COPY");
    PgResult res(PQgetResult(conn_.get()));
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return conn_.ErrorStatus(res.get(), fmt::format("loading into {}.{}", request_.dest_schema, request_.dest_table));
    }
    while (PGresult* r = PQgetResult(conn_.get())) PQclear(r);
    return Status::OK();
  }

  Status EnsureTable(const std::string& ref, const Schema& schema, bool keyed) {
    NILUS_ASSIGN_OR_RAISE(PgResult exists, conn_.Exec("SELECT to_regclass($1) IS NOT NULL", {ref}));
    if (exists.Get(0, 0) != "t") {
      std::string cols;
      for (const auto& f : schema.fields()) cols += QuoteIdent(f.name) + " " + PgTypeForField(f) + ", ";
      cols += QuoteIdent(kLoadIdColumn) + " text NOT NULL";
      if (keyed && !request_.primary_key.empty()) {
        std::vector<std::string> keys;
        for (const auto& k : request_.primary_key) {
          if (schema.FieldIndex(k) < 0) {
            return Status::InvalidInput("primary-key column '{}' is not a column of the data; columns are: {}", k,
                                        schema.ToString());
          }
          keys.push_back(QuoteIdent(k));
        }
        cols += ", PRIMARY KEY (" + Join(keys, ", ") + ")";
      }
      return conn_.Exec(fmt::format("CREATE TABLE {} ({})", ref, cols)).status();
    }
    NILUS_ASSIGN_OR_RAISE(PgResult types, conn_.Exec(kColumnTypes, {ref}));
    std::map<std::string, bool> have;
    for (int r = 0; r < types.rows(); ++r) have[types.Get(r, 0)] = true;
    for (const auto& f : schema.fields()) {
      if (have.count(f.name)) continue;
      spdlog::info("adding column {} {} to {}", f.name, PgTypeForField(f), ref);
      NILUS_RETURN_NOT_OK(
          conn_.Exec(fmt::format("ALTER TABLE {} ADD COLUMN {} {}", ref, QuoteIdent(f.name), PgTypeForField(f)))
              .status());
    }
    return Status::OK();
  }

  /// The merge staging table: the target's columns plus a sequence that orders the rows, so
  /// the last row of a key wins.
  Status EnsureStaging(const Schema& schema) {
    NILUS_ASSIGN_OR_RAISE(PgResult exists, conn_.Exec("SELECT to_regclass('pg_temp._nilus_staging') IS NOT NULL"));
    if (exists.Get(0, 0) != "t") {
      NILUS_RETURN_NOT_OK(conn_
                              .Exec(fmt::format("CREATE TEMP TABLE _nilus_staging (_nilus_seq bigserial) ON COMMIT "
                                                "DROP"))
                              .status());
      NILUS_RETURN_NOT_OK(
          conn_.Exec(fmt::format("ALTER TABLE pg_temp._nilus_staging ADD COLUMN {} text", QuoteIdent(kLoadIdColumn)))
              .status());
    }
    return EnsureTable(target_ref_, schema, false);
  }

  Status SwapIn() {
    if (schema_.num_fields() == 0) {
      // The source was empty: keep the table's shape, without rows.
      NILUS_ASSIGN_OR_RAISE(PgResult exists, conn_.Exec("SELECT to_regclass($1) IS NOT NULL", {table_ref_}));
      if (exists.Get(0, 0) == "t") return conn_.Exec("TRUNCATE " + table_ref_).status();
      return Status::OK();
    }
    NILUS_RETURN_NOT_OK(conn_.Exec("DROP TABLE IF EXISTS " + table_ref_)
                            .status()
                            .WithContext("replacing the table (views that depend on it must be dropped first)"));
    return conn_.Exec(fmt::format("ALTER TABLE {} RENAME TO {}", target_ref_, QuoteIdent(request_.dest_table)))
        .status();
  }

  Status MergeStaging() {
    std::vector<std::string> keys, cols, match;
    for (const auto& k : request_.primary_key) {
      if (schema_.FieldIndex(k) < 0) {
        return Status::InvalidInput("primary-key column '{}' is not a column of the data; columns are: {}", k,
                                    schema_.ToString());
      }
      keys.push_back(QuoteIdent(k));
      match.push_back(fmt::format("t.{0} IS NOT DISTINCT FROM s.{0}", QuoteIdent(k)));
    }
    for (const auto& f : schema_.fields()) cols.push_back(QuoteIdent(f.name));
    cols.push_back(QuoteIdent(kLoadIdColumn));
    NILUS_RETURN_NOT_OK(conn_
                            .Exec(fmt::format("DELETE FROM {} AS t USING pg_temp._nilus_staging AS s WHERE {}",
                                              table_ref_, Join(match, " AND ")))
                            .status());
    return conn_
        .Exec(fmt::format("INSERT INTO {0} ({1}) SELECT DISTINCT ON ({2}) {1} FROM pg_temp._nilus_staging "
                          "ORDER BY {2}, _nilus_seq DESC",
                          table_ref_, Join(cols, ", "), Join(keys, ", ")))
        .status();
  }

  PgConnection& conn_;
  LoadRequest request_;
  std::string schema_ref_, table_ref_, target_ref_;
  Schema schema_;
  std::vector<uint32_t> dest_oids_;
  std::string buf_;
  bool binary_ = true;
  bool in_copy_ = false;
  bool committed_ = false;
};

class PostgresDestination final : public Destination {
 public:
  explicit PostgresDestination(std::unique_ptr<PgConnection> conn) : conn_(std::move(conn)) {}

  Result<nlohmann::json> ReadState(const std::string& pipeline, const std::string& table) override {
    NILUS_ASSIGN_OR_RAISE(auto split, SplitDestTable(table, "dest-table"));
    std::string ref = QuoteIdent(split.first) + "._nilus_state";
    NILUS_ASSIGN_OR_RAISE(PgResult exists, conn_->Exec("SELECT to_regclass($1) IS NOT NULL", {ref}));
    if (exists.Get(0, 0) != "t") return nlohmann::json::object();
    NILUS_ASSIGN_OR_RAISE(PgResult res,
                          conn_->Exec(fmt::format("SELECT state FROM {} WHERE pipeline = $1 AND table_name = $2", ref),
                                      {pipeline, table}));
    if (res.rows() == 0) return nlohmann::json::object();
    return nlohmann::json::parse(res.Get(0, 0));
  }

  Status ResetState(const std::string& pipeline) override {
    NILUS_ASSIGN_OR_RAISE(
        PgResult tables, conn_->Exec("SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n "
                                     "ON n.oid = c.relnamespace WHERE c.relname = '_nilus_state' AND c.relkind = 'r'"));
    for (int r = 0; r < tables.rows(); ++r) {
      NILUS_RETURN_NOT_OK(
          conn_->Exec(fmt::format("DELETE FROM {} WHERE pipeline = $1", tables.Get(r, 0)), {pipeline}).status());
    }
    return Status::OK();
  }

  Result<std::unique_ptr<TableLoad>> Begin(const LoadRequest& request) override {
    auto load = std::make_unique<PgTableLoad>(*conn_, request);
    NILUS_RETURN_NOT_OK(load->Start());
    return std::unique_ptr<TableLoad>(std::move(load));
  }

 private:
  std::unique_ptr<PgConnection> conn_;
};

}  // namespace

Result<std::unique_ptr<Destination>> OpenPostgresDestination(const Uri& uri) {
  NILUS_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(uri));
  return std::unique_ptr<Destination>(new PostgresDestination(std::move(conn)));
}

}  // namespace nilus
