#include "nilus/core/text_values.h"

#include <gtest/gtest.h>

namespace nilus {

LogicalType Infer(std::initializer_list<const char*> values) {
  TextTypeInference t;
  for (const char* v : values) t.Observe(v);
  return t.Result();
}

TEST(TextTypeInference, PicksTheNarrowestExactType) {
  EXPECT_EQ(Infer({"1", "-2", "30"}), LogicalType::Bigint());
  EXPECT_EQ(Infer({"1", "2.5"}), LogicalType::Double());
  EXPECT_EQ(Infer({"true", "FALSE"}), LogicalType::Bool());
  EXPECT_EQ(Infer({"2024-01-31", "1999-12-31"}), LogicalType::Date());
  EXPECT_EQ(Infer({"2024-01-31T10:00:00", "2024-01-31 11:00"}), LogicalType::Timestamp());
  EXPECT_EQ(Infer({"2024-01-31T10:00:00Z", "2024-01-31T10:00:00+02:00"}), LogicalType::TimestampTz());
  EXPECT_EQ(Infer({"2024-01-31T10:00:00Z", "2024-01-31T10:00:00"}), LogicalType::Text());
  EXPECT_EQ(Infer({"1", "abc"}), LogicalType::Text());
  EXPECT_EQ(Infer({}), LogicalType::Text());
}

TEST(TextTypeInference, NeverLosesDigits) {
  EXPECT_EQ(Infer({"007", "12"}), LogicalType::Text());  // leading zeros are kept
  EXPECT_EQ(Infer({"99999999999999999999"}), LogicalType::Decimal());
  EXPECT_EQ(Infer({"0.1234567890123456789"}), LogicalType::Decimal());
  EXPECT_EQ(Infer({"0.5", "0.000000000000001"}), LogicalType::Double());
  EXPECT_EQ(Infer({"1e5"}), LogicalType::Text());  // scientific notation is not guessed
}

TEST(AppendTextValue, ConvertsOrRefuses) {
  Column d(LogicalType::Decimal(5, 2));
  EXPECT_TRUE(AppendTextValue(d, "123.45"));
  EXPECT_TRUE(AppendTextValue(d, "-0.5"));
  EXPECT_FALSE(AppendTextValue(d, "1.234"));   // would round
  EXPECT_FALSE(AppendTextValue(d, "1234.5"));  // too many digits
  EXPECT_EQ(d.length(), 2);
  EXPECT_EQ(d.View(0), "123.45");

  Column b(LogicalType::Bool());
  EXPECT_TRUE(AppendTextValue(b, "yes"));
  EXPECT_FALSE(AppendTextValue(b, "maybe"));
  Column i(LogicalType::Bigint());
  EXPECT_FALSE(AppendTextValue(i, "12.0"));
  Column u(LogicalType::Uuid());
  EXPECT_TRUE(AppendTextValue(u, "123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_EQ(u.View(0).size(), 16u);
}

}  // namespace nilus
