#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "nilus/core/status.h"

namespace nilus {

/// The logical types of DESIGN §2.1. Every connector maps its native types to these and back.
enum class TypeId : uint8_t {
  kBool,
  kBigint,
  kDouble,
  kDecimal,  ///< exact, any precision; held as canonical decimal text
  kText,
  kBinary,
  kDate,         ///< days since 1970-01-01
  kTime,         ///< microseconds since midnight
  kTimestamp,    ///< microseconds since 1970-01-01 00:00:00, no time zone
  kTimestampTz,  ///< microseconds since 1970-01-01 00:00:00 UTC
  kJson,         ///< JSON text
  kUuid,         ///< 16 bytes
};

/// How a column of a type is held in a record batch.
enum class PhysicalLayout : uint8_t { kBool, kInt64, kDouble, kVarLen };

struct LogicalType {
  TypeId id = TypeId::kText;
  /// For decimal: total digits and digits after the point; 0/0 means unconstrained.
  int precision = 0;
  int scale = 0;

  static LogicalType Bool() { return {TypeId::kBool}; }
  static LogicalType Bigint() { return {TypeId::kBigint}; }
  static LogicalType Double() { return {TypeId::kDouble}; }
  static LogicalType Decimal(int p = 0, int s = 0) { return {TypeId::kDecimal, p, s}; }
  static LogicalType Text() { return {TypeId::kText}; }
  static LogicalType Binary() { return {TypeId::kBinary}; }
  static LogicalType Date() { return {TypeId::kDate}; }
  static LogicalType Time() { return {TypeId::kTime}; }
  static LogicalType Timestamp() { return {TypeId::kTimestamp}; }
  static LogicalType TimestampTz() { return {TypeId::kTimestampTz}; }
  static LogicalType Json() { return {TypeId::kJson}; }
  static LogicalType Uuid() { return {TypeId::kUuid}; }

  PhysicalLayout layout() const;
  /// The canonical name: "bigint", "decimal(12,2)", "timestamptz" …
  std::string ToString() const;
  /// Parses a type name as written in `type-hints`, with the common aliases
  /// (string, varchar, integer, int, float, boolean, datetime …).
  static Result<LogicalType> Parse(std::string_view name);

  friend bool operator==(const LogicalType&, const LogicalType&) = default;
};

/// The type names `LogicalType::Parse` accepts, for error messages.
std::string_view KnownTypeNames();

}  // namespace nilus
