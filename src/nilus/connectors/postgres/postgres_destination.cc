#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <set>

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
  }

  ~PgTableLoad() override {
    if (!committed_) {
      if (copying_) PQputCopyEnd(conn_.get(), "load abandoned");
      PgResult drain(PQgetResult(conn_.get()));
      while (PGresult* r = PQgetResult(conn_.get())) PQclear(r);
      auto rollback = conn_.Exec("ROLLBACK");
      if (!rollback.ok()) spdlog::debug("rollback: {}", rollback.status().message());
    }
  }

  Status Start() {
    NILUS_RETURN_NOT_OK(conn_.Exec("BEGIN").status());
    return conn_.Exec(fmt::format(kCreateBookkeeping, schema_ref_)).status();
  }

  Status Write(const std::string& name, const RecordBatch& batch) override {
    NILUS_ASSIGN_OR_RAISE(Target * target, TargetFor(name));
    if (copying_ != target || !(batch.schema() == target->schema))
      NILUS_RETURN_NOT_OK(StartCopy(*target, batch.schema()));
    for (int64_t r = 0; r < batch.num_rows(); ++r) {
      if (target->binary) {
        uint16_t n = __builtin_bswap16(static_cast<uint16_t>(batch.num_columns() + 1));
        buf_.append(reinterpret_cast<const char*>(&n), 2);
        for (size_t c = 0; c < batch.num_columns(); ++c) {
          Status st = EncodePgBinary(target->oids[c], batch.column(c), r, buf_);
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
  /// One table of the load: where its rows are copied to, in which format.
  struct Target {
    std::string name;        // the destination table, without the schema
    std::string table_ref;   // the destination table
    std::string target_ref;  // where rows go: the table, its replacement, or the merge staging table
    bool staging = false;
    Schema schema;               // the columns the target was made to hold
    std::vector<uint32_t> oids;  // their types in the target
    bool binary = true;
  };

  Result<Target*> TargetFor(const std::string& name) {
    auto [it, added] = targets_.try_emplace(name);
    Target& t = it->second;
    if (added) {
      t.name = name;
      t.table_ref = schema_ref_ + "." + QuoteIdent(name);
      bool root = name == request_.dest_table;
      switch (request_.strategy) {
        case WriteDisposition::kAppend:
          t.target_ref = t.table_ref;
          break;
        case WriteDisposition::kReplace:
          t.target_ref = schema_ref_ + "." + QuoteIdent(name + "__nilus_new");
          NILUS_RETURN_NOT_OK(EndCopy());
          NILUS_RETURN_NOT_OK(conn_.Exec("DROP TABLE IF EXISTS " + t.target_ref).status());
          break;
        case WriteDisposition::kMerge:
          // Child rows go straight into their table; Merge drops those of rows that lost.
          t.staging = root;
          t.target_ref = root ? "pg_temp._nilus_staging" : t.table_ref;
          break;
      }
    }
    return &t;
  }

  /// Makes the target hold every column of `schema` (when it changed), then starts a COPY into
  /// it: binary when every column has a binary encoder for its destination type, text otherwise.
  Status StartCopy(Target& t, const Schema& schema) {
    NILUS_RETURN_NOT_OK(EndCopy());
    if (!(schema == t.schema)) {
      if (t.staging) {
        NILUS_RETURN_NOT_OK(EnsureTable(t.table_ref, schema, true));
        NILUS_RETURN_NOT_OK(EnsureStaging(t, schema));
      } else {
        NILUS_RETURN_NOT_OK(EnsureTable(t.target_ref, schema, t.name == request_.dest_table));
      }
      NILUS_ASSIGN_OR_RAISE(PgResult types, conn_.Exec(kColumnTypes, {t.target_ref}));
      std::map<std::string, uint32_t> oids;
      for (int r = 0; r < types.rows(); ++r) oids[types.Get(r, 0)] = static_cast<uint32_t>(std::stoul(types.Get(r, 1)));
      t.oids.clear();
      t.binary = true;
      for (const auto& f : schema.fields()) {
        t.oids.push_back(oids[f.name]);
        t.binary = t.binary && CanEncodePgBinary(t.oids.back(), f.type);
      }
      t.schema = schema;
    }
    std::string cols;
    for (const auto& f : schema.fields()) cols += QuoteIdent(f.name) + ", ";
    cols += QuoteIdent(kLoadIdColumn);
    NILUS_RETURN_NOT_OK(
        conn_.Exec(fmt::format("COPY {} ({}) FROM STDIN (FORMAT {})", t.target_ref, cols, t.binary ? "binary" : "text"))
            .status());
    copying_ = &t;
    buf_.clear();
    if (t.binary) {
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
    if (!copying_) return Status::OK();
    Target& t = *copying_;
    if (t.binary) buf_.append("\xff\xff", 2);
    NILUS_RETURN_NOT_OK(Flush());
    copying_ = nullptr;
    if (PQputCopyEnd(conn_.get(), nullptr) != 1) return conn_.ErrorStatus(nullptr, "ending COPY");
    PgResult res(PQgetResult(conn_.get()));
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return conn_.ErrorStatus(res.get(), fmt::format("loading into {}.{}", request_.dest_schema, t.name));
    }
    while (PGresult* r = PQgetResult(conn_.get())) PQclear(r);
    return Status::OK();
  }

  Result<std::set<std::string>> Columns(const std::string& ref) {
    std::set<std::string> out;
    NILUS_ASSIGN_OR_RAISE(PgResult exists, conn_.Exec("SELECT to_regclass($1) IS NOT NULL", {ref}));
    if (exists.Get(0, 0) != "t") return out;
    NILUS_ASSIGN_OR_RAISE(PgResult types, conn_.Exec(kColumnTypes, {ref}));
    for (int r = 0; r < types.rows(); ++r) out.insert(types.Get(r, 0));
    return out;
  }

  Status EnsureTable(const std::string& ref, const Schema& schema, bool keyed) {
    NILUS_ASSIGN_OR_RAISE(auto have, Columns(ref));
    if (have.empty()) {
      std::string cols;
      for (const auto& f : schema.fields()) cols += QuoteIdent(f.name) + " " + PgTypeForField(f) + ", ";
      cols += QuoteIdent(kLoadIdColumn) + " text NOT NULL";
      if (keyed && request_.strategy == WriteDisposition::kMerge && !request_.primary_key.empty()) {
        NILUS_ASSIGN_OR_RAISE(auto keys, QuotedPrimaryKey(request_, schema));
        cols += ", PRIMARY KEY (" + Join(keys, ", ") + ")";
      }
      return conn_.Exec(fmt::format("CREATE TABLE {} ({})", ref, cols)).status();
    }
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
  Status EnsureStaging(const Target& t, const Schema& schema) {
    NILUS_ASSIGN_OR_RAISE(PgResult exists, conn_.Exec("SELECT to_regclass('pg_temp._nilus_staging') IS NOT NULL"));
    if (exists.Get(0, 0) != "t") {
      NILUS_RETURN_NOT_OK(
          conn_.Exec("CREATE TEMP TABLE _nilus_staging (_nilus_seq bigserial) ON COMMIT DROP").status());
      NILUS_RETURN_NOT_OK(
          conn_.Exec(fmt::format("ALTER TABLE pg_temp._nilus_staging ADD COLUMN {} text", QuoteIdent(kLoadIdColumn)))
              .status());
    }
    return EnsureTable(t.target_ref, schema, false);
  }

  /// A replace: the new table takes the old one's place inside the load's transaction. A table
  /// the load wrote nothing to keeps its shape, empty.
  Status SwapIn(const Target& t) {
    if (t.schema.num_fields() == 0) {
      NILUS_ASSIGN_OR_RAISE(PgResult exists, conn_.Exec("SELECT to_regclass($1) IS NOT NULL", {t.table_ref}));
      if (exists.Get(0, 0) == "t") return conn_.Exec("TRUNCATE " + t.table_ref).status();
      return Status::OK();
    }
    NILUS_RETURN_NOT_OK(conn_.Exec("DROP TABLE IF EXISTS " + t.table_ref)
                            .status()
                            .WithContext("replacing the table (views that depend on it must be dropped first)"));
    return conn_.Exec(fmt::format("ALTER TABLE {} RENAME TO {}", t.target_ref, QuoteIdent(t.name))).status();
  }

  /// Upserts the staged rows: the last staged row of each key replaces the table's row. The
  /// child rows of replaced rows go, and so do the new child rows of staged rows that lost to a
  /// later row of the same key.
  Status Merge(const Target& root, const std::vector<std::string>& child_tables) {
    NILUS_ASSIGN_OR_RAISE(auto keys, QuotedPrimaryKey(request_, root.schema));
    std::vector<std::string> cols, match;
    for (const auto& k : keys) match.push_back(fmt::format("t.{0} IS NOT DISTINCT FROM s.{0}", k));
    for (const auto& f : root.schema.fields()) cols.push_back(QuoteIdent(f.name));
    cols.push_back(QuoteIdent(kLoadIdColumn));
    std::vector<std::string> children;  // child tables that link to their root rows
    NILUS_ASSIGN_OR_RAISE(auto root_columns, Columns(root.table_ref));
    for (const auto& child : child_tables) {
      std::string ref = schema_ref_ + "." + QuoteIdent(child);
      NILUS_ASSIGN_OR_RAISE(auto columns, Columns(ref));
      if (columns.count("_nilus_root_id") && root_columns.count("_nilus_id")) children.push_back(ref);
    }
    for (const auto& child : children) {
      NILUS_RETURN_NOT_OK(conn_
                              .Exec(fmt::format("DELETE FROM {} WHERE _nilus_root_id IN (SELECT t._nilus_id FROM {} AS "
                                                "t JOIN pg_temp._nilus_staging AS s ON {})",
                                                child, root.table_ref, Join(match, " AND ")))
                              .status());
    }
    NILUS_RETURN_NOT_OK(conn_
                            .Exec(fmt::format("DELETE FROM {} AS t USING pg_temp._nilus_staging AS s WHERE {}",
                                              root.table_ref, Join(match, " AND ")))
                            .status());
    NILUS_RETURN_NOT_OK(
        conn_
            .Exec(fmt::format("INSERT INTO {0} ({1}) SELECT DISTINCT ON ({2}) {1} FROM pg_temp._nilus_staging "
                              "ORDER BY {2}, _nilus_seq DESC",
                              root.table_ref, Join(cols, ", "), Join(keys, ", ")))
            .status());
    for (const auto& child : children) {
      NILUS_RETURN_NOT_OK(conn_
                              .Exec(fmt::format("DELETE FROM {0} AS c WHERE _nilus_load_id = $1 AND NOT EXISTS (SELECT "
                                                "1 FROM {1} AS r WHERE r._nilus_load_id = $1 AND r._nilus_id = "
                                                "c._nilus_root_id)",
                                                child, root.table_ref),
                                    {request_.load_id})
                              .status());
    }
    return Status::OK();
  }

  PgConnection& conn_;
  LoadRequest request_;
  std::string schema_ref_;
  std::map<std::string, Target> targets_;  // by table name, without the destination schema
  Target* copying_ = nullptr;              // the target of the COPY in progress
  std::string buf_;
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

  Result<std::vector<Field>> TableColumns(const std::string& schema, const std::string& table) override {
    std::string ref = QuoteIdent(schema) + "." + QuoteIdent(table);
    NILUS_ASSIGN_OR_RAISE(PgResult exists, conn_->Exec("SELECT to_regclass($1) IS NOT NULL", {ref}));
    std::vector<Field> out;
    if (exists.Get(0, 0) != "t") return out;
    NILUS_ASSIGN_OR_RAISE(auto columns, PgTableColumns(*conn_, ref));
    for (const auto& c : columns) {
      if (c.name == kLoadIdColumn) continue;
      out.push_back({c.name, c.type.logical, true, "postgresql:" + c.type.sql_type});
    }
    return out;
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
