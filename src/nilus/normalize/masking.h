#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"

namespace nilus {

/// One `mask` entry: `column: algorithm[:parameter]`.
struct MaskRule {
  std::string column;
  std::string algorithm;
  std::string parameter;
};

/// Applies `mask` to record batches before anything leaves the process (DESIGN §2, Normalize).
/// Deterministic algorithms give the same output for the same input in every run, so masked
/// columns still join. NULL stays NULL.
class Masker {
 public:
  /// Checks every rule: a known algorithm, its parameter present and well formed.
  /// `type_hints` say which columns may change type (to text) when an algorithm yields text.
  static Result<Masker> Make(const std::vector<std::pair<std::string, std::string>>& mask,
                             const std::vector<std::pair<std::string, LogicalType>>& type_hints);

  bool empty() const { return rules_.empty(); }
  /// Masks the rules' columns of `batch`, sharing nothing mutable with it. Fails when a masked
  /// column is missing, or when a text-yielding algorithm meets a non-text column that no
  /// type-hints entry turns into text.
  Result<std::shared_ptr<const RecordBatch>> Apply(const RecordBatch& batch) const;

  /// Masks one text value (exposed for tests): what a text column holding `value` becomes.
  Result<std::string> MaskText(const MaskRule& rule, std::string_view value) const;

 private:
  std::vector<MaskRule> rules_;
  std::vector<std::string> text_hinted_;  // columns a type hint turns into text
};

/// The algorithm names, for error messages and docs.
std::string_view KnownMaskAlgorithms();

}  // namespace nilus
