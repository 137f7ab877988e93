#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "nilus/connectors/mysql/my_connection.h"
#include "nilus/connectors/mysql/mysql_internal.h"
#include "nilus/connectors/sql/sql_destination.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

// Bookkeeping tables, one of each per destination database (DESIGN §2.2). {0} is the database,
// {1} the collation (binary: pipeline names differ as their bytes do).
constexpr char kCreateBookkeeping[] = R"sql(
CREATE DATABASE IF NOT EXISTS {0};
CREATE TABLE IF NOT EXISTS {0}._nilus_loads (
  load_id       varchar(64) NOT NULL,
  pipeline      varchar(255) NOT NULL,
  table_name    varchar(255) NOT NULL,
  strategy      varchar(16) NOT NULL,
  status        varchar(16) NOT NULL,
  "rows"        bigint NOT NULL,
  bytes         bigint NOT NULL,
  started_at    datetime(6) NOT NULL,
  finished_at   datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  nilus_version varchar(32) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = {1};
CREATE TABLE IF NOT EXISTS {0}._nilus_state (
  pipeline   varchar(255) NOT NULL,
  table_name varchar(255) NOT NULL,
  state      longtext NOT NULL,
  load_id    varchar(64) NOT NULL,
  updated_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (pipeline, table_name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = {1}
)sql";

constexpr size_t kFlushBytes = 8 << 20;  // one LOAD DATA (or INSERT) statement

/// The function a value for a column of native type `native` (mysql:…) goes through, with {}
/// for the value; "" for none.
std::string ValueFunction(std::string_view native) {
  static const std::set<std::string> kGeometries = {
      "geometry",   "point",           "linestring",   "polygon",
      "multipoint", "multilinestring", "multipolygon", "geometrycollection"};
  if (!StartsWith(native, "mysql:")) return "";
  std::string base(native.substr(6, native.find_first_of("( ", 6) - 6));
  if (base == "bit") return "CAST({} AS UNSIGNED)";
  if (kGeometries.count(base)) return "ST_GeomFromWKB({})";
  // LOAD DATA reads the rows as binary strings, which these types would take as their 16 bytes.
  if (base == "uuid" || base == "inet6" || base == "inet4") return "CONVERT({} USING utf8mb4)";
  return "";
}

/// MySQL's form of value `i` of `column` (text protocol, as LOAD DATA and literals take it);
/// false for NULL. Values MySQL cannot hold (NaN, infinities) fail.
Result<bool> MyText(const Column& column, int64_t i, std::string& out) {
  out.clear();
  if (column.IsNull(i)) return false;
  char buf[kMaxFormattedValue];
  switch (column.type().id) {
    case TypeId::kBool:
      out = column.Bool(i) ? "1" : "0";
      return true;
    case TypeId::kBigint: {
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, column.Int64(i));
      out.assign(buf, end);
      return true;
    }
    case TypeId::kDouble: {
      double v = column.Double(i);
      if (!std::isfinite(v)) return Status::InvalidInput("MySQL has no floating-point value {}", FormatDouble(v));
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
      out.assign(buf, end);
      return true;
    }
    case TypeId::kDecimal: {
      std::string_view v = column.View(i);
      if (v == "NaN" || v == "Infinity" || v == "-Infinity") {
        return Status::InvalidInput("MySQL has no decimal value {}", v);
      }
      out.assign(v);
      return true;
    }
    case TypeId::kDate:
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz: {
      int64_t v = column.Int64(i);
      if (v == kPlusInfinity || v == kMinusInfinity) {
        return Status::InvalidInput("MySQL has no {} date", v == kPlusInfinity ? "infinite" : "-infinite");
      }
      // timestamptz values are written in UTC, the session's zone.
      out.assign(buf, column.type().id == TypeId::kDate ? FormatDateTo(v, buf) : FormatTimestampTo(v, false, buf));
      return true;
    }
    case TypeId::kTime:
      out.assign(buf, FormatTimeTo(column.Int64(i), buf));
      return true;
    case TypeId::kUuid:
      out.assign(buf, FormatUuidTo(column.View(i), buf));
      return true;
    case TypeId::kText:
    case TypeId::kBinary:
    case TypeId::kJson:
      out.assign(column.View(i));
      return true;
  }
  return Status::Internal("unknown type");
}

/// LOAD DATA's field escaping (ESCAPED BY '\\', fields by tab, lines by newline).
void AppendEscaped(std::string_view v, std::string& out) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        out += c;
    }
  }
}

/// The local file LOAD DATA LOCAL reads: the writer's buffer.
struct InfileSource {
  const std::string* data;
  size_t pos = 0;
};

/// MySQL's bulk path: LOAD DATA LOCAL INFILE from memory, a statement per 8 MB of rows; where
/// the server refuses local files (local_infile off), multi-row INSERTs. Every row gets
/// `_nilus_load_id`. LOAD DATA LOCAL turns bad values into warnings: any warning fails the load.
class MyBulkWriter final : public BulkWriter {
 public:
  MyBulkWriter(MyConnection& conn, std::string ref, std::string what, const Schema& schema, std::string load_id,
               bool load_data)
      : conn_(conn), ref_(std::move(ref)), what_(std::move(what)), load_id_(std::move(load_id)), load_data_(load_data) {
    std::vector<std::string> cols, sets;
    for (size_t c = 0; c < schema.num_fields(); ++c) {
      const Field& f = schema.field(c);
      functions_.push_back(ValueFunction(f.native_type));
      binary_.push_back(f.type.id == TypeId::kBinary);
      if (load_data_ && !functions_.back().empty()) {
        std::string var = fmt::format("@v{}", c);
        cols.push_back(var);
        sets.push_back(fmt::format("{} = {}", QuoteIdent(f.name), fmt::format(fmt::runtime(functions_.back()), var)));
      } else {
        cols.push_back(QuoteIdent(f.name));
      }
    }
    cols.push_back(QuoteIdent(kLoadIdColumn));
    if (load_data_) {
      statement_ = fmt::format(
          "LOAD DATA LOCAL INFILE 'nilus' INTO TABLE {} CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY "
          "'\\\\' LINES TERMINATED BY '\\n' ({}){}",
          ref_, Join(cols, ", "), sets.empty() ? "" : " SET " + Join(sets, ", "));
    } else {
      statement_ = fmt::format("INSERT INTO {} ({}) VALUES ", ref_, Join(cols, ", "));
    }
  }

  Status Write(const RecordBatch& batch) override {
    std::string value;
    for (int64_t r = 0; r < batch.num_rows(); ++r) {
      if (!load_data_) buf_ += buf_.empty() ? "(" : ",(";
      for (size_t c = 0; c < batch.num_columns(); ++c) {
        auto present = MyText(batch.column(c), r, value);
        if (!present.ok()) {
          return present.status().WithContext(
              fmt::format("{}, row {}, column '{}'", what_, rows_ + r + 1, batch.schema().field(c).name));
        }
        if (load_data_) {
          if (*present) {
            AppendEscaped(value, buf_);
          } else {
            buf_ += "\\N";
          }
          buf_ += '\t';
        } else {
          std::string literal = !*present ? "NULL" : binary_[c] ? "X'" + Hex(value) + "'" : conn_.Literal(value);
          buf_ += functions_[c].empty() ? literal : fmt::format(fmt::runtime(functions_[c]), literal);
          buf_ += ',';
        }
      }
      if (load_data_) {
        AppendEscaped(load_id_, buf_);
        buf_ += '\n';
      } else {
        buf_ += conn_.Literal(load_id_);
        buf_ += ')';
      }
      if (buf_.size() >= kFlushBytes) NILUS_RETURN_NOT_OK(Flush());
    }
    rows_ += batch.num_rows();
    return Status::OK();
  }

  Status Finish() override { return Flush(); }

 private:
  static std::string Hex(std::string_view v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(v.size() * 2);
    for (unsigned char c : v) {
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
    return out;
  }

  Status Flush() {
    if (buf_.empty()) return Status::OK();
    if (conn_.stop().stop_requested()) return Status::Cancelled("interrupted");
    Status st;
    if (load_data_) {
      InfileSource source{&buf_};
      mysql_set_local_infile_handler(
          conn_.get(),
          [](void** ptr, const char*, void* userdata) -> int {
            *ptr = userdata;
            return 0;
          },
          [](void* ptr, char* out, unsigned int len) -> int {
            auto* s = static_cast<InfileSource*>(ptr);
            size_t n = std::min<size_t>(len, s->data->size() - s->pos);
            std::memcpy(out, s->data->data() + s->pos, n);
            s->pos += n;
            return static_cast<int>(n);
          },
          [](void*) {}, [](void*, char*, unsigned int) -> int { return 0; }, &source);
      st = conn_.Exec(statement_);
      mysql_set_local_infile_default(conn_.get());
    } else {
      st = conn_.Exec(statement_ + buf_);
    }
    buf_.clear();
    NILUS_RETURN_NOT_OK(st.WithContext(what_));
    if (mysql_warning_count(conn_.get()) > 0) {
      NILUS_ASSIGN_OR_RAISE(MyRows warnings, conn_.Query("SHOW WARNINGS LIMIT 1"));
      std::string message = warnings.empty() ? "a warning" : warnings[0][2].value_or("");
      return Status::InvalidInput("{}: {} (the server would have changed the value; nothing was loaded)", what_,
                                  message);
    }
    return Status::OK();
  }

  MyConnection& conn_;
  std::string ref_;
  std::string what_;
  std::string load_id_;
  bool load_data_;
  std::vector<std::string> functions_;  // per column: "" or the function its value goes through
  std::vector<bool> binary_;
  std::string statement_;
  std::string buf_;
  int64_t rows_ = 0;  // written before this batch, for messages
};

/// The closest MySQL type that holds every value of a PostgreSQL column type (format_type's
/// text), or "" to go by the logical type. Character types stay TEXT: VARCHAR(n) counts towards
/// MySQL's 64 KB row limit, which wide tables would pass.
std::string TypeForPostgres(std::string_view native) {
  size_t open = native.find('(');
  std::string base(native.substr(0, open));
  std::string args = open == std::string_view::npos ? "" : std::string(native.substr(open));
  if (base == "smallint") return "smallint";
  if (base == "integer") return "int";
  if (base == "real") return "float";
  if (base == "numeric" && !args.empty()) {
    int precision = 0, scale = 0;
    if (std::sscanf(args.c_str(), "(%d,%d)", &precision, &scale) == 2 && precision <= 65 && scale <= 30) {
      return fmt::format("decimal({},{})", precision, scale);
    }
  }
  if (base == "timestamp" && !args.empty() && native.find("without") != std::string_view::npos) {
    return "datetime" + args.substr(0, args.find(')') + 1);
  }
  if (base == "time" && !args.empty() && native.find("without") != std::string_view::npos) {
    return "time" + args.substr(0, args.find(')') + 1);
  }
  return "";
}

/// The MySQL dialect. Its connection runs the loads' transactions (autocommit off); a second
/// one, opened at the first need, runs DDL and catalog lookups apart from them, in autocommit:
/// DDL there commits nothing of a load, and lookups there hold no metadata lock that DDL would
/// wait for.
class MyDialect final : public SqlDialect {
 public:
  MyDialect(std::unique_ptr<MyConnection> conn, Uri uri, std::stop_token stop)
      : conn_(std::move(conn)), uri_(std::move(uri)), stop_(std::move(stop)) {}

  // Temporary tables live in the database the session uses (the first bookkeeping database).
  std::string Ref(const SqlTable& t) const override {
    return t.temp ? QuoteIdent(t.name) : QuoteIdent(t.schema) + "." + QuoteIdent(t.name);
  }
  std::string LocalName(const SqlTable& t) const override { return t.name; }
  SqlTable Bookkeeping(const std::string& schema, const std::string& name) const override { return {schema, name}; }

  std::string ColumnType(const Field& field) const override {
    if (field.name == kLoadIdColumn) return "varchar(64)";
    if (StartsWith(field.native_type, "mysql:")) return field.native_type.substr(6);
    if (StartsWith(field.native_type, "postgresql:")) {
      std::string type = TypeForPostgres(std::string_view(field.native_type).substr(11));
      if (!type.empty()) return type;
    }
    const LogicalType& t = field.type;
    switch (t.id) {
      case TypeId::kBool:
        return "boolean";
      case TypeId::kBigint:
        return "bigint";
      case TypeId::kDouble:
        return "double";
      case TypeId::kDecimal:
        // MySQL's DECIMAL holds at most 65 digits, 30 after the point, and rounds the others
        // away: wider or unconstrained decimals keep their exact text.
        if (t.precision > 0 && t.precision <= 65 && t.scale <= 30) {
          return fmt::format("decimal({},{})", t.precision, t.scale);
        }
        return "longtext";
      case TypeId::kText:
        return "longtext";
      case TypeId::kBinary:
        return "longblob";
      case TypeId::kDate:
        return "date";
      case TypeId::kTime:
        return "time(6)";
      case TypeId::kTimestamp:
      case TypeId::kTimestampTz:  // in UTC: TIMESTAMP ends in 2038
        return "datetime(6)";
      case TypeId::kJson:
        return "json";
      case TypeId::kUuid:
        return "char(36)";
    }
    return "longtext";
  }
  std::string KeyColumnType(const Field& field, bool) const override {
    std::string type = ColumnType(field);
    if (type == "longtext" || type == "json") return "varchar(255)";
    if (type == "longblob") return "varbinary(255)";
    return type;
  }
  std::string SequenceType() const override { return "bigint NOT NULL AUTO_INCREMENT PRIMARY KEY"; }
  /// InnoDB (transactions), UTF-8, and a binary collation without padding: keys that differ in
  /// case or trailing spaces are different keys, as they are in the source.
  std::string TableOptions() const override {
    return conn_->is_mariadb() ? " ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin"
                               : " ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_0900_bin";
  }

  /// Creates what is missing, apart; what exists is not touched (a CREATE … IF NOT EXISTS would
  /// wait for every open transaction that read the table).
  Status EnsureBookkeeping(const std::string& schema) override {
    if (!bookkept_.insert(schema).second) return Status::OK();
    NILUS_ASSIGN_OR_RAISE(MyConnection * apart, Apart());
    NILUS_ASSIGN_OR_RAISE(
        MyRows have, apart->Query(fmt::format("SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} "
                                              "AND TABLE_NAME IN ('_nilus_loads', '_nilus_state')",
                                              apart->Literal(schema))));
    if (have.empty() || have[0][0].value_or("0") != "2") {
      NILUS_RETURN_NOT_OK(apart->Exec(fmt::format(kCreateBookkeeping, QuoteIdent(schema),
                                                  conn_->is_mariadb() ? "utf8mb4_nopad_bin" : "utf8mb4_0900_bin")));
    }
    schemas_.insert(schema);
    if (temp_database_.empty()) {
      temp_database_ = schema;
      NILUS_RETURN_NOT_OK(conn_->Exec("USE " + QuoteIdent(schema)));
    }
    return Status::OK();
  }
  Status EnsureSchema(const std::string& schema) override {
    if (!schemas_.insert(schema).second) return Status::OK();
    NILUS_ASSIGN_OR_RAISE(MyConnection * apart, Apart());
    return apart->Exec("CREATE DATABASE IF NOT EXISTS " + QuoteIdent(schema));
  }
  std::string TruncateSql(const SqlTable& t) const override { return "DELETE FROM " + Ref(t); }

  Status Exec(const std::string& sql) override { return conn_->Exec(sql); }
  Status ExecApart(const std::string& sql) override {
    NILUS_ASSIGN_OR_RAISE(MyConnection * apart, Apart());
    return apart->Exec(sql);
  }
  std::string DropSql(const SqlTable& t) const override {
    return (t.temp ? "DROP TEMPORARY TABLE IF EXISTS " : "DROP TABLE IF EXISTS ") + Ref(t);
  }

  Result<SqlRows> Query(const std::string& sql, const std::vector<std::optional<std::string>>& params) override {
    return conn_->Query(Bind(sql, params));
  }

  Result<std::vector<std::string>> ColumnNames(const SqlTable& t) override {
    std::vector<std::string> out;
    MyConnection* on = conn_.get();  // a temporary table is the session's own
    if (!t.temp) {
      NILUS_ASSIGN_OR_RAISE(on, Apart());
    }
    auto rows = on->Query("SHOW COLUMNS FROM " + Ref(t));
    if (!rows.ok()) {
      if (rows.status().code() == StatusCode::kNotFound) return out;
      return rows.status();
    }
    for (const auto& r : *rows) out.push_back(r[0].value_or(""));
    return out;
  }

  Result<std::vector<Field>> TableColumns(const SqlTable& t) override {
    std::vector<Field> out;
    NILUS_ASSIGN_OR_RAISE(MyConnection * apart, Apart());
    NILUS_ASSIGN_OR_RAISE(
        MyRows types, apart->Query(fmt::format("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE "
                                               "TABLE_SCHEMA = {} AND TABLE_NAME = {}",
                                               apart->Literal(t.schema), apart->Literal(t.name))));
    if (types.empty()) return out;
    std::map<std::string, std::string> column_types;
    for (const auto& r : types) column_types[r[0].value_or("")] = r[1].value_or("");
    NILUS_ASSIGN_OR_RAISE(MYSQL_RES * res, apart->Stream("SELECT * FROM " + Ref(t) + " LIMIT 0"));
    MYSQL_FIELD* fields = mysql_fetch_fields(res);
    for (unsigned i = 0; i < mysql_num_fields(res); ++i) {
      if (fields[i].name == std::string_view(kLoadIdColumn)) continue;
      MyColumnType type = ClassifyMyField(FieldInfo(fields[i]), column_types[fields[i].name]);
      out.push_back({fields[i].name, type.logical, true, type.native});
    }
    while (mysql_fetch_row(res)) {
    }
    mysql_free_result(res);
    return out;
  }

  Result<KeyIndex> IndexOn(const SqlTable& t, const std::vector<std::string>& columns) override {
    NILUS_ASSIGN_OR_RAISE(MyConnection * apart, Apart());
    NILUS_ASSIGN_OR_RAISE(MyRows rows,
                          apart->Query(fmt::format("SELECT INDEX_NAME, COLUMN_NAME, NON_UNIQUE FROM information_schema."
                                                   "STATISTICS WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} ORDER BY "
                                                   "INDEX_NAME, SEQ_IN_INDEX",
                                                   apart->Literal(t.schema), apart->Literal(t.name))));
    IndexColumns indexes;
    for (const auto& r : rows) {
      auto& index = indexes[r[0].value_or("")];
      index.first.push_back(r[1].value_or(""));
      index.second = r[2].value_or("1") == "0";
    }
    return BestIndex(indexes, columns);
  }

  // ANALYZE TABLE would commit: InnoDB's statistics are kept up to date by themselves.
  Status PrepareMerge(const SqlTable&, bool) override { return Status::OK(); }
  std::string TempTableClause() const override { return ""; }
  // InnoDB updates a row of its clustered index where it is.
  bool UpsertsInPlace() const override { return true; }
  std::string UpsertClause(const std::vector<std::string>&, const std::vector<std::string>& set) const override {
    std::vector<std::string> assignments;
    for (const auto& c : set) assignments.push_back(fmt::format("{0} = VALUES({0})", c));
    return "ON DUPLICATE KEY UPDATE " + Join(assignments, ", ");
  }
  bool TransactionalDdl() const override { return false; }
  std::string SameWholeRow(const std::string& a, const std::string& b,
                           const std::vector<std::string>& columns) const override {
    std::vector<std::string> same;
    for (const auto& c : columns) same.push_back(fmt::format("{}.{} <=> {}.{}", a, c, b, c));
    return Join(same, " AND ");
  }
  std::string RowLocator() const override { return ""; }

  Result<std::unique_ptr<BulkWriter>> OpenBulk(const SqlTable& t, const Schema& schema,
                                               const std::string& load_id) override {
    if (!local_infile_) {
      NILUS_ASSIGN_OR_RAISE(MyRows on, conn_->Query("SELECT @@GLOBAL.local_infile"));
      local_infile_ = !on.empty() && on[0][0].value_or("0") != "0";
      if (!*local_infile_) {
        spdlog::info("the server refuses LOAD DATA LOCAL (local_infile is off): loading with multi-row INSERTs");
      }
    }
    std::string what = t.temp ? "staging the rows" : fmt::format("loading into {}.{}", t.schema, t.name);
    return std::unique_ptr<BulkWriter>(new MyBulkWriter(*conn_, Ref(t), what, schema, load_id, *local_infile_));
  }

  /// The pipeline's lock is a named lock of the session (GET_LOCK): DDL statements, which
  /// commit, do not release it. A second load of the pipeline waits here until the first
  /// commits or rolls back, then reads the state it committed.
  Status BeginLocked(const LoadSpec& load) override {
    // READ COMMITTED: each statement sees the tables the connection apart made meanwhile
    // (a REPEATABLE READ snapshot taken before would refuse them: "table definition has changed").
    NILUS_RETURN_NOT_OK(conn_->Exec("SET autocommit = 0; SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"));
    std::string name = LockName(load);
    Status st = AwaitPipelineLock(load, conn_->stop(), [&]() -> Result<bool> {
      NILUS_ASSIGN_OR_RAISE(MyRows locked, conn_->Query(fmt::format("SELECT GET_LOCK({}, 0)", conn_->Literal(name))));
      return !locked.empty() && locked[0][0].value_or("") == "1";
    });
    if (!st.ok()) {
      Rollback();
      return st;
    }
    lock_name_ = name;
    return Status::OK();
  }

  Status Commit() override {
    NILUS_RETURN_NOT_OK(conn_->CommitToEnd());
    ReleaseLock();
    return Status::OK();
  }

  void Rollback() override {
    Status st = conn_->Exec("ROLLBACK");
    if (!st.ok()) spdlog::debug("rollback: {}", st.message());
    ReleaseLock();
  }

  Result<std::vector<SqlTable>> StateTables() override {
    NILUS_ASSIGN_OR_RAISE(MyRows rows,
                          conn_->Query("SELECT TABLE_SCHEMA FROM information_schema.TABLES WHERE TABLE_NAME = "
                                       "'_nilus_state'"));
    std::vector<SqlTable> out;
    for (const auto& r : rows) out.push_back({r[0].value_or(""), "_nilus_state"});
    return out;
  }

 private:
  /// The connection apart, opened at the first need. Its lock waits are bounded, so that a wait
  /// on a table the load's own transaction holds would end in an error rather than a hang.
  Result<MyConnection*> Apart() {
    if (!apart_) {
      NILUS_ASSIGN_OR_RAISE(apart_, MyConnection::Connect(uri_, stop_));
      NILUS_RETURN_NOT_OK(apart_->Exec("SET SESSION lock_wait_timeout = 600"));
    }
    return apart_.get();
  }

  /// A lock name of at most 64 characters, MySQL's limit, for the pipeline and its state row.
  static std::string LockName(const LoadSpec& load) {
    std::string key = fmt::format("nilus:{}:{}", load.pipeline, load.state_table);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
    std::string out = "nilus:";
    for (int i = 0; i < 20; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

  void ReleaseLock() {
    if (lock_name_.empty()) return;
    auto st = conn_->Query(fmt::format("SELECT RELEASE_LOCK({})", conn_->Literal(lock_name_)));
    if (!st.ok()) spdlog::debug("releasing the pipeline's lock: {}", st.status().message());
    lock_name_.clear();
  }

  /// `sql` with $1, $2 … replaced by the parameters as literals. A parameter that is a date-time
  /// with a zone (the bookkeeping's times) is written in UTC without it: MariaDB reads no zone
  /// in a literal, and the session's zone is UTC.
  std::string Bind(const std::string& sql, const std::vector<std::optional<std::string>>& params) const {
    std::string out;
    for (size_t i = 0; i < sql.size(); ++i) {
      if (sql[i] == '$' && i + 1 < sql.size() && sql[i + 1] >= '1' && sql[i + 1] <= '9') {
        size_t end = i + 1;
        while (end < sql.size() && sql[end] >= '0' && sql[end] <= '9') ++end;
        size_t n = std::stoul(sql.substr(i + 1, end - i - 1));
        const auto& p = n <= params.size() ? params[n - 1] : std::nullopt;
        if (!p) {
          out += "NULL";
        } else {
          int64_t micros = 0;
          bool zone = false;
          if (p->size() >= 19 && p->size() <= 32 && (*p)[4] == '-' && ParseTimestamp(*p, &micros, &zone) && zone) {
            out += conn_->Literal(FormatTimestamp(micros, false));
          } else {
            out += conn_->Literal(*p);
          }
        }
        i = end - 1;
        continue;
      }
      out += sql[i];
    }
    return out;
  }

  std::unique_ptr<MyConnection> conn_;
  Uri uri_;
  std::stop_token stop_;
  std::unique_ptr<MyConnection> apart_;  // DDL and catalog lookups (Apart)
  std::set<std::string> schemas_;        // made sure of in this connection
  std::set<std::string> bookkept_;       // databases whose bookkeeping tables are made
  std::string temp_database_;            // where the session's temporary tables live
  std::optional<bool> local_infile_;
  std::string lock_name_;  // the pipeline's lock while a load holds it
};

}  // namespace

Result<std::unique_ptr<Destination>> OpenMysqlDestination(const Uri& uri, std::stop_token stop) {
  NILUS_ASSIGN_OR_RAISE(auto conn, MyConnection::Connect(uri, stop));
  return std::unique_ptr<Destination>(
      std::make_unique<SqlDestination>(std::make_unique<MyDialect>(std::move(conn), uri, stop), stop));
}

}  // namespace nilus
