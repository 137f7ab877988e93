#include "nilus/connectors/postgres/pg_types.h"

#include <gtest/gtest.h>

#include <cstring>

#include "nilus/core/values.h"

namespace nilus {

namespace {

std::string RoundTrip(const std::string& text) {
  std::string buf;
  EXPECT_TRUE(TextToPgNumeric(text, buf).ok()) << text;
  // The buffer starts with the field length.
  auto out = PgNumericToText(buf.data() + 4, static_cast<int32_t>(buf.size() - 4));
  EXPECT_TRUE(out.ok());
  return out.ok() ? *out : "";
}

}  // namespace

TEST(PgNumeric, RoundTripsEveryDigitAndScale) {
  for (const char* v : {"0", "0.00", "1", "-1", "10000", "9999", "12345678.90", "-0.5", "0.0001", "0.00010",
                        "123456789012345678901234567890.123456789012345678901234567890", "-0.00000000000000000001",
                        "100000000", "1.10", "NaN", "Infinity", "-Infinity"}) {
    EXPECT_EQ(RoundTrip(v), v);
  }
}

TEST(PgNumeric, KnownEncoding) {
  // 12345.678: digits 1, 2345, 6780; weight 1; scale 3.
  std::string buf;
  ASSERT_TRUE(TextToPgNumeric("12345.678", buf).ok());
  const unsigned char want[] = {0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c};
  ASSERT_EQ(buf.size(), sizeof want);
  EXPECT_EQ(std::memcmp(buf.data(), want, sizeof want), 0);
  EXPECT_FALSE(TextToPgNumeric("12a", buf).ok());
}

TEST(PgTypes, ClassifiesBuiltinsAndCarriesTheRestAsText) {
  auto n = ClassifyPgType(pgoid::kNumeric, "numeric(12,2)", true, 'b');
  EXPECT_EQ(n.logical, LogicalType::Decimal(12, 2));
  EXPECT_FALSE(n.read_as_text);
  auto inet = ClassifyPgType(869, "inet", true, 'b');
  EXPECT_TRUE(inet.read_as_text);
  EXPECT_EQ(inet.sql_type, "inet");
  auto e = ClassifyPgType(90000, "mood", false, 'e');
  EXPECT_TRUE(e.read_as_text);
  EXPECT_EQ(e.sql_type, "text");
  EXPECT_EQ(PgTypeForField({"x", LogicalType::Decimal(12, 2), true, ""}), "numeric(12,2)");
  EXPECT_EQ(PgTypeForField({"x", LogicalType::Text(), true, "postgresql:inet"}), "inet");
}

TEST(PgTypes, TimestampsKeepInfinityAndTheEpoch) {
  Column c(LogicalType::TimestampTz());
  PgColumnType t = ClassifyPgType(pgoid::kTimestampTz, "timestamp with time zone", true, 'b');
  const char zero[8] = {};
  ASSERT_TRUE(DecodePgBinary(t, zero, 8, c).ok());
  EXPECT_EQ(ValueToString(c, 0), "2000-01-01 00:00:00+00:00");
  const char inf[8] = {0x7f, -1, -1, -1, -1, -1, -1, -1};
  ASSERT_TRUE(DecodePgBinary(t, inf, 8, c).ok());
  EXPECT_EQ(c.Int64(1), kPlusInfinity);
  EXPECT_EQ(ValueToString(c, 1), "infinity");
  std::string buf;
  ASSERT_TRUE(EncodePgBinary(pgoid::kTimestampTz, c, 1, buf).ok());
  EXPECT_EQ(buf.substr(4), std::string(inf, 8));
}

TEST(PgTypes, EncodingNeverWrapsOrRounds) {
  std::string buf;
  Column big(LogicalType::Bigint());
  big.AppendInt64(int64_t{1} << 53);
  big.AppendInt64((int64_t{1} << 53) + 1);
  big.AppendInt64(INT64_MAX);
  big.AppendInt64(70000);
  EXPECT_TRUE(EncodePgBinary(pgoid::kFloat8, big, 0, buf).ok());
  EXPECT_EQ(EncodePgBinary(pgoid::kFloat8, big, 1, buf).code(), StatusCode::kInvalidInput);
  EXPECT_EQ(EncodePgBinary(pgoid::kFloat8, big, 2, buf).code(), StatusCode::kInvalidInput);
  EXPECT_EQ(EncodePgBinary(pgoid::kInt2, big, 3, buf).code(), StatusCode::kInvalidInput);
  EXPECT_TRUE(EncodePgBinary(pgoid::kInt4, big, 3, buf).ok());

  Column dates(LogicalType::Date());
  dates.AppendInt64(int64_t{1} << 40);
  dates.AppendInt64(kPlusInfinity);
  EXPECT_EQ(EncodePgBinary(pgoid::kDate, dates, 0, buf).code(), StatusCode::kInvalidInput);
  EXPECT_TRUE(EncodePgBinary(pgoid::kDate, dates, 1, buf).ok());

  Column stamps(LogicalType::Timestamp());
  stamps.AppendInt64(INT64_MIN + 5);
  EXPECT_EQ(EncodePgBinary(pgoid::kTimestamp, stamps, 0, buf).code(), StatusCode::kInvalidInput);

  Column numbers(LogicalType::Decimal());
  numbers.AppendBytes(std::string(140000, '9'));
  numbers.AppendBytes("0." + std::string(17000, '1'));
  numbers.AppendBytes(std::string(1000, '9') + "." + std::string(999, '1'));
  EXPECT_EQ(EncodePgBinary(pgoid::kNumeric, numbers, 0, buf).code(), StatusCode::kInvalidInput);
  EXPECT_EQ(EncodePgBinary(pgoid::kNumeric, numbers, 1, buf).code(), StatusCode::kInvalidInput);
  buf.clear();
  ASSERT_TRUE(EncodePgBinary(pgoid::kNumeric, numbers, 2, buf).ok());
  auto text = PgNumericToText(buf.data() + 4, static_cast<int32_t>(buf.size() - 4));
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(*text == numbers.View(2)) << "the round trip changed the number";
}

}  // namespace nilus
