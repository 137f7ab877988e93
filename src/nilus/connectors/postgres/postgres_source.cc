#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "nilus/connectors/merged_reader.h"
#include "nilus/connectors/postgres/pg_connection.h"
#include "nilus/connectors/postgres/pg_types.h"
#include "nilus/connectors/postgres/postgres_internal.h"
#include "nilus/core/cancellation.h"
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

constexpr char kBinaryCopySignature[] = "PGCOPY\n\377\r\n";

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
  PostgresReader(std::unique_ptr<PgConnection> conn, std::vector<PgColumn> columns, std::string what, int64_t page_size)
      : conn_(std::move(conn)), columns_(std::move(columns)), what_(std::move(what)), page_size_(page_size) {
    Schema schema;
    for (const auto& c : columns_) {
      schema.AddField({c.name, c.type.logical, true, "postgresql:" + c.type.sql_type});
    }
    builder_ = std::make_unique<BatchBuilder>(std::move(schema));
  }

  Result<std::shared_ptr<const RecordBatch>> Next() override {
    while (!done_ && builder_->num_rows() < page_size_) {
      // Checked every 1024 rows: the byte bound and a stop request.
      if ((builder_->num_rows() & 1023) == 0) {
        if (StopRequested()) return Status::Cancelled("interrupted");
        if (builder_->byte_size() >= kMaxBatchBytes) break;
      }
      char* buf = nullptr;
      int len = PQgetCopyData(conn_->get(), &buf, 0);
      if (len == -1) {
        done_ = true;
        PgResult res(PQgetResult(conn_->get()));
        if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) return conn_->ErrorStatus(res.get(), "reading " + what_);
        break;
      }
      if (len < 0) return conn_->ErrorStatus(nullptr, "reading " + what_);
      Status st = ParseRow(buf, len);
      PQfreemem(buf);
      NILUS_RETURN_NOT_OK(st.WithContext(what_));
    }
    if (builder_->num_rows() == 0) return std::shared_ptr<const RecordBatch>();
    return builder_->Finish();
  }

 private:
  Status ParseRow(const char* p, int len) {
    const char* end = p + len;
    if (!header_seen_) {
      // Signature, flags, header extension length, extension.
      if (len < 19 || std::memcmp(p, kBinaryCopySignature, 11) != 0) return Status::Internal("bad binary COPY header");
      uint32_t ext;
      std::memcpy(&ext, p + 15, 4);
      p += 19 + __builtin_bswap32(ext);
      header_seen_ = true;
      if (p == end) return Status::OK();
    }
    uint16_t raw;
    std::memcpy(&raw, p, 2);
    int16_t fields = static_cast<int16_t>(__builtin_bswap16(raw));
    p += 2;
    if (fields == -1) return Status::OK();  // trailer
    if (fields != static_cast<int16_t>(columns_.size())) return Status::Internal("COPY row has {} fields", fields);
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (p + 4 > end) return Status::Internal("truncated COPY row");
      uint32_t raw_len;
      std::memcpy(&raw_len, p, 4);
      int32_t flen = static_cast<int32_t>(__builtin_bswap32(raw_len));
      p += 4;
      if (flen < 0) {
        builder_->column(c).AppendNull();
        continue;
      }
      if (p + flen > end) return Status::Internal("truncated COPY field");
      NILUS_RETURN_NOT_OK(DecodePgBinary(columns_[c].type, p, flen, builder_->column(c)));
      p += flen;
    }
    return Status::OK();
  }

  std::unique_ptr<PgConnection> conn_;
  std::vector<PgColumn> columns_;
  std::string what_;
  int64_t page_size_;
  std::unique_ptr<BatchBuilder> builder_;
  bool header_seen_ = false;
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

/// How a table is cut for parallel reading: one snapshot, several ranges.
struct TableSplit {
  std::string snapshot;
  std::vector<std::string> ranges;  ///< WHERE terms; fewer than two means "read it whole"
};

constexpr int64_t kMinBlocksPerPart = 1024;  // 8 MB: smaller parts cost more than they save

/// Exports a snapshot from `conn` (left in its transaction) and cuts the table into up to `n`
/// ranges: by integer primary key when it has a one-column one, by ctid block ranges otherwise.
Result<TableSplit> SplitTable(PgConnection& conn, const std::string& table, int n) {
  TableSplit split;
  NILUS_RETURN_NOT_OK(conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
  NILUS_ASSIGN_OR_RAISE(PgResult snap, conn.Exec("SELECT pg_export_snapshot()"));
  split.snapshot = snap.Get(0, 0);
  NILUS_ASSIGN_OR_RAISE(
      PgResult size,
      conn.Exec("SELECT pg_relation_size($1::regclass) / current_setting('block_size')::bigint", {table}));
  int64_t blocks = std::stoll(size.Get(0, 0));
  int64_t parts = std::min<int64_t>(n, std::max<int64_t>(1, blocks / kMinBlocksPerPart));
  if (parts < 2) return split;
  NILUS_ASSIGN_OR_RAISE(PgResult pk, conn.Exec(R"sql(
SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = $1::regclass AND i.indisprimary AND i.indnatts = 1 AND a.atttypid IN (20, 21, 23)
)sql",
                                               {table}));
  if (pk.rows() == 1) {
    std::string key = QuoteIdent(pk.Get(0, 0));
    NILUS_ASSIGN_OR_RAISE(PgResult bounds, conn.Exec(fmt::format("SELECT min({0}), max({0}) FROM {1}", key, table)));
    if (bounds.IsNull(0, 0)) return split;
    int64_t lo = std::stoll(bounds.Get(0, 0)), hi = std::stoll(bounds.Get(0, 1));
    int64_t step = (hi - lo) / parts + 1;
    for (int64_t i = 0; i < parts; ++i) {
      std::vector<std::string> t;
      if (i > 0) t.push_back(fmt::format("{} >= {}", key, lo + i * step));
      if (i < parts - 1) t.push_back(fmt::format("{} < {}", key, lo + (i + 1) * step));
      split.ranges.push_back(Join(t, " AND "));
    }
    return split;
  }
  int64_t step = blocks / parts + 1;
  for (int64_t i = 0; i < parts; ++i) {
    std::vector<std::string> t;
    if (i > 0) t.push_back(fmt::format("ctid >= '({},0)'::tid", i * step));
    if (i < parts - 1) t.push_back(fmt::format("ctid < '({},0)'::tid", (i + 1) * step));
    split.ranges.push_back(Join(t, " AND "));
  }
  return split;
}

class PostgresSource final : public Source {
 public:
  explicit PostgresSource(Uri uri) : uri_(std::move(uri)) {}

  Result<std::vector<std::string>> PrimaryKey(const SourceOptions& options) override {
    std::vector<std::string> key;
    if (StartsWith(options.table, "query:")) return key;
    NILUS_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(uri_));
    NILUS_ASSIGN_OR_RAISE(std::string table, ResolveTable(*conn, options.table));
    NILUS_ASSIGN_OR_RAISE(PgResult res, conn->Exec(kPrimaryKeySql, {table}));
    for (int r = 0; r < res.rows(); ++r) key.push_back(res.Get(r, 0));
    return key;
  }

  Result<std::optional<std::vector<std::string>>> ColumnNames(const SourceOptions& options) override {
    NILUS_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(uri_));
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
    NILUS_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(uri_));
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
    std::vector<PgColumn> selected;
    for (auto& c : columns) {
      bool excluded = std::find(options.sql_exclude_columns.begin(), options.sql_exclude_columns.end(), c.name) !=
                      options.sql_exclude_columns.end();
      bool wanted = options.columns.empty() ||
                    std::find(options.columns.begin(), options.columns.end(), c.name) != options.columns.end();
      if (!excluded && wanted && c.name != "_nilus_load_id") selected.push_back(std::move(c));
    }
    for (const auto& wanted : options.columns) {
      if (std::none_of(selected.begin(), selected.end(), [&](const auto& c) { return c.name == wanted; })) {
        return Status::InvalidInput("option columns names '{}', which {} does not have", wanted, what);
      }
    }
    std::vector<std::string> terms = Predicate(options, resume, selected);
    std::string list;
    for (const auto& c : selected) {
      if (!list.empty()) list += ", ";
      list += QuoteIdent(c.name);
      if (c.type.read_as_text) list += "::text";
    }
    auto select = [&](const std::string& range) {
      std::vector<std::string> all = terms;
      if (!range.empty()) all.push_back(range);
      std::string sql = fmt::format("SELECT {} FROM {}", list, from);
      if (!all.empty()) sql += " WHERE " + Join(all, " AND ");
      if (options.sql_limit > 0) sql += fmt::format(" LIMIT {}", options.sql_limit);
      return fmt::format("COPY ({}) TO STDOUT (FORMAT binary)", sql);
    };

    if (!is_query && options.extract_parallelism > 1 && options.sql_limit <= 0) {
      NILUS_ASSIGN_OR_RAISE(TableSplit split, SplitTable(*conn, from, options.extract_parallelism));
      if (split.ranges.size() > 1) {
        spdlog::info("reading {} in {} parts from one snapshot", what, split.ranges.size());
        std::vector<std::unique_ptr<BatchReader>> parts;
        for (const auto& range : split.ranges) {
          NILUS_ASSIGN_OR_RAISE(auto part_conn, PgConnection::Connect(uri_));
          NILUS_RETURN_NOT_OK(part_conn->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
          NILUS_RETURN_NOT_OK(
              part_conn->Exec(fmt::format("SET TRANSACTION SNAPSHOT {}", QuoteLiteral(split.snapshot))).status());
          spdlog::debug("postgres source part: {}", select(range));
          NILUS_RETURN_NOT_OK(part_conn->Exec(select(range)).status());
          parts.push_back(std::make_unique<PostgresReader>(std::move(part_conn), selected, what, options.page_size));
        }
        // The exporting transaction stays open until every part has read its range.
        return std::unique_ptr<BatchReader>(
            new MergedReader(std::move(parts), std::shared_ptr<PgConnection>(std::move(conn))));
      }
    }
    spdlog::debug("postgres source: {}", select(""));
    NILUS_RETURN_NOT_OK(conn->Exec(select("")).status());
    return std::unique_ptr<BatchReader>(
        new PostgresReader(std::move(conn), std::move(selected), what, options.page_size));
  }

 private:
  /// The incremental range pushed down as WHERE terms: key > cursor, or [start, end).
  static std::vector<std::string> Predicate(const SourceOptions& o, const ResumePoint& resume,
                                            const std::vector<PgColumn>& columns) {
    if (o.incremental_key.empty()) return {};
    auto key = std::find_if(columns.begin(), columns.end(), [&](const auto& c) { return c.name == o.incremental_key; });
    if (key == columns.end()) return {};  // the runner reports the missing column
    std::string k = QuoteIdent(key->name);
    std::string type = key->type.sql_type;
    std::vector<std::string> terms;
    if (!resume.cursor.empty()) terms.push_back(fmt::format("{} > {}::{}", k, QuoteLiteral(resume.cursor), type));
    if (!o.interval_start.empty())
      terms.push_back(fmt::format("{} >= {}::{}", k, QuoteLiteral(o.interval_start), type));
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

Result<std::unique_ptr<Source>> OpenPostgresSource(const Uri& uri) {
  return std::unique_ptr<Source>(new PostgresSource(uri));
}

}  // namespace nilus
