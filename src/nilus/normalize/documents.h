#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"

namespace nilus {

/// Hashes strings and string views alike, so maps keyed by std::string are searched with views.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

/// The kinds of value a document field may bring: JSON's (bool, bigint, double, decimal for
/// numbers a double cannot hold, text, json) and, from Python objects, those JSON has no form
/// for (date, time, timestamps without and with a time zone, bytes, UUID).
enum FlatKind : size_t {
  kFlatBool,
  kFlatBigint,
  kFlatDouble,
  kFlatDecimal,
  kFlatText,
  kFlatJson,
  kFlatDate,
  kFlatTime,
  kFlatTimestamp,
  kFlatTimestamptz,
  kFlatBinary,
  kFlatUuid,
  kFlatKinds
};

/// The values of one source field in one table, one column per kind they came in; absent kinds
/// are null.
struct FlatColumn {
  std::string key;  ///< the source path inside the table, keys joined by '\x1f'
  std::array<std::shared_ptr<Column>, kFlatKinds> by_kind;
  int64_t last_row = -1;
};

/// The rows that a batch of documents gives one table: the root table (one row per document) or
/// the child table of one array field.
struct FlatTable {
  /// Source path of the array from the root, keys joined by '\x1f' ("" for the root).
  std::string key;
  /// The last key of the path, and the keys flattened into it, for naming: {"items"}.
  std::vector<std::string> path;
  size_t parent = 0;  ///< index of the parent table in the list (the root's is 0, itself)
  int64_t rows = 0;
  std::vector<int64_t> parent_row;  ///< per row: its row in the parent table
  std::vector<int64_t> list_index;  ///< per row: its position in the array
  std::vector<int64_t> root_row;    ///< per row: the document it came from
  std::vector<FlatColumn> columns;  ///< in order of first appearance
  std::unordered_map<std::string, size_t, StringHash, std::equal_to<>> column_index;
};

/// Gathers the rows of flattened documents: a root table and the child tables of their arrays.
/// DocumentFlattener fills it from JSON text; the Python source from Python objects.
class FlatTableBuilder {
 public:
  /// Separates the keys of a path.
  static constexpr char kKeySeparator = '\x1f';

  FlatTableBuilder() { Reset(); }
  /// Adds a row to the root table (table 0) and returns it.
  int64_t AddRootRow() { return tables_[0].rows++; }
  /// The child table of the array at `relative` (its key path inside table `parent`), made on
  /// first use.
  size_t ChildTable(size_t parent, std::string_view relative);
  /// Adds the row of item `index` of the array in row `row` of table `parent` to table `child`.
  int64_t AddChildRow(size_t child, size_t parent, int64_t row, int64_t index);
  /// The column of `kind` for field `key` of table `table`, padded to `row`; nullptr when the
  /// row already has a value for the field (a key given twice: the first one is kept).
  Column* Cell(size_t table, std::string_view key, int64_t row, FlatKind kind);
  /// Rows of the root table so far.
  int64_t rows() const { return tables_[0].rows; }
  /// The tables of the rows added since the last call (the root first, parents before their
  /// children), each column padded to its table's rows; starts over.
  std::vector<FlatTable> Finish();
  /// Drops what was added since the last Finish.
  void Reset();

 private:
  std::vector<FlatTable> tables_;
  std::unordered_map<std::string, size_t> table_index_;  // child tables by key
};

/// Flattens JSON objects into the rows of a root table and its child tables
/// (docs/schema-evolution.md, "Nested data"): with `max_nesting` N, objects and arrays down to
/// depth N are unnested — objects into `parent__child` columns, arrays into child tables
/// (arrays of scalars into a `value` column) — and deeper values are kept as json text.
/// Numbers keep their exact value: integers beyond 64 bits and fractions of more than 15
/// significant digits become decimals.
class DocumentFlattener {
 public:
  explicit DocumentFlattener(int max_nesting);
  ~DocumentFlattener();

  /// Adds one document. Fails on anything but a valid JSON object, naming `origin`; a failure
  /// discards the documents added since the last Finish.
  Status Add(std::string_view json, std::string_view origin);
  /// The tables of the documents added since the last call (the root first, parents before
  /// their children); each column padded to the table's rows.
  std::vector<FlatTable> Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nilus
