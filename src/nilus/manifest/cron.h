#pragma once

#include <cctz/time_zone.h>

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "nilus/core/status.h"

namespace nilus {

using SystemTime = std::chrono::system_clock::time_point;

/// A cron expression in a time zone: when a scheduled workflow runs.
///
/// Five fields (minute hour day-of-month month day-of-week) or six with seconds first; each a
/// `*`, a value, a range `a-b`, a step `*/n` or `a-b/n` or `a/n`, or a list of those; months
/// and weekdays also by name (JAN–DEC, SUN–SAT; 0 and 7 are Sunday); `?` is `*`. The macros
/// @yearly (@annually), @monthly, @weekly, @daily (@midnight) and @hourly. When both
/// day-of-month and day-of-week are restricted, a day matching either matches (as cron does).
/// Times are civil times of the zone: a time that a daylight-saving change skips runs at the
/// moment of the change; a time it repeats runs once, the first time.
class CronSchedule {
 public:
  /// Parses `expression`; `timezone` is an IANA name ("Asia/Kolkata"), "" or "UTC" for UTC.
  /// Errors say which field is wrong and why.
  static Result<CronSchedule> Parse(std::string_view expression, std::string_view timezone);

  /// The first time strictly after `after` that matches, or none within the next eight years
  /// (an expression such as February 30th never matches).
  std::optional<SystemTime> Next(SystemTime after) const;

  const std::string& expression() const { return expression_; }
  const std::string& timezone() const { return timezone_; }

 private:
  bool DayMatches(const cctz::civil_day& day) const;

  std::string expression_;
  std::string timezone_;
  cctz::time_zone zone_;
  std::bitset<60> seconds_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool days_restricted_ = false;
  bool weekdays_restricted_ = false;
};

/// Parses an RFC 3339 time ("2026-12-31T23:59:45Z", "2026-12-31T23:59:45+05:30"), as endOn is
/// written.
Result<SystemTime> ParseRfc3339(std::string_view text);

/// Formats a time as RFC 3339 in UTC, to the second ("2026-12-31T23:59:45Z").
std::string FormatRfc3339(SystemTime t);

}  // namespace nilus
