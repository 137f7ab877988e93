#include "nilus/core/record_batch.h"

#include <gtest/gtest.h>

namespace nilus {

TEST(RecordBatch, BuildsColumnsOfEveryLayout) {
  Schema schema({{"id", LogicalType::Bigint()},
                 {"name", LogicalType::Text()},
                 {"ok", LogicalType::Bool()},
                 {"x", LogicalType::Double()}});
  BatchBuilder b(schema);
  for (int i = 0; i < 100; ++i) {
    b.column(0).AppendInt64(i);
    if (i % 3 == 0) {
      b.column(1).AppendNull();
    } else {
      b.column(1).AppendBytes(fmt::format("n{}", i));
    }
    b.column(2).AppendBool(i % 2 == 0);
    b.column(3).AppendDouble(i / 2.0);
  }
  EXPECT_EQ(b.num_rows(), 100);
  auto batch = b.Finish();
  EXPECT_EQ(batch->num_rows(), 100);
  EXPECT_EQ(b.num_rows(), 0);  // the builder starts the next batch
  const Column& names = batch->column(1);
  EXPECT_EQ(names.null_count(), 34);
  EXPECT_TRUE(names.IsNull(99));
  EXPECT_EQ(names.View(98), "n98");
  EXPECT_EQ(batch->column(0).Int64(70), 70);
  EXPECT_FALSE(batch->column(2).Bool(71));
  EXPECT_EQ(batch->column(3).Double(5), 2.5);
  EXPECT_EQ(ValueToString(names, 0), "NULL");
  EXPECT_GT(batch->byte_size(), 100 * 8);
}

TEST(RecordBatch, AppendFromCopiesValuesAndNulls) {
  Column a(LogicalType::Timestamp());
  a.AppendInt64(1700000000000000);
  a.AppendNull();
  Column b(LogicalType::Timestamp());
  b.AppendFrom(a, 1);
  b.AppendFrom(a, 0);
  EXPECT_TRUE(b.IsNull(0));
  EXPECT_EQ(ValueToString(b, 1), "2023-11-14 22:13:20");
}

TEST(Schema, FindsFields) {
  Schema s({{"a", LogicalType::Text()}, {"b", LogicalType::Json()}});
  EXPECT_EQ(s.FieldIndex("b"), 1);
  EXPECT_EQ(s.FieldIndex("c"), -1);
  EXPECT_EQ(s.ToString(), "a text, b json");
}

}  // namespace nilus
