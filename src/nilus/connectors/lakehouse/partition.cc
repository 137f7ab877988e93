#include "nilus/connectors/lakehouse/partition.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "nilus/core/strings.h"
#include "nilus/core/values.h"
#include "nilus/formats/avro/avro_writer.h"
#include "nilus/formats/parquet/parquet_writer.h"

namespace nilus::iceberg {

namespace {

using nlohmann::json;

constexpr int64_t kMicrosPerHour = int64_t{3600} * 1000000;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

uint32_t Rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int32_t ClampInt(int64_t v) { return static_cast<int32_t>(std::clamp<int64_t>(v, INT32_MIN, INT32_MAX)); }

/// `v` as `size` big-endian two's-complement bytes (a decimal's fixed-length form).
std::string BigEndian(__int128 v, int32_t size) {
  std::string out(static_cast<size_t>(size), '\0');
  for (int32_t i = size - 1; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(static_cast<uint8_t>(v & 0xff));
    v >>= 8;
  }
  return out;
}

std::string LittleEndian(int64_t v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); }

/// `v` less its remainder by `width`, the remainder taken as positive (Iceberg's truncate).
__int128 TruncateNumber(__int128 v, int64_t width) { return v - (((v % width) + width) % width); }

/// The first `n` code points of UTF-8 text.
std::string_view FirstCodePoints(std::string_view text, int64_t n) {
  size_t i = 0;
  for (int64_t seen = 0; i < text.size(); ++i) {
    if ((static_cast<uint8_t>(text[i]) & 0xc0) != 0x80 && seen++ == n) break;
  }
  return text.substr(0, i);
}

bool IsTimestamp(const std::string& type) { return type == "timestamp" || type == "timestamptz"; }

/// The Avro type of values of Iceberg type `type` in a partition record (named types after the
/// partition field, so that two fields never declare one name twice).
json AvroTypeOf(const std::string& type, int32_t field_id) {
  if (type == "boolean" || type == "long" || type == "double" || type == "string") return type;
  if (type == "binary") return "bytes";
  if (type == "date") return {{"type", "int"}, {"logicalType", "date"}};
  if (type == "time") return {{"type", "long"}, {"logicalType", "time-micros"}};
  if (IsTimestamp(type)) {
    return {{"type", "long"}, {"logicalType", "timestamp-micros"}, {"adjust-to-utc", type == "timestamptz"}};
  }
  if (type == "uuid") {
    return {{"type", "fixed"}, {"name", fmt::format("uuid_{}", field_id)}, {"size", 16}, {"logicalType", "uuid"}};
  }
  int precision = 0, scale = 0;
  std::sscanf(type.c_str(), "decimal(%d, %d)", &precision, &scale);
  return {{"type", "fixed"},
          {"name", fmt::format("decimal_{}", field_id)},
          {"size", parquet::DecimalBytes(precision)},
          {"logicalType", "decimal"},
          {"precision", precision},
          {"scale", scale}};
}

/// The unscaled value of the decimal in row `r` of `column`.
Result<__int128> Unscaled(const Column& column, int64_t r) {
  __int128 v = 0;
  const LogicalType& t = column.type();
  if (!ParseUnscaled(column.View(r), t.precision, t.scale, &v)) {
    return Status::InvalidInput("the decimal '{}' does not fit decimal({}, {})", column.View(r), t.precision, t.scale);
  }
  return v;
}

/// The bytes Iceberg's bucket transform hashes for row `r` of `column` (Appendix B of the
/// specification): integers, dates, times and timestamps as 8 little-endian bytes, decimals by
/// their unscaled bytes, strings, binary and UUIDs as they are.
Result<std::string> HashInput(const Column& column, int64_t r) {
  switch (column.type().id) {
    case TypeId::kBigint:
    case TypeId::kDate:
    case TypeId::kTime:
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz:
      return LittleEndian(column.Int64(r));
    case TypeId::kDecimal:
      if (column.type().precision >= 1 && column.type().precision <= 38) {
        NILUS_ASSIGN_OR_RAISE(__int128 v, Unscaled(column, r));
        return UnscaledBytes(v);
      }
      return std::string(column.View(r));
    default:
      return std::string(column.View(r));
  }
}

}  // namespace

uint32_t Murmur3(std::string_view bytes) {
  constexpr uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
  uint32_t h = 0;
  const size_t blocks = bytes.size() / 4;
  for (size_t i = 0; i < blocks; ++i) {
    uint32_t k;
    std::memcpy(&k, bytes.data() + 4 * i, 4);  // little-endian, as the algorithm reads
    k *= c1;
    k = Rotl(k, 15);
    k *= c2;
    h ^= k;
    h = Rotl(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  uint32_t k = 0;
  const auto* tail = reinterpret_cast<const uint8_t*>(bytes.data() + 4 * blocks);
  switch (bytes.size() & 3) {
    case 3:
      k ^= static_cast<uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      k ^= static_cast<uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      k ^= tail[0];
      k *= c1;
      k = Rotl(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= static_cast<uint32_t>(bytes.size());
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

std::string UnscaledBytes(__int128 v) {
  std::string out = BigEndian(v, 16);
  size_t start = 0;
  while (start + 1 < out.size() && ((out[start] == 0 && !(out[start + 1] & 0x80)) ||
                                    (out[start] == static_cast<char>(0xff) && (out[start + 1] & 0x80)))) {
    ++start;
  }
  return out.substr(start);
}

Result<PartitionTransform> PartitionTransform::Make(std::string name, std::string transform, int32_t source_id,
                                                    int32_t field_id, std::string column, std::string type) {
  PartitionTransform t;
  t.name_ = std::move(name);
  t.transform_ = std::move(transform);
  t.source_id_ = source_id;
  t.field_id_ = field_id;
  t.column_ = std::move(column);
  t.type_ = std::move(type);
  const std::string& tr = t.transform_;
  const bool decimal = StartsWith(t.type_, "decimal");
  std::string applies;  // the types the transform applies to, when this is not one
  auto param = [&](std::string_view prefix) {
    int64_t n = 0;
    return ParseBigint(std::string_view(tr).substr(prefix.size(), tr.size() - prefix.size() - 1), &n) && n > 0 ? n : 0;
  };
  if (tr == "identity") {
    t.kind_ = Kind::kIdentity;
  } else if (StartsWith(tr, "bucket[") && EndsWith(tr, "]") && (t.param_ = param("bucket[")) > 0) {
    t.kind_ = Kind::kBucket;
    if (t.type_ == "boolean" || t.type_ == "double") {
      applies = "long, decimal, date, time, timestamp, timestamptz, string, uuid and binary";
    }
  } else if (StartsWith(tr, "truncate[") && EndsWith(tr, "]") && (t.param_ = param("truncate[")) > 0) {
    t.kind_ = Kind::kTruncate;
    if (t.type_ != "long" && t.type_ != "string" && t.type_ != "binary" && !decimal) {
      applies = "long, decimal, string and binary";
    }
  } else if (tr == "year" || tr == "month" || tr == "day") {
    t.kind_ = tr == "year" ? Kind::kYear : tr == "month" ? Kind::kMonth : Kind::kDay;
    if (t.type_ != "date" && !IsTimestamp(t.type_)) applies = "date, timestamp and timestamptz";
  } else if (tr == "hour") {
    t.kind_ = Kind::kHour;
    if (!IsTimestamp(t.type_)) applies = "timestamp and timestamptz";
  } else {
    return Status::FailedPrecondition("partition field '{}': nilus does not write the transform '{}'", t.name_, tr);
  }
  if (!applies.empty()) {
    return Status::InvalidInput(
        "partition-by {} of column '{}': the column is {}, and {} applies to {} columns only; choose another type "
        "or column",
        tr, t.column_, t.type_, tr.substr(0, tr.find('[')), applies);
  }
  return t;
}

Status PartitionTransform::Encode(const Column* column, int64_t r, std::string& out) const {
  avro::Encoder e(out);
  if (column == nullptr || column->IsNull(r)) {
    e.Union(0);
    return Status::OK();
  }
  e.Union(1);
  const LogicalType& type = column->type();
  switch (kind_) {
    case Kind::kBucket: {
      NILUS_ASSIGN_OR_RAISE(std::string input, HashInput(*column, r));
      e.Int(static_cast<int32_t>((Murmur3(input) & INT32_MAX) % static_cast<uint64_t>(param_)));
      return Status::OK();
    }
    case Kind::kYear:
    case Kind::kMonth:
    case Kind::kDay: {
      const int64_t days = type.id == TypeId::kDate ? column->Int64(r) : FloorDiv(column->Int64(r), kMicrosPerDay);
      if (kind_ == Kind::kDay) {
        e.Int(ClampInt(days));
        return Status::OK();
      }
      int64_t year = 0;
      unsigned month = 0, day = 0;
      CivilFromDays(std::clamp<int64_t>(days, -INT32_MAX, INT32_MAX), &year, &month, &day);
      e.Int(ClampInt(kind_ == Kind::kYear ? year - 1970 : (year - 1970) * 12 + (month - 1)));
      return Status::OK();
    }
    case Kind::kHour:
      e.Int(ClampInt(FloorDiv(column->Int64(r), kMicrosPerHour)));
      return Status::OK();
    case Kind::kTruncate:
    case Kind::kIdentity:
      break;
  }
  const bool truncate = kind_ == Kind::kTruncate;
  switch (type.id) {
    case TypeId::kBool:
      e.Bool(column->Bool(r));
      break;
    case TypeId::kBigint: {
      const __int128 v = truncate ? TruncateNumber(column->Int64(r), param_) : column->Int64(r);
      e.Long(static_cast<int64_t>(std::max<__int128>(v, INT64_MIN)));
      break;
    }
    case TypeId::kDouble:
      e.Double(column->Double(r));
      break;
    case TypeId::kDecimal:
      if (type.precision >= 1 && type.precision <= 38) {
        NILUS_ASSIGN_OR_RAISE(__int128 v, Unscaled(*column, r));
        e.Fixed(BigEndian(truncate ? TruncateNumber(v, param_) : v, parquet::DecimalBytes(type.precision)));
      } else {
        e.String(truncate ? FirstCodePoints(column->View(r), param_) : column->View(r));
      }
      break;
    case TypeId::kText:
    case TypeId::kJson:
      e.String(truncate ? FirstCodePoints(column->View(r), param_) : column->View(r));
      break;
    case TypeId::kBinary:
      e.Bytes(truncate ? column->View(r).substr(0, static_cast<size_t>(param_)) : column->View(r));
      break;
    case TypeId::kDate:
      e.Int(static_cast<int32_t>(std::clamp<int64_t>(column->Int64(r), -INT32_MAX, INT32_MAX)));
      break;
    case TypeId::kTime:
    case TypeId::kTimestampTz:
      e.Long(column->Int64(r));
      break;
    case TypeId::kTimestamp:
      e.Long(std::max(column->Int64(r), -INT64_MAX));  // as the data file holds it
      break;
    case TypeId::kUuid:
      e.Fixed(column->View(r));
      break;
  }
  return Status::OK();
}

json PartitionTransform::AvroField() const {
  json type;
  switch (kind_) {
    case Kind::kIdentity:
    case Kind::kTruncate:
      type = AvroTypeOf(type_, field_id_);
      break;
    case Kind::kDay:
      type = AvroTypeOf("date", field_id_);
      break;
    default:
      type = "int";
  }
  return {{"name", name_}, {"type", {"null", type}}, {"default", nullptr}, {"field-id", field_id_}};
}

}  // namespace nilus::iceberg
