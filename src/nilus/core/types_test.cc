#include "nilus/core/types.h"

#include <gtest/gtest.h>

namespace nilus {

TEST(LogicalType, ParsesNamesAndAliases) {
  struct Case {
    const char* name;
    LogicalType want;
  } cases[] = {
      {"text", LogicalType::Text()},
      {"String", LogicalType::Text()},
      {"varchar(255)", LogicalType::Text()},
      {"integer", LogicalType::Bigint()},
      {"INT", LogicalType::Bigint()},
      {"float", LogicalType::Double()},
      {"boolean", LogicalType::Bool()},
      {"datetime", LogicalType::Timestamp()},
      {"timestamptz", LogicalType::TimestampTz()},
      {"decimal", LogicalType::Decimal()},
      {"decimal(12, 2)", LogicalType::Decimal(12, 2)},
      {"uuid", LogicalType::Uuid()},
      {"json", LogicalType::Json()},
      {"binary", LogicalType::Binary()},
  };
  for (const auto& c : cases) {
    auto t = LogicalType::Parse(c.name);
    ASSERT_TRUE(t.ok()) << c.name << ": " << t.status().ToString();
    EXPECT_EQ(*t, c.want) << c.name;
  }
  EXPECT_EQ(LogicalType::Decimal(12, 2).ToString(), "decimal(12,2)");
}

TEST(LogicalType, RejectsUnknownAndMalformed) {
  EXPECT_EQ(LogicalType::Parse("integr").status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(LogicalType::Parse("decimal(2,5)").status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(LogicalType::Parse("decimal(x)").status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(LogicalType::Parse("bigint(3)").status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(LogicalType::Parse("integr").status().message().find("allowed"), std::string::npos);
}

}  // namespace nilus
