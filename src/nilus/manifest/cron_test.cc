#include "nilus/manifest/cron.h"

#include <gtest/gtest.h>

namespace nilus {

namespace {

SystemTime At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

/// The next time of `expression` in `zone` after `after`, as RFC 3339 in UTC ("none" if none).
std::string Next(const char* expression, const char* zone, const char* after) {
  auto c = CronSchedule::Parse(expression, zone);
  if (!c.ok()) return "error: " + c.status().message();
  auto next = c->Next(At(after));
  return next ? FormatRfc3339(*next) : "none";
}

std::string Error(const char* expression, const char* zone = "") {
  auto c = CronSchedule::Parse(expression, zone);
  return c.ok() ? "parsed" : c.status().message();
}

}  // namespace

TEST(Cron, FiveFieldsAndSteps) {
  EXPECT_EQ(Next("*/15 * * * *", "", "2026-11-30T10:07:30Z"), "2026-11-30T10:15:00Z");
  EXPECT_EQ(Next("*/15 * * * *", "", "2026-11-30T10:15:00Z"), "2026-11-30T10:30:00Z");  // strictly after
  EXPECT_EQ(Next("5,*/20 * * * *", "", "2026-11-30T10:00:00Z"), "2026-11-30T10:05:00Z");
  EXPECT_EQ(Next("5,*/20 * * * *", "", "2026-11-30T10:05:00Z"), "2026-11-30T10:20:00Z");
  EXPECT_EQ(Next("10-30/10 3 * * *", "", "2026-11-30T03:25:00Z"), "2026-11-30T03:30:00Z");
  EXPECT_EQ(Next("10-30/10 3 * * *", "", "2026-11-30T03:30:00Z"), "2026-12-01T03:10:00Z");
  EXPECT_EQ(Next("50/5 * * * *", "", "2026-11-30T03:51:00Z"), "2026-11-30T03:55:00Z");
  EXPECT_EQ(Next("@daily", "", "2026-12-31T12:00:00Z"), "2027-01-01T00:00:00Z");
  EXPECT_EQ(Next("@hourly", "", "2026-12-31T23:00:00Z"), "2027-01-01T00:00:00Z");
}

TEST(Cron, SecondsField) {
  EXPECT_EQ(Next("*/2 * * * * *", "", "2026-11-30T10:00:01Z"), "2026-11-30T10:00:02Z");
  EXPECT_EQ(Next("*/2 * * * * *", "", "2026-11-30T10:00:02Z"), "2026-11-30T10:00:04Z");
  EXPECT_EQ(Next("30 0 0 * * *", "", "2026-11-30T10:00:02Z"), "2026-12-01T00:00:30Z");
}

TEST(Cron, NamesAndWeekdays) {
  // 2026-11-30 is a Monday.
  EXPECT_EQ(Next("0 9 * JAN-MAR mon-FRI", "", "2026-11-30T00:00:00Z"), "2027-01-01T09:00:00Z");  // a Friday
  EXPECT_EQ(Next("0 9 * * SAT", "", "2026-11-30T00:00:00Z"), "2026-12-05T09:00:00Z");
  EXPECT_EQ(Next("0 9 * * 7", "", "2026-11-30T00:00:00Z"), "2026-12-06T09:00:00Z");  // 7 is Sunday
  EXPECT_EQ(Next("0 9 * * 0", "", "2026-11-30T00:00:00Z"), "2026-12-06T09:00:00Z");
  // Day of month and day of week both given: either matches (the 4th is a Friday).
  EXPECT_EQ(Next("0 0 13 * 5", "", "2026-11-30T00:00:00Z"), "2026-12-04T00:00:00Z");
  EXPECT_EQ(Next("0 0 13 * 5", "", "2026-12-11T00:00:00Z"), "2026-12-13T00:00:00Z");
  EXPECT_EQ(Next("0 0 13 * ?", "", "2026-12-11T00:00:00Z"), "2026-12-13T00:00:00Z");
  EXPECT_EQ(Next("0 0 29 2 *", "", "2026-11-30T00:00:00Z"), "2028-02-29T00:00:00Z");
  EXPECT_EQ(Next("0 0 30 2 *", "", "2026-11-30T00:00:00Z"), "none");
}

TEST(Cron, TimeZones) {
  EXPECT_EQ(Next("0 0 * * *", "Asia/Kolkata", "2026-11-30T12:00:00Z"), "2026-11-30T18:30:00Z");
  // New York springs forward on 2026-03-08 at 2:00: 2:30 does not exist that day and runs at the
  // change (3:00 EDT), then at 2:30 EDT.
  EXPECT_EQ(Next("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z"), "2026-03-08T07:00:00Z");
  EXPECT_EQ(Next("30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z"), "2026-03-09T06:30:00Z");
  // It falls back on 2026-11-01 at 2:00: 1:30 happens twice and runs once, the first time.
  EXPECT_EQ(Next("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z"), "2026-11-01T05:30:00Z");
  EXPECT_EQ(Next("30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z"), "2026-11-02T06:30:00Z");
  // Every half hour across the repeated hour: each civil time once, so after 1:30 EDT comes 2:00
  // EST, not 1:00 EST.
  EXPECT_EQ(Next("*/30 * * * *", "America/New_York", "2026-11-01T05:30:00Z"), "2026-11-01T07:00:00Z");
}

TEST(Cron, ErrorsSayWhatIsWrong) {
  EXPECT_EQ(Error("61 * * * *"), "cron '61 * * * *': minute 61 is out of range 0-59");
  EXPECT_EQ(Error("* * *"),
            "cron '* * *' has 3 fields; write five (minute hour day-of-month month day-of-week, e.g. '*/15 * * * "
            "*') or six with seconds first");
  EXPECT_EQ(Error("5-1 * * * *"), "cron '5-1 * * * *': the range 5-1 of the minute field runs backwards");
  EXPECT_EQ(Error("*/0 * * * *"), "cron '*/0 * * * *': step '0' of the minute field must be a number from 1 to 59");
  EXPECT_EQ(Error("0 0 * FOO *"), "cron '0 0 * FOO *': 'FOO' is not a month (a number or a name such as feb)");
  EXPECT_EQ(Error("0 0 1,,2 * *"), "cron '0 0 1,,2 * *': an empty item in the day of month field");
  EXPECT_EQ(Error("@often"), "cron '@often': unknown macro; use @yearly, @monthly, @weekly, @daily or @hourly");
  EXPECT_NE(Error("0 0 * * *", "Mars/Olympus").find("timezone 'Mars/Olympus' is not a time zone"), std::string::npos);
}

TEST(Cron, Rfc3339) {
  EXPECT_EQ(FormatRfc3339(At("2026-12-31T23:59:45+05:30")), "2026-12-31T18:29:45Z");
  EXPECT_EQ(FormatRfc3339(At("2026-12-31T23:59:45Z")), "2026-12-31T23:59:45Z");
  EXPECT_FALSE(ParseRfc3339("2026-12-31").ok());
  EXPECT_FALSE(ParseRfc3339("tomorrow").ok());
}

}  // namespace nilus
