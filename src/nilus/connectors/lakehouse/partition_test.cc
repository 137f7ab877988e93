#include "nilus/connectors/lakehouse/partition.h"

#include <gtest/gtest.h>

#include <climits>

#include "nilus/core/values.h"

namespace nilus::iceberg {
namespace {

/// A column of one value of `type`: a number or the bytes of text.
Column One(LogicalType type, int64_t number, std::string_view bytes = {}) {
  Column c(type);
  if (type.layout() == PhysicalLayout::kVarLen) {
    c.AppendBytes(bytes);
  } else {
    c.AppendInt64(number);
  }
  return c;
}

/// The value of an Avro union's second branch holding an int or long (zigzag varint).
int64_t DecodeLong(const std::string& avro) {
  EXPECT_EQ(avro[0], 2) << "not the non-null branch";
  uint64_t z = 0;
  for (size_t i = 1, shift = 0; i < avro.size(); ++i, shift += 7) {
    z |= static_cast<uint64_t>(avro[i] & 0x7f) << shift;
    if (!(avro[i] & 0x80)) break;
  }
  return static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
}

int64_t Transformed(const std::string& transform, const std::string& type, const Column& column) {
  auto t = PartitionTransform::Make("p", transform, 1, 1000, "c", type);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  std::string out;
  EXPECT_TRUE(t->Encode(&column, 0, out).ok());
  return DecodeLong(out);
}

// Appendix B of the Iceberg specification: the hash of each type's sample value. bucket over
// INT32_MAX buckets keeps the hash (less its sign bit), so the values are checked through the
// transform itself, with each type's bytes as nilus holds them.
TEST(Partition, BucketHashesAsTheSpecificationSays) {
  auto bucket = [](const std::string& type, const Column& c) { return Transformed("bucket[2147483647]", type, c); };
  auto expect = [](int32_t hash) { return static_cast<int64_t>(static_cast<uint32_t>(hash) & INT32_MAX); };
  int64_t days = 0, micros = 0, time = 0;
  bool zone = false;
  ASSERT_TRUE(ParseDate("2017-11-16", &days));
  ASSERT_TRUE(ParseTime("22:31:08", &time));
  ASSERT_TRUE(ParseTimestamp("2017-11-16T22:31:08", &micros, &zone));
  std::string uuid;
  ASSERT_TRUE(ParseUuid("f79c3e09-677c-4bbd-a479-3f349cb785e7", &uuid));
  EXPECT_EQ(bucket("long", One(LogicalType::Bigint(), 34)), expect(2017239379));
  EXPECT_EQ(bucket("decimal(4, 2)", One(LogicalType::Decimal(4, 2), 0, "14.20")), expect(-500754589));
  EXPECT_EQ(bucket("date", One(LogicalType::Date(), days)), expect(-653330422));
  EXPECT_EQ(bucket("time", One(LogicalType::Time(), time)), expect(-662762989));
  EXPECT_EQ(bucket("timestamp", One(LogicalType::Timestamp(), micros)), expect(-2047944441));
  EXPECT_EQ(bucket("timestamptz", One(LogicalType::TimestampTz(), micros)), expect(-2047944441));
  EXPECT_EQ(bucket("string", One(LogicalType::Text(), 0, "iceberg")), expect(1210000089));
  EXPECT_EQ(bucket("uuid", One(LogicalType::Uuid(), 0, uuid)), expect(1488055340));
  EXPECT_EQ(bucket("binary", One(LogicalType::Binary(), 0, std::string("\x00\x01\x02\x03", 4))), expect(-188683207));
  EXPECT_EQ(Transformed("bucket[16]", "long", One(LogicalType::Bigint(), 34)), (2017239379 & INT32_MAX) % 16);
}

TEST(Partition, DatesAndTimestampsCountFrom1970) {
  int64_t days = 0, micros = 0;
  bool zone = false;
  ASSERT_TRUE(ParseDate("2017-11-16", &days));
  ASSERT_TRUE(ParseTimestamp("2017-11-16T22:31:08", &micros, &zone));
  const Column date = One(LogicalType::Date(), days), ts = One(LogicalType::Timestamp(), micros);
  EXPECT_EQ(Transformed("year", "date", date), 47);
  EXPECT_EQ(Transformed("month", "date", date), 47 * 12 + 10);
  EXPECT_EQ(Transformed("day", "date", date), days);
  EXPECT_EQ(Transformed("year", "timestamp", ts), 47);
  EXPECT_EQ(Transformed("month", "timestamp", ts), 47 * 12 + 10);
  EXPECT_EQ(Transformed("day", "timestamp", ts), days);
  EXPECT_EQ(Transformed("hour", "timestamp", ts), days * 24 + 22);
  // Before 1970 the values are negative, counted down from the epoch.
  ASSERT_TRUE(ParseTimestamp("1969-12-31T23:59:59", &micros, &zone));
  const Column before = One(LogicalType::TimestampTz(), micros);
  EXPECT_EQ(Transformed("year", "timestamptz", before), -1);
  EXPECT_EQ(Transformed("month", "timestamptz", before), -1);
  EXPECT_EQ(Transformed("day", "timestamptz", before), -1);
  EXPECT_EQ(Transformed("hour", "timestamptz", before), -1);
}

// The truncate examples of the specification.
TEST(Partition, TruncateAsTheSpecificationSays) {
  EXPECT_EQ(Transformed("truncate[10]", "long", One(LogicalType::Bigint(), 1)), 0);
  EXPECT_EQ(Transformed("truncate[10]", "long", One(LogicalType::Bigint(), -1)), -10);
  auto bytes = [](const std::string& transform, const std::string& type, const Column& c) {
    auto t = PartitionTransform::Make("p", transform, 1, 1000, "c", type);
    std::string out;
    EXPECT_TRUE(t.ok() && t->Encode(&c, 0, out).ok());
    return out;
  };
  // 10.65 at scale 2 is 1065; less its remainder by 50: 1050, two bytes big-endian (fixed(2)).
  EXPECT_EQ(bytes("truncate[50]", "decimal(4, 2)", One(LogicalType::Decimal(4, 2), 0, "10.65")),
            std::string("\x02\x04\x1a", 3));
  // Avro strings are length-prefixed (zigzag 3 = 6); code points, not bytes, are counted.
  EXPECT_EQ(bytes("truncate[3]", "string", One(LogicalType::Text(), 0, "iceberg")), std::string("\x02\x06ice"));
  EXPECT_EQ(bytes("truncate[2]", "string", One(LogicalType::Text(), 0, "äöü")), std::string("\x02\x08äö"));
}

TEST(Partition, NullsAndMissingColumnsAreNull) {
  auto t = PartitionTransform::Make("p", "day", 1, 1000, "c", "date");
  ASSERT_TRUE(t.ok());
  Column c(LogicalType::Date());
  c.AppendNull();
  std::string out;
  ASSERT_TRUE(t->Encode(&c, 0, out).ok());
  ASSERT_TRUE(t->Encode(nullptr, 0, out).ok());
  EXPECT_EQ(out, std::string("\0\0", 2));
}

TEST(Partition, TransformsApplyToTheirTypesOnly) {
  auto day = PartitionTransform::Make("p", "day", 1, 1000, "name", "string");
  ASSERT_FALSE(day.ok());
  EXPECT_NE(day.status().message().find("the column is string, and day applies to date, timestamp and timestamptz"),
            std::string::npos)
      << day.status().ToString();
  EXPECT_FALSE(PartitionTransform::Make("p", "hour", 1, 1000, "d", "date").ok());
  EXPECT_FALSE(PartitionTransform::Make("p", "bucket[4]", 1, 1000, "x", "double").ok());
  EXPECT_FALSE(PartitionTransform::Make("p", "truncate[4]", 1, 1000, "t", "timestamp").ok());
  EXPECT_TRUE(PartitionTransform::Make("p", "identity", 1, 1000, "x", "double").ok());
}

}  // namespace
}  // namespace nilus::iceberg
