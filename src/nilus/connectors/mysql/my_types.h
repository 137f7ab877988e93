#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"

namespace nilus {

/// How a value of a MySQL/MariaDB column arrives in the text protocol and becomes a value of
/// its logical type.
enum class MyDecode {
  kInteger,    ///< signed digits (TINYINT … BIGINT, unsigned below BIGINT, YEAR) -> bigint
  kDecimal,    ///< DECIMAL, and BIGINT UNSIGNED (kept exactly above 2^63) -> decimal
  kDouble,     ///< FLOAT, DOUBLE -> double
  kBit,        ///< BIT(n): n/8 bytes, big-endian -> bool for BIT(1), bigint, decimal for BIT(64)
  kDate,       ///< YYYY-MM-DD -> date
  kDatetime,   ///< DATETIME -> timestamp
  kTimestamp,  ///< TIMESTAMP, read in the session's time zone UTC -> timestamptz
  kText,       ///< character strings, ENUM, SET, TIME (which reaches beyond a day), INET -> text
  kBinary,     ///< BINARY, VARBINARY, BLOB -> binary
  kJson,       ///< JSON (MySQL's type; MariaDB's LONGTEXT with the json format) -> json
  kGeometry,   ///< GEOMETRY and its subtypes: the stored SRID dropped, the WKB kept -> binary
  kUuid,       ///< MariaDB's UUID -> uuid
};

/// What a column holds and how to read it.
struct MyColumnType {
  LogicalType logical;
  MyDecode decode = MyDecode::kText;
  int bits = 0;  ///< BIT(n): n
  /// FLOAT: selected as DOUBLE, whose text is exact (FLOAT's text is rounded to 6 digits).
  bool widen = false;
  std::string native = {};  ///< the column's own type, "mysql:decimal(12,2)"
};

/// What the protocol says of a result column (MYSQL_FIELD, with MariaDB's extended metadata).
struct MyFieldInfo {
  int type = 0;            ///< enum_field_types
  unsigned flags = 0;      ///< UNSIGNED_FLAG, ENUM_FLAG …
  unsigned charsetnr = 0;  ///< 63: binary
  unsigned long length = 0;
  unsigned decimals = 0;
  std::string type_name;    ///< MariaDB's data type name (uuid, inet6, point …), or ""
  std::string format_name;  ///< MariaDB's format name (json), or ""
};

/// The logical type and decoding of a result column; `column_type` is the catalog's COLUMN_TYPE
/// ("int(10) unsigned", "enum('a','b')") when the column is a table's, "" for a query's.
MyColumnType ClassifyMyField(const MyFieldInfo& field, std::string_view column_type);

/// What a zero date (0000-00-00, or a date with a zero month or day) becomes.
enum class ZeroDates { kNull, kError };

/// Appends one text-protocol value (`data` null for SQL NULL) to `out`. A value that is not a
/// value of the type fails with a message naming it; a zero date becomes NULL or fails, as
/// `zero_dates` says.
Status AppendMyValue(const MyColumnType& type, const char* data, size_t len, ZeroDates zero_dates, Column& out);

}  // namespace nilus
