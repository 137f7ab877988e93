#include "nilus/core/values.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "nilus/core/strings.h"

namespace nilus {

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

bool Digits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool ValidDate(int64_t y, int64_t m, int64_t d) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
  return d <= max;
}

// Parses "HH:MM[:SS[.f{1,6}]]" at the start of `s`; returns characters consumed or 0.
size_t ParseClock(std::string_view s, int64_t* micros) {
  int64_t h, mi, sec = 0, frac = 0;
  if (!Digits(s, 0, 2, &h) || s.size() < 5 || s[2] != ':' || !Digits(s, 3, 2, &mi)) return 0;
  size_t pos = 5;
  if (pos < s.size() && s[pos] == ':') {
    if (!Digits(s, pos + 1, 2, &sec)) return 0;
    pos += 3;
    if (pos < s.size() && s[pos] == '.') {
      size_t start = ++pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
      size_t n = pos - start;
      if (n == 0 || n > 6) return 0;  // beyond microseconds would be rounded
      Digits(s, start, n, &frac);
      for (size_t i = n; i < 6; ++i) frac *= 10;
    }
  }
  if (h > 23 || mi > 59 || sec > 59) return 0;
  *micros = ((h * 60 + mi) * 60 + sec) * kMicrosPerSecond + frac;
  return pos;
}

}  // namespace

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ParseBigint(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* begin = s.data();
  if (*begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty()) return false;
  std::string lower;
  if (s.size() <= 9 && (s.back() == 'N' || s.back() == 'n' || s.back() == 'y' || s.back() == 'Y')) {
    lower = ToLower(s);
    if (lower == "nan") return *out = std::numeric_limits<double>::quiet_NaN(), true;
    if (lower == "infinity" || lower == "inf" || lower == "+infinity") {
      return *out = std::numeric_limits<double>::infinity(), true;
    }
    if (lower == "-infinity" || lower == "-inf") return *out = -std::numeric_limits<double>::infinity(), true;
  }
  const char* begin = s.data();
  if (*begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(*out);
}

bool ParseBool(std::string_view s, bool* out, bool lenient) {
  if (s.size() > 5 || s.empty()) return false;
  std::string v = ToLower(s);
  if (v == "true") return *out = true, true;
  if (v == "false") return *out = false, true;
  if (!lenient) return false;
  if (v == "t" || v == "yes" || v == "y" || v == "1") return *out = true, true;
  if (v == "f" || v == "no" || v == "n" || v == "0") return *out = false, true;
  return false;
}

bool ParseUnscaled(std::string_view text, int precision, int scale, __int128* out) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  __int128 v = 0, limit = 1;
  for (int k = 0; k < precision; ++k) limit *= 10;
  int fraction = -1;
  bool digits = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.' && fraction < 0) {
      fraction = 0;
      continue;
    }
    if (c < '0' || c > '9') return false;
    digits = true;
    if (fraction >= 0) {
      if (fraction == scale) {
        if (c != '0') return false;
        continue;
      }
      ++fraction;
    }
    v = v * 10 + (c - '0');
    if (v >= limit) return false;
  }
  for (int f = std::max(fraction, 0); f < scale; ++f) {
    v *= 10;
    if (v >= limit) return false;
  }
  *out = negative ? -v : v;
  return digits;
}

bool ParseDecimal(std::string_view s, std::string* out) {
  if (s == "NaN" || s == "Infinity" || s == "-Infinity") {
    *out = std::string(s);
    return true;
  }
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  size_t int_start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  std::string_view int_part = s.substr(int_start, i - int_start);
  std::string_view frac_part;
  if (i < s.size() && s[i] == '.') {
    size_t frac_start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    frac_part = s.substr(frac_start, i - frac_start);
  }
  if (i != s.size() || (int_part.empty() && frac_part.empty())) return false;
  while (int_part.size() > 1 && int_part.front() == '0') int_part.remove_prefix(1);
  out->clear();
  if (negative) *out += '-';
  *out += int_part.empty() ? std::string_view("0") : int_part;
  if (!frac_part.empty()) {
    *out += '.';
    *out += frac_part;
  }
  return true;
}

namespace {
/// "infinity" / "-infinity" (any case) as the sentinel values.
bool ParseInfinity(std::string_view s, int64_t* out) {
  if (s.size() < 8 || s.size() > 9) return false;
  std::string v = ToLower(s);
  if (v == "infinity") return *out = kPlusInfinity, true;
  if (v == "-infinity") return *out = kMinusInfinity, true;
  return false;
}
}  // namespace

bool ParseDate(std::string_view s, int64_t* days) {
  if (ParseInfinity(s, days)) return true;
  int64_t y, m, d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !Digits(s, 0, 4, &y) || !Digits(s, 5, 2, &m) ||
      !Digits(s, 8, 2, &d) || !ValidDate(y, m, d)) {
    return false;
  }
  *days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return true;
}

bool ParseTime(std::string_view s, int64_t* micros) {
  size_t n = ParseClock(s, micros);
  return n > 0 && n == s.size();
}

bool ParseTimestamp(std::string_view s, int64_t* micros, bool* has_zone) {
  if (ParseInfinity(s, micros)) {
    *has_zone = false;
    return true;
  }
  int64_t days, clock;
  if (s.size() < 16 || (s[10] != 'T' && s[10] != ' ' && s[10] != 't') || !ParseDate(s.substr(0, 10), &days)) {
    return false;
  }
  size_t n = ParseClock(s.substr(11), &clock);
  if (n == 0) return false;
  std::string_view zone = s.substr(11 + n);
  int64_t offset_minutes = 0;
  *has_zone = !zone.empty();
  if (zone == "Z" || zone == "z") {
    // UTC
  } else if (!zone.empty()) {
    int64_t oh, om = 0;
    if ((zone[0] != '+' && zone[0] != '-') || !Digits(zone, 1, 2, &oh)) return false;
    if (zone.size() == 6 && zone[3] == ':') {
      if (!Digits(zone, 4, 2, &om)) return false;
    } else if (zone.size() == 5) {
      if (!Digits(zone, 3, 2, &om)) return false;
    } else if (zone.size() != 3) {
      return false;
    }
    if (oh > 18 || om > 59) return false;
    offset_minutes = (zone[0] == '-' ? -1 : 1) * (oh * 60 + om);
  }
  *micros = days * kMicrosPerDay + clock - offset_minutes * 60 * kMicrosPerSecond;
  return true;
}

bool ParseUuid(std::string_view s, std::string* bytes16) {
  if (s.size() == 38 && s.front() == '{' && s.back() == '}') s = s.substr(1, 36);
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return false;
  bytes16->clear();
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int high = -1;
  for (char c : s) {
    if (c == '-') continue;
    int v = hex(c);
    if (v < 0) return false;
    if (high < 0) {
      high = v;
    } else {
      bytes16->push_back(static_cast<char>(high << 4 | v));
      high = -1;
    }
  }
  return bytes16->size() == 16;
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ptr);
}

namespace {

char* PutDigits(char* p, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

}  // namespace

namespace {
size_t FormatInfinity(int64_t v, char* out) {
  const char* text = v == kPlusInfinity ? "infinity" : "-infinity";
  size_t n = std::strlen(text);
  std::memcpy(out, text, n);
  return n;
}
}  // namespace

size_t FormatDateTo(int64_t days, char* out) {
  if (days == kPlusInfinity || days == kMinusInfinity) return FormatInfinity(days, out);
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char* p = out;
  if (y < 0 || y > 9999) {
    p = fmt::format_to(p, "{}", y);
  } else {
    p = PutDigits(p, y, 4);
  }
  *p++ = '-';
  p = PutDigits(p, m, 2);
  *p++ = '-';
  p = PutDigits(p, d, 2);
  return static_cast<size_t>(p - out);
}

size_t FormatTimeTo(int64_t micros, char* out) {
  int64_t secs = micros / kMicrosPerSecond;
  int64_t frac = micros % kMicrosPerSecond;
  char* p = PutDigits(out, secs / 3600, 2);
  *p++ = ':';
  p = PutDigits(p, secs / 60 % 60, 2);
  *p++ = ':';
  p = PutDigits(p, secs % 60, 2);
  if (frac != 0) {
    *p++ = '.';
    int width = 6;
    while (frac % 10 == 0) {
      frac /= 10;
      --width;
    }
    p = PutDigits(p, frac, width);
  }
  return static_cast<size_t>(p - out);
}

size_t FormatTimestampTo(int64_t micros, bool zone, char* out) {
  if (micros == kPlusInfinity || micros == kMinusInfinity) return FormatInfinity(micros, out);
  int64_t days = micros / kMicrosPerDay;
  int64_t rest = micros % kMicrosPerDay;
  if (rest < 0) {
    rest += kMicrosPerDay;
    --days;
  }
  size_t n = FormatDateTo(days, out);
  out[n++] = ' ';
  n += FormatTimeTo(rest, out + n);
  if (zone) {
    std::memcpy(out + n, "+00:00", 6);
    n += 6;
  }
  return n;
}

std::string FormatDate(int64_t days) {
  char buf[kMaxFormattedValue];
  return std::string(buf, FormatDateTo(days, buf));
}

std::string FormatTime(int64_t micros) {
  char buf[kMaxFormattedValue];
  return std::string(buf, FormatTimeTo(micros, buf));
}

std::string FormatTimestamp(int64_t micros, bool zone) {
  char buf[kMaxFormattedValue];
  return std::string(buf, FormatTimestampTo(micros, zone, buf));
}

size_t FormatUuidTo(std::string_view b, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t n = 0;
  for (size_t i = 0; i < b.size() && i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[n++] = '-';
    auto u = static_cast<unsigned char>(b[i]);
    out[n++] = kHex[u >> 4];
    out[n++] = kHex[u & 15];
  }
  return n;
}

size_t FormatUnscaledTo(__int128 unscaled, int scale, char* out) {
  // Digits backwards, then reversed: at most 39 digits, a point, a leading zero and a sign.
  unsigned __int128 u = unscaled < 0 ? -static_cast<unsigned __int128>(unscaled) : unscaled;
  char digits[48];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + static_cast<int>(u % 10));
    u /= 10;
  } while (u != 0);
  while (n <= scale) digits[n++] = '0';  // one digit before the point
  size_t len = 0;
  if (unscaled < 0) out[len++] = '-';
  for (int i = n - 1; i >= 0; --i) {
    out[len++] = digits[i];
    if (i == scale && scale > 0) out[len++] = '.';
  }
  return len;
}

std::string FormatUuid(std::string_view b) {
  char buf[kMaxFormattedValue];
  return std::string(buf, FormatUuidTo(b, buf));
}

}  // namespace nilus
