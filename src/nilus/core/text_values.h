#pragma once

#include <cstdint>
#include <string_view>

#include "nilus/core/record_batch.h"
#include "nilus/core/types.h"

namespace nilus {

/// Infers the narrowest logical type that holds every text value of a column exactly:
/// bool (true/false), bigint, double (at most 15 significant digits, so it prints back the
/// same), decimal (any other decimal literal), date, timestamp, timestamptz, else text.
/// Integers with leading zeros ("007") stay text: a number would drop the zeros.
class TextTypeInference {
 public:
  /// Without `date_detection`, dates and timestamps stay text.
  explicit TextTypeInference(bool date_detection = true) {
    if (!date_detection) candidates_ &= ~(kDate | kTimestamp | kTimestampTz);
  }
  void Observe(std::string_view value);
  /// Takes in what another inference of the same column observed (another part of the file).
  void Merge(const TextTypeInference& other) {
    candidates_ &= other.candidates_;
    seen_ = seen_ || other.seen_;
  }
  /// The inferred type; text when no value was observed.
  LogicalType Result() const;

 private:
  enum Candidate : uint32_t {
    kBool = 1,
    kBigint = 2,
    kDouble = 4,
    kDecimal = 8,
    kDate = 16,
    kTimestamp = 32,
    kTimestampTz = 64,
  };
  uint32_t candidates_ = kBool | kBigint | kDouble | kDecimal | kDate | kTimestamp | kTimestampTz;
  bool seen_ = false;
};

/// Appends `text` converted to `column`'s type. Returns false when the text is not exactly a
/// value of that type (nothing is appended then).
bool AppendTextValue(Column& column, std::string_view text);

}  // namespace nilus
