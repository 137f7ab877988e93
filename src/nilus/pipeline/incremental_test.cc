#include "nilus/pipeline/incremental.h"

#include <gtest/gtest.h>

namespace nilus {

namespace {

std::shared_ptr<const RecordBatch> Keys(LogicalType type, std::initializer_list<int64_t> values) {
  BatchBuilder b(Schema({{"k", type}}));
  for (int64_t v : values) b.column(0).AppendInt64(v);
  return b.Finish();
}

std::vector<int64_t> Values(const RecordBatch& batch) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < batch.num_rows(); ++i) out.push_back(batch.column(0).Int64(i));
  return out;
}

}  // namespace

TEST(IncrementalCursor, KeepsRowsAfterTheSavedCursorAndTracksTheMaximum) {
  SourceOptions o;
  o.incremental_key = "k";
  IncrementalCursor cursor(o, {{"key", "k"}, {"type", "bigint"}, {"value", "5"}});
  auto out = cursor.Apply(Keys(LogicalType::Bigint(), {3, 5, 6, 9, 7}));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Values(**out), (std::vector<int64_t>{6, 9, 7}));
  EXPECT_EQ(cursor.ToState()["value"], "9");
}

TEST(IncrementalCursor, IntervalIsABackfillThatKeepsTheCursor) {
  SourceOptions o;
  o.incremental_key = "k";
  o.interval_start = "2";
  o.interval_end = "4";
  nlohmann::json saved = {{"key", "k"}, {"type", "bigint"}, {"value", "100"}};
  IncrementalCursor cursor(o, saved);
  auto out = cursor.Apply(Keys(LogicalType::Bigint(), {1, 2, 3, 4}));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Values(**out), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(cursor.ToState(), saved);
}

TEST(IncrementalCursor, ReturnsTheSameBatchWhenEveryRowStays) {
  SourceOptions o;
  o.incremental_key = "k";
  IncrementalCursor cursor(o, {});
  auto in = Keys(LogicalType::Date(), {1, 2});
  auto out = cursor.Apply(in);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->get(), in.get());
  EXPECT_EQ(cursor.ToState()["value"], "1970-01-03");
}

TEST(IncrementalCursor, RefusesAKeyWhoseTypeChanged) {
  SourceOptions o;
  o.incremental_key = "k";
  IncrementalCursor cursor(o, {{"key", "k"}, {"type", "text"}, {"value", "x"}});
  EXPECT_EQ(cursor.Apply(Keys(LogicalType::Bigint(), {1})).status().code(), StatusCode::kFailedPrecondition);
}

TEST(CompareValues, DecimalsCompareByValue) {
  Column c(LogicalType::Decimal());
  for (const char* v : {"10.5", "9.75", "-2", "-10", "10.50"}) c.AppendBytes(v);
  EXPECT_GT(CompareValues(c, 0, c, 1), 0);
  EXPECT_GT(CompareValues(c, 2, c, 3), 0);
  EXPECT_EQ(CompareValues(c, 0, c, 4), 0);
}

}  // namespace nilus
