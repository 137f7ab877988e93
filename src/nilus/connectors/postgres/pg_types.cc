#include "nilus/connectors/postgres/pg_types.h"

#include <cmath>
#include <cstring>

#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

constexpr int64_t kPgEpochMicros = 946684800LL * 1000000;  // 2000-01-01 in Unix microseconds
constexpr int64_t kPgEpochDays = 10957;
// NUMERIC_MAX_PRECISION + NUMERIC_MAX_RESULT_SCALE: the base-10000 digits numeric_recv accepts.
constexpr int kPgNumericMaxDigits = 3000;

void Put16(std::string& b, uint16_t v) {
  v = __builtin_bswap16(v);
  b.append(reinterpret_cast<const char*>(&v), 2);
}
void Put32(std::string& b, uint32_t v) {
  v = __builtin_bswap32(v);
  b.append(reinterpret_cast<const char*>(&v), 4);
}
void Put64(std::string& b, uint64_t v) {
  v = __builtin_bswap64(v);
  b.append(reinterpret_cast<const char*>(&v), 8);
}

Status BadLength(const PgColumnType& t, int32_t len) {
  return Status::Internal("PostgreSQL sent {} bytes for a {} value", len, t.sql_type);
}

/// Unix microseconds of a PostgreSQL timestamp; false when they do not fit (not a value
/// PostgreSQL sends, but the stream is checked all the same).
bool PgTimestampToUnix(int64_t pg, int64_t* out) {
  if (pg == INT64_MAX) {
    *out = kPlusInfinity;
    return true;
  }
  if (pg == INT64_MIN) {
    *out = kMinusInfinity;
    return true;
  }
  return !__builtin_add_overflow(pg, kPgEpochMicros, out) && *out != kPlusInfinity && *out != kMinusInfinity;
}

/// Appends one base-10000 digit of a numeric as four decimal digits.
void AppendGroup(std::string& out, int d) {
  char g[4] = {static_cast<char>('0' + d / 1000 % 10), static_cast<char>('0' + d / 100 % 10),
               static_cast<char>('0' + d / 10 % 10), static_cast<char>('0' + d % 10)};
  out.append(g, 4);
}

}  // namespace

PgColumnType ClassifyPgType(uint32_t oid, const std::string& sql_type, bool builtin, char typtype) {
  PgColumnType t{oid, sql_type, LogicalType::Text(), false};
  switch (oid) {
    case pgoid::kBool:
      t.logical = LogicalType::Bool();
      return t;
    case pgoid::kInt2:
    case pgoid::kInt4:
    case pgoid::kInt8:
    case pgoid::kOid:
      t.logical = LogicalType::Bigint();
      return t;
    case pgoid::kFloat4:
    case pgoid::kFloat8:
      t.logical = LogicalType::Double();
      return t;
    case pgoid::kNumeric: {
      int p = 0, s = 0;
      if (std::sscanf(sql_type.c_str(), "numeric(%d,%d)", &p, &s) < 1) p = s = 0;
      t.logical = LogicalType::Decimal(p, s);
      return t;
    }
    case pgoid::kText:
    case pgoid::kVarchar:
    case pgoid::kBpchar:
    case pgoid::kName:
      t.logical = LogicalType::Text();
      return t;
    case pgoid::kBytea:
      t.logical = LogicalType::Binary();
      return t;
    case pgoid::kDate:
      t.logical = LogicalType::Date();
      return t;
    case pgoid::kTime:
      t.logical = LogicalType::Time();
      return t;
    case pgoid::kTimestamp:
      t.logical = LogicalType::Timestamp();
      return t;
    case pgoid::kTimestampTz:
      t.logical = LogicalType::TimestampTz();
      return t;
    case pgoid::kUuid:
      t.logical = LogicalType::Uuid();
      return t;
    case pgoid::kJson:
    case pgoid::kJsonb:
      t.logical = LogicalType::Json();
      return t;
    default:
      break;
  }
  // No logical counterpart: carried as PostgreSQL's own text form, losslessly. Built-in types
  // (inet, interval, money, arrays, ranges …) keep their type in a PostgreSQL destination;
  // enums, composites and extension types (citext …) become text there.
  t.read_as_text = true;
  t.logical = LogicalType::Text();
  if (!builtin || typtype == 'e' || typtype == 'c') t.sql_type = "text";
  return t;
}

namespace {

/// The closest PostgreSQL type that holds every value of a MySQL/MariaDB column type (its
/// COLUMN_TYPE: "int(10) unsigned", "datetime(6)"), or "" to go by the logical type.
std::string PgTypeForMysql(std::string_view native) {
  size_t end = native.find_first_of("( ");
  std::string base(native.substr(0, end));
  std::string args;
  if (end != std::string_view::npos && native[end] == '(') {
    size_t close = native.find(')', end);
    if (close != std::string_view::npos) args = std::string(native.substr(end, close - end + 1));
  }
  const bool is_unsigned = native.find(" unsigned") != std::string_view::npos;
  if (base == "tinyint" || base == "year") return "smallint";
  if (base == "smallint") return is_unsigned ? "integer" : "smallint";
  if (base == "mediumint") return "integer";
  if (base == "int" || base == "integer") return is_unsigned ? "bigint" : "integer";
  if (base == "bigint") return is_unsigned ? "numeric(20,0)" : "bigint";
  if (base == "decimal" || base == "numeric") return "numeric" + args;
  if (base == "float") return "real";
  if (base == "double") return "double precision";
  if (base == "datetime") return "timestamp" + args;
  if (base == "timestamp") return "timestamptz" + args;
  if (base == "time") return "interval";  // MySQL's TIME spans -838:59:59 to 838:59:59
  if (base == "char" || base == "varchar") return "varchar" + args;
  if (base == "json") return "jsonb";
  if (base == "inet4" || base == "inet6") return "inet";
  return "";
}

}  // namespace

std::string PgTypeForField(const Field& field) {
  constexpr std::string_view kPrefix = "postgresql:";
  if (StartsWith(field.native_type, kPrefix)) return field.native_type.substr(kPrefix.size());
  if (StartsWith(field.native_type, "mysql:")) {
    std::string pg = PgTypeForMysql(std::string_view(field.native_type).substr(6));
    if (!pg.empty()) return pg;
  }
  const LogicalType& t = field.type;
  switch (t.id) {
    case TypeId::kBool:
      return "boolean";
    case TypeId::kBigint:
      return "bigint";
    case TypeId::kDouble:
      return "double precision";
    case TypeId::kDecimal:
      return t.precision > 0 ? fmt::format("numeric({},{})", t.precision, t.scale) : "numeric";
    case TypeId::kText:
      return "text";
    case TypeId::kBinary:
      return "bytea";
    case TypeId::kDate:
      return "date";
    case TypeId::kTime:
      return "time";
    case TypeId::kTimestamp:
      return "timestamp";
    case TypeId::kTimestampTz:
      return "timestamptz";
    case TypeId::kJson:
      return "jsonb";
    case TypeId::kUuid:
      return "uuid";
  }
  return "text";
}

Result<std::string> PgNumericToText(const char* data, int32_t len) {
  if (len < 8) return Status::Internal("short numeric value");
  int ndigits = static_cast<int16_t>(Be16(data));
  int weight = static_cast<int16_t>(Be16(data + 2));
  uint16_t sign = Be16(data + 4);
  int dscale = Be16(data + 6);
  if (len < 8 + 2 * ndigits) return Status::Internal("short numeric value");
  if (sign == 0xC000) return std::string("NaN");
  if (sign == 0xD000) return std::string("Infinity");
  if (sign == 0xF000) return std::string("-Infinity");
  auto digit = [&](int i) -> int { return i >= 0 && i < ndigits ? Be16(data + 8 + 2 * i) : 0; };
  std::string out;
  if (sign == 0x4000) out += '-';
  if (weight < 0) {
    out += '0';
  } else {
    for (int i = 0; i <= weight; ++i) {
      int d = digit(i);
      if (i == 0) {
        out += std::to_string(d);
      } else {
        AppendGroup(out, d);
      }
    }
  }
  if (dscale > 0) {
    out += '.';
    std::string frac;
    for (int i = weight + 1; static_cast<int>(frac.size()) < dscale; ++i) {
      AppendGroup(frac, digit(i));
    }
    frac.resize(static_cast<size_t>(dscale));
    out += frac;
  }
  return out;
}

Status TextToPgNumeric(std::string_view text, std::string& buf) {
  auto header = [&](int ndigits, int weight, uint16_t sign, int dscale) {
    Put32(buf, static_cast<uint32_t>(8 + 2 * ndigits));
    Put16(buf, static_cast<uint16_t>(ndigits));
    Put16(buf, static_cast<uint16_t>(weight));
    Put16(buf, sign);
    Put16(buf, static_cast<uint16_t>(dscale));
  };
  if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
    header(0, 0, text == "NaN" ? 0xC000 : text == "Infinity" ? 0xD000 : 0xF000, 0);
    return Status::OK();
  }
  bool negative = !text.empty() && text[0] == '-';
  if (negative || (!text.empty() && text[0] == '+')) text.remove_prefix(1);
  size_t point = text.find('.');
  std::string_view int_part = text.substr(0, point);
  std::string_view frac_part = point == std::string_view::npos ? std::string_view() : text.substr(point + 1);
  for (std::string_view part : {int_part, frac_part}) {
    for (char c : part) {
      if (c < '0' || c > '9') return Status::InvalidInput("'{}' is not a decimal number", Excerpt(text));
    }
  }
  // Base-10000 digits: the integer part padded on the left, the fraction on the right.
  const int pad = static_cast<int>((4 - int_part.size() % 4) % 4);
  const int int_groups = static_cast<int>((int_part.size() + pad) / 4);
  const int frac_groups = static_cast<int>((frac_part.size() + 3) / 4);
  auto group = [&](int g) -> uint16_t {
    int v = 0;
    for (int k = 0; k < 4; ++k) {
      int d = 0;
      if (g < int_groups) {
        int pos = g * 4 + k - pad;
        if (pos >= 0) d = int_part[static_cast<size_t>(pos)] - '0';
      } else {
        size_t pos = static_cast<size_t>((g - int_groups) * 4 + k);
        if (pos < frac_part.size()) d = frac_part[pos] - '0';
      }
      v = v * 10 + d;
    }
    return static_cast<uint16_t>(v);
  };
  int first = 0, last = int_groups + frac_groups;
  while (first < last && group(first) == 0) ++first;
  while (last > first && group(last - 1) == 0) --last;
  int ndigits = last - first;
  int weight = ndigits == 0 ? 0 : int_groups - 1 - first;
  // What PostgreSQL's binary numeric takes: a weight that fits int16, at most 16383 digits after
  // the point (the bits of dscale that are not flags), at most 3000 base-10000 digits in all.
  if (weight > INT16_MAX || weight < INT16_MIN || frac_part.size() > 0x3FFF || ndigits > kPgNumericMaxDigits) {
    return Status::InvalidInput(
        "a number with {} digits before the point and {} after does not fit PostgreSQL's numeric (at most {} "
        "significant digits, 16383 after the point)",
        int_part.size(), frac_part.size(), 4 * kPgNumericMaxDigits);
  }
  header(ndigits, weight, negative && ndigits > 0 ? 0x4000 : 0, static_cast<int>(frac_part.size()));
  for (int g = first; g < last; ++g) Put16(buf, group(g));
  return Status::OK();
}

Status DecodePgBinary(const PgColumnType& t, const char* p, int32_t len, Column& out) {
  if (t.read_as_text) {
    out.AppendBytes(std::string_view(p, static_cast<size_t>(len)));
    return Status::OK();
  }
  switch (t.oid) {
    case pgoid::kBool:
      if (len != 1) return BadLength(t, len);
      out.AppendBool(p[0] != 0);
      return Status::OK();
    case pgoid::kInt2:
      if (len != 2) return BadLength(t, len);
      out.AppendInt64(static_cast<int16_t>(Be16(p)));
      return Status::OK();
    case pgoid::kInt4:
      if (len != 4) return BadLength(t, len);
      out.AppendInt64(static_cast<int32_t>(Be32(p)));
      return Status::OK();
    case pgoid::kOid:
      if (len != 4) return BadLength(t, len);
      out.AppendInt64(Be32(p));
      return Status::OK();
    case pgoid::kInt8:
      if (len != 8) return BadLength(t, len);
      out.AppendInt64(static_cast<int64_t>(Be64(p)));
      return Status::OK();
    case pgoid::kFloat4: {
      if (len != 4) return BadLength(t, len);
      uint32_t bits = Be32(p);
      float f;
      std::memcpy(&f, &bits, 4);
      out.AppendDouble(f);
      return Status::OK();
    }
    case pgoid::kFloat8: {
      if (len != 8) return BadLength(t, len);
      uint64_t bits = Be64(p);
      double d;
      std::memcpy(&d, &bits, 8);
      out.AppendDouble(d);
      return Status::OK();
    }
    case pgoid::kNumeric: {
      NILUS_ASSIGN_OR_RAISE(std::string text, PgNumericToText(p, len));
      out.AppendBytes(text);
      return Status::OK();
    }
    case pgoid::kDate: {
      if (len != 4) return BadLength(t, len);
      int32_t days = static_cast<int32_t>(Be32(p));
      out.AppendInt64(days == INT32_MAX   ? kPlusInfinity
                      : days == INT32_MIN ? kMinusInfinity
                                          : int64_t{days} + kPgEpochDays);
      return Status::OK();
    }
    case pgoid::kTime:
      if (len != 8) return BadLength(t, len);
      out.AppendInt64(static_cast<int64_t>(Be64(p)));
      return Status::OK();
    case pgoid::kTimestamp:
    case pgoid::kTimestampTz: {
      if (len != 8) return BadLength(t, len);
      int64_t micros;
      if (!PgTimestampToUnix(static_cast<int64_t>(Be64(p)), &micros)) {
        return Status::IOError("a {} value out of range in the binary COPY stream", t.sql_type);
      }
      out.AppendInt64(micros);
      return Status::OK();
    }
    case pgoid::kUuid:
      if (len != 16) return BadLength(t, len);
      out.AppendBytes(std::string_view(p, 16));
      return Status::OK();
    case pgoid::kJsonb:
      if (len < 1 || p[0] != 1) return Status::Internal("unknown jsonb binary version");
      out.AppendBytes(std::string_view(p + 1, static_cast<size_t>(len - 1)));
      return Status::OK();
    default:  // text, varchar, bpchar, name, json, bytea: the bytes themselves
      out.AppendBytes(std::string_view(p, static_cast<size_t>(len)));
      return Status::OK();
  }
}

namespace {

int HexDigit(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

/// A date as PostgreSQL prints it: "2024-02-29", "infinity", years past 9999 ("12345-01-01") and
/// before year 1 ("0044-03-15 BC").
bool ParsePgDate(std::string_view s, int64_t* days) {
  if (ParseDate(s, days)) return true;
  bool bc = EndsWith(s, " BC");
  if (bc) s.remove_suffix(3);
  size_t dash = s.find('-');
  if (dash == std::string_view::npos || dash < 4 || s.size() != dash + 6) return false;
  int64_t year;
  // PostgreSQL's dates end in 5874897 AD; a longer year is not one of its dates.
  if (!ParseBigint(s.substr(0, dash), &year) || year < 1 || year > 5874897) return false;
  std::string tail = fmt::format("2000{}", s.substr(dash));  // a leap year, to check month and day
  if (!ParseDate(tail, days)) return false;
  if (bc) year = 1 - year;
  *days = DaysFromCivil(year, static_cast<unsigned>(std::stoi(std::string(s.substr(dash + 1, 2)))),
                        static_cast<unsigned>(std::stoi(std::string(s.substr(dash + 4, 2)))));
  return true;
}

/// A timestamp as PostgreSQL prints it in UTC: "2024-02-29 10:11:12.5", with "+00" for a
/// timestamptz, and the date forms of ParsePgDate.
bool ParsePgTimestamp(std::string_view s, int64_t* micros) {
  bool zone;
  if (ParseTimestamp(s, micros, &zone)) return true;
  bool bc = EndsWith(s, " BC");
  if (bc) s.remove_suffix(3);
  size_t space = s.find(' ');
  if (space == std::string_view::npos) return false;
  int64_t days;
  std::string date(s.substr(0, space));
  if (bc) date += " BC";
  if (!ParsePgDate(date, &days)) return false;
  int64_t clock;
  if (!ParseTimestamp(fmt::format("2000-01-01 {}", s.substr(space + 1)), &clock, &zone)) return false;
  clock -= 10957LL * 86400 * 1000000;
  return !__builtin_mul_overflow(days, int64_t{86400} * 1000000, micros) &&
         !__builtin_add_overflow(*micros, clock, micros);
}

}  // namespace

Status DecodePgText(const PgColumnType& t, std::string_view text, Column& out) {
  auto bad = [&] {
    return Status::IOError("PostgreSQL sent '{}' for a {} value, which nilus cannot read", Excerpt(text, 40),
                           t.sql_type);
  };
  if (t.read_as_text) {
    out.AppendBytes(text);
    return Status::OK();
  }
  switch (t.oid) {
    case pgoid::kBool:
      if (text != "t" && text != "f") return bad();
      out.AppendBool(text == "t");
      return Status::OK();
    case pgoid::kInt2:
    case pgoid::kInt4:
    case pgoid::kInt8:
    case pgoid::kOid: {
      int64_t v;
      if (!ParseBigint(text, &v)) return bad();
      out.AppendInt64(v);
      return Status::OK();
    }
    case pgoid::kFloat4:
    case pgoid::kFloat8: {
      double v;
      if (text == "NaN") {
        v = std::nan("");
      } else if (text == "Infinity" || text == "-Infinity") {
        v = text[0] == '-' ? -HUGE_VAL : HUGE_VAL;
      } else if (!ParseDouble(text, &v)) {
        return bad();
      }
      out.AppendDouble(v);
      return Status::OK();
    }
    case pgoid::kDate: {
      int64_t days;
      if (!ParsePgDate(text, &days)) return bad();
      out.AppendInt64(days);
      return Status::OK();
    }
    case pgoid::kTime: {
      int64_t micros;
      if (text == "24:00:00") {
        micros = int64_t{86400} * 1000000;
      } else if (!ParseTime(text, &micros)) {
        return bad();
      }
      out.AppendInt64(micros);
      return Status::OK();
    }
    case pgoid::kTimestamp:
    case pgoid::kTimestampTz: {
      int64_t micros;
      if (!ParsePgTimestamp(text, &micros)) return bad();
      out.AppendInt64(micros);
      return Status::OK();
    }
    case pgoid::kUuid: {
      std::string bytes;
      if (!ParseUuid(text, &bytes)) return bad();
      out.AppendBytes(bytes);
      return Status::OK();
    }
    case pgoid::kBytea: {
      if (!StartsWith(text, "\\x") || text.size() % 2 != 0) return bad();
      std::string bytes;
      bytes.reserve(text.size() / 2 - 1);
      for (size_t i = 2; i < text.size(); i += 2) {
        int hi = HexDigit(text[i]), lo = HexDigit(text[i + 1]);
        if (hi < 0 || lo < 0) return bad();
        bytes.push_back(static_cast<char>(hi << 4 | lo));
      }
      out.AppendBytes(bytes);
      return Status::OK();
    }
    default:  // numeric, text, varchar, bpchar, name, json, jsonb: the text itself
      out.AppendBytes(text);
      return Status::OK();
  }
}

bool CanEncodePgBinary(uint32_t dest_oid, const LogicalType& from) {
  switch (dest_oid) {
    case pgoid::kBool:
      return from.id == TypeId::kBool;
    case pgoid::kInt2:
    case pgoid::kInt4:
    case pgoid::kInt8:
      return from.id == TypeId::kBigint;
    case pgoid::kFloat4:
    case pgoid::kFloat8:
      return from.id == TypeId::kDouble || from.id == TypeId::kBigint;
    case pgoid::kNumeric:
      return from.id == TypeId::kDecimal || from.id == TypeId::kBigint;
    case pgoid::kDate:
      return from.id == TypeId::kDate;
    case pgoid::kTime:
      return from.id == TypeId::kTime;
    case pgoid::kTimestamp:
      return from.id == TypeId::kTimestamp;
    case pgoid::kTimestampTz:
      return from.id == TypeId::kTimestampTz;
    case pgoid::kUuid:
      return from.id == TypeId::kUuid;
    case pgoid::kBytea:
      return from.id == TypeId::kBinary;
    case pgoid::kText:
    case pgoid::kVarchar:
    case pgoid::kBpchar:
    case pgoid::kName:
    case pgoid::kJson:
    case pgoid::kJsonb:
      return from.layout() == PhysicalLayout::kVarLen && from.id != TypeId::kBinary && from.id != TypeId::kUuid;
    default:
      return false;
  }
}

namespace {

Status EncodeInteger(uint32_t oid, int64_t v, std::string& buf) {
  switch (oid) {
    case pgoid::kInt2:
      if (v < INT16_MIN || v > INT16_MAX) return Status::InvalidInput("{} does not fit a smallint column", v);
      Put32(buf, 2);
      Put16(buf, static_cast<uint16_t>(v));
      return Status::OK();
    case pgoid::kInt4:
      if (v < INT32_MIN || v > INT32_MAX) return Status::InvalidInput("{} does not fit an integer column", v);
      Put32(buf, 4);
      Put32(buf, static_cast<uint32_t>(v));
      return Status::OK();
    default:
      Put32(buf, 8);
      Put64(buf, static_cast<uint64_t>(v));
      return Status::OK();
  }
}

/// A bigint goes into a float column only when the float holds it exactly.
Status EncodeFloat(uint32_t oid, const Column& c, int64_t r, std::string& buf) {
  double d;
  if (c.type().id == TypeId::kBigint) {
    int64_t v = c.Int64(r);
    d = static_cast<double>(v);
    // 2^63 itself is no int64: compare below it only.
    if (d >= 9223372036854775808.0 || static_cast<int64_t>(d) != v) {
      return Status::InvalidInput("{} does not fit a {} column without rounding", v,
                                  oid == pgoid::kFloat4 ? "real" : "double precision");
    }
  } else {
    d = c.Double(r);
  }
  if (oid == pgoid::kFloat4) {
    float f = static_cast<float>(d);
    if (static_cast<double>(f) != d && !std::isnan(d)) {
      return Status::InvalidInput("{} does not fit a real column without rounding", FormatDouble(d));
    }
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    Put32(buf, 4);
    Put32(buf, bits);
    return Status::OK();
  }
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  Put32(buf, 8);
  Put64(buf, bits);
  return Status::OK();
}

Status EncodeDate(int64_t days, std::string& buf) {
  int64_t pg = days == kPlusInfinity ? INT32_MAX : days == kMinusInfinity ? INT32_MIN : days - kPgEpochDays;
  // INT32_MIN and INT32_MAX are PostgreSQL's infinities: a finite date may not land on them.
  if ((days != kPlusInfinity && days != kMinusInfinity) && (pg <= INT32_MIN || pg >= INT32_MAX)) {
    return Status::InvalidInput("date {} is outside PostgreSQL's range", FormatDate(days));
  }
  Put32(buf, 4);
  Put32(buf, static_cast<uint32_t>(static_cast<int32_t>(pg)));
  return Status::OK();
}

Status EncodeTimestamp(int64_t micros, bool zone, std::string& buf) {
  int64_t pg;
  if (micros == kPlusInfinity) {
    pg = INT64_MAX;
  } else if (micros == kMinusInfinity) {
    pg = INT64_MIN;
  } else if (__builtin_sub_overflow(micros, kPgEpochMicros, &pg) || pg == INT64_MIN || pg == INT64_MAX) {
    return Status::InvalidInput("timestamp {} is outside PostgreSQL's range", FormatTimestamp(micros, zone));
  }
  Put32(buf, 8);
  Put64(buf, static_cast<uint64_t>(pg));
  return Status::OK();
}

/// Bytes as they are (text, json, bytea, uuid), or jsonb's version byte and the text.
Status EncodeBytes(uint32_t oid, std::string_view v, std::string& buf) {
  const bool jsonb = oid == pgoid::kJsonb;
  // PostgreSQL takes at most 1 GB in a field; a length past 2^31 would not even fit the format.
  if (v.size() + (jsonb ? 1 : 0) > (1u << 30)) {
    return Status::InvalidInput("a value of {} bytes is larger than PostgreSQL's limit of 1 GB", v.size());
  }
  Put32(buf, static_cast<uint32_t>(v.size() + (jsonb ? 1 : 0)));
  if (jsonb) buf += '\1';
  buf.append(v);
  return Status::OK();
}

}  // namespace

Status EncodePgBinary(uint32_t oid, const Column& c, int64_t r, std::string& buf) {
  if (c.IsNull(r)) {
    Put32(buf, 0xFFFFFFFF);
    return Status::OK();
  }
  switch (oid) {
    case pgoid::kBool:
      Put32(buf, 1);
      buf += c.Bool(r) ? '\1' : '\0';
      return Status::OK();
    case pgoid::kInt2:
    case pgoid::kInt4:
    case pgoid::kInt8:
      return EncodeInteger(oid, c.Int64(r), buf);
    case pgoid::kFloat4:
    case pgoid::kFloat8:
      return EncodeFloat(oid, c, r, buf);
    case pgoid::kNumeric:
      if (c.type().id == TypeId::kBigint) return TextToPgNumeric(std::to_string(c.Int64(r)), buf);
      return TextToPgNumeric(c.View(r), buf);
    case pgoid::kDate:
      return EncodeDate(c.Int64(r), buf);
    case pgoid::kTime:
      Put32(buf, 8);
      Put64(buf, static_cast<uint64_t>(c.Int64(r)));
      return Status::OK();
    case pgoid::kTimestamp:
    case pgoid::kTimestampTz:
      return EncodeTimestamp(c.Int64(r), oid == pgoid::kTimestampTz, buf);
    default:
      return EncodeBytes(oid, c.View(r), buf);
  }
}

void EncodePgText(const Column& c, int64_t r, std::string& buf) {
  if (c.IsNull(r)) {
    buf += "\\N";
    return;
  }
  auto escape = [&](std::string_view v) {
    for (char ch : v) {
      switch (ch) {
        case '\\':
          buf += "\\\\";
          break;
        case '\t':
          buf += "\\t";
          break;
        case '\n':
          buf += "\\n";
          break;
        case '\r':
          buf += "\\r";
          break;
        default:
          buf += ch;
      }
    }
  };
  if (c.type().id == TypeId::kBinary) {
    static constexpr char kHex[] = "0123456789abcdef";
    buf += "\\\\x";
    for (unsigned char ch : c.View(r)) {
      buf += kHex[ch >> 4];
      buf += kHex[ch & 15];
    }
    return;
  }
  if (c.type().layout() == PhysicalLayout::kVarLen && c.type().id != TypeId::kUuid) {
    escape(c.View(r));
  } else {
    escape(ValueToString(c, r));
  }
}

}  // namespace nilus
