#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"
#include "nilus/normalize/documents.h"
#include "nilus/python/python.h"

namespace nilus::python {

/// Turns the rows a Python source yields into flattened tables, with no text form between:
/// each dict is a document (docs/schema-evolution.md, "Nested data"), its values kept with
/// their Python type: bool, int (beyond 64 bits: decimal), float, Decimal, str, bytes,
/// datetime (naive: timestamp, aware: timestamptz in UTC), date, time, UUID, Enum (its value);
/// dicts and lists unnested down to `max-table-nesting`, kept as json below it. The GIL must be
/// held.
class RowsToTables {
 public:
  explicit RowsToTables(int max_nesting);

  /// Adds what a resource yielded: a dict, or a list or tuple of dicts. `origin` names the
  /// resource, for errors.
  Status Add(PyObject* item, const std::string& origin);
  int64_t rows() const { return builder_.rows(); }
  /// Bytes of values added since the last Finish (roughly).
  int64_t bytes() const { return bytes_; }
  std::vector<FlatTable> Finish();

 private:
  Status AddRow(PyObject* row);
  Status AddObject(size_t t, int64_t row, PyObject* dict, std::string& key, int keys, int depth);
  Status AddValue(size_t t, int64_t row, PyObject* value, std::string& key, int keys, int depth);
  Status AddArray(size_t t, int64_t row, PyObject* sequence, const std::string& key, int depth);
  Status Bad(const std::string& key, PyObject* value, std::string_view why) const;

  int max_nesting_;
  FlatTableBuilder builder_;
  int64_t bytes_ = 0;
  std::string origin_;
  std::string json_;
};

/// The rows of `batch` as a list of dicts of Python values (the GIL held): bool, int, float,
/// Decimal, str, bytes, date, time, datetime (timestamptz: aware, in UTC), UUID, and json as
/// dicts and lists.
Result<py::list> BatchToPython(const RecordBatch& batch);

}  // namespace nilus::python
