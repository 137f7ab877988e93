#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "nilus/core/record_batch.h"
#include "nilus/normalize/schema.h"

namespace nilus {

/// The values of one source column in one batch, ready to be placed in a destination table.
struct SourceColumn {
  std::string name;  ///< the destination name (already normalised)
  /// The values, one column per type they came in (a typed source gives one; a JSON field may
  /// give several), each as long as the batch and NULL where the value had another type or none.
  std::vector<RecordBatch::ColumnPtr> values = {};
  /// The source system's own type of a typed source's column (Field::native_type).
  std::string native_type = {};
  /// Text values are strings of semi-structured data: a new column of ISO-8601 dates or
  /// timestamps becomes a date or timestamp column (when date detection is on).
  bool detect_dates = false;
  /// Fixes the type of a new column (`type-hints`).
  const LogicalType* hint = nullptr;
};

/// Builds one batch of a destination table from the source columns of a batch and evolves the
/// table's schema as it goes (docs/schema-evolution.md):
/// - a new column gets the type of its values (`CommonType`), or its hint;
/// - a value goes into its column when it converts to the column's type without loss
///   (`AppendCoerced`), else into the variant column `<column>__v_<type>` of its own type;
/// - the batch holds every column of the table, NULL where the source had no values.
/// A column whose values already have the column's type is passed through without copying.
class TableBatchAssembler {
 public:
  TableBatchAssembler(StoredSchema& schema, TableSchema& table, int64_t rows);

  Status Place(const SourceColumn& column);
  /// The batch, with the table's columns in their order.
  std::shared_ptr<const RecordBatch> Finish();

 private:
  Column& Variant(const std::string& column, const LogicalType& type, int64_t rows_so_far);

  StoredSchema& schema_;
  TableSchema& table_;
  int64_t rows_;
  std::unordered_map<std::string, RecordBatch::ColumnPtr> placed_;  // passed through as they are
  /// The merge's control columns of the batch (text; never stored), after the table's columns.
  std::vector<std::pair<Field, RecordBatch::ColumnPtr>> control_;
  std::unordered_map<std::string, std::shared_ptr<Column>> building_;  // converted values, variants
};

/// The type a new column gets from its values: the type of a single kind of values (for text
/// with `detect_dates`: date, timestamp or timestamptz when every value is one); with several
/// kinds, json when one is json, double for bigint with double (decimal when an integer is
/// beyond 2^53), decimal for numbers with decimals, else text.
LogicalType CommonType(const std::vector<RecordBatch::ColumnPtr>& values, bool detect_dates);

/// Appends value `i` of `in` to `out` when it converts to `out`'s type losslessly — an integer
/// into double (up to 2^53), decimal or text; any scalar into text; any value but binary into
/// json; a text that is exactly a value of the type; a whole double into bigint. Returns false
/// (and appends nothing) otherwise. `in` and `out` have different types or `in` is not null.
bool AppendCoerced(const Column& in, int64_t i, Column& out);

/// The column of `values` (columns of one source column's values by type, as in SourceColumn)
/// that holds row `r`'s value, or nullptr when the row has none.
const Column* ValueAt(const std::vector<RecordBatch::ColumnPtr>& values, int64_t r);

/// Appends value `i` of `in` converted to `out`'s type as a `type-hints` entry asks: through its
/// text, accepting every spelling of the type (1/0, yes/no for bool, any ISO-8601 date-time).
/// Returns false when the value is not a value of that type.
bool AppendConverted(const Column& in, int64_t i, Column& out);

}  // namespace nilus
