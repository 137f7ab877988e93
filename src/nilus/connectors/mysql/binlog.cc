#include "nilus/connectors/mysql/binlog.h"

#include <fmt/format.h>

#include <cstring>

#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus::binlog {

namespace {

/// Reads little-endian fixed and length-encoded integers and byte runs from an event; a read
/// past the end marks the cursor failed and yields zeros.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}

  uint64_t Fixed(size_t n) {
    if (!Need(n)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(s_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  uint64_t Lenenc() {
    uint8_t first = static_cast<uint8_t>(Fixed(1));
    if (first < 0xfb) return first;
    if (first == 0xfc) return Fixed(2);
    if (first == 0xfd) return Fixed(3);
    if (first == 0xfe) return Fixed(8);
    failed_ = true;
    return 0;
  }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string_view out = s_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  std::string_view Rest() {
    std::string_view out = s_.substr(pos_);
    pos_ = s_.size();
    return out;
  }
  bool done() const { return pos_ >= s_.size(); }
  bool failed() const { return failed_; }

 private:
  bool Need(size_t n) {
    if (failed_ || s_.size() - pos_ < n) {
      failed_ = true;
      return false;
    }
    return true;
  }
  std::string_view s_;
  size_t pos_ = 0;
  bool failed_ = false;
};

Status Truncated(std::string_view what) { return Status::IOError("the binary log's {} event is truncated", what); }

uint64_t BigEndian(std::string_view s, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | static_cast<uint8_t>(s[i]);
  return v;
}
uint64_t LittleEndian(std::string_view s, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(s[i])) << (8 * i);
  return v;
}

bool IsNumeric(uint8_t type) {
  switch (type) {
    case kTiny:
    case kShort:
    case kInt24:
    case kLong:
    case kLongLong:
    case kFloat:
    case kDouble:
    case kNewDecimal:
      return true;
    default:
      return false;
  }
}
bool IsCharacter(uint8_t type) {
  return type == kString || type == kVarchar || type == kVarString || (type >= kTinyBlob && type <= kBlob);
}
bool IsEnumOrSet(uint8_t type) { return type == kEnum || type == kSet; }

/// Bytes of a binary decimal's part of `digits` decimal digits (9 digits per 4 bytes).
size_t DecimalPartSize(int digits) {
  static constexpr size_t kLeftover[] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
  return static_cast<size_t>(digits / 9) * 4 + kLeftover[digits % 9];
}
size_t DecimalSize(int precision, int scale) { return DecimalPartSize(precision - scale) + DecimalPartSize(scale); }

/// Bytes of the fractional seconds of a temporal value of `fsp` digits.
size_t FracSize(uint32_t fsp) { return (fsp + 1) / 2; }

/// Appends the binary decimal (MySQL's storage format) `data` as text.
Status DecimalText(std::string_view data, int precision, int scale, std::string& out) {
  const int intg = precision - scale;
  if (precision <= 0 || scale < 0 || intg < 0 || data.size() != DecimalSize(precision, scale)) {
    return Status::IOError("a binary decimal({},{}) of {} bytes", precision, scale, data.size());
  }
  std::string bytes(data);
  const bool negative = (static_cast<uint8_t>(bytes[0]) & 0x80) == 0;
  bytes[0] = static_cast<char>(bytes[0] ^ 0x80);
  if (negative) {
    for (auto& b : bytes) b = static_cast<char>(~b);
  }
  std::string_view s(bytes);
  size_t pos = 0;
  auto group = [&](int digits) {  // 1 to 9 digits
    const size_t n = DecimalPartSize(digits);
    uint64_t v = BigEndian(s.substr(pos), n);
    pos += n;
    return v;
  };
  std::string digits;
  const int lead = intg % 9;
  if (lead > 0) digits += fmt::format("{}", group(lead));
  for (int i = 0; i < intg / 9; ++i)
    digits += digits.empty() ? fmt::format("{}", group(9)) : fmt::format("{:09}", group(9));
  size_t start = digits.find_first_not_of('0');
  digits = start == std::string::npos ? "0" : digits.substr(start);
  out.clear();
  if (negative) out += '-';
  out += digits;
  if (scale > 0) {
    out += '.';
    for (int i = 0; i < scale / 9; ++i) out += fmt::format("{:09}", group(9));
    const int tail = scale % 9;
    if (tail > 0) out += fmt::format("{:0{}}", group(tail), tail);
  }
  return Status::OK();
}

/// Appends ".ffffff" cut to `fsp` digits (nothing when fsp is 0).
void AppendFraction(std::string& out, int64_t micros, uint32_t fsp) {
  if (fsp == 0) return;
  std::string f = fmt::format("{:06}", micros);
  out += '.';
  out.append(f, 0, fsp);
}

/// The fractional part of a DATETIME2/TIMESTAMP2 (unsigned), in microseconds.
int64_t UnsignedFraction(std::string_view s, uint32_t fsp) {
  switch (FracSize(fsp)) {
    case 1:
      return static_cast<int64_t>(BigEndian(s, 1)) * 10000;
    case 2:
      return static_cast<int64_t>(BigEndian(s, 2)) * 100;
    case 3:
      return static_cast<int64_t>(BigEndian(s, 3));
    default:
      return 0;
  }
}

void DatetimeText(int64_t year, int64_t month, int64_t day, int64_t hour, int64_t minute, int64_t second,
                  int64_t micros, uint32_t fsp, std::string& out) {
  out = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", year, month, day, hour, minute, second);
  AppendFraction(out, micros, fsp);
}

/// TIME2: a signed packed value of (hours << 12 | minutes << 6 | seconds) << 24 | microseconds.
Status Time2Text(std::string_view s, uint32_t fsp, std::string& out) {
  int64_t packed = 0;
  switch (FracSize(fsp)) {
    case 0:
      packed = (static_cast<int64_t>(BigEndian(s, 3)) - 0x800000) * (int64_t{1} << 24);
      break;
    case 1: {
      int64_t whole = static_cast<int64_t>(BigEndian(s, 3)) - 0x800000;
      int64_t frac = static_cast<uint8_t>(s[3]);
      if (whole < 0 && frac != 0) {
        whole++;
        frac -= 0x100;
      }
      packed = whole * (int64_t{1} << 24) + frac * 10000;
      break;
    }
    case 2: {
      int64_t whole = static_cast<int64_t>(BigEndian(s, 3)) - 0x800000;
      int64_t frac = static_cast<int64_t>(BigEndian(s.substr(3), 2));
      if (whole < 0 && frac != 0) {
        whole++;
        frac -= 0x10000;
      }
      packed = whole * (int64_t{1} << 24) + frac * 100;
      break;
    }
    default:
      packed = static_cast<int64_t>(BigEndian(s, 6)) - 0x800000000000LL;
  }
  const bool negative = packed < 0;
  if (negative) packed = -packed;
  const int64_t hms = packed >> 24, micros = packed % (int64_t{1} << 24);
  out = fmt::format("{}{:02}:{:02}:{:02}", negative ? "-" : "", (hms >> 12) % 1024, (hms >> 6) % 64, hms % 64);
  AppendFraction(out, micros, fsp);
  return Status::OK();
}

// --- MySQL's binary JSON -------------------------------------------------------------------------

enum JsonType : uint8_t {
  kSmallObject = 0,
  kLargeObject = 1,
  kSmallArray = 2,
  kLargeArray = 3,
  kLiteral = 4,
  kInt16 = 5,
  kUint16 = 6,
  kInt32 = 7,
  kUint32 = 8,
  kInt64 = 9,
  kUint64 = 10,
  kDouble64 = 11,
  kJsonString = 12,
  kOpaque = 15,
};

/// A variable-length length: 7 bits per byte, the high bit set on every byte but the last.
bool ReadVarLength(std::string_view s, size_t* pos, uint64_t* out) {
  uint64_t v = 0;
  for (int i = 0; i < 5; ++i) {
    if (*pos >= s.size()) return false;
    uint8_t b = static_cast<uint8_t>(s[(*pos)++]);
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *out = v;
      return true;
    }
  }
  return false;
}

Status JsonValue(uint8_t type, std::string_view s, int depth, std::string& out);

Status BadJson() { return Status::IOError("a binary JSON value is malformed"); }

/// An object's or array's elements; `s` starts at its element count.
Status JsonContainer(bool object, bool large, std::string_view s, int depth, std::string& out) {
  const size_t w = large ? 4 : 2;
  if (s.size() < 2 * w) return BadJson();
  const uint64_t count = LittleEndian(s, w), size = LittleEndian(s.substr(w), w);
  if (size > s.size()) return BadJson();
  s = s.substr(0, size);
  const size_t key_entries = 2 * w, key_entry = w + 2, value_entry = 1 + w;
  const size_t header = key_entries + (object ? count * key_entry : 0) + count * value_entry;
  if (header > s.size()) return BadJson();
  out += object ? '{' : '[';
  for (uint64_t i = 0; i < count; ++i) {
    if (i > 0) out += ", ";
    if (object) {
      std::string_view entry = s.substr(key_entries + i * key_entry);
      const uint64_t offset = LittleEndian(entry, w), length = LittleEndian(entry.substr(w), 2);
      if (offset + length > s.size()) return BadJson();
      AppendJsonString(out, s.substr(offset, length));
      out += ": ";
    }
    std::string_view entry = s.substr(key_entries + (object ? count * key_entry : 0) + i * value_entry);
    const uint8_t type = static_cast<uint8_t>(entry[0]);
    const bool inlined =
        type == kLiteral || type == kInt16 || type == kUint16 || (large && (type == kInt32 || type == kUint32));
    if (inlined) {
      NILUS_RETURN_NOT_OK(JsonValue(type, entry.substr(1, w), depth + 1, out));
    } else {
      const uint64_t offset = LittleEndian(entry.substr(1), w);
      if (offset >= s.size()) return BadJson();
      NILUS_RETURN_NOT_OK(JsonValue(type, s.substr(offset), depth + 1, out));
    }
  }
  out += object ? '}' : ']';
  return Status::OK();
}

Status JsonValue(uint8_t type, std::string_view s, int depth, std::string& out) {
  if (depth > 100) return Status::IOError("a binary JSON value nests deeper than 100 levels");
  auto need = [&](size_t n) { return s.size() >= n; };
  switch (type) {
    case kSmallObject:
    case kLargeObject:
      return JsonContainer(true, type == kLargeObject, s, depth, out);
    case kSmallArray:
    case kLargeArray:
      return JsonContainer(false, type == kLargeArray, s, depth, out);
    case kLiteral:
      if (!need(1)) return BadJson();
      out += s[0] == 0 ? "null" : s[0] == 1 ? "true" : "false";
      return Status::OK();
    case kInt16:
      if (!need(2)) return BadJson();
      out += fmt::format("{}", static_cast<int16_t>(LittleEndian(s, 2)));
      return Status::OK();
    case kUint16:
      if (!need(2)) return BadJson();
      out += fmt::format("{}", static_cast<uint16_t>(LittleEndian(s, 2)));
      return Status::OK();
    case kInt32:
      if (!need(4)) return BadJson();
      out += fmt::format("{}", static_cast<int32_t>(LittleEndian(s, 4)));
      return Status::OK();
    case kUint32:
      if (!need(4)) return BadJson();
      out += fmt::format("{}", static_cast<uint32_t>(LittleEndian(s, 4)));
      return Status::OK();
    case kInt64:
      if (!need(8)) return BadJson();
      out += fmt::format("{}", static_cast<int64_t>(LittleEndian(s, 8)));
      return Status::OK();
    case kUint64:
      if (!need(8)) return BadJson();
      out += fmt::format("{}", LittleEndian(s, 8));
      return Status::OK();
    case kDouble64: {
      if (!need(8)) return BadJson();
      double d;
      uint64_t bits = LittleEndian(s, 8);
      std::memcpy(&d, &bits, 8);
      out += fmt::format("{}", d);
      return Status::OK();
    }
    case kJsonString: {
      size_t pos = 0;
      uint64_t length = 0;
      if (!ReadVarLength(s, &pos, &length) || pos + length > s.size()) return BadJson();
      AppendJsonString(out, s.substr(pos, length));
      return Status::OK();
    }
    case kOpaque: {
      // A MySQL value of another type inside JSON: decimals as numbers, temporals as strings.
      if (!need(1)) return BadJson();
      const uint8_t field_type = static_cast<uint8_t>(s[0]);
      size_t pos = 1;
      uint64_t length = 0;
      if (!ReadVarLength(s, &pos, &length) || pos + length > s.size()) return BadJson();
      std::string_view v = s.substr(pos, length);
      std::string text;
      if (field_type == kNewDecimal && v.size() >= 2) {
        NILUS_RETURN_NOT_OK(DecimalText(v.substr(2), static_cast<uint8_t>(v[0]), static_cast<uint8_t>(v[1]), text));
        out += text;
        return Status::OK();
      }
      if ((field_type == kDate || field_type == kDatetime || field_type == kTimestamp || field_type == kTime) &&
          v.size() >= 8) {
        // A packed temporal: (((year * 13 + month) << 5 | day) << 17 | hms) << 24 | micros.
        int64_t packed = static_cast<int64_t>(LittleEndian(v, 8));
        const bool negative = packed < 0;
        if (negative) packed = -packed;
        const int64_t micros = packed % (int64_t{1} << 24), whole = packed >> 24;
        const int64_t hms = whole % (int64_t{1} << 17), ymd = whole >> 17;
        const int64_t ym = ymd >> 5;
        if (field_type == kTime) {
          text = fmt::format("{}{:02}:{:02}:{:02}", negative ? "-" : "", (hms >> 12) % 1024, (hms >> 6) % 64, hms % 64);
          AppendFraction(text, micros, 6);
        } else if (field_type == kDate) {
          text = fmt::format("{:04}-{:02}-{:02}", ym / 13, ym % 13, ymd % 32);
        } else {
          DatetimeText(ym / 13, ym % 13, ymd % 32, (hms >> 12) % 32, (hms >> 6) % 64, hms % 64, micros, 6, text);
        }
        AppendJsonString(out, text);
        return Status::OK();
      }
      return Status::IOError("a binary JSON value holds an opaque value of MySQL type {}, which nilus cannot read",
                             field_type);
    }
    default:
      return Status::IOError("a binary JSON value has the unknown type {}", type);
  }
}

/// Reads `count` length-prefixed strings (ENUM/SET members).
std::vector<std::string> ReadMembers(Cursor& c) {
  std::vector<std::string> out;
  const uint64_t count = c.Lenenc();
  for (uint64_t i = 0; i < count && !c.failed(); ++i) out.emplace_back(c.Bytes(c.Lenenc()));
  return out;
}

/// The collations of the columns `is` selects, from DEFAULT_CHARSET / COLUMN_CHARSET fields.
void ApplyCharsets(TableMap& map, uint8_t field, std::string_view value, bool (*is)(uint8_t)) {
  std::vector<Column*> columns;
  for (auto& col : map.columns) {
    if (is(col.type)) columns.push_back(&col);
  }
  Cursor c(value);
  if (field == 2 || field == 10) {  // a default, then (index, collation) pairs that differ
    const uint32_t fallback = static_cast<uint32_t>(c.Lenenc());
    for (auto* col : columns) col->collation = fallback;
    while (!c.done() && !c.failed()) {
      const uint64_t index = c.Lenenc(), collation = c.Lenenc();
      if (index < columns.size()) columns[index]->collation = static_cast<uint32_t>(collation);
    }
  } else {  // one collation per column
    for (auto* col : columns) col->collation = static_cast<uint32_t>(c.Lenenc());
  }
}

}  // namespace

Status ParseHeader(std::string_view event, Header* out) {
  if (event.size() < kHeaderSize) return Status::IOError("a binary log event of {} bytes has no header", event.size());
  Cursor c(event);
  out->timestamp = static_cast<uint32_t>(c.Fixed(4));
  out->type = static_cast<uint8_t>(c.Fixed(1));
  out->server_id = static_cast<uint32_t>(c.Fixed(4));
  out->length = static_cast<uint32_t>(c.Fixed(4));
  out->next_position = static_cast<uint32_t>(c.Fixed(4));
  out->flags = static_cast<uint16_t>(c.Fixed(2));
  if (out->length != event.size()) {
    return Status::IOError("a binary log event says it has {} bytes but {} arrived", out->length, event.size());
  }
  return Status::OK();
}

Status ParseTableMap(std::string_view body, TableMap* out) {
  Cursor c(body);
  *out = TableMap{};
  out->table_id = c.Fixed(6);
  c.Fixed(2);
  out->db = std::string(c.Bytes(c.Fixed(1)));
  c.Fixed(1);
  out->table = std::string(c.Bytes(c.Fixed(1)));
  c.Fixed(1);
  const uint64_t n = c.Lenenc();
  if (c.failed() || n > 4096) return Truncated("TABLE_MAP");
  std::string_view types = c.Bytes(n);
  Cursor meta(c.Bytes(c.Lenenc()));
  c.Bytes((n + 7) / 8);  // which columns may be NULL
  if (c.failed()) return Truncated("TABLE_MAP");
  out->columns.resize(n);
  for (size_t i = 0; i < n; ++i) {
    Column& col = out->columns[i];
    col.type = static_cast<uint8_t>(types[i]);
    switch (col.type) {
      case kFloat:
      case kDouble:
      case kTinyBlob:
      case kMediumBlob:
      case kLongBlob:
      case kBlob:
      case kGeometry:
      case kJson:
      case kTimestamp2:
      case kDatetime2:
      case kTime2:
        col.meta = static_cast<uint32_t>(meta.Fixed(1));
        if (col.type >= kTinyBlob && col.type <= kBlob) col.type = kBlob;
        break;
      case kVarchar:
      case kVarString:
        col.meta = col.max_length = static_cast<uint32_t>(meta.Fixed(2));
        break;
      case kBit: {
        const uint32_t bits = static_cast<uint32_t>(meta.Fixed(1)), bytes = static_cast<uint32_t>(meta.Fixed(1));
        col.max_length = bytes * 8 + bits;
        break;
      }
      case kNewDecimal: {
        const uint32_t precision = static_cast<uint32_t>(meta.Fixed(1)), scale = static_cast<uint32_t>(meta.Fixed(1));
        if (!meta.failed() && (precision < 1 || precision > 65 || scale > 30 || scale > precision)) {
          return Status::IOError("a TABLE_MAP event gives a DECIMAL column precision {} and scale {}", precision,
                                 scale);
        }
        col.meta = precision << 8 | scale;
        break;
      }
      case kString:
      case kEnum:
      case kSet: {
        const uint32_t b0 = static_cast<uint32_t>(meta.Fixed(1)), b1 = static_cast<uint32_t>(meta.Fixed(1));
        if ((b0 & 0x30) != 0x30) {  // a CHAR longer than 255 bytes keeps length bits in the type byte
          col.type = static_cast<uint8_t>(b0 | 0x30);
          col.max_length = b1 | (((b0 & 0x30) ^ 0x30) << 4);
        } else {
          col.type = static_cast<uint8_t>(b0);
          col.max_length = b1;
        }
        col.meta = b1;
        if (col.type != kString && col.type != kEnum && col.type != kSet) {
          return Status::IOError("a TABLE_MAP event gives a CHAR column the real type {}", col.type);
        }
        if ((col.type == kEnum && (b1 < 1 || b1 > 2)) || (col.type == kSet && (b1 < 1 || b1 > 8))) {
          return Status::IOError("a TABLE_MAP event gives an ENUM or SET column {} bytes", b1);
        }
        break;
      }
      case kDecimal:
        return Status::InvalidInput(
            "table {}.{} has a column of the pre-MySQL-5.0 DECIMAL type, which the binary log cannot describe; "
            "ALTER TABLE to convert it",
            out->db, out->table);
      default:
        break;
    }
  }
  if (meta.failed()) return Truncated("TABLE_MAP");
  // The optional metadata (binlog_row_metadata MINIMAL or FULL): type, length, value.
  while (!c.done()) {
    const uint8_t field = static_cast<uint8_t>(c.Fixed(1));
    std::string_view value = c.Bytes(c.Lenenc());
    if (c.failed()) return Truncated("TABLE_MAP");
    Cursor v(value);
    switch (field) {
      case 1: {  // SIGNEDNESS: one bit per numeric column, the first the highest bit
        size_t k = 0;
        for (auto& col : out->columns) {
          if (!IsNumeric(col.type)) continue;
          if (k / 8 < value.size()) col.is_unsigned = (static_cast<uint8_t>(value[k / 8]) >> (7 - k % 8)) & 1;
          ++k;
        }
        break;
      }
      case 2:
      case 3:
        ApplyCharsets(*out, field, value, IsCharacter);
        break;
      case 10:
      case 11:
        ApplyCharsets(*out, field == 10 ? 2 : 3, value, IsEnumOrSet);
        break;
      case 4:  // COLUMN_NAME
        for (auto& col : out->columns) col.name = std::string(v.Bytes(v.Lenenc()));
        out->has_names = !v.failed();
        break;
      case 5:  // SET_STR_VALUE
      case 6:  // ENUM_STR_VALUE
        for (auto& col : out->columns) {
          if (col.type == (field == 5 ? kSet : kEnum)) col.values = ReadMembers(v);
        }
        break;
      case 8:  // SIMPLE_PRIMARY_KEY
        while (!v.done() && !v.failed()) out->key.push_back(static_cast<int>(v.Lenenc()));
        break;
      case 9:  // PRIMARY_KEY_WITH_PREFIX
        while (!v.done() && !v.failed()) {
          out->key.push_back(static_cast<int>(v.Lenenc()));
          v.Lenenc();
        }
        break;
      default:  // GEOMETRY_TYPE, COLUMN_VISIBILITY, and later additions
        break;
    }
    if (v.failed()) return Truncated("TABLE_MAP");
  }
  for (int k : out->key) {
    if (k < 0 || static_cast<size_t>(k) >= n) return Status::IOError("a TABLE_MAP event names key column {}", k);
  }
  return Status::OK();
}

bool IsWrite(uint8_t type) { return type == kWriteRows || type == kWriteRowsV1; }
bool IsUpdate(uint8_t type) { return type == kUpdateRows || type == kUpdateRowsV1; }
bool IsDelete(uint8_t type) { return type == kDeleteRows || type == kDeleteRowsV1; }
bool IsRows(uint8_t type) { return IsWrite(type) || IsUpdate(type) || IsDelete(type); }

Status ParseRows(uint8_t type, std::string_view body, Rows* out) {
  Cursor c(body);
  out->table_id = c.Fixed(6);
  out->flags = static_cast<uint16_t>(c.Fixed(2));
  if (type >= kWriteRows && type <= kDeleteRows) {
    const uint64_t extra = c.Fixed(2);  // its own two bytes included
    if (extra < 2) return Truncated("rows");
    c.Bytes(extra - 2);
  }
  out->column_count = c.Lenenc();
  if (c.failed() || out->column_count > 4096) return Truncated("rows");
  auto bitmap = [&](std::vector<bool>& bits) {
    std::string_view b = c.Bytes((out->column_count + 7) / 8);
    bits.assign(out->column_count, false);
    if (c.failed()) return;
    for (size_t i = 0; i < out->column_count; ++i) bits[i] = (static_cast<uint8_t>(b[i / 8]) >> (i % 8)) & 1;
  };
  bitmap(out->present);
  if (IsUpdate(type)) {
    bitmap(out->present_after);
  } else {
    out->present_after.clear();
  }
  if (c.failed()) return Truncated("rows");
  out->images = c.Rest();
  return Status::OK();
}

namespace {

/// The size of the value of `col` at the front of `s`.
Result<size_t> ValueSize(const Column& col, std::string_view s) {
  auto prefixed = [&](size_t prefix) -> Result<size_t> {
    if (s.size() < prefix) return Truncated("rows");
    return prefix + LittleEndian(s, prefix);
  };
  switch (col.type) {
    case kTiny:
    case kYear:
      return 1;
    case kShort:
      return 2;
    case kInt24:
    case kDate:
    case kTime:
      return 3;
    case kLong:
    case kFloat:
    case kTimestamp:
      return 4;
    case kLongLong:
    case kDouble:
    case kDatetime:
      return 8;
    case kTimestamp2:
      return 4 + FracSize(col.meta);
    case kDatetime2:
      return 5 + FracSize(col.meta);
    case kTime2:
      return 3 + FracSize(col.meta);
    case kNewDecimal:
      return DecimalSize(static_cast<int>(col.meta >> 8), static_cast<int>(col.meta & 0xff));
    case kBit:
      return (col.max_length + 7) / 8;
    case kEnum:
    case kSet:
      return col.meta;
    case kVarchar:
    case kVarString:
    case kString:
      return prefixed(col.max_length > 255 ? 2 : 1);
    case kBlob:
    case kGeometry:
    case kJson:
      if (col.meta < 1 || col.meta > 4) return Status::IOError("a blob column with a {}-byte length", col.meta);
      return prefixed(col.meta);
    default:
      return Status::InvalidInput("the binary log holds a column of type {}, which nilus cannot read", col.type);
  }
}

}  // namespace

Status ReadImage(const TableMap& map, const std::vector<bool>& present, std::string_view& rest, Image* out) {
  const size_t n = map.columns.size();
  if (present.size() != n) {
    return Status::IOError("a row event of {}.{} has {} columns, its TABLE_MAP {}", map.db, map.table, present.size(),
                           n);
  }
  size_t present_count = 0;
  for (bool p : present) present_count += p;
  // An image always holds a column (a read that takes no bytes would never end).
  if (present_count == 0) return Status::IOError("a row event of {}.{} has an image of no columns", map.db, map.table);
  const size_t null_bytes = (present_count + 7) / 8;
  if (rest.size() < null_bytes) return Truncated("rows");
  std::string_view nulls = rest.substr(0, null_bytes);
  rest.remove_prefix(null_bytes);
  out->state.assign(n, Image::kAbsent);
  out->data.assign(n, {});
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!present[i]) continue;
    const bool is_null = (static_cast<uint8_t>(nulls[k / 8]) >> (k % 8)) & 1;
    ++k;
    if (is_null) {
      out->state[i] = Image::kNull;
      continue;
    }
    NILUS_ASSIGN_OR_RAISE(size_t size, ValueSize(map.columns[i], rest));
    if (size > rest.size()) return Truncated("rows");
    out->state[i] = Image::kValue;
    out->data[i] = rest.substr(0, size);
    rest.remove_prefix(size);
  }
  return Status::OK();
}

Status ValueText(const Column& col, std::string_view s, std::string& scratch, std::string_view* out) {
  auto done = [&]() {
    *out = scratch;
    return Status::OK();
  };
  auto integer = [&](size_t bytes) {
    uint64_t v = LittleEndian(s, bytes);
    if (col.is_unsigned) {
      scratch = fmt::format("{}", v);
    } else {
      const int shift = static_cast<int>(64 - 8 * bytes);
      scratch = fmt::format("{}", static_cast<int64_t>(v << shift) >> shift);
    }
    return done();
  };
  switch (col.type) {
    case kTiny:
      return integer(1);
    case kShort:
      return integer(2);
    case kInt24:
      return integer(3);
    case kLong:
      return integer(4);
    case kLongLong:
      return integer(8);
    case kYear: {
      const uint64_t v = LittleEndian(s, 1);
      scratch = v == 0 ? "0000" : fmt::format("{}", 1900 + v);
      return done();
    }
    case kFloat: {
      float f;
      uint32_t bits = static_cast<uint32_t>(LittleEndian(s, 4));
      std::memcpy(&f, &bits, 4);
      scratch = fmt::format("{}", static_cast<double>(f));
      return done();
    }
    case kDouble: {
      double d;
      uint64_t bits = LittleEndian(s, 8);
      std::memcpy(&d, &bits, 8);
      scratch = fmt::format("{}", d);
      return done();
    }
    case kNewDecimal:
      NILUS_RETURN_NOT_OK(DecimalText(s, static_cast<int>(col.meta >> 8), static_cast<int>(col.meta & 0xff), scratch));
      return done();
    case kBit:
      *out = s;  // big-endian bytes, as the text protocol sends them
      return Status::OK();
    case kDate: {
      const uint64_t v = LittleEndian(s, 3);
      scratch = fmt::format("{:04}-{:02}-{:02}", v >> 9, (v >> 5) & 15, v & 31);
      return done();
    }
    case kDatetime2: {
      const int64_t whole = static_cast<int64_t>(BigEndian(s, 5)) - 0x8000000000LL;
      const int64_t ymd = whole >> 17, hms = whole % (int64_t{1} << 17), ym = ymd >> 5;
      DatetimeText(ym / 13, ym % 13, ymd % 32, hms >> 12, (hms >> 6) % 64, hms % 64,
                   UnsignedFraction(s.substr(5), col.meta), col.meta, scratch);
      return done();
    }
    case kTimestamp2:
    case kTimestamp: {
      const bool v2 = col.type == kTimestamp2;
      const int64_t seconds = static_cast<int64_t>(v2 ? BigEndian(s, 4) : LittleEndian(s, 4));
      const int64_t micros = v2 ? UnsignedFraction(s.substr(4), col.meta) : 0;
      const uint32_t fsp = v2 ? col.meta : 0;
      if (seconds == 0 && micros == 0) {  // the zero timestamp
        DatetimeText(0, 0, 0, 0, 0, 0, 0, fsp, scratch);
        return done();
      }
      int64_t y;
      unsigned m, d;
      CivilFromDays(seconds / 86400, &y, &m, &d);
      const int64_t sod = seconds % 86400;
      DatetimeText(y, m, d, sod / 3600, sod / 60 % 60, sod % 60, micros, fsp, scratch);
      return done();
    }
    case kDatetime: {  // before MySQL 5.6: YYYYMMDDhhmmss as an integer
      const uint64_t v = LittleEndian(s, 8), date = v / 1000000, time = v % 1000000;
      DatetimeText(date / 10000, date / 100 % 100, date % 100, time / 10000, time / 100 % 100, time % 100, 0, 0,
                   scratch);
      return done();
    }
    case kTime: {  // before MySQL 5.6: ±HHMMSS as a 3-byte integer
      int64_t v = static_cast<int64_t>(LittleEndian(s, 3) << 40) >> 40;
      const bool negative = v < 0;
      if (negative) v = -v;
      scratch = fmt::format("{}{:02}:{:02}:{:02}", negative ? "-" : "", v / 10000, v / 100 % 100, v % 100);
      return done();
    }
    case kTime2:
      NILUS_RETURN_NOT_OK(Time2Text(s, col.meta, scratch));
      return done();
    case kVarchar:
    case kVarString:
      *out = s.substr(col.max_length > 255 ? 2 : 1);
      return Status::OK();
    case kString: {
      *out = s.substr(col.max_length > 255 ? 2 : 1);
      if (col.collation == 63 && out->size() < col.max_length) {
        // BINARY(n) is logged without its trailing zero bytes, which the value keeps.
        scratch.assign(*out);
        scratch.resize(col.max_length, '\0');
        return done();
      }
      return Status::OK();
    }
    case kBlob:
    case kGeometry:
      *out = s.substr(col.meta);
      return Status::OK();
    case kJson:
      scratch.clear();
      if (s.size() == col.meta) {
        scratch = "null";
        return done();
      }
      NILUS_RETURN_NOT_OK(JsonText(s.substr(col.meta), &scratch));
      return done();
    case kEnum: {
      const uint64_t index = LittleEndian(s, s.size());
      if (index == 0) {  // the empty string strict mode lets no one store
        scratch.clear();
        return done();
      }
      if (index > col.values.size()) {
        return Status::IOError("ENUM value {} of column {} is beyond its {} members (the binary log's metadata)", index,
                               col.name, col.values.size());
      }
      *out = col.values[index - 1];
      return Status::OK();
    }
    case kSet: {
      const uint64_t bits = LittleEndian(s, s.size());
      scratch.clear();
      for (size_t i = 0; i < col.values.size() && i < 64; ++i) {
        if ((bits >> i) & 1) {
          if (!scratch.empty()) scratch += ',';
          scratch += col.values[i];
        }
      }
      return done();
    }
    default:
      return Status::InvalidInput("the binary log holds a column of type {}, which nilus cannot read", col.type);
  }
}

Status JsonText(std::string_view data, std::string* out) {
  out->clear();
  if (data.empty()) return BadJson();
  return JsonValue(static_cast<uint8_t>(data[0]), data.substr(1), 0, *out);
}

Status ParseQuery(std::string_view body, Query* out) {
  // Post-header: thread id 4, seconds 4, database name length 1, error code 2, status block length 2.
  Cursor c(body);
  c.Fixed(8);
  const uint64_t db_length = c.Fixed(1);
  c.Fixed(2);
  const uint64_t status_length = c.Fixed(2);
  c.Bytes(status_length);
  out->db = std::string(c.Bytes(db_length));
  c.Fixed(1);
  if (c.failed()) return Truncated("QUERY");
  out->sql = c.Rest();
  return Status::OK();
}

Status ParseRotate(std::string_view body, std::string* file, uint64_t* position) {
  Cursor c(body);
  *position = c.Fixed(8);
  *file = std::string(c.Rest());
  if (c.failed() || file->empty()) return Truncated("ROTATE");
  return Status::OK();
}

Status ParseMariaGtid(std::string_view body, MariaGtid* out) {
  Cursor c(body);
  out->sequence = c.Fixed(8);
  out->domain = static_cast<uint32_t>(c.Fixed(4));
  const uint64_t flags = c.Fixed(1);
  if (c.failed()) return Truncated("GTID");
  out->standalone = (flags & 1) != 0;
  return Status::OK();
}

Status ParseMysqlGtid(std::string_view body, std::string* gtid) {
  Cursor c(body);
  c.Fixed(1);  // flags
  std::string_view sid = c.Bytes(16);
  const uint64_t gno = c.Fixed(8);
  if (c.failed()) return Truncated("GTID");
  std::string hex;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
    hex += fmt::format("{:02x}", static_cast<uint8_t>(sid[i]));
  }
  *gtid = fmt::format("{}:{}", hex, gno);
  return Status::OK();
}

Status ParseXid(std::string_view body, uint64_t* xid) {
  Cursor c(body);
  *xid = c.Fixed(8);
  return c.failed() ? Truncated("XID") : Status::OK();
}

}  // namespace nilus::binlog
