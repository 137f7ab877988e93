#include "nilus/core/values.h"

#include <gtest/gtest.h>

#include <cmath>

namespace nilus {

TEST(Values, ParsesIntegersExactly) {
  int64_t v;
  EXPECT_TRUE(ParseBigint("42", &v));
  EXPECT_EQ(v, 42);
  EXPECT_TRUE(ParseBigint("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_FALSE(ParseBigint("9223372036854775808", &v));  // would overflow
  EXPECT_FALSE(ParseBigint("1.0", &v));
  EXPECT_FALSE(ParseBigint("", &v));
  EXPECT_FALSE(ParseBigint("12a", &v));
}

TEST(Values, ParsesDoublesAndSpecialValues) {
  double d;
  EXPECT_TRUE(ParseDouble("2.5", &d));
  EXPECT_EQ(d, 2.5);
  EXPECT_TRUE(ParseDouble("1e3", &d));
  EXPECT_EQ(d, 1000);
  EXPECT_TRUE(ParseDouble("NaN", &d));
  EXPECT_TRUE(std::isnan(d));
  EXPECT_TRUE(ParseDouble("-Infinity", &d));
  EXPECT_TRUE(std::isinf(d) && d < 0);
  EXPECT_FALSE(ParseDouble("abc", &d));
  EXPECT_EQ(FormatDouble(0.1), "0.1");
  EXPECT_EQ(FormatDouble(-1.5e300), "-1.5e+300");
}

TEST(Values, DecimalsKeepEveryDigit) {
  std::string out;
  EXPECT_TRUE(ParseDecimal("00123.4500", &out));
  EXPECT_EQ(out, "123.4500");
  EXPECT_TRUE(ParseDecimal("-0.1", &out));
  EXPECT_EQ(out, "-0.1");
  EXPECT_TRUE(ParseDecimal("123456789012345678901234567890.123456789", &out));
  EXPECT_EQ(out, "123456789012345678901234567890.123456789");
  EXPECT_FALSE(ParseDecimal("1.2.3", &out));
  EXPECT_FALSE(ParseDecimal(".", &out));
}

TEST(Values, DatesRoundTrip) {
  int64_t days;
  ASSERT_TRUE(ParseDate("1970-01-01", &days));
  EXPECT_EQ(days, 0);
  ASSERT_TRUE(ParseDate("2024-02-29", &days));
  EXPECT_EQ(FormatDate(days), "2024-02-29");
  ASSERT_TRUE(ParseDate("1900-03-01", &days));
  EXPECT_EQ(FormatDate(days), "1900-03-01");
  EXPECT_FALSE(ParseDate("2023-02-29", &days));
  EXPECT_FALSE(ParseDate("2024-13-01", &days));
  EXPECT_FALSE(ParseDate("2024-1-01", &days));
}

TEST(Values, TimestampsWithAndWithoutZones) {
  int64_t micros;
  bool zone;
  ASSERT_TRUE(ParseTimestamp("2024-03-15T10:20:30.123456Z", &micros, &zone));
  EXPECT_TRUE(zone);
  EXPECT_EQ(FormatTimestamp(micros, true), "2024-03-15 10:20:30.123456+00:00");
  ASSERT_TRUE(ParseTimestamp("2024-03-15 12:20:30+02:00", &micros, &zone));
  EXPECT_EQ(FormatTimestamp(micros, true), "2024-03-15 10:20:30+00:00");
  ASSERT_TRUE(ParseTimestamp("2024-03-15T10:20", &micros, &zone));
  EXPECT_FALSE(zone);
  EXPECT_EQ(FormatTimestamp(micros, false), "2024-03-15 10:20:00");
  ASSERT_TRUE(ParseTimestamp("1969-12-31 23:59:59.5", &micros, &zone));
  EXPECT_EQ(micros, -500000);
  EXPECT_EQ(FormatTimestamp(micros, false), "1969-12-31 23:59:59.5");
  EXPECT_FALSE(ParseTimestamp("2024-03-15T25:00:00", &micros, &zone));
  EXPECT_FALSE(ParseTimestamp("2024-03-15T10:20:30.1234567", &micros, &zone));  // would round
  EXPECT_FALSE(ParseTimestamp("2024-03-15", &micros, &zone));
}

TEST(Values, Uuids) {
  std::string bytes;
  ASSERT_TRUE(ParseUuid("123E4567-e89b-12d3-a456-426614174000", &bytes));
  EXPECT_EQ(bytes.size(), 16u);
  EXPECT_EQ(FormatUuid(bytes), "123e4567-e89b-12d3-a456-426614174000");
  EXPECT_FALSE(ParseUuid("123e4567e89b12d3a456426614174000", &bytes));
}

TEST(Values, UnscaledDecimalsAsText) {
  char out[kMaxFormattedValue];
  auto text = [&](__int128 v, int scale) { return std::string(out, FormatUnscaledTo(v, scale, out)); };
  EXPECT_EQ(text(1250, 2), "12.50");
  EXPECT_EQ(text(-5, 2), "-0.05");
  EXPECT_EQ(text(0, 3), "0.000");
  EXPECT_EQ(text(42, 0), "42");
  __int128 max38 = 0;
  for (int i = 0; i < 38; ++i) max38 = max38 * 10 + 9;
  EXPECT_EQ(text(-max38, 38), "-0." + std::string(38, '9'));
  std::string parsed;
  __int128 back = 0;
  ASSERT_TRUE(ParseUnscaled(text(max38, 10), 38, 10, &back));
  EXPECT_TRUE(back == max38);
}

}  // namespace nilus
