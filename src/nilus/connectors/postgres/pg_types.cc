#include "nilus/connectors/postgres/pg_types.h"

#include <cmath>
#include <cstring>

#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

constexpr int64_t kPgEpochMicros = 946684800LL * 1000000;  // 2000-01-01 in Unix microseconds
constexpr int64_t kPgEpochDays = 10957;

uint16_t Be16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
uint32_t Be32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
uint64_t Be64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}
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

int64_t PgTimestampToUnix(int64_t pg) {
  if (pg == INT64_MAX) return kPlusInfinity;
  if (pg == INT64_MIN) return kMinusInfinity;
  return pg + kPgEpochMicros;
}

int64_t UnixToPgTimestamp(int64_t v) {
  if (v == kPlusInfinity) return INT64_MAX;
  if (v == kMinusInfinity) return INT64_MIN;
  return v - kPgEpochMicros;
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

std::string PgTypeForField(const Field& field) {
  constexpr std::string_view kPrefix = "postgresql:";
  if (StartsWith(field.native_type, kPrefix)) return field.native_type.substr(kPrefix.size());
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
    case pgoid::kTimestampTz:
      if (len != 8) return BadLength(t, len);
      out.AppendInt64(PgTimestampToUnix(static_cast<int64_t>(Be64(p))));
      return Status::OK();
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
    case pgoid::kInt4: {
      int64_t v = c.Int64(r);
      int64_t lo = oid == pgoid::kInt2 ? INT16_MIN : INT32_MIN, hi = oid == pgoid::kInt2 ? INT16_MAX : INT32_MAX;
      if (v < lo || v > hi) {
        return Status::InvalidInput("{} does not fit a {} column", v, oid == pgoid::kInt2 ? "smallint" : "integer");
      }
      if (oid == pgoid::kInt2) {
        Put32(buf, 2);
        Put16(buf, static_cast<uint16_t>(v));
      } else {
        Put32(buf, 4);
        Put32(buf, static_cast<uint32_t>(v));
      }
      return Status::OK();
    }
    case pgoid::kInt8:
      Put32(buf, 8);
      Put64(buf, static_cast<uint64_t>(c.Int64(r)));
      return Status::OK();
    case pgoid::kFloat4:
    case pgoid::kFloat8: {
      double d = c.type().id == TypeId::kBigint ? static_cast<double>(c.Int64(r)) : c.Double(r);
      if (oid == pgoid::kFloat4) {
        float f = static_cast<float>(d);
        if (static_cast<double>(f) != d && !std::isnan(d)) {
          return Status::InvalidInput("{} does not fit a real column without rounding", FormatDouble(d));
        }
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        Put32(buf, 4);
        Put32(buf, bits);
      } else {
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        Put32(buf, 8);
        Put64(buf, bits);
      }
      return Status::OK();
    }
    case pgoid::kNumeric:
      if (c.type().id == TypeId::kBigint) return TextToPgNumeric(std::to_string(c.Int64(r)), buf);
      return TextToPgNumeric(c.View(r), buf);
    case pgoid::kDate: {
      int64_t d = c.Int64(r);
      int32_t pg = d == kPlusInfinity    ? INT32_MAX
                   : d == kMinusInfinity ? INT32_MIN
                                         : static_cast<int32_t>(d - kPgEpochDays);
      Put32(buf, 4);
      Put32(buf, static_cast<uint32_t>(pg));
      return Status::OK();
    }
    case pgoid::kTime:
      Put32(buf, 8);
      Put64(buf, static_cast<uint64_t>(c.Int64(r)));
      return Status::OK();
    case pgoid::kTimestamp:
    case pgoid::kTimestampTz:
      Put32(buf, 8);
      Put64(buf, static_cast<uint64_t>(UnixToPgTimestamp(c.Int64(r))));
      return Status::OK();
    case pgoid::kJsonb: {
      auto v = c.View(r);
      Put32(buf, static_cast<uint32_t>(v.size() + 1));
      buf += '\1';
      buf.append(v);
      return Status::OK();
    }
    default: {  // text-like, json, bytea, uuid: the bytes themselves
      auto v = c.View(r);
      Put32(buf, static_cast<uint32_t>(v.size()));
      buf.append(v);
      return Status::OK();
    }
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
