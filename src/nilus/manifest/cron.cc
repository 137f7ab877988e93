#include "nilus/manifest/cron.h"

#include <cctz/civil_time.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

#include "nilus/core/strings.h"

namespace nilus {

namespace {

struct Field {
  const char* name;
  int min, max;
  std::vector<std::string_view> names;  // names[i] is value min + i
};

const Field kSecond{"second", 0, 59, {}};
const Field kMinute{"minute", 0, 59, {}};
const Field kHour{"hour", 0, 23, {}};
const Field kDay{"day of month", 1, 31, {}};
const Field kMonth{
    "month", 1, 12, {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}};
// 7 is Sunday too; it is folded onto 0 below.
const Field kWeekday{"day of week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}};

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    out.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

/// A value of `field`: a number or one of its names.
Result<int> ParseValue(std::string_view text, const Field& f, std::string_view expression) {
  std::string lower = ToLower(text);
  for (size_t i = 0; i < f.names.size(); ++i) {
    if (lower == f.names[i]) return f.min + static_cast<int>(i);
  }
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidInput("cron '{}': '{}' is not a {}{}", expression, text, f.name,
                                f.names.empty() ? "" : fmt::format(" (a number or a name such as {})", f.names[1]));
  }
  if (v < f.min || v > f.max) {
    return Status::InvalidInput("cron '{}': {} {} is out of range {}-{}", expression, f.name, v, f.min, f.max);
  }
  return v;
}

/// One field's set of values; `restricted` is false for `*` (and `?`).
template <size_t N>
Status ParseField(std::string_view text, const Field& f, std::string_view expression, std::bitset<N>& out,
                  bool* restricted = nullptr) {
  if (restricted) *restricted = !(text == "*" || text == "?");
  for (std::string_view item : Split(text, ',')) {
    if (item.empty()) return Status::InvalidInput("cron '{}': an empty item in the {} field", expression, f.name);
    int step = 1;
    const bool stepped = item.find('/') != std::string_view::npos;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      std::string_view s = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), step);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size() || step < 1 || step > f.max) {
        return Status::InvalidInput("cron '{}': step '{}' of the {} field must be a number from 1 to {}", expression, s,
                                    f.name, f.max);
      }
      item = item.substr(0, slash);
    }
    int lo = f.min, hi = f.max;
    if (item == "*" || item == "?") {
      // every value
    } else if (size_t dash = item.find('-'); dash != std::string_view::npos) {
      NILUS_ASSIGN_OR_RAISE(lo, ParseValue(item.substr(0, dash), f, expression));
      NILUS_ASSIGN_OR_RAISE(hi, ParseValue(item.substr(dash + 1), f, expression));
      if (lo > hi) {
        return Status::InvalidInput("cron '{}': the range {} of the {} field runs backwards", expression, item, f.name);
      }
    } else {
      NILUS_ASSIGN_OR_RAISE(lo, ParseValue(item, f, expression));
      // `a/n` is a..max by n; a lone `a` is a.
      if (!stepped) hi = lo;
    }
    for (int v = lo; v <= hi; v += step) out.set(&f == &kWeekday && v == 7 ? 0 : v);
  }
  return Status::OK();
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view expression, std::string_view timezone) {
  CronSchedule c;
  c.expression_ = std::string(expression);
  c.timezone_ = std::string(timezone);
  if (timezone.empty() || timezone == "UTC") {
    c.zone_ = cctz::utc_time_zone();
  } else if (!cctz::load_time_zone(std::string(timezone), &c.zone_)) {
    return Status::InvalidInput(
        "timezone '{}' is not a time zone this machine knows; use an IANA name such as Europe/Berlin or "
        "Asia/Kolkata (Debian's tzdata package holds them)",
        timezone);
  }
  std::string text(Trim(expression));
  static const std::array<std::pair<std::string_view, std::string_view>, 7> kMacros = {{
      {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"},
      {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"},
      {"@daily", "0 0 * * *"},
      {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"},
  }};
  if (!text.empty() && text[0] == '@') {
    auto it = std::find_if(kMacros.begin(), kMacros.end(), [&](const auto& m) { return m.first == ToLower(text); });
    if (it == kMacros.end()) {
      return Status::InvalidInput("cron '{}': unknown macro; use @yearly, @monthly, @weekly, @daily or @hourly",
                                  expression);
    }
    text = it->second;
  }
  std::vector<std::string_view> fields;
  for (std::string_view f : Split(text, ' ')) {
    if (!f.empty()) fields.push_back(f);
  }
  if (fields.size() != 5 && fields.size() != 6) {
    return Status::InvalidInput(
        "cron '{}' has {} fields; write five (minute hour day-of-month month day-of-week, e.g. '*/15 * * * *') "
        "or six with seconds first",
        expression, fields.size());
  }
  size_t i = 0;
  if (fields.size() == 6) {
    NILUS_RETURN_NOT_OK(ParseField(fields[i++], kSecond, expression, c.seconds_));
  } else {
    c.seconds_.set(0);
  }
  NILUS_RETURN_NOT_OK(ParseField(fields[i++], kMinute, expression, c.minutes_));
  NILUS_RETURN_NOT_OK(ParseField(fields[i++], kHour, expression, c.hours_));
  NILUS_RETURN_NOT_OK(ParseField(fields[i++], kDay, expression, c.days_, &c.days_restricted_));
  NILUS_RETURN_NOT_OK(ParseField(fields[i++], kMonth, expression, c.months_));
  NILUS_RETURN_NOT_OK(ParseField(fields[i++], kWeekday, expression, c.weekdays_, &c.weekdays_restricted_));
  return c;
}

bool CronSchedule::DayMatches(const cctz::civil_day& day) const {
  // cctz counts weekdays from Monday = 0; cron from Sunday = 0.
  int weekday = (static_cast<int>(cctz::get_weekday(day)) + 1) % 7;
  bool by_day = days_.test(day.day());
  bool by_weekday = weekdays_.test(weekday);
  if (days_restricted_ && weekdays_restricted_) return by_day || by_weekday;
  return by_day && by_weekday;
}

std::optional<SystemTime> CronSchedule::Next(SystemTime after) const {
  auto after_s = std::chrono::time_point_cast<std::chrono::seconds>(after);
  if (after_s > after) after_s -= std::chrono::seconds(1);  // floor, for times before 1970
  cctz::civil_second t = cctz::convert(after_s, zone_) + 1;
  const auto last_year = t.year() + 8;
  while (t.year() <= last_year) {
    if (!months_.test(t.month())) {
      t = cctz::civil_second(cctz::civil_month(t) + 1);
      continue;
    }
    if (!DayMatches(cctz::civil_day(t))) {
      t = cctz::civil_second(cctz::civil_day(t) + 1);
      continue;
    }
    if (!hours_.test(t.hour())) {
      t = cctz::civil_second(cctz::civil_hour(t) + 1);
      continue;
    }
    if (!minutes_.test(t.minute())) {
      t = cctz::civil_second(cctz::civil_minute(t) + 1);
      continue;
    }
    if (!seconds_.test(t.second())) {
      t += 1;
      continue;
    }
    const cctz::time_zone::civil_lookup at = zone_.lookup(t);
    // Skipped by a daylight-saving change: at the change. Repeated: the first time, unless
    // `after` is already past it (then the second).
    auto when = at.kind == cctz::time_zone::civil_lookup::SKIPPED ? at.trans : at.pre;
    if (when <= after_s) when = at.post;
    if (when > after_s) return SystemTime(when);
    t += 1;
  }
  return std::nullopt;
}

Result<SystemTime> ParseRfc3339(std::string_view text) {
  cctz::time_point<cctz::seconds> t;
  std::string s(Trim(text));
  // cctz's %Ez takes "Z" as well as "+05:30".
  if (!cctz::parse("%Y-%m-%dT%H:%M:%E*S%Ez", s, cctz::utc_time_zone(), &t)) {
    return Status::InvalidInput("'{}' is not a time as RFC 3339 writes it; write e.g. 2026-12-31T23:59:45Z", text);
  }
  return SystemTime(t);
}

std::string FormatRfc3339(SystemTime t) {
  return cctz::format("%Y-%m-%dT%H:%M:%SZ", std::chrono::time_point_cast<std::chrono::seconds>(t),
                      cctz::utc_time_zone());
}

}  // namespace nilus
