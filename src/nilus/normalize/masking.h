#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nilus/core/options.h"
#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"

namespace nilus {

/// One `mask` entry: `column: algorithm[:parameter]`.
struct MaskRule {
  std::string column;  ///< the destination (normalised) name
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
  const std::vector<MaskRule>& rules() const { return rules_; }
  /// The rule for the column called `column` (a normalised name), or nullptr.
  const MaskRule* Find(std::string_view column) const;

  /// The masked values of `in`, a column (or, for semi-structured data, the values of one type)
  /// of the rule's column. Fails when a text-yielding algorithm meets a non-text column that no
  /// type-hints entry turns into text, or the algorithm does not apply to the column's type.
  Result<std::shared_ptr<const Column>> MaskColumn(const MaskRule& rule, const Column& in);
  /// Masks the rules' columns of `batch` (columns of the other names are shared, not copied).
  /// Fails when a masked column is missing, and as MaskColumn does.
  Result<std::shared_ptr<const RecordBatch>> Apply(const RecordBatch& batch);

  /// Masks one text value (exposed for tests): what a text column holding `value` becomes.
  Result<std::string> MaskText(const MaskRule& rule, std::string_view value);

  /// The numbers `sequential` gave so far, per column, to commit with the load so that the next
  /// run continues them: {"column": {"<hash of the value>": n, …}}.
  nlohmann::json SequencesState() const;
  /// Continues the numbering of an earlier run.
  Status RestoreSequences(const nlohmann::json& state);

 private:
  /// Number of `value` in column `column`'s sequence, assigning the next one when it is new.
  int64_t SequenceNumber(const std::string& column, std::string_view value);
  /// Fails when `rule` cannot mask a column of `type` (text from a non-text column without a
  /// type hint, a date shift of a number …).
  Status CheckApplies(const MaskRule& rule, const LogicalType& type) const;
  /// Appends value `i` of `in` (a bool, number, date or timestamp) masked by a same-type rule.
  void MaskFixedWidth(const MaskRule& rule, const Column& in, int64_t i, Column& out);

  std::vector<MaskRule> rules_;
  std::vector<std::string> text_hinted_;  // columns a type hint turns into text
  // sequential: per column, a 16-byte SHA-256 prefix of each value -> its number
  std::unordered_map<std::string, std::unordered_map<std::string, int64_t>> sequences_;
  std::mt19937_64 rng_{std::random_device{}()};  // noise and random
};

/// Checks `mask` for `nilus validate`: every rule and its type hints, and that the
/// incremental key is not masked.
Status CheckMaskOptions(const SourceOptions& options);

/// The algorithm names, for error messages and docs.
std::string_view KnownMaskAlgorithms();

}  // namespace nilus
