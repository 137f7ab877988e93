#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"

namespace nilus::iceberg {

/// Iceberg's 32-bit hash: Murmur3, x86 variant, seed 0.
uint32_t Murmur3(std::string_view bytes);

/// A decimal's unscaled value as the fewest big-endian two's-complement bytes (Iceberg's
/// single-value form of a decimal, and what its bucket transform hashes).
std::string UnscaledBytes(__int128 v);

/// One field of a partition spec, bound to its source column: how a row's value becomes the
/// field's partition value (Iceberg's partition transforms).
class PartitionTransform {
 public:
  /// The field `name` (`field_id`) that `transform` ("identity", "bucket[16]", "truncate[4]",
  /// "year", "month", "day", "hour") makes of `column` (`source_id`, of Iceberg type `type`);
  /// fails when the transform does not apply to that type.
  static Result<PartitionTransform> Make(std::string name, std::string transform, int32_t source_id, int32_t field_id,
                                         std::string column, std::string type);

  const std::string& name() const { return name_; }
  const std::string& transform() const { return transform_; }
  const std::string& column() const { return column_; }
  int32_t source_id() const { return source_id_; }
  int32_t field_id() const { return field_id_; }

  /// Appends the partition value of row `r` of `column` (nullptr: a column the batch lacks, so
  /// NULL) in the Avro form a manifest's partition record holds: the tuple of a file's
  /// partition is its fields' values one after the other.
  Status Encode(const Column* column, int64_t r, std::string& out) const;
  /// The field as the manifest's Avro schema declares it in the partition record.
  nlohmann::json AvroField() const;

 private:
  enum class Kind { kIdentity, kBucket, kTruncate, kYear, kMonth, kDay, kHour };
  PartitionTransform() = default;

  std::string name_, transform_, column_, type_;
  int32_t source_id_ = 0, field_id_ = 0;
  Kind kind_ = Kind::kIdentity;
  int64_t param_ = 0;  ///< N of bucket[N], W of truncate[W]
};

}  // namespace nilus::iceberg
