#include <algorithm>
#include <optional>

#include "nilus/connectors/sqlite/sqlite_connector.h"
#include "nilus/connectors/sqlite/sqlite_db.h"
#include "nilus/connectors/sqlite/sqlite_internal.h"
#include "nilus/connectors/sqlite/sqlite_types.h"
#include "nilus/core/cancellation.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"
#include "nilus/normalize/inference.h"

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
      if (StopRequested()) return Status::Cancelled("interrupted");
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
  explicit SqliteSource(std::string path) : path_(std::move(path)) {}

  Result<std::unique_ptr<BatchReader>> Read(const SourceOptions& options, const ResumePoint&) override {
    NILUS_ASSIGN_OR_RAISE(auto db, SqliteDb::Open(path_, false));
    std::string what;
    NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt, Select(*db, options, &what));

    Schema schema;
    std::vector<int> columns;
    int n = sqlite3_column_count(stmt.get());
    for (int i = 0; i < n; ++i) {
      std::string name = sqlite3_column_name(stmt.get(), i);
      if (!options.columns.empty() &&
          std::find(options.columns.begin(), options.columns.end(), name) == options.columns.end()) {
        continue;
      }
      if (std::find(options.sql_exclude_columns.begin(), options.sql_exclude_columns.end(), name) !=
          options.sql_exclude_columns.end()) {
        continue;
      }
      if (name == kLoadIdColumn) continue;  // written anew by the destination
      const char* decl = sqlite3_column_decltype(stmt.get(), i);
      LogicalType type = LogicalTypeOfDeclared(decl ? decl : "", LogicalType::Text());
      for (const auto& [column, hint] : options.type_hints) {
        if (column == name) type = hint;
      }
      schema.AddField({name, type, true});
      columns.push_back(i);
    }
    for (const auto& wanted : options.columns) {
      if (schema.FieldIndex(wanted) < 0) {
        return Status::InvalidInput("option columns names '{}', which {} does not have", wanted, what);
      }
    }
    return std::unique_ptr<BatchReader>(new SqliteReader(std::move(db), std::move(stmt), std::move(schema),
                                                         std::move(columns), what, options.page_size));
  }

  Result<std::optional<std::vector<std::string>>> ColumnNames(const SourceOptions& options) override {
    NILUS_ASSIGN_OR_RAISE(auto db, SqliteDb::Open(path_, false));
    std::string what;
    NILUS_ASSIGN_OR_RAISE(SqliteStatement stmt, Select(*db, options, &what));
    std::vector<std::string> names;
    for (int i = 0; i < sqlite3_column_count(stmt.get()); ++i) names.emplace_back(sqlite3_column_name(stmt.get(), i));
    return std::optional<std::vector<std::string>>(std::move(names));
  }

 private:
  /// The statement that reads `options.table` (a table, schema.table or query:…); `what`
  /// names it for messages.
  Result<SqliteStatement> Select(SqliteDb& db, const SourceOptions& options, std::string* what) {
    std::string sql;
    if (StartsWith(options.table, "query:")) {
      sql = std::string(Trim(options.table.substr(6)));
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
      sql = "SELECT * FROM " + QuoteIdent(table);
      *what = fmt::format("table {} in {}", table, path_);
    }
    if (options.sql_limit > 0) sql = fmt::format("SELECT * FROM ({}) LIMIT {}", sql, options.sql_limit);
    return db.Prepare(sql);
  }

  std::string path_;
};

}  // namespace

Result<std::unique_ptr<Source>> OpenSqliteSource(const Uri& uri) {
  NILUS_ASSIGN_OR_RAISE(std::string path, SqlitePath(uri));
  return std::unique_ptr<Source>(new SqliteSource(std::move(path)));
}

}  // namespace nilus
