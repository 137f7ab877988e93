#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nilus/core/types.h"

namespace nilus {

struct Field {
  std::string name;
  LogicalType type;
  bool nullable = true;
  /// The source system's own type, e.g. "postgresql:numeric(12,2)", so that a destination of
  /// the same system can recreate the column exactly. Empty when the source has none.
  std::string native_type = {};
  friend bool operator==(const Field&, const Field&) = default;
};

/// An ordered list of named, typed fields.
class Schema {
 public:
  Schema() = default;
  explicit Schema(std::vector<Field> fields) : fields_(std::move(fields)) {}

  const std::vector<Field>& fields() const { return fields_; }
  const Field& field(size_t i) const { return fields_[i]; }
  size_t num_fields() const { return fields_.size(); }
  /// Index of the field called `name`, or -1.
  int FieldIndex(std::string_view name) const;
  void AddField(Field f) { fields_.push_back(std::move(f)); }
  std::string ToString() const;

  friend bool operator==(const Schema&, const Schema&) = default;

 private:
  std::vector<Field> fields_;
};

/// One column of a record batch: a buffer of values, a validity bitmap and, for variable-length
/// types, offsets into a byte buffer (the Arrow layout). Appending never allocates per value
/// beyond amortised buffer growth; `Clear()` keeps the capacity for reuse.
class Column {
 public:
  explicit Column(LogicalType type) : type_(type) {}

  const LogicalType& type() const { return type_; }
  int64_t length() const { return length_; }
  int64_t null_count() const { return null_count_; }
  /// Bytes of value data held, for batch size accounting.
  int64_t byte_size() const;

  bool IsNull(int64_t i) const { return (validity_[i >> 6] >> (i & 63) & 1) == 0; }
  bool Bool(int64_t i) const { return fixed_[i] != 0; }
  int64_t Int64(int64_t i) const { return reinterpret_cast<const int64_t*>(fixed_.data())[i]; }
  double Double(int64_t i) const { return reinterpret_cast<const double*>(fixed_.data())[i]; }
  std::string_view View(int64_t i) const {
    return {bytes_.data() + offsets_[i], static_cast<size_t>(offsets_[i + 1] - offsets_[i])};
  }

  void AppendNull();
  void AppendBool(bool v);
  void AppendInt64(int64_t v);
  void AppendDouble(double v);
  void AppendBytes(std::string_view v);
  /// Appends row `i` of `other`, which must have the same layout.
  void AppendFrom(const Column& other, int64_t i);

  void Reserve(int64_t rows);
  void Clear();

 private:
  void AppendValidity(bool valid);
  template <typename T>
  void AppendFixed(T v);

  LogicalType type_;
  int64_t length_ = 0;
  int64_t null_count_ = 0;
  std::vector<uint64_t> validity_;
  std::vector<uint8_t> fixed_;    // bool: 1 byte per value; int64/double: 8 bytes per value
  std::vector<int64_t> offsets_;  // var-len: length + 1 offsets into bytes_
  std::vector<char> bytes_;
};

/// A bounded slice of a table: a schema and one column per field, all of the same length.
/// Finished batches are immutable and shared between pipeline stages without copying; columns
/// are shared too, so a batch that renames, drops or replaces a few columns of another copies
/// nothing else.
class RecordBatch {
 public:
  using ColumnPtr = std::shared_ptr<const Column>;
  RecordBatch(Schema schema, std::vector<ColumnPtr> columns, int64_t num_rows)
      : schema_(std::move(schema)), columns_(std::move(columns)), num_rows_(num_rows) {}
  RecordBatch(Schema schema, std::vector<Column> columns, int64_t num_rows);

  const Schema& schema() const { return schema_; }
  const Column& column(size_t i) const { return *columns_[i]; }
  const ColumnPtr& column_ptr(size_t i) const { return columns_[i]; }
  size_t num_columns() const { return columns_.size(); }
  int64_t num_rows() const { return num_rows_; }
  int64_t byte_size() const;

 private:
  Schema schema_;
  std::vector<ColumnPtr> columns_;
  int64_t num_rows_;
};

/// Builds record batches of one schema, a row at a time per column; `Finish()` hands the
/// batch over and starts the next one.
class BatchBuilder {
 public:
  explicit BatchBuilder(Schema schema);

  const Schema& schema() const { return schema_; }
  Column& column(size_t i) { return columns_[i]; }
  /// Rows appended so far (the length of column 0).
  int64_t num_rows() const { return columns_.empty() ? 0 : columns_[0].length(); }
  int64_t byte_size() const;
  std::shared_ptr<const RecordBatch> Finish();

 private:
  Schema schema_;
  std::vector<Column> columns_;
};

/// The operation of a row of a merge (a keyed load): a text column whose value "d" deletes the
/// row's key from the table; any other value, or NULL, upserts the row. Never stored.
inline constexpr char kOperationColumn[] = "_nilus_op";
inline constexpr char kDeleteOperation[] = "d";
/// The columns of a row of a merge whose value the source left out because it did not change
/// (a JSON list of names, or NULL): the row keeps the value its key has in the table (or in an
/// earlier row of the load). Never stored.
inline constexpr char kUnchangedColumn[] = "_nilus_unchanged";

/// Whether `name` is one of the columns that steer a merge (`_nilus_op`, `_nilus_unchanged`).
inline bool IsMergeControlColumn(std::string_view name) { return name == kOperationColumn || name == kUnchangedColumn; }

/// The column of a document batch. Semi-structured sources (JSONL files; Python and MongoDB
/// sources later) yield each record as the text of one JSON object in a column of this name;
/// Normalize types and flattens the documents (DESIGN §2), so every such source gets the same
/// inference, evolution and nesting.
inline constexpr char kDocumentColumn[] = "_nilus_document";
/// The optional second column of a document batch: where each document came from
/// ("orders.jsonl:17"), for messages.
inline constexpr char kOriginColumn[] = "_nilus_origin";

/// Whether `schema` is that of a document batch.
bool IsDocumentSchema(const Schema& schema);
/// The schema of document batches, with or without origins.
Schema DocumentSchema(bool with_origin);

/// The rows `rows` of `batch` (in that order) as a new batch.
std::shared_ptr<const RecordBatch> TakeRows(const RecordBatch& batch, const std::vector<int64_t>& rows);

/// Renders the value at row `i` as text (NULL as "NULL"), for messages and text-based sinks.
std::string ValueToString(const Column& column, int64_t i);

}  // namespace nilus
