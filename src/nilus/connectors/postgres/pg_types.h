#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"

namespace nilus {

// The one mapping between PostgreSQL types and Nilus's logical types, both ways, with the
// binary COPY formats of the types that have a logical counterpart.

/// Type OIDs of the built-in types Nilus decodes and encodes in binary.
namespace pgoid {
inline constexpr uint32_t kBool = 16, kBytea = 17, kName = 19, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25,
                          kOid = 26, kJson = 114, kXml = 142, kFloat4 = 700, kFloat8 = 701, kBpchar = 1042,
                          kVarchar = 1043, kDate = 1082, kTime = 1083, kTimestamp = 1114, kTimestampTz = 1184,
                          kNumeric = 1700, kUuid = 2950, kJsonb = 3802;
}

/// How one PostgreSQL column travels through Nilus.
struct PgColumnType {
  uint32_t oid = 0;           ///< the column's type (a domain's base type)
  std::string sql_type;       ///< as the destination should declare it: "numeric(12,2)", "integer[]" …
  LogicalType logical;        ///< what it becomes in a record batch
  bool read_as_text = false;  ///< no binary decoder: selected as `col::text`, carried as text
};

/// Classifies a column from the catalog: `oid` and `sql_type` (format_type) of its type, or of
/// a domain's base type; `builtin` says whether the type lives in pg_catalog; `typtype` is
/// pg_type.typtype ('b' base, 'e' enum, 'r' range, 'c' composite …).
PgColumnType ClassifyPgType(uint32_t oid, const std::string& sql_type, bool builtin, char typtype);

/// The PostgreSQL type a destination column gets for a field: the source's own type when the
/// source was PostgreSQL, the closest exact type of a MySQL/MariaDB source's type (int unsigned
/// -> bigint, datetime(6) -> timestamp(6), time -> interval …), else the natural type of the
/// logical type.
std::string PgTypeForField(const Field& field);

/// Appends a value in PostgreSQL's binary format (`data`, `len` bytes) to `out`.
Status DecodePgBinary(const PgColumnType& type, const char* data, int32_t len, Column& out);

/// Appends a value in PostgreSQL's text output format (as a session with DateStyle ISO,
/// TimeZone UTC and bytea_output hex prints it) to `out`: how logical replication sends values.
/// The column holds what DecodePgBinary would have made of the same value.
Status DecodePgText(const PgColumnType& type, std::string_view text, Column& out);

/// Whether a destination column of this type can be written in binary COPY from a batch column.
bool CanEncodePgBinary(uint32_t dest_oid, const LogicalType& from);

/// Appends row `r` of `column` to `buf` as a binary COPY field (length, then bytes) of a
/// destination column of type `dest_oid`. Fails when the value would not fit exactly.
Status EncodePgBinary(uint32_t dest_oid, const Column& column, int64_t r, std::string& buf);

/// Appends row `r` of `column` to `buf` in COPY's text format (escaped; NULL as \N).
void EncodePgText(const Column& column, int64_t r, std::string& buf);

/// Big-endian integers of PostgreSQL's binary formats, read from unaligned bytes.
inline uint16_t Be16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
inline uint32_t Be32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline uint64_t Be64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

/// Numeric conversions between PostgreSQL's binary numeric and canonical decimal text.
Result<std::string> PgNumericToText(const char* data, int32_t len);
Status TextToPgNumeric(std::string_view text, std::string& buf);

}  // namespace nilus
