#include <algorithm>
#include <optional>

#include "nilus/connectors/sqlite/sqlite_connector.h"
#include "nilus/connectors/sqlite/sqlite_internal.h"
#include "nilus/connectors/sqlite/sqlite_types.h"
#include "nilus/core/identifiers.h"
#include "nilus/core/sqlite_db.h"
#include "nilus/core/strings.h"
#include "nilus/core/text_values.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

constexpr int64_t kMaxBatchBytes = 64 << 20;

const char* StorageClassName(int t) {
  switch (t) {
    case SQLITE_INTEGER:
      return "integer";
    case SQLITE_FLOAT:
      return "real";
    case SQLITE_TEXT:
      return "text";
    case SQLITE_BLOB:
      return "blob";
    default:
      return "null";
  }
}

/// Appends column `i` of the current row to `column`; false when the stored value does not
/// fit the column's logical type exactly.
bool AppendSqliteValue(sqlite3_stmt* stmt, int i, Column& column) {
  int storage = sqlite3_column_type(stmt, i);
  if (storage == SQLITE_NULL) {
    column.AppendNull();
    return true;
  }
  auto text = [&] {
    const char* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
    return std::string_view(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
  };
  switch (column.type().id) {
    case TypeId::kBigint:
      if (storage != SQLITE_INTEGER) return AppendTextValue(column, text());
      column.AppendInt64(sqlite3_column_int64(stmt, i));
      return true;
    case TypeId::kDouble:
      if (storage == SQLITE_INTEGER || storage == SQLITE_FLOAT) {
        column.AppendDouble(sqlite3_column_double(stmt, i));
        return true;
      }
      return AppendTextValue(column, text());
    case TypeId::kBool:
      if (storage == SQLITE_INTEGER) {
        int64_t v = sqlite3_column_int64(stmt, i);
        if (v != 0 && v != 1) return false;
        column.AppendBool(v == 1);
        return true;
      }
      return AppendTextValue(column, text());
    case TypeId::kBinary: {
      const void* p = sqlite3_column_blob(stmt, i);
      column.AppendBytes(
          std::string_view(static_cast<const char*>(p ? p : ""), static_cast<size_t>(sqlite3_column_bytes(stmt, i))));
      return true;
    }
    case TypeId::kUuid:
      if (storage == SQLITE_BLOB && sqlite3_column_bytes(stmt, i) == 16) {
        column.AppendBytes(std::string_view(static_cast<const char*>(sqlite3_column_blob(stmt, i)), 16));
        return true;
      }
      return AppendTextValue(column, text());
    case TypeId::kDecimal:
      if (storage == SQLITE_FLOAT) {
        return AppendTextValue(column, FormatDouble(sqlite3_column_double(stmt, i)));
      }
      return AppendTextValue(column, text());
    default:
      return AppendTextValue(column, text());
  }
}

class SqliteReader final : public BatchReader {
 public:
  SqliteReader(std::unique_ptr<SqliteDb> db, SqliteStatement stmt, Schema schema, std::vector<int> columns,
               std::string what, int64_t page_size)
      : db_(std::move(db)),
        stmt_(std::move(stmt)),
        builder_(std::move(schema)),
        columns_(std::move(columns)),
        what_(std::move(what)),
        page_size_(page_size) {}

  Result<std::shared_ptr<const RecordBatch>> Next() override {
    while (!done_ && builder_.num_rows() < page_size_ && builder_.byte_size() < kMaxBatchBytes) {
      if ((row_number_ & 1023) == 0 && db_->stop().stop_requested()) return Status::Cancelled("interrupted");
      auto row = stmt_.Step();
      if (!row.ok()) return row.status().WithContext(what_);
      if (!*row) {
        done_ = true;
        break;
      }
      ++row_number_;
      for (size_t c = 0; c < columns_.size(); ++c) {
        if (!AppendSqliteValue(stmt_.get(), columns_[c], builder_.column(c))) {
          const Field& f = builder_.schema().field(c);
          int storage = sqlite3_column_type(stmt_.get(), columns_[c]);
          const char* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), columns_[c]));
          return Status::InvalidInput(
              "{}, row {}: column '{}' holds the {} value '{}', which is not a {}; set its type with type-hints "
              "(e.g. {}: text)",
              what_, row_number_, f.name, StorageClassName(storage), Excerpt(text ? text : ""), f.type.ToString(),
              f.name);
        }
      }
    }
    if (builder_.num_rows() == 0) return std::shared_ptr<const RecordBatch>();
    return builder_.Finish();
  }

 private:
  std::unique_ptr<SqliteDb> db_;
  SqliteStatement stmt_;
  BatchBuilder builder_;
  std::vector<int> columns_;  // schema column -> statement column
  std::string what_;
  int64_t page_size_;
  int64_t row_number_ = 0;
  bool done_ = false;
};

class SqliteSource final : public Source {
 public:
  SqliteSource(std::string path, std::stop_token stop) : path_(std::move(path)), stop_(std::move(stop)) {}

  Result<std::unique_ptr<BatchReader>> Read(const SourceOptions& options, const ResumePoint& resume) override {
    NILUS_ASSIGN_OR_RAISE(auto db, SqliteDb::Open(path_, false, stop_));
    std::string what;
    NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt, Select(*db, options, resume, &what));

    Schema schema;
    std::vector<int> columns;
    std::vector<std::string> names;
    for (int i = 0; i < sqlite3_column_count(stmt.get()); ++i) {
      std::string name = sqlite3_column_name(stmt.get(), i);
      names.push_back(name);
      if (!options.Selects(name) || name == kLoadIdColumn) continue;  // the load id is written anew
      const char* decl = sqlite3_column_decltype(stmt.get(), i);
      LogicalType type = LogicalTypeOfDeclared(decl ? decl : "", LogicalType::Text());
      if (const LogicalType* hint = options.HintFor(name)) type = *hint;
      schema.AddField({name, type, true});
      columns.push_back(i);
    }
    NILUS_RETURN_NOT_OK(options.CheckSelection(names, what));
    return std::unique_ptr<BatchReader>(new SqliteReader(std::move(db), std::move(stmt), std::move(schema),
                                                         std::move(columns), what, options.page_size));
  }

  Result<std::optional<std::vector<std::string>>> ColumnNames(const SourceOptions& options) override {
    NILUS_ASSIGN_OR_RAISE(auto db, SqliteDb::Open(path_, false, stop_));
    std::string what;
    NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt, Select(*db, options, {}, &what));
    std::vector<std::string> names;
    for (int i = 0; i < sqlite3_column_count(stmt.get()); ++i) names.emplace_back(sqlite3_column_name(stmt.get(), i));
    return std::optional<std::vector<std::string>>(std::move(names));
  }

 private:
  /// The statement that reads `options.table` (a table, schema.table or query:…) from where
  /// `resume` says; `what` names it for messages.
  Result<SqliteStatement> Select(SqliteDb& db, const SourceOptions& options, const ResumePoint& resume,
                                 std::string* what) {
    std::string from;
    if (StartsWith(options.table, "query:")) {
      from = "(" + std::string(Trim(options.table.substr(6))) + ")";
      *what = fmt::format("query on {}", path_);
    } else {
      if (options.table.empty()) {
        return Status::InvalidInput(
            "the SQLite source needs source-table: a table name, schema.table or query:SELECT …");
      }
      size_t dot = options.table.find('.');
      std::string table = dot == std::string::npos
                              ? options.table
                              : SqliteTableName(options.table.substr(0, dot), options.table.substr(dot + 1));
      if (!db.TableExists(table)) {
        return Status::InvalidInput("table '{}' does not exist in {}", table, path_);
      }
      from = QuoteIdent(table);
      *what = fmt::format("table {} in {}", table, path_);
    }
    std::string sql = "SELECT * FROM " + from;
    NILUS_ASSIGN_OR_RAISE(std::optional<KeyColumn> key, FindKey(db, from, options));
    std::vector<std::string> terms;
    if (key && key->comparable) {
      std::string k = QuoteIdent(key->name);
      if (!resume.cursor.empty()) terms.push_back(fmt::format("{} >= {}", k, Literal(*key, resume.cursor)));
      if (!options.interval_start.empty())
        terms.push_back(fmt::format("{} >= {}", k, Literal(*key, options.interval_start)));
      if (!options.interval_end.empty())
        terms.push_back(fmt::format("{} < {}", k, Literal(*key, options.interval_end)));
    }
    if (!terms.empty()) sql += " WHERE " + Join(terms, " AND ");
    // A read the run stops part-way comes in key order, so that the saved cursor is exact.
    if (key && options.ReadsInKeyOrder()) sql += " ORDER BY " + QuoteIdent(key->name);
    if (options.sql_limit > 0) sql += fmt::format(" LIMIT {}", options.sql_limit + resume.rows_at_cursor);
    return db.Prepare(sql);
  }

  /// The incremental key's column in the source.
  struct KeyColumn {
    std::string name;
    LogicalType type;
    /// Whether SQLite compares its stored values as the runner does (numbers, text), so the
    /// range can be pushed into the query. Dates and timestamps are text in any format there.
    bool comparable;
  };

  static Result<std::optional<KeyColumn>> FindKey(SqliteDb& db, const std::string& from, const SourceOptions& options) {
    if (options.incremental_key.empty()) return std::optional<KeyColumn>();
    NILUS_ASSIGN_OR_RAISE(SqliteStatement probe, db.Prepare("SELECT * FROM " + from + " LIMIT 0"));
    for (int i = 0; i < sqlite3_column_count(probe.get()); ++i) {
      std::string name = sqlite3_column_name(probe.get(), i);
      if (name != options.incremental_key &&
          NormalizeColumnName(name) != NormalizeColumnName(options.incremental_key)) {
        continue;
      }
      const char* decl = sqlite3_column_decltype(probe.get(), i);
      LogicalType type = LogicalTypeOfDeclared(decl ? decl : "", LogicalType::Text());
      if (const LogicalType* hint = options.HintFor(name)) type = *hint;
      bool comparable = decl && (type.id == TypeId::kBigint || type.id == TypeId::kDouble || type.id == TypeId::kText);
      return std::optional<KeyColumn>(KeyColumn{name, type, comparable});
    }
    return std::optional<KeyColumn>();
  }

  /// A bound as an SQL literal of the key's kind: a number stays a number, text is quoted.
  static std::string Literal(const KeyColumn& key, const std::string& value) {
    int64_t i;
    double d;
    if (key.type.id == TypeId::kBigint && ParseBigint(value, &i)) return std::to_string(i);
    if (key.type.id == TypeId::kDouble && ParseDouble(value, &d)) return FormatDouble(d);
    return QuoteLiteral(value);
  }

  std::string path_;
  std::stop_token stop_;
};

}  // namespace

Result<std::unique_ptr<Source>> OpenSqliteSource(const Uri& uri, std::stop_token stop) {
  NILUS_ASSIGN_OR_RAISE(std::string path, SqlitePath(uri));
  return std::unique_ptr<Source>(new SqliteSource(std::move(path), std::move(stop)));
}

}  // namespace nilus
