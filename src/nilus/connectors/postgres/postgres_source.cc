#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "nilus/connectors/merged_reader.h"
#include "nilus/connectors/postgres/pg_connection.h"
#include "nilus/connectors/postgres/pg_copy.h"
#include "nilus/connectors/postgres/pg_types.h"
#include "nilus/connectors/postgres/postgres_internal.h"
#include "nilus/core/identifiers.h"
#include "nilus/core/strings.h"

namespace nilus {

namespace {

constexpr int64_t kMaxBatchBytes = 64 << 20;

// The columns of a table, with domains resolved to their base types.
constexpr char kTableColumnsSql[] = R"sql(
SELECT a.attname,
       bt.oid,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod)
            ELSE format_type(a.atttypid, a.atttypmod) END,
       bt.typnamespace = 'pg_catalog'::regnamespace,
       bt.typtype,
       format_type(bt.oid, NULL)
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
)sql";

// The type of a query's result column.
constexpr char kTypeSql[] = R"sql(
SELECT bt.oid,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE format_type(t.oid, $2::int) END,
       bt.typnamespace = 'pg_catalog'::regnamespace,
       bt.typtype,
       format_type(bt.oid, NULL)
FROM pg_type t
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
WHERE t.oid = $1::oid
)sql";

// The primary key's columns, in key order.
constexpr char kPrimaryKeySql[] = R"sql(
SELECT a.attname
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = $1::regclass AND i.indisprimary
ORDER BY k.pos
)sql";

/// sql-reflection-level: `full` keeps every type with its modifiers; `fast` drops modifiers
/// (numeric(12,2) -> numeric, varchar(40) -> varchar); `none` reads every column as text.
void ApplyReflectionLevel(std::vector<PgColumn>& columns, const std::string& level) {
  for (auto& c : columns) {
    if (level == "none") {
      c.type = ClassifyPgType(0, "text", false, 'b');
    } else if (level == "fast") {
      if (c.type.sql_type != "text") c.type.sql_type = c.plain_type;
      if (c.type.logical.id == TypeId::kDecimal) c.type.logical = LogicalType::Decimal();
    }
  }
}

/// Streams `COPY (SELECT …) TO STDOUT (FORMAT binary)` into record batches.
class PostgresReader final : public BatchReader {
 public:
  PostgresReader(std::shared_ptr<PgConnection> conn, const std::vector<PgColumn>& columns, std::string what,
                 int64_t page_size)
      : conn_(std::move(conn)), decoder_(TypesOf(columns)), what_(std::move(what)), page_size_(page_size) {
    Schema schema;
    for (const auto& c : columns) schema.AddField({c.name, c.type.logical, true, "postgresql:" + c.type.sql_type});
    builder_ = std::make_unique<BatchBuilder>(std::move(schema));
  }

  Result<std::shared_ptr<const RecordBatch>> Next() override {
    while (!done_ && builder_->num_rows() < page_size_) {
      // The byte bound is checked every 1024 rows.
      if ((builder_->num_rows() & 1023) == 0 && builder_->byte_size() >= kMaxBatchBytes) break;
      char* buf = nullptr;
      NILUS_ASSIGN_OR_RAISE(int len, conn_->GetCopyData(&buf, "reading " + what_));
      if (len == -1) {
        done_ = true;
        PgResult res(PQgetResult(conn_->get()));
        if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) return conn_->ErrorStatus(res.get(), "reading " + what_);
        // The connection is ready for the next command once libpq has handed out every result.
        while (PGresult* more = PQgetResult(conn_->get())) PQclear(more);
        break;
      }
      Status st = decoder_.Decode(buf, len, *builder_);
      PQfreemem(buf);
      NILUS_RETURN_NOT_OK(st.WithContext(what_));
    }
    if (builder_->num_rows() == 0) return std::shared_ptr<const RecordBatch>();
    return builder_->Finish();
  }

 private:
  static std::vector<PgColumnType> TypesOf(const std::vector<PgColumn>& columns) {
    std::vector<PgColumnType> out;
    for (const auto& c : columns) out.push_back(c.type);
    return out;
  }

  std::shared_ptr<PgConnection> conn_;
  PgBinaryCopyDecoder decoder_;
  std::string what_;
  int64_t page_size_;
  std::unique_ptr<BatchBuilder> builder_;
  bool done_ = false;
};

Result<std::vector<PgColumn>> QueryColumns(PgConnection& conn, const std::string& query) {
  PgResult prepared(PQprepare(conn.get(), "", query.c_str(), 0, nullptr));
  if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
    return conn.ErrorStatus(prepared.get(), "preparing the source query");
  }
  PgResult desc(PQdescribePrepared(conn.get(), ""));
  if (PQresultStatus(desc.get()) != PGRES_COMMAND_OK) return conn.ErrorStatus(desc.get(), "describing the query");
  std::vector<PgColumn> out;
  for (int i = 0; i < PQnfields(desc.get()); ++i) {
    std::string oid = std::to_string(PQftype(desc.get(), i));
    NILUS_ASSIGN_OR_RAISE(PgResult t, conn.Exec(kTypeSql, {oid, std::to_string(PQfmod(desc.get(), i))}));
    if (t.rows() != 1) return Status::Internal("type {} of query column {} not found", oid, i);
    out.push_back({PQfname(desc.get(), i),
                   ClassifyPgType(static_cast<uint32_t>(std::stoul(t.Get(0, 0))), t.Get(0, 1), t.Get(0, 2) == "t",
                                  t.Get(0, 3)[0]),
                   t.Get(0, 4)});
  }
  return out;
}

constexpr int64_t kMinBlocksPerPart = 1024;  // 8 MB: smaller parts cost more than they save

class PostgresSource final : public Source {
 public:
  PostgresSource(Uri uri, std::stop_token stop) : uri_(std::move(uri)), stop_(std::move(stop)) {}

  Result<std::vector<std::string>> PrimaryKey(const SourceOptions& options) override {
    std::vector<std::string> key;
    if (StartsWith(options.table, "query:")) return key;
    NILUS_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(uri_, stop_));
    NILUS_ASSIGN_OR_RAISE(std::string table, ResolveTable(*conn, options.table));
    return PgPrimaryKey(*conn, table);
  }

  Result<std::optional<std::vector<std::string>>> ColumnNames(const SourceOptions& options) override {
    NILUS_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(uri_, stop_));
    std::vector<PgColumn> columns;
    if (StartsWith(options.table, "query:")) {
      NILUS_ASSIGN_OR_RAISE(columns, QueryColumns(*conn, std::string(Trim(options.table.substr(6)))));
    } else {
      NILUS_ASSIGN_OR_RAISE(std::string table, ResolveTable(*conn, options.table));
      NILUS_ASSIGN_OR_RAISE(columns, PgTableColumns(*conn, table));
    }
    std::vector<std::string> names;
    for (const auto& c : columns) names.push_back(c.name);
    return std::optional<std::vector<std::string>>(std::move(names));
  }

  Result<std::unique_ptr<BatchReader>> Read(const SourceOptions& options, const ResumePoint& resume) override {
    NILUS_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(uri_, stop_));
    // Values read as text (ranges and arrays of timestamptz …) come out in UTC, whatever the server's zone.
    NILUS_RETURN_NOT_OK(conn->Exec("SET TimeZone = 'UTC'").status());
    std::string from, what;
    std::vector<PgColumn> columns;
    const bool is_query = StartsWith(options.table, "query:");
    if (is_query) {
      std::string query(Trim(options.table.substr(6)));
      NILUS_ASSIGN_OR_RAISE(columns, QueryColumns(*conn, query));
      from = "(" + query + ") AS q";
      what = "the source query";
    } else {
      NILUS_ASSIGN_OR_RAISE(from, ResolveTable(*conn, options.table));
      what = "table " + options.table;
      NILUS_ASSIGN_OR_RAISE(columns, PgTableColumns(*conn, from));
    }
    ApplyReflectionLevel(columns, options.sql_reflection_level);
    std::vector<std::string> names;
    for (const auto& c : columns) names.push_back(c.name);
    NILUS_RETURN_NOT_OK(options.CheckSelection(names, what));
    std::vector<PgColumn> selected;
    for (auto& c : columns) {
      if (options.Selects(c.name) && c.name != kLoadIdColumn) selected.push_back(std::move(c));
    }
    const PgColumn* key = IncrementalKeyColumn(options, selected);
    std::vector<std::string> terms = Predicate(options, resume, key);
    std::string list;
    for (const auto& c : selected) {
      if (!list.empty()) list += ", ";
      list += QuoteIdent(c.name);
      if (c.type.read_as_text) list += "::text";
    }
    // A read the run stops part-way comes in key order, so that the saved cursor is exact.
    std::string order = options.ReadsInKeyOrder() && key ? " ORDER BY " + QuoteIdent(key->name) : "";
    std::string limit =
        options.sql_limit > 0 ? fmt::format(" LIMIT {}", options.sql_limit + resume.rows_at_cursor) : "";
    auto select = [&](const std::string& range) {
      std::vector<std::string> all = terms;
      if (!range.empty()) all.push_back(range);
      std::string sql = fmt::format("SELECT {} FROM {}", list, from);
      if (!all.empty()) sql += " WHERE " + Join(all, " AND ");
      return fmt::format("COPY ({}{}{}) TO STDOUT (FORMAT binary)", sql, order, limit);
    };

    const int parallelism = options.extract_parallelism > 0 ? options.extract_parallelism : DefaultExtractParallelism();
    if (!is_query && parallelism > 1 && options.sql_limit <= 0 && order.empty()) {
      NILUS_RETURN_NOT_OK(conn->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
      NILUS_ASSIGN_OR_RAISE(PgResult snapshot, conn->Exec("SELECT pg_export_snapshot()"));
      NILUS_ASSIGN_OR_RAISE(auto ranges, PgTableRanges(*conn, from, parallelism));
      if (ranges.size() > 1) {
        spdlog::info("reading {} in {} parts from one snapshot", what, ranges.size());
        std::vector<std::string> copies;
        for (const auto& range : ranges) copies.push_back(select(range));
        // The exporting transaction stays open until every part has read its range.
        return NewRangedCopyReader(uri_, stop_, snapshot.Get(0, 0), copies, selected, what, options.page_size,
                                   std::shared_ptr<PgConnection>(std::move(conn)));
      }
    }
    spdlog::debug("postgres source: {}", select(""));
    NILUS_RETURN_NOT_OK(conn->Exec(select("")).status());
    return std::unique_ptr<BatchReader>(
        new PostgresReader(std::move(conn), std::move(selected), what, options.page_size));
  }

 private:
  /// The incremental range pushed down as WHERE terms: key >= cursor (inclusive: rows equal to
  /// it may be new), or [start, end). A key read as text is compared as text, as the runner does.
  static std::vector<std::string> Predicate(const SourceOptions& o, const ResumePoint& resume, const PgColumn* key) {
    if (!key) return {};  // the runner reports a missing key column
    std::string k = QuoteIdent(key->name);
    std::string type = key->type.sql_type;
    if (key->type.logical.id == TypeId::kText) k += "::text";
    std::vector<std::string> terms;
    if (!resume.cursor.empty()) terms.push_back(fmt::format("{} >= {}::{}", k, QuoteLiteral(resume.cursor), type));
    if (!o.interval_start.empty()) {
      terms.push_back(fmt::format("{} >= {}::{}", k, QuoteLiteral(o.interval_start), type));
    }
    if (!o.interval_end.empty()) terms.push_back(fmt::format("{} < {}::{}", k, QuoteLiteral(o.interval_end), type));
    return terms;
  }

  /// `schema.table` (schema defaults to public) as a quoted name, after checking it exists.
  Result<std::string> ResolveTable(PgConnection& conn, const std::string& name) const {
    if (name.empty()) {
      return Status::InvalidInput("the PostgreSQL source needs source-table: schema.table or query:SELECT …");
    }
    size_t dot = name.find('.');
    std::string schema = dot == std::string::npos ? "public" : name.substr(0, dot);
    std::string table = dot == std::string::npos ? name : name.substr(dot + 1);
    std::string quoted = QuoteIdent(schema) + "." + QuoteIdent(table);
    NILUS_ASSIGN_OR_RAISE(PgResult exists, conn.Exec("SELECT to_regclass($1) IS NOT NULL", {quoted}));
    if (exists.Get(0, 0) != "t") {
      return Status::NotFound("table {}.{} does not exist (or the user may not see it) in {}", schema, table,
                              uri_.Masked());
    }
    return quoted;
  }

  Uri uri_;
  std::stop_token stop_;
};

}  // namespace

Result<std::vector<PgColumn>> PgTableColumns(PgConnection& conn, const std::string& qualified) {
  NILUS_ASSIGN_OR_RAISE(PgResult res, conn.Exec(kTableColumnsSql, {qualified}));
  std::vector<PgColumn> out;
  for (int r = 0; r < res.rows(); ++r) {
    out.push_back({res.Get(r, 0),
                   ClassifyPgType(static_cast<uint32_t>(std::stoul(res.Get(r, 1))), res.Get(r, 2), res.Get(r, 3) == "t",
                                  res.Get(r, 4)[0]),
                   res.Get(r, 5)});
  }
  return out;
}

Result<std::vector<std::string>> PgPrimaryKey(PgConnection& conn, const std::string& qualified) {
  NILUS_ASSIGN_OR_RAISE(PgResult res, conn.Exec(kPrimaryKeySql, {qualified}));
  std::vector<std::string> key;
  for (int r = 0; r < res.rows(); ++r) key.push_back(res.Get(r, 0));
  return key;
}

std::unique_ptr<BatchReader> NewCopyReader(std::shared_ptr<PgConnection> conn, const std::vector<PgColumn>& columns,
                                           std::string what, int64_t page_size) {
  return std::make_unique<PostgresReader>(std::move(conn), columns, std::move(what), page_size);
}

Result<std::vector<std::string>> PgTableRanges(PgConnection& conn, const std::string& table, int n) {
  std::vector<std::string> ranges;
  NILUS_ASSIGN_OR_RAISE(
      PgResult size,
      conn.Exec("SELECT pg_relation_size($1::regclass) / current_setting('block_size')::bigint", {table}));
  int64_t blocks = std::stoll(size.Get(0, 0));
  int64_t parts = std::min<int64_t>(n, std::max<int64_t>(1, blocks / kMinBlocksPerPart));
  if (parts < 2) return ranges;
  NILUS_ASSIGN_OR_RAISE(PgResult pk, conn.Exec(R"sql(
SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = $1::regclass AND i.indisprimary AND i.indnatts = 1 AND a.atttypid IN (20, 21, 23)
)sql",
                                               {table}));
  if (pk.rows() == 1) {
    std::string key = QuoteIdent(pk.Get(0, 0));
    NILUS_ASSIGN_OR_RAISE(PgResult bounds, conn.Exec(fmt::format("SELECT min({0}), max({0}) FROM {1}", key, table)));
    if (bounds.IsNull(0, 0)) return ranges;
    int64_t lo = std::stoll(bounds.Get(0, 0)), hi = std::stoll(bounds.Get(0, 1));
    int64_t step = (hi - lo) / parts + 1;
    for (int64_t i = 0; i < parts; ++i) {
      std::vector<std::string> t;
      if (i > 0) t.push_back(fmt::format("{} >= {}", key, lo + i * step));
      if (i < parts - 1) t.push_back(fmt::format("{} < {}", key, lo + (i + 1) * step));
      ranges.push_back(Join(t, " AND "));
    }
    return ranges;
  }
  int64_t step = blocks / parts + 1;
  for (int64_t i = 0; i < parts; ++i) {
    std::vector<std::string> t;
    if (i > 0) t.push_back(fmt::format("ctid >= '({},0)'::tid", i * step));
    if (i < parts - 1) t.push_back(fmt::format("ctid < '({},0)'::tid", (i + 1) * step));
    ranges.push_back(Join(t, " AND "));
  }
  return ranges;
}

Result<std::unique_ptr<BatchReader>> NewRangedCopyReader(const Uri& uri, std::stop_token stop,
                                                         const std::string& snapshot,
                                                         const std::vector<std::string>& copies,
                                                         const std::vector<PgColumn>& columns, const std::string& what,
                                                         int64_t page_size, std::shared_ptr<void> keep_alive) {
  std::vector<std::unique_ptr<BatchReader>> parts;
  for (const auto& copy : copies) {
    NILUS_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(uri, stop));
    NILUS_RETURN_NOT_OK(conn->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
    NILUS_RETURN_NOT_OK(conn->Exec(fmt::format("SET TRANSACTION SNAPSHOT {}", QuoteLiteral(snapshot))).status());
    NILUS_RETURN_NOT_OK(conn->Exec("SET LOCAL TimeZone = 'UTC'").status());
    spdlog::debug("postgres source part: {}", copy);
    NILUS_RETURN_NOT_OK(conn->Exec(copy).status());
    parts.push_back(std::make_unique<PostgresReader>(std::move(conn), columns, what, page_size));
  }
  return std::unique_ptr<BatchReader>(new MergedReader(std::move(parts), std::move(keep_alive)));
}

Result<std::unique_ptr<Source>> OpenPostgresSource(const Uri& uri, std::stop_token stop) {
  return std::unique_ptr<Source>(new PostgresSource(uri, std::move(stop)));
}

}  // namespace nilus
