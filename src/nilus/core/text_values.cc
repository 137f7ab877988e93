#include "nilus/core/text_values.h"

#include <string>

#include "nilus/core/values.h"

namespace nilus {

namespace {

/// Counts significant digits of a plain decimal literal; -1 when it is not one
/// (or has a leading zero before other integer digits).
int SignificantDigits(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  size_t int_start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  size_t int_len = i - int_start;
  if (int_len > 1 && s[int_start] == '0') return -1;
  size_t frac_len = 0;
  if (i < s.size() && s[i] == '.') {
    size_t f = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    frac_len = i - f;
    if (frac_len == 0) return -1;
  }
  if (i != s.size() || int_len == 0) return -1;
  // Leading zeros of "0.000123" are not significant.
  int digits = 0;
  bool started = false;
  for (size_t k = int_start; k < s.size(); ++k) {
    if (s[k] == '.') continue;
    if (s[k] != '0') started = true;
    if (started) ++digits;
  }
  return digits;
}

}  // namespace

void TextTypeInference::Observe(std::string_view v) {
  seen_ = true;
  if (candidates_ == 0) return;
  bool b;
  int64_t i;
  if ((candidates_ & kBool) && !ParseBool(v, &b, false)) candidates_ &= ~kBool;
  if (candidates_ & (kBigint | kDouble | kDecimal)) {
    int digits = SignificantDigits(v);
    if (digits < 0) {
      candidates_ &= ~(kBigint | kDouble | kDecimal);
    } else {
      if ((candidates_ & kBigint) && (v.find('.') != std::string_view::npos || !ParseBigint(v, &i))) {
        candidates_ &= ~kBigint;
      }
      if (digits > 15) candidates_ &= ~kDouble;
    }
  }
  // Dates and timestamps are only guessed from digits ("infinity" is accepted when a type says so).
  if (v.empty() || v[0] < '0' || v[0] > '9') candidates_ &= ~(kDate | kTimestamp | kTimestampTz);
  if ((candidates_ & kDate) && !ParseDate(v, &i)) candidates_ &= ~kDate;
  if (candidates_ & (kTimestamp | kTimestampTz)) {
    bool zone = false;
    if (!ParseTimestamp(v, &i, &zone)) {
      candidates_ &= ~(kTimestamp | kTimestampTz);
    } else {
      candidates_ &= zone ? ~kTimestamp : ~kTimestampTz;
    }
  }
}

LogicalType TextTypeInference::Result() const {
  if (!seen_) return LogicalType::Text();
  if (candidates_ & kBool) return LogicalType::Bool();
  if (candidates_ & kBigint) return LogicalType::Bigint();
  if (candidates_ & kDouble) return LogicalType::Double();
  if (candidates_ & kDecimal) return LogicalType::Decimal();
  if (candidates_ & kDate) return LogicalType::Date();
  if (candidates_ & kTimestamp) return LogicalType::Timestamp();
  if (candidates_ & kTimestampTz) return LogicalType::TimestampTz();
  return LogicalType::Text();
}

bool AppendTextValue(Column& column, std::string_view text) {
  switch (column.type().id) {
    case TypeId::kBool: {
      bool b;
      if (!ParseBool(text, &b, true)) return false;
      column.AppendBool(b);
      return true;
    }
    case TypeId::kBigint: {
      int64_t v;
      if (!ParseBigint(text, &v)) return false;
      column.AppendInt64(v);
      return true;
    }
    case TypeId::kDouble: {
      double v;
      if (!ParseDouble(text, &v)) return false;
      column.AppendDouble(v);
      return true;
    }
    case TypeId::kDecimal: {
      std::string canonical;
      if (!ParseDecimal(text, &canonical)) return false;
      if (column.type().precision > 0) {
        // decimal(p,s): at most s digits after the point and p - s before it, or it would round.
        size_t point = canonical.find('.');
        size_t sign = canonical[0] == '-' ? 1 : 0;
        size_t int_digits = (point == std::string::npos ? canonical.size() : point) - sign;
        size_t frac_digits = point == std::string::npos ? 0 : canonical.size() - point - 1;
        if (int_digits == 1 && canonical[sign] == '0') int_digits = 0;
        if (frac_digits > static_cast<size_t>(column.type().scale) ||
            int_digits > static_cast<size_t>(column.type().precision - column.type().scale)) {
          return false;
        }
      }
      column.AppendBytes(canonical);
      return true;
    }
    case TypeId::kDate: {
      int64_t v;
      if (!ParseDate(text, &v)) return false;
      column.AppendInt64(v);
      return true;
    }
    case TypeId::kTime: {
      int64_t v;
      if (!ParseTime(text, &v)) return false;
      column.AppendInt64(v);
      return true;
    }
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz: {
      int64_t v;
      bool zone;
      if (!ParseTimestamp(text, &v, &zone)) return false;
      // A date-time without a zone hinted as timestamptz is taken as UTC.
      column.AppendInt64(v);
      return true;
    }
    case TypeId::kUuid: {
      std::string bytes;
      if (!ParseUuid(text, &bytes)) return false;
      column.AppendBytes(bytes);
      return true;
    }
    case TypeId::kText:
    case TypeId::kBinary:
    case TypeId::kJson:
      column.AppendBytes(text);
      return true;
  }
  return false;
}

}  // namespace nilus
