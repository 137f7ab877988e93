#include "nilus/connectors/mysql/my_types.h"

#include <mysql.h>

#include <charconv>

#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

constexpr unsigned kBinaryCharset = 63;

/// A query column's own type, from what the protocol says (a table's comes from the catalog).
std::string NativeFromField(const MyFieldInfo& f) {
  const bool is_unsigned = (f.flags & UNSIGNED_FLAG) != 0;
  const char* sign = is_unsigned ? " unsigned" : "";
  switch (f.type) {
    case MYSQL_TYPE_TINY:
      return fmt::format("tinyint{}", sign);
    case MYSQL_TYPE_SHORT:
      return fmt::format("smallint{}", sign);
    case MYSQL_TYPE_INT24:
      return fmt::format("mediumint{}", sign);
    case MYSQL_TYPE_LONG:
      return fmt::format("int{}", sign);
    case MYSQL_TYPE_LONGLONG:
      return fmt::format("bigint{}", sign);
    case MYSQL_TYPE_YEAR:
      return "year";
    case MYSQL_TYPE_FLOAT:
      return "float";
    case MYSQL_TYPE_DOUBLE:
      return "double";
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: {
      int precision = static_cast<int>(f.length) - (f.decimals > 0 ? 1 : 0) - (is_unsigned ? 0 : 1);
      return fmt::format("decimal({},{}){}", precision, f.decimals, sign);
    }
    case MYSQL_TYPE_BIT:
      return fmt::format("bit({})", f.length);
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
      return "date";
    case MYSQL_TYPE_TIME:
      return f.decimals > 0 && f.decimals <= 6 ? fmt::format("time({})", f.decimals) : "time";
    case MYSQL_TYPE_DATETIME:
      return f.decimals > 0 && f.decimals <= 6 ? fmt::format("datetime({})", f.decimals) : "datetime";
    case MYSQL_TYPE_TIMESTAMP:
      return f.decimals > 0 && f.decimals <= 6 ? fmt::format("timestamp({})", f.decimals) : "timestamp";
    case MYSQL_TYPE_JSON:
      return "json";
    case MYSQL_TYPE_GEOMETRY:
      return "geometry";
    default:
      return f.charsetnr == kBinaryCharset ? "longblob" : "longtext";
  }
}

}  // namespace

MyColumnType ClassifyMyField(const MyFieldInfo& f, std::string_view column_type) {
  MyColumnType out;
  std::string native = column_type.empty() ? NativeFromField(f) : ToLower(column_type);
  const bool is_unsigned = (f.flags & UNSIGNED_FLAG) != 0;
  const std::string type_name = ToLower(f.type_name);
  switch (f.type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_YEAR:
      out = {LogicalType::Bigint(), MyDecode::kInteger};
      break;
    case MYSQL_TYPE_LONGLONG:
      out = is_unsigned ? MyColumnType{LogicalType::Decimal(20, 0), MyDecode::kDecimal}
                        : MyColumnType{LogicalType::Bigint(), MyDecode::kInteger};
      break;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: {
      int precision = static_cast<int>(f.length) - (f.decimals > 0 ? 1 : 0) - (is_unsigned ? 0 : 1);
      out = {LogicalType::Decimal(precision, static_cast<int>(f.decimals)), MyDecode::kDecimal};
      break;
    }
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
      out = {LogicalType::Double(), MyDecode::kDouble};
      out.widen = f.type == MYSQL_TYPE_FLOAT;
      break;
    case MYSQL_TYPE_BIT:
      out = {f.length == 1   ? LogicalType::Bool()
             : f.length < 64 ? LogicalType::Bigint()
                             : LogicalType::Decimal(20, 0),
             MyDecode::kBit, static_cast<int>(f.length)};
      break;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
      out = {LogicalType::Date(), MyDecode::kDate};
      break;
    case MYSQL_TYPE_DATETIME:
      out = {LogicalType::Timestamp(), MyDecode::kDatetime};
      break;
    case MYSQL_TYPE_TIMESTAMP:
      out = {LogicalType::TimestampTz(), MyDecode::kTimestamp};
      break;
    case MYSQL_TYPE_JSON:
      out = {LogicalType::Json(), MyDecode::kJson};
      break;
    case MYSQL_TYPE_GEOMETRY:
      out = {LogicalType::Binary(), MyDecode::kGeometry};
      break;
    default:  // strings, blobs, ENUM, SET, TIME, and MariaDB's types over them
      if (type_name == "uuid") {
        out = {LogicalType::Uuid(), MyDecode::kUuid};
      } else if (ToLower(f.format_name) == "json") {
        out = {LogicalType::Json(), MyDecode::kJson};
        native = "json";
      } else if (f.charsetnr == kBinaryCharset && f.type != MYSQL_TYPE_TIME && !(f.flags & (ENUM_FLAG | SET_FLAG))) {
        out = {LogicalType::Binary(), MyDecode::kBinary};
      } else {
        out = {LogicalType::Text(), MyDecode::kText};
      }
  }
  out.native = "mysql:" + native;
  return out;
}

namespace {

/// Whether `s` (YYYY-MM-DD…) has a zero year, month or day: MySQL's zero dates.
bool IsZeroDate(std::string_view s) {
  return s.size() >= 10 && (s.substr(0, 4) == "0000" || s.substr(5, 2) == "00" || s.substr(8, 2) == "00");
}

Status Bad(std::string_view what, const char* data, size_t len) {
  return Status::InvalidInput("'{}' is not {}", Excerpt(std::string_view(data, len)), what);
}

}  // namespace

Status AppendMyValue(const MyColumnType& type, const char* data, size_t len, ZeroDates zero_dates, Column& out) {
  if (!data) {
    out.AppendNull();
    return Status::OK();
  }
  std::string_view s(data, len);
  switch (type.decode) {
    case MyDecode::kInteger: {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(data, data + len, v);
      if (ec != std::errc() || end != data + len) return Bad("an integer", data, len);
      out.AppendInt64(v);
      return Status::OK();
    }
    case MyDecode::kDecimal: {
      thread_local std::string canonical;  // reused: no allocation per value
      if (!ParseDecimal(s, &canonical)) return Bad("a decimal", data, len);
      out.AppendBytes(canonical);
      return Status::OK();
    }
    case MyDecode::kDouble: {
      double v = 0;
      if (!ParseDouble(s, &v)) return Bad("a floating-point number", data, len);
      out.AppendDouble(v);
      return Status::OK();
    }
    case MyDecode::kBit: {
      uint64_t v = 0;
      for (size_t i = 0; i < len; ++i) v = v << 8 | static_cast<uint8_t>(data[i]);
      if (type.logical.id == TypeId::kBool) {
        out.AppendBool(v != 0);
      } else if (type.logical.id == TypeId::kBigint) {
        out.AppendInt64(static_cast<int64_t>(v));
      } else {
        out.AppendBytes(std::to_string(v));
      }
      return Status::OK();
    }
    case MyDecode::kDate:
    case MyDecode::kDatetime:
    case MyDecode::kTimestamp: {
      if (IsZeroDate(s)) {
        if (zero_dates == ZeroDates::kNull) {
          out.AppendNull();
          return Status::OK();
        }
        return Status::InvalidInput(
            "the zero date '{}' has no calendar value; read it as NULL with zeroDateTimeBehavior=convertToNull in the "
            "source address",
            s);
      }
      int64_t v = 0;
      bool zone = false;
      bool ok = type.decode == MyDecode::kDate ? ParseDate(s, &v) : ParseTimestamp(s, &v, &zone);
      if (!ok) return Bad(type.decode == MyDecode::kDate ? "a date" : "a date-time", data, len);
      out.AppendInt64(v);
      return Status::OK();
    }
    case MyDecode::kGeometry:
      // The stored form is a 4-byte SRID followed by the WKB.
      if (len < 4) return Bad("a geometry", data, len);
      out.AppendBytes(s.substr(4));
      return Status::OK();
    case MyDecode::kUuid: {
      std::string bytes;
      if (!ParseUuid(s, &bytes)) return Bad("a UUID", data, len);
      out.AppendBytes(bytes);
      return Status::OK();
    }
    case MyDecode::kText:
    case MyDecode::kBinary:
    case MyDecode::kJson:
      out.AppendBytes(s);
      return Status::OK();
  }
  return Status::Internal("unknown MySQL decoding");
}

}  // namespace nilus
