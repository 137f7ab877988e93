#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>

#include "nilus/core/options.h"
#include "nilus/core/record_batch.h"

namespace nilus {

/// The incremental cursor of one table (DESIGN §2.2, docs/manifest.md "Incremental loads").
///
/// The cursor is inclusive: a run keeps the rows whose `incremental-key` is at or above the
/// largest value the last committed load saw, except the rows it loaded with exactly that value,
/// which the cursor remembers by a hash of their values (with a count, so identical rows are
/// told apart). Rows that arrive later with the last value are therefore loaded, and none twice.
/// With `interval-start`/`interval-end` the run is a backfill of [start, end): the saved cursor
/// is neither used nor advanced.
class IncrementalCursor {
 public:
  /// `saved` is the "cursor" object of the table's state ({} when none).
  IncrementalCursor(const SourceOptions& options, const nlohmann::json& saved);

  bool enabled() const { return !key_.empty(); }
  /// The rows of `batch` to load, in order: inside the range, not loaded before, and at most
  /// `limit` of them (-1: no limit). Records the largest key among them and which rows have it.
  /// `source` is the source batch the rows of `batch` come from, row for row: rows are known by
  /// the hash of their source values, which neither masking nor schema changes alter.
  Result<std::vector<int64_t>> Keep(const RecordBatch& batch, const RecordBatch& source, int64_t limit);
  /// The cursor to commit: the largest key seen and the rows loaded with it, or the saved
  /// cursor when nothing new came.
  nlohmann::json ToState() const;
  /// The saved cursor's value as text, for sources that push the range down ("" when the saved
  /// cursor does not apply: none, another key, or a backfill).
  std::string SavedValue() const;
  /// How many rows the last load loaded with the saved value.
  int64_t SavedRowsAtValue() const;

 private:
  Status Bind(const Field& field);
  /// Whether row `r` (whose key equals the saved value) was loaded before; counts it off.
  bool LoadedBefore(const RecordBatch& source, int64_t r);
  /// Records the rows of `kept` that hold the batch's largest key.
  void TrackMaximum(const Column& keys, const RecordBatch& source, const std::vector<int64_t>& kept);

  std::string key_;
  std::string start_text_, end_text_;
  nlohmann::json saved_;
  bool backfill_ = false;
  /// A cursor saved by an older nilus, without the rows at its value: exclusive.
  bool legacy_ = false;
  bool bound_ = false;
  std::optional<Column> lower_;  // inclusive (the saved cursor)
  std::optional<Column> start_;  // inclusive
  std::optional<Column> end_;    // exclusive
  std::optional<Column> max_;
  /// Row hash -> how many rows with it the last load loaded at the saved value and this run
  /// has not met again yet.
  std::unordered_map<std::string, int64_t> loaded_before_;
  /// Row hash -> how many rows with it hold `max_` (the saved ones too while `max_` is the
  /// saved value).
  std::unordered_map<std::string, int64_t> at_max_;
};

/// Orders value `i` of `a` against value `j` of `b` (same logical type, both non-null):
/// negative, zero or positive. Decimals compare by value, text by bytes.
int CompareValues(const Column& a, int64_t i, const Column& b, int64_t j);

/// A stable hash (32 hex digits of SHA-256) of row `r` of `batch`: its column names and values,
/// NULLs and `_nilus_origin` left out, so that a row hashes the same in every run.
std::string RowHash(const RecordBatch& batch, int64_t r);

}  // namespace nilus
