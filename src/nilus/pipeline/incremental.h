#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "nilus/core/options.h"
#include "nilus/core/record_batch.h"

namespace nilus {

/// The incremental cursor of one table (DESIGN §2.2): keeps rows whose `incremental-key` is
/// above the cursor of the last committed load (or inside [interval-start, interval-end)), and
/// tracks the largest value loaded, which becomes the new cursor when the load commits.
class IncrementalCursor {
 public:
  /// `saved` is the "cursor" object of the table's state ({} when none). With an interval the
  /// run is a backfill: the saved cursor is neither used nor advanced.
  IncrementalCursor(const SourceOptions& options, const nlohmann::json& saved);

  bool enabled() const { return !key_.empty(); }
  /// Drops the rows outside the range and records the largest key. Returns `batch` itself
  /// when every row stays.
  Result<std::shared_ptr<const RecordBatch>> Apply(std::shared_ptr<const RecordBatch> batch);
  /// The rows of `batch` inside the range, in order; records the largest key among them.
  Result<std::vector<int64_t>> Keep(const RecordBatch& batch);
  /// The cursor to commit: the largest key seen, or the saved one when nothing new came.
  nlohmann::json ToState() const;
  /// The saved cursor's value as text, for sources that push the filter down ("" when the
  /// saved cursor does not apply: none, another key, or a backfill).
  std::string SavedValue() const;

 private:
  Status Bind(const Field& field, int index);

  std::string key_;
  std::string start_text_, end_text_;
  nlohmann::json saved_;
  bool backfill_ = false;
  int index_ = -1;
  std::optional<Column> lower_;  // exclusive (the saved cursor)
  std::optional<Column> start_;  // inclusive
  std::optional<Column> end_;    // exclusive
  std::optional<Column> max_;
};

/// Orders value `i` of `a` against value `j` of `b` (same logical type, both non-null):
/// negative, zero or positive. Decimals compare by value, text by bytes.
int CompareValues(const Column& a, int64_t i, const Column& b, int64_t j);

}  // namespace nilus
