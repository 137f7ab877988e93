#include "nilus/connectors/mysql/my_types.h"

#include <gtest/gtest.h>
#include <mysql.h>

#include "nilus/core/values.h"

namespace nilus {
namespace {

MyFieldInfo Field(int type, unsigned flags = 0, unsigned long length = 0, unsigned decimals = 0,
                  unsigned charsetnr = 45) {
  return {type, flags, charsetnr, length, decimals, "", ""};
}

/// The value `text` of a column of `type` as its text form in a batch ("NULL" for NULL).
std::string Decode(const MyColumnType& type, const char* text, size_t len, ZeroDates zero = ZeroDates::kNull) {
  BatchBuilder b(Schema({{"c", type.logical}}));
  Status st = AppendMyValue(type, text, len, zero, b.column(0));
  if (!st.ok()) return "error: " + st.message();
  return ValueToString(b.column(0), 0);
}
std::string Decode(const MyColumnType& type, std::string_view text) { return Decode(type, text.data(), text.size()); }

TEST(MyTypes, IntegersSignedAndUnsigned) {
  MyColumnType t = ClassifyMyField(Field(MYSQL_TYPE_LONG, UNSIGNED_FLAG, 10), "int(10) unsigned");
  EXPECT_EQ(t.logical, LogicalType::Bigint());
  EXPECT_EQ(t.native, "mysql:int(10) unsigned");
  EXPECT_EQ(Decode(t, "4294967295"), "4294967295");
  // BIGINT UNSIGNED holds values above 2^63: a decimal, exact
  MyColumnType u = ClassifyMyField(Field(MYSQL_TYPE_LONGLONG, UNSIGNED_FLAG, 20), "");
  EXPECT_EQ(u.logical, LogicalType::Decimal(20, 0));
  EXPECT_EQ(u.native, "mysql:bigint unsigned");
  EXPECT_EQ(Decode(u, "18446744073709551615"), "18446744073709551615");
  MyColumnType s = ClassifyMyField(Field(MYSQL_TYPE_LONGLONG, 0, 20), "");
  EXPECT_EQ(Decode(s, "-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(Decode(s, "12x").rfind("error: '12x' is not an integer", 0), 0u);
  EXPECT_EQ(Decode(s, nullptr, 0), "NULL");
}

TEST(MyTypes, DecimalsTakeTheirPrecisionFromTheFieldLength) {
  // DECIMAL(12,2): 12 digits, a point and a sign
  MyColumnType t = ClassifyMyField(Field(MYSQL_TYPE_NEWDECIMAL, 0, 14, 2), "");
  EXPECT_EQ(t.logical, LogicalType::Decimal(12, 2));
  EXPECT_EQ(t.native, "mysql:decimal(12,2)");
  EXPECT_EQ(Decode(t, "-0.01"), "-0.01");
  MyColumnType u = ClassifyMyField(Field(MYSQL_TYPE_NEWDECIMAL, UNSIGNED_FLAG, 66, 30), "");
  EXPECT_EQ(u.logical, LogicalType::Decimal(65, 30));
}

TEST(MyTypes, FloatIsReadAsDouble) {
  MyColumnType t = ClassifyMyField(Field(MYSQL_TYPE_FLOAT, 0, 12, 31), "float");
  EXPECT_TRUE(t.widen);
  EXPECT_EQ(t.logical, LogicalType::Double());
  EXPECT_EQ(Decode(t, "3.4028234663852886e38"), "3.4028234663852886e+38");
}

TEST(MyTypes, BitsBecomeBoolOrNumbers) {
  MyColumnType one = ClassifyMyField(Field(MYSQL_TYPE_BIT, UNSIGNED_FLAG, 1), "bit(1)");
  EXPECT_EQ(one.logical, LogicalType::Bool());
  EXPECT_EQ(Decode(one, std::string_view("\x01", 1)), "true");
  MyColumnType ten = ClassifyMyField(Field(MYSQL_TYPE_BIT, UNSIGNED_FLAG, 10), "bit(10)");
  EXPECT_EQ(ten.logical, LogicalType::Bigint());
  EXPECT_EQ(Decode(ten, std::string_view("\x02\xaa", 2)), "682");
  MyColumnType all = ClassifyMyField(Field(MYSQL_TYPE_BIT, UNSIGNED_FLAG, 64), "bit(64)");
  EXPECT_EQ(all.logical, LogicalType::Decimal(20, 0));
  EXPECT_EQ(Decode(all, std::string_view("\xff\xff\xff\xff\xff\xff\xff\xff", 8)), "18446744073709551615");
}

TEST(MyTypes, DatesAndZeroDates) {
  MyColumnType date = ClassifyMyField(Field(MYSQL_TYPE_DATE), "date");
  EXPECT_EQ(Decode(date, "2024-02-29"), "2024-02-29");
  EXPECT_EQ(Decode(date, "0000-00-00"), "NULL");
  EXPECT_EQ(Decode(date, "2024-00-10"), "NULL");
  std::string error = Decode(date, "0000-00-00", 10, ZeroDates::kError);
  EXPECT_NE(error.find("zeroDateTimeBehavior=convertToNull"), std::string::npos) << error;
  MyColumnType dt = ClassifyMyField(Field(MYSQL_TYPE_DATETIME, 0, 26, 6), "datetime(6)");
  EXPECT_EQ(dt.logical, LogicalType::Timestamp());
  EXPECT_EQ(Decode(dt, "9999-12-31 23:59:59.999999"), "9999-12-31 23:59:59.999999");
  MyColumnType ts = ClassifyMyField(Field(MYSQL_TYPE_TIMESTAMP, 0, 19), "timestamp");
  EXPECT_EQ(ts.logical, LogicalType::TimestampTz());
  EXPECT_EQ(Decode(ts, "1970-01-01 00:00:01"), "1970-01-01 00:00:01+00:00");
  // TIME reaches beyond a day and below zero: its text
  MyColumnType time = ClassifyMyField(Field(MYSQL_TYPE_TIME, 0, 10), "time");
  EXPECT_EQ(time.logical, LogicalType::Text());
  EXPECT_EQ(Decode(time, "-838:59:59"), "-838:59:59");
}

TEST(MyTypes, StringsByCharacterSetAndFlags) {
  EXPECT_EQ(ClassifyMyField(Field(MYSQL_TYPE_VAR_STRING, 0, 160), "varchar(40)").logical, LogicalType::Text());
  EXPECT_EQ(ClassifyMyField(Field(MYSQL_TYPE_BLOB, BINARY_FLAG, 65535, 0, 63), "blob").logical, LogicalType::Binary());
  // ENUM and SET arrive as strings with a flag; their values are names
  EXPECT_EQ(ClassifyMyField(Field(MYSQL_TYPE_STRING, ENUM_FLAG, 20), "enum('a','b')").native, "mysql:enum('a','b')");
  EXPECT_EQ(ClassifyMyField(Field(MYSQL_TYPE_STRING, SET_FLAG, 20), "set('a','b')").logical, LogicalType::Text());
}

TEST(MyTypes, JsonOfBothServers) {
  // MySQL 8 has a JSON type of its own
  MyColumnType mysql = ClassifyMyField(Field(MYSQL_TYPE_JSON, BINARY_FLAG, 4294967295, 0, 63), "json");
  EXPECT_EQ(mysql.logical, LogicalType::Json());
  EXPECT_EQ(mysql.native, "mysql:json");
  // MariaDB's JSON is LONGTEXT whose extended metadata names the json format
  MyFieldInfo maria = Field(MYSQL_TYPE_BLOB, 0, 4294967295);
  maria.format_name = "json";
  MyColumnType t = ClassifyMyField(maria, "longtext");
  EXPECT_EQ(t.logical, LogicalType::Json());
  EXPECT_EQ(t.native, "mysql:json");
  EXPECT_EQ(Decode(t, R"({"a": [1, 2.50]})"), R"({"a": [1, 2.50]})");
}

TEST(MyTypes, MariadbUuidAndGeometry) {
  MyFieldInfo uuid = Field(MYSQL_TYPE_STRING, 0, 36);
  uuid.type_name = "uuid";
  MyColumnType t = ClassifyMyField(uuid, "uuid");
  EXPECT_EQ(t.logical, LogicalType::Uuid());
  EXPECT_EQ(Decode(t, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  // a geometry's stored form is its SRID, then the WKB: the WKB is kept
  MyColumnType g = ClassifyMyField(Field(MYSQL_TYPE_GEOMETRY, BINARY_FLAG, 4294967295, 0, 63), "point");
  EXPECT_EQ(g.logical, LogicalType::Binary());
  BatchBuilder b(Schema({{"g", g.logical}}));
  std::string stored("\xe6\x10\x00\x00\x01\x01\x00\x00\x00", 9);
  ASSERT_TRUE(AppendMyValue(g, stored.data(), stored.size(), ZeroDates::kNull, b.column(0)).ok());
  EXPECT_EQ(b.column(0).View(0), std::string_view("\x01\x01\x00\x00\x00", 5));
}

}  // namespace
}  // namespace nilus
