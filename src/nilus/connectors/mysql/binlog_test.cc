#include "nilus/connectors/mysql/binlog.h"

#include <gtest/gtest.h>

namespace nilus::binlog {
namespace {

/// Bytes from hex digits, spaces ignored.
std::string Hex(std::string_view hex) {
  std::string out;
  int high = -1;
  for (char c : hex) {
    if (c == ' ') continue;
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    if (high < 0) {
      high = v;
    } else {
      out += static_cast<char>(high << 4 | v);
      high = -1;
    }
  }
  return out;
}

std::string Text(const Column& col, std::string_view data) {
  std::string scratch;
  std::string_view out;
  Status st = ValueText(col, data, scratch, &out);
  return st.ok() ? std::string(out) : "error: " + st.message();
}

// A TABLE_MAP and a WRITE_ROWS (v1) event as MariaDB 10.11 logged them (binlog_row_metadata=FULL)
// for: CREATE TABLE d.u (id int PRIMARY KEY, u uuid, i inet6, e enum('x','y'), c char(3) latin1,
// b binary(4)); INSERT … VALUES (1, 'a0eebc99-…', '2001:db8::1', 'y', 'ab', x'01').
const char kMariaTableMap[] =
    "ff c6 0d 6b 13 01 00 00 00 5c 00 00 00 47 03 00 00 00 00"  // header
    "16 00 00 00 00 00 01 00 01 64 00 01 75 00 06 03 fe fe fe fe fe 0a fe 10 fe 10 f7 01 fe 03 fe 04 3e 01 01 00 02"
    "03 3f 02 08 04 0d 02 69 64 01 75 01 69 01 65 01 63 01 62 0a 01 08 06 05 02 01 78 01 79 08 01 00"
    "b9 2b 90 47";  // checksum
const char kMariaWriteRows[] =
    "16 00 00 00 00 00 01 00 06 3f c0 01 00 00 00 10 a0 ee bc 99 9c 0b 4e f8 bb 6d 6b b9 bd 38 0a 11 10 20 01 0d b8"
    "00 00 00 00 00 00 00 00 00 00 00 01 02 02 61 62 01 01";

TEST(Binlog, MariaDbTableMapAndRow) {
  std::string event = Hex(kMariaTableMap);
  Header h;
  ASSERT_TRUE(ParseHeader(event, &h).ok());
  EXPECT_EQ(h.type, kTableMap);
  EXPECT_EQ(h.length, 92u);
  EXPECT_EQ(h.next_position, 839u);
  TableMap map;
  ASSERT_TRUE(ParseTableMap(std::string_view(event).substr(kHeaderSize, h.length - kHeaderSize - 4), &map).ok());
  EXPECT_EQ(map.table_id, 22u);
  EXPECT_EQ(map.db, "d");
  EXPECT_EQ(map.table, "u");
  ASSERT_TRUE(map.has_names);
  ASSERT_EQ(map.columns.size(), 6u);
  std::vector<std::string> names;
  for (const auto& c : map.columns) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"id", "u", "i", "e", "c", "b"}));
  EXPECT_EQ(map.key, std::vector<int>{0});
  EXPECT_EQ(map.columns[3].type, kEnum);
  EXPECT_EQ(map.columns[3].values, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(map.columns[4].collation, 8u);   // latin1_swedish_ci
  EXPECT_EQ(map.columns[5].collation, 63u);  // binary
  EXPECT_FALSE(map.columns[0].is_unsigned);

  Rows rows;
  const std::string body = Hex(kMariaWriteRows);  // the parsed event points into it
  ASSERT_TRUE(ParseRows(kWriteRowsV1, body, &rows).ok());
  EXPECT_EQ(rows.table_id, 22u);
  std::string_view rest = rows.images;
  Image image;
  ASSERT_TRUE(ReadImage(map, rows.present, rest, &image).ok());
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(Text(map.columns[0], image.data[0]), "1");
  EXPECT_EQ(Text(map.columns[1], image.data[1]), Hex("a0eebc999c0b4ef8bb6d6bb9bd380a11"));
  EXPECT_EQ(Text(map.columns[3], image.data[3]), "y");
  EXPECT_EQ(Text(map.columns[4], image.data[4]), "ab");
  // BINARY(4) is logged without its trailing zero bytes, which the value keeps.
  EXPECT_EQ(Text(map.columns[5], image.data[5]), std::string("\x01\0\0\0", 4));
}

TEST(Binlog, RowsV2SkipExtraDataAndReadUpdateImages) {
  // MySQL 8's UPDATE_ROWS (v2): table id, flags, 2 bytes of extra data (only its length), two
  // columns, both images whole; one row: (1, NULL) -> (1, 7).
  TableMap map;
  map.columns = {Column{kLong}, Column{kTiny}};
  Rows rows;
  const std::string body = Hex("2a 00 00 00 00 00 01 00 02 00 02 03 03 02 01 00 00 00 00 01 00 00 00 07");
  ASSERT_TRUE(ParseRows(kUpdateRows, body, &rows).ok());
  EXPECT_EQ(rows.table_id, 42u);
  std::string_view rest = rows.images;
  Image before, after;
  ASSERT_TRUE(ReadImage(map, rows.present, rest, &before).ok());
  ASSERT_TRUE(ReadImage(map, rows.present_after, rest, &after).ok());
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(before.state[1], Image::kNull);
  EXPECT_EQ(Text(map.columns[1], after.data[1]), "7");
  // A truncated image is an error, not a read past the event.
  rest = std::string_view("\x00\x01", 2);
  EXPECT_FALSE(ReadImage(map, rows.present, rest, &before).ok());
}

TEST(Binlog, MinimalImageLeavesColumnsOut) {
  TableMap map;
  map.columns = {Column{kLong}, Column{kLong}, Column{kLong}};
  std::vector<bool> present = {true, false, true};
  std::string bytes = Hex("00 05 00 00 00 09 00 00 00");
  std::string_view rest = bytes;
  Image image;
  ASSERT_TRUE(ReadImage(map, present, rest, &image).ok());
  EXPECT_EQ(image.state[1], Image::kAbsent);
  EXPECT_EQ(Text(map.columns[2], image.data[2]), "9");
  // An image of no columns would take no bytes: an error, not an endless read (found by fuzzing).
  rest = bytes;
  EXPECT_FALSE(ReadImage(map, {false, false, false}, rest, &image).ok());
}

TEST(Binlog, IntegersBySignedness) {
  Column tiny{kTiny}, utiny{kTiny};
  utiny.is_unsigned = true;
  EXPECT_EQ(Text(tiny, Hex("80")), "-128");
  EXPECT_EQ(Text(utiny, Hex("ff")), "255");
  Column medium{kInt24};
  EXPECT_EQ(Text(medium, Hex("00 00 80")), "-8388608");
  Column big{kLongLong}, ubig{kLongLong};
  ubig.is_unsigned = true;
  EXPECT_EQ(Text(big, Hex("00 00 00 00 00 00 00 80")), "-9223372036854775808");
  EXPECT_EQ(Text(ubig, Hex("ff ff ff ff ff ff ff ff")), "18446744073709551615");
  Column year{kYear};
  EXPECT_EQ(Text(year, Hex("ff")), "2155");
}

TEST(Binlog, BinaryDecimal) {
  // DECIMAL(14,4): one leading digit (1 byte), 9 digits (4 bytes), 4 fraction digits (2 bytes);
  // the sign in the first bit, negative values with every bit inverted.
  Column d{kNewDecimal};
  d.meta = 14 << 8 | 4;
  EXPECT_EQ(Text(d, Hex("81 0d fb 38 d2 04 d2")), "1234567890.1234");
  EXPECT_EQ(Text(d, Hex("7e f2 04 c7 2d fb 2d")), "-1234567890.1234");
  EXPECT_EQ(Text(d, Hex("80 00 00 00 00 00 05")), "0.0005");
  EXPECT_FALSE(Text(d, Hex("80 00")).rfind("error", 0) != 0);
}

TEST(Binlog, Temporals) {
  Column date{kDate};
  // 2024-02-29: day | month << 5 | year << 9
  EXPECT_EQ(Text(date, std::string{char((29 | 2 << 5) & 0xff), char(((29 | 2 << 5 | 2024 << 9) >> 8) & 0xff),
                                   char((2024 << 9) >> 16)}),
            "2024-02-29");
  Column ts{kTimestamp2};
  ts.meta = 6;
  EXPECT_EQ(Text(ts, Hex("7f ff ff ff 0f 42 3f")), "2038-01-19 03:14:07.999999");
  EXPECT_EQ(Text(ts, Hex("00 00 00 00 00 00 00")), "0000-00-00 00:00:00.000000");
  Column ts0{kTimestamp2};
  EXPECT_EQ(Text(ts0, Hex("00 00 00 01")), "1970-01-01 00:00:01");
  // DATETIME2(0) 2024-01-02 03:04:05: ((2024 * 13 + 1) << 5 | 2) << 17 | 3 << 12 | 4 << 6 | 5, plus 2^39
  Column dt{kDatetime2};
  const uint64_t v = ((((2024ULL * 13 + 1) << 5 | 2) << 17) | 3 << 12 | 4 << 6 | 5) + 0x8000000000ULL;
  std::string bytes;
  for (int i = 4; i >= 0; --i) bytes += static_cast<char>((v >> (8 * i)) & 0xff);
  EXPECT_EQ(Text(dt, bytes), "2024-01-02 03:04:05");
  // TIME2(0) -838:59:59 and 838:59:59
  Column time{kTime2};
  const int64_t hms = 838 << 12 | 59 << 6 | 59;
  auto time_bytes = [](int64_t whole) {
    uint64_t stored = static_cast<uint64_t>(whole + 0x800000);
    return std::string{char((stored >> 16) & 0xff), char((stored >> 8) & 0xff), char(stored & 0xff)};
  };
  EXPECT_EQ(Text(time, time_bytes(hms)), "838:59:59");
  EXPECT_EQ(Text(time, time_bytes(-hms)), "-838:59:59");
}

TEST(Binlog, MysqlBinaryJson) {
  // {"a": 1, "b": [true, "x"]}: a small object of two keys, its array value stored after them.
  Column json{kJson};
  json.meta = 4;
  std::string doc =
      Hex("00 02 00 20 00 12 00 01 00 13 00 01 00 05 01 00 02 14 00 61 62"
          "02 00 0c 00 04 01 00 0c 0a 00 01 78");
  std::string value = std::string{char(doc.size()), 0, 0, 0} + doc;
  EXPECT_EQ(Text(json, value), R"({"a": 1, "b": [true, "x"]})");
  std::string out;
  ASSERT_TRUE(JsonText(Hex("0c 03 61 22 62"), &out).ok());
  EXPECT_EQ(out, R"("a\"b")");
  ASSERT_TRUE(JsonText(Hex("0b 00 00 00 00 00 00 04 40"), &out).ok());
  EXPECT_EQ(out, "2.5");
  EXPECT_FALSE(JsonText(Hex("00 05 00 ff 00"), &out).ok());  // claims more than it holds
}

TEST(Binlog, EnumSetAndStrings) {
  Column set{kSet};
  set.meta = 1;
  set.values = {"a", "b", "c"};
  EXPECT_EQ(Text(set, Hex("05")), "a,c");
  EXPECT_EQ(Text(set, Hex("00")), "");
  Column varchar{kVarchar};
  varchar.max_length = 1000;  // two length bytes
  EXPECT_EQ(Text(varchar, Hex("03 00 61 62 63")), "abc");
  Column blob{kBlob};
  blob.meta = 2;
  EXPECT_EQ(Text(blob, Hex("02 00 de ad")), Hex("de ad"));
}

TEST(Binlog, QueryRotateGtidXid) {
  // QUERY: thread 4, time 4, db length 1, error 2, status length 2 (0), db "d\0", statement
  Query q;
  const std::string query = Hex("01 00 00 00 00 00 00 00 01 00 00 00 00 64 00") + "TRUNCATE t";
  ASSERT_TRUE(ParseQuery(query, &q).ok());
  EXPECT_EQ(q.db, "d");
  EXPECT_EQ(q.sql, "TRUNCATE t");
  std::string file;
  uint64_t pos = 0;
  ASSERT_TRUE(ParseRotate(Hex("04 00 00 00 00 00 00 00") + "binlog.000007", &file, &pos).ok());
  EXPECT_EQ(file, "binlog.000007");
  EXPECT_EQ(pos, 4u);
  MariaGtid g;
  ASSERT_TRUE(ParseMariaGtid(Hex("07 00 00 00 00 00 00 00 02 00 00 00 01"), &g).ok());
  EXPECT_EQ(g.sequence, 7u);
  EXPECT_EQ(g.domain, 2u);
  EXPECT_TRUE(g.standalone);
  std::string gtid;
  ASSERT_TRUE(
      ParseMysqlGtid(Hex("01 3e 11 fa 47 71 ca 11 e1 9e 33 c8 0a a9 42 95 63 05 00 00 00 00 00 00 00"), &gtid).ok());
  EXPECT_EQ(gtid, "3e11fa47-71ca-11e1-9e33-c80aa9429563:5");
  uint64_t xid = 0;
  ASSERT_TRUE(ParseXid(Hex("2a 00 00 00 00 00 00 00"), &xid).ok());
  EXPECT_EQ(xid, 42u);
  EXPECT_FALSE(ParseXid(Hex("2a 00"), &xid).ok());
}

}  // namespace
}  // namespace nilus::binlog
