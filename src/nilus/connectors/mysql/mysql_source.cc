#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "nilus/connectors/merged_reader.h"
#include "nilus/connectors/mysql/my_connection.h"
#include "nilus/connectors/mysql/my_types.h"
#include "nilus/connectors/mysql/mysql_internal.h"
#include "nilus/core/identifiers.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

constexpr int64_t kMaxBatchBytes = 64 << 20;
constexpr int64_t kMinBytesPerPart = 8 << 20;  // smaller parts cost more than they save

/// Streams the rows of a query (mysql_use_result: one row in memory at a time) into batches.
class MysqlReader final : public BatchReader {
 public:
  MysqlReader(std::shared_ptr<MyConnection> conn, MYSQL_RES* res, const std::vector<MyColumn>& columns,
              std::string what, int64_t page_size, ZeroDates zero_dates)
      : conn_(std::move(conn)), res_(res), what_(std::move(what)), page_size_(page_size), zero_dates_(zero_dates) {
    Schema schema;
    for (const auto& c : columns) {
      schema.AddField({c.name, c.type.logical, true, c.type.native});
      types_.push_back(c.type);
    }
    builder_ = std::make_unique<BatchBuilder>(std::move(schema));
  }

  ~MysqlReader() override {
    if (!res_) return;
    // Rows left unread would be drained by mysql_free_result: end the connection instead.
    if (!done_) conn_->Abandon();
    mysql_free_result(res_);
  }

  Result<std::shared_ptr<const RecordBatch>> Next() override {
    const size_t n = types_.size();
    while (!done_ && builder_->num_rows() < page_size_) {
      // The byte bound and the stop are checked every 1024 rows.
      if ((builder_->num_rows() & 1023) == 0) {
        if (builder_->byte_size() >= kMaxBatchBytes) break;
        if (conn_->stop().stop_requested()) return Status::Cancelled("interrupted");
      }
      MYSQL_ROW row = mysql_fetch_row(res_);
      if (!row) {
        done_ = true;
        NILUS_RETURN_NOT_OK(conn_->EndStream("reading " + what_));
        break;
      }
      unsigned long* lengths = mysql_fetch_lengths(res_);
      const int64_t row_number = rows_ + builder_->num_rows() + 1;
      for (size_t c = 0; c < n; ++c) {
        Status st = AppendMyValue(types_[c], row[c], lengths[c], zero_dates_, builder_->column(c));
        if (!st.ok()) {
          return st.WithContext(
              fmt::format("{}, row {}, column '{}'", what_, row_number, builder_->schema().field(c).name));
        }
      }
    }
    if (builder_->num_rows() == 0) return std::shared_ptr<const RecordBatch>();
    rows_ += builder_->num_rows();
    return builder_->Finish();
  }

 private:
  std::shared_ptr<MyConnection> conn_;
  MYSQL_RES* res_;
  std::vector<MyColumnType> types_;
  std::string what_;
  int64_t page_size_;
  ZeroDates zero_dates_;
  std::unique_ptr<BatchBuilder> builder_;
  int64_t rows_ = 0;
  bool done_ = false;
};

/// sql-reflection-level: `full` keeps every type with its modifiers; `fast` drops modifiers
/// (decimal(12,2) -> decimal, varchar(40) -> varchar); `none` reads every column as the
/// server's text (FLOAT's exact), but for those whose values are bytes (BIT, binary strings,
/// GEOMETRY).
void ApplyReflectionLevel(std::vector<MyColumn>& columns, const std::string& level) {
  for (auto& c : columns) {
    if (level == "none") {
      const MyDecode d = c.type.decode;
      if (d == MyDecode::kBit || d == MyDecode::kBinary || d == MyDecode::kGeometry) continue;
      c.type = {LogicalType::Text(), MyDecode::kText, 0, c.type.widen, ""};
    } else if (level == "fast") {
      std::string& native = c.type.native;
      size_t open = native.find('(');
      if (open != std::string::npos) {
        size_t close = native.find(')', open);
        native.erase(open, close == std::string::npos ? std::string::npos : close - open + 1);
      }
      if (c.type.logical.id == TypeId::kDecimal) c.type.logical = LogicalType::Decimal();
    }
  }
}

}  // namespace

Result<ZeroDates> ZeroDatesOf(const Uri& uri) {
  for (const auto& [key, value] : uri.query()) {
    if (key != "zeroDateTimeBehavior") continue;
    std::string v = ToLower(value);
    v.erase(std::remove(v.begin(), v.end(), '_'), v.end());
    if (v == "converttonull") return ZeroDates::kNull;
    if (v == "exception") return ZeroDates::kError;
    return Status::InvalidInput(
        "zeroDateTimeBehavior={} in {}: use convertToNull (zero dates read as NULL, the default) or exception", value,
        uri.Masked());
  }
  return ZeroDates::kNull;
}

Result<std::vector<MyColumn>> MyTableColumns(MyConnection& conn, const MyTableName& table) {
  std::map<std::string, std::string> column_types;
  NILUS_ASSIGN_OR_RAISE(MyRows rows,
                        conn.Query(fmt::format("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE "
                                               "TABLE_SCHEMA = {} AND TABLE_NAME = {}",
                                               conn.Literal(table.schema), conn.Literal(table.name))));
  for (const auto& r : rows) column_types[r[0].value_or("")] = r[1].value_or("");
  return MyQueryColumns(conn, table.Ref(), column_types);
}

Result<std::vector<MyColumn>> MyQueryColumns(MyConnection& conn, const std::string& from,
                                             const std::map<std::string, std::string>& column_types) {
  // The columns' types as the protocol describes them, from a read of no rows.
  NILUS_ASSIGN_OR_RAISE(MYSQL_RES * res, conn.Stream("SELECT * FROM " + from + " LIMIT 0"));
  std::vector<MyColumn> out;
  MYSQL_FIELD* fields = mysql_fetch_fields(res);
  for (unsigned i = 0; i < mysql_num_fields(res); ++i) {
    auto it = column_types.find(fields[i].name);
    out.push_back({fields[i].name, ClassifyMyField(FieldInfo(fields[i]), it == column_types.end() ? "" : it->second)});
  }
  while (mysql_fetch_row(res)) {
  }
  mysql_free_result(res);
  return out;
}

std::unique_ptr<BatchReader> NewMysqlReader(std::shared_ptr<MyConnection> conn, MYSQL_RES* res,
                                            const std::vector<MyColumn>& columns, std::string what, int64_t page_size,
                                            ZeroDates zero_dates) {
  return std::make_unique<MysqlReader>(std::move(conn), res, columns, std::move(what), page_size, zero_dates);
}

namespace {

class MysqlSource final : public Source {
 public:
  MysqlSource(Uri uri, std::stop_token stop) : uri_(std::move(uri)), stop_(std::move(stop)) {}

  Result<std::vector<std::string>> PrimaryKey(const SourceOptions& options) override {
    if (StartsWith(options.table, "query:")) return std::vector<std::string>{};
    NILUS_ASSIGN_OR_RAISE(auto conn, MyConnection::Connect(uri_, stop_));
    NILUS_ASSIGN_OR_RAISE(MyTableName table, ResolveTable(*conn, options.table));
    return MyPrimaryKey(*conn, table);
  }

  Result<std::optional<std::vector<std::string>>> ColumnNames(const SourceOptions& options) override {
    NILUS_ASSIGN_OR_RAISE(auto conn, MyConnection::Connect(uri_, stop_));
    NILUS_ASSIGN_OR_RAISE(Relation rel, Describe(*conn, options));
    std::vector<std::string> names;
    for (const auto& c : rel.columns) names.push_back(c.name);
    return std::optional<std::vector<std::string>>(std::move(names));
  }

  Result<std::unique_ptr<BatchReader>> Read(const SourceOptions& options, const ResumePoint& resume) override {
    NILUS_ASSIGN_OR_RAISE(ZeroDates zero_dates, ZeroDatesOf(uri_));
    NILUS_ASSIGN_OR_RAISE(std::shared_ptr<MyConnection> conn, MyConnection::Connect(uri_, stop_));
    NILUS_ASSIGN_OR_RAISE(Relation rel, Describe(*conn, options));
    ApplyReflectionLevel(rel.columns, options.sql_reflection_level);
    std::vector<std::string> names;
    for (const auto& c : rel.columns) names.push_back(c.name);
    NILUS_RETURN_NOT_OK(options.CheckSelection(names, rel.what));
    std::vector<MyColumn> selected;
    for (auto& c : rel.columns) {
      if (options.Selects(c.name) && c.name != kLoadIdColumn) selected.push_back(std::move(c));
    }
    const MyColumn* key = IncrementalKeyColumn(options, selected);
    NILUS_ASSIGN_OR_RAISE(std::vector<std::string> terms, Predicate(*conn, options, resume, key));
    std::string list;
    for (const auto& c : selected) {
      if (!list.empty()) list += ", ";
      list += c.type.widen ? fmt::format("CAST({0} AS DOUBLE) AS {0}", QuoteIdent(c.name)) : QuoteIdent(c.name);
    }
    // A read the run stops part-way comes in key order, so that the saved cursor is exact.
    std::string order = options.ReadsInKeyOrder() && key ? " ORDER BY " + QuoteIdent(key->name) : "";
    std::string limit =
        options.sql_limit > 0 ? fmt::format(" LIMIT {}", options.sql_limit + resume.rows_at_cursor) : "";
    auto select = [&](const std::string& range) {
      std::vector<std::string> all = terms;
      if (!range.empty()) all.push_back(range);
      std::string sql = fmt::format("SELECT {} FROM {}", list, rel.from);
      if (!all.empty()) sql += " WHERE " + Join(all, " AND ");
      return sql + order + limit;
    };

    const int parallelism = options.extract_parallelism > 0 ? options.extract_parallelism : DefaultExtractParallelism();
    if (rel.table && parallelism > 1 && options.sql_limit <= 0 && order.empty()) {
      NILUS_ASSIGN_OR_RAISE(auto parts, ReadInParts(*conn, *rel.table, parallelism, select, selected, rel.what,
                                                    options.page_size, zero_dates));
      if (parts) return parts;
    }
    spdlog::debug("mysql source: {}", select(""));
    NILUS_ASSIGN_OR_RAISE(MYSQL_RES * res, conn->Stream(select("")));
    return std::unique_ptr<BatchReader>(
        new MysqlReader(std::move(conn), res, selected, rel.what, options.page_size, zero_dates));
  }

 private:
  /// What a read reads from: a table or a query, its columns and how messages name it.
  struct Relation {
    std::string from;
    std::string what;
    std::optional<MyTableName> table;
    std::vector<MyColumn> columns;
  };

  Result<Relation> Describe(MyConnection& conn, const SourceOptions& options) {
    Relation rel;
    if (StartsWith(options.table, "query:")) {
      std::string query(Trim(options.table.substr(6)));
      while (!query.empty() && query.back() == ';') query.pop_back();
      rel.from = "(" + query + ") AS q";
      rel.what = "the source query";
      NILUS_ASSIGN_OR_RAISE(rel.columns, MyQueryColumns(conn, rel.from, {}));
    } else {
      NILUS_ASSIGN_OR_RAISE(MyTableName table, ResolveTable(conn, options.table));
      rel.from = table.Ref();
      rel.what = "table " + options.table;
      NILUS_ASSIGN_OR_RAISE(rel.columns, MyTableColumns(conn, table));
      rel.table = std::move(table);
    }
    return rel;
  }

  /// The incremental range pushed down as WHERE terms: key >= cursor (inclusive: rows equal to
  /// it may be new), or [start, end). Values are written as MySQL literals of the key's type.
  static Result<std::vector<std::string>> Predicate(MyConnection& conn, const SourceOptions& o,
                                                    const ResumePoint& resume, const MyColumn* key) {
    std::vector<std::string> terms;
    if (!key) return terms;  // the runner reports a missing key column
    auto literal = [&](const std::string& text) -> std::string {
      int64_t micros = 0;
      bool zone = false;
      const TypeId id = key->type.logical.id;
      // MariaDB reads no zone offset in a literal: a date-time is given in the session's UTC.
      if ((id == TypeId::kTimestamp || id == TypeId::kTimestampTz) && ParseTimestamp(text, &micros, &zone)) {
        return conn.Literal(FormatTimestamp(micros, false));
      }
      return conn.Literal(text);
    };
    std::string k = QuoteIdent(key->name);
    if (!resume.cursor.empty()) terms.push_back(fmt::format("{} >= {}", k, literal(resume.cursor)));
    if (!o.interval_start.empty()) terms.push_back(fmt::format("{} >= {}", k, literal(o.interval_start)));
    if (!o.interval_end.empty()) terms.push_back(fmt::format("{} < {}", k, literal(o.interval_end)));
    return terms;
  }

  /// `db.table`, or `table` in the address's database, after checking it exists.
  Result<MyTableName> ResolveTable(MyConnection& conn, const std::string& name) const {
    if (name.empty()) {
      return Status::InvalidInput("the {} source needs source-table: database.table or query:SELECT …", uri_.scheme());
    }
    MyTableName t;
    size_t dot = name.find('.');
    if (dot == std::string::npos) {
      if (uri_.path().size() <= 1) {
        return Status::InvalidInput(
            "source-table '{}' names no database, and the address {} names none either; write database.table", name,
            uri_.Masked());
      }
      t = {uri_.path().substr(1), name};
    } else {
      t = {name.substr(0, dot), name.substr(dot + 1)};
    }
    NILUS_ASSIGN_OR_RAISE(MyRows rows,
                          conn.Query(fmt::format("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND "
                                                 "TABLE_NAME = {}",
                                                 conn.Literal(t.schema), conn.Literal(t.name))));
    if (rows.empty()) {
      return Status::NotFound("table {}.{} does not exist (or the user may not see it) in {}", t.schema, t.name,
                              uri_.Masked());
    }
    return t;
  }

  /// Reads a large table in key ranges on several connections that all see one point in time
  /// (MySQLSnapshot); nullptr when the table is small, has no integer key, or the user may not
  /// take the lock (then one connection reads it, and the log says why).
  Result<std::unique_ptr<BatchReader>> ReadInParts(MyConnection& conn, const MyTableName& table, int parallelism,
                                                   const std::function<std::string(const std::string&)>& select,
                                                   const std::vector<MyColumn>& columns, const std::string& what,
                                                   int64_t page_size, ZeroDates zero_dates) {
    NILUS_ASSIGN_OR_RAISE(
        MyRows size, conn.Query(fmt::format("SELECT DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
                                            "{} AND TABLE_NAME = {}",
                                            conn.Literal(table.schema), conn.Literal(table.name))));
    int64_t bytes = 0;
    if (!size.empty() && size[0][0]) ParseBigint(*size[0][0], &bytes);
    const int parts = static_cast<int>(std::min<int64_t>(parallelism, bytes / kMinBytesPerPart));
    if (parts < 2) return std::unique_ptr<BatchReader>();
    NILUS_ASSIGN_OR_RAISE(std::string key, IntegerKey(conn, table));
    if (key.empty()) {
      spdlog::info("reading {} on one connection: it has no one-column integer primary key to cut into ranges", what);
      return std::unique_ptr<BatchReader>();
    }
    auto snapshot = MyConsistentSnapshot::Open(uri_, stop_, parts);
    if (!snapshot.ok()) {
      if (snapshot.status().code() != StatusCode::kFailedPrecondition) return snapshot.status();
      spdlog::warn("reading {} on one connection: {}", what, snapshot.status().message());
      return std::unique_ptr<BatchReader>();
    }
    std::vector<std::shared_ptr<MyConnection>>& conns = (*snapshot)->connections;
    NILUS_ASSIGN_OR_RAISE(MyRows bounds, conns[0]->Query(fmt::format("SELECT min({0}), max({0}) FROM {1}",
                                                                     QuoteIdent(key), table.Ref())));
    int64_t lo = 0, hi = 0;
    if (bounds.empty() || !bounds[0][0] || !ParseBigint(*bounds[0][0], &lo) || !ParseBigint(*bounds[0][1], &hi)) {
      return std::unique_ptr<BatchReader>();
    }
    spdlog::info("reading {} in {} parts from one snapshot", what, parts);
    const int64_t step = (hi - lo) / parts + 1;
    std::vector<std::unique_ptr<BatchReader>> readers;
    for (int i = 0; i < parts; ++i) {
      std::vector<std::string> t;
      if (i > 0) t.push_back(fmt::format("{} >= {}", QuoteIdent(key), lo + i * step));
      if (i < parts - 1) t.push_back(fmt::format("{} < {}", QuoteIdent(key), lo + (i + 1) * step));
      std::string sql = select(Join(t, " AND "));
      spdlog::debug("mysql source part: {}", sql);
      NILUS_ASSIGN_OR_RAISE(MYSQL_RES * res, conns[i]->Stream(sql));
      readers.push_back(std::make_unique<MysqlReader>(conns[i], res, columns, what, page_size, zero_dates));
    }
    return std::unique_ptr<BatchReader>(new MergedReader(std::move(readers), nullptr));
  }

  /// The table's primary key when it is one integer column; "" otherwise.
  static Result<std::string> IntegerKey(MyConnection& conn, const MyTableName& table) {
    NILUS_ASSIGN_OR_RAISE(auto key, MyPrimaryKey(conn, table));
    if (key.size() != 1) return std::string();
    NILUS_ASSIGN_OR_RAISE(
        MyRows type,
        conn.Query(fmt::format("SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {} "
                               "AND TABLE_NAME = {} AND COLUMN_NAME = {}",
                               conn.Literal(table.schema), conn.Literal(table.name), conn.Literal(key[0]))));
    static const std::vector<std::string> kIntegers = {"tinyint", "smallint", "mediumint", "int", "bigint"};
    if (type.empty() || !type[0][0] ||
        std::find(kIntegers.begin(), kIntegers.end(), ToLower(*type[0][0])) == kIntegers.end()) {
      return std::string();
    }
    return key[0];
  }

  Uri uri_;
  std::stop_token stop_;
};

}  // namespace

std::string MyTableName::Ref() const { return QuoteIdent(schema) + "." + QuoteIdent(name); }

MyFieldInfo FieldInfo(const MYSQL_FIELD& f) {
  MyFieldInfo info{static_cast<int>(f.type), f.flags, f.charsetnr, f.length, f.decimals, "", ""};
  MARIADB_CONST_STRING attr;
  if (mariadb_field_attr(&attr, &f, MARIADB_FIELD_ATTR_DATA_TYPE_NAME) == 0 && attr.length) {
    info.type_name.assign(attr.str, attr.length);
  }
  if (mariadb_field_attr(&attr, &f, MARIADB_FIELD_ATTR_FORMAT_NAME) == 0 && attr.length) {
    info.format_name.assign(attr.str, attr.length);
  }
  return info;
}

Result<std::vector<std::string>> MyPrimaryKey(MyConnection& conn, const MyTableName& table) {
  NILUS_ASSIGN_OR_RAISE(MyRows rows,
                        conn.Query(fmt::format("SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE "
                                               "TABLE_SCHEMA = {} AND TABLE_NAME = {} AND CONSTRAINT_NAME = 'PRIMARY' "
                                               "ORDER BY ORDINAL_POSITION",
                                               conn.Literal(table.schema), conn.Literal(table.name))));
  std::vector<std::string> key;
  for (const auto& r : rows) key.push_back(r[0].value_or(""));
  return key;
}

Result<std::unique_ptr<MyConsistentSnapshot>> MyConsistentSnapshot::Open(const Uri& uri, std::stop_token stop, int n) {
  auto out = std::make_unique<MyConsistentSnapshot>();
  NILUS_ASSIGN_OR_RAISE(auto lock, MyConnection::Connect(uri, stop));
  for (int i = 0; i < n; ++i) {
    NILUS_ASSIGN_OR_RAISE(std::shared_ptr<MyConnection> c, MyConnection::Connect(uri, stop));
    NILUS_RETURN_NOT_OK(c->Exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
    out->connections.push_back(std::move(c));
  }
  // The read lock is held only while each connection opens its snapshot: writes wait that long.
  NILUS_RETURN_NOT_OK(lock->Exec("SET SESSION lock_wait_timeout = 30"));
  Status locked = lock->Exec("FLUSH TABLES WITH READ LOCK");
  if (!locked.ok()) {
    if (locked.code() == StatusCode::kFailedPrecondition) {
      return Status::FailedPrecondition(
          "the user may not take the global read lock that makes several connections see one point in time "
          "(FLUSH TABLES WITH READ LOCK needs the RELOAD privilege): {}",
          locked.message());
    }
    if (locked.code() == StatusCode::kAborted) {
      return Status::FailedPrecondition("the global read lock was not granted within 30 s: {}", locked.message());
    }
    return locked;
  }
  for (auto& c : out->connections) {
    NILUS_RETURN_NOT_OK(c->Exec("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"));
  }
  NILUS_ASSIGN_OR_RAISE(MyRows status, lock->Query("SHOW MASTER STATUS"));
  if (!status.empty() && status[0].size() >= 2) {
    out->binlog_file = status[0][0].value_or("");
    ParseBigint(status[0][1].value_or("0"), &out->binlog_position);
  }
  if (lock->is_mariadb()) {
    NILUS_ASSIGN_OR_RAISE(MyRows gtid, lock->Query("SELECT @@gtid_binlog_pos"));
    if (!gtid.empty()) out->gtid_set = gtid[0][0].value_or("");
  } else {
    NILUS_ASSIGN_OR_RAISE(MyRows gtid, lock->Query("SELECT @@global.gtid_executed"));
    if (!gtid.empty()) out->gtid_set = gtid[0][0].value_or("");
  }
  NILUS_RETURN_NOT_OK(lock->Exec("UNLOCK TABLES"));
  spdlog::debug("mysql snapshot at binlog {}:{} (GTID set '{}')", out->binlog_file, out->binlog_position,
                out->gtid_set);
  return out;
}

Result<std::unique_ptr<Source>> OpenMysqlSource(const Uri& uri, std::stop_token stop) {
  return std::unique_ptr<Source>(new MysqlSource(uri, std::move(stop)));
}

}  // namespace nilus
