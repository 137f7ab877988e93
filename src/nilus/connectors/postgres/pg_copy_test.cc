#include "nilus/connectors/postgres/pg_copy.h"

#include <gtest/gtest.h>

namespace nilus {

namespace {

std::string Header(uint32_t extension_length, std::string extension = "") {
  std::string h("PGCOPY\n\377\r\n\0", 11);
  h.append(4, '\0');
  uint32_t be = __builtin_bswap32(extension_length);
  h.append(reinterpret_cast<const char*>(&be), 4);
  return h + extension;
}

std::string Row(std::initializer_list<std::string> fields) {
  std::string r;
  uint16_t n = __builtin_bswap16(static_cast<uint16_t>(fields.size()));
  r.append(reinterpret_cast<const char*>(&n), 2);
  for (const auto& f : fields) {
    uint32_t len = __builtin_bswap32(static_cast<uint32_t>(f.size()));
    r.append(reinterpret_cast<const char*>(&len), 4);
    r += f;
  }
  return r;
}

struct Decoded {
  Status status;
  std::shared_ptr<const RecordBatch> batch;
};

Decoded Decode(const std::vector<std::string>& messages) {
  PgColumnType text = ClassifyPgType(pgoid::kText, "text", true, 'b');
  PgBinaryCopyDecoder decoder({text, text});
  BatchBuilder out(Schema({{"a", LogicalType::Text()}, {"b", LogicalType::Text()}}));
  for (const auto& m : messages) {
    Status st = decoder.Decode(m.data(), static_cast<int64_t>(m.size()), out);
    if (!st.ok()) return {st, nullptr};
  }
  return {Status::OK(), out.Finish()};
}

}  // namespace

TEST(PgBinaryCopyDecoder, DecodesRowsAfterTheHeaderAndItsExtension) {
  auto d = Decode({Header(3, "xyz") + Row({"a", "b"}), Row({"", "c"}), std::string("\xff\xff", 2)});
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  ASSERT_EQ(d.batch->num_rows(), 2);
  EXPECT_EQ(d.batch->column(1).View(1), "c");
}

TEST(PgBinaryCopyDecoder, RefusesWhatDoesNotAddUp) {
  // an extension longer than the message
  EXPECT_EQ(Decode({Header(1000) + Row({"a", "b"})}).status.code(), StatusCode::kIOError);
  EXPECT_EQ(Decode({Header(0xffffffff)}).status.code(), StatusCode::kIOError);
  // no signature
  EXPECT_EQ(Decode({"PGCOPX\n\377\r\n" + std::string(8, '\0')}).status.code(), StatusCode::kIOError);
  // a field count other than the columns'
  EXPECT_NE(Decode({Header(0), Row({"a"})}).status.message().find("1 fields"), std::string::npos);
  // a field longer than the row, a negative length other than NULL's, bytes after the last field
  std::string row = Row({"a", "b"});
  EXPECT_EQ(Decode({Header(0), row.substr(0, row.size() - 1)}).status.code(), StatusCode::kIOError);
  std::string negative = row;
  negative[2] = '\xff';
  negative[3] = '\xff';
  negative[4] = '\xff';
  negative[5] = '\xfe';
  EXPECT_EQ(Decode({Header(0), negative}).status.code(), StatusCode::kIOError);
  EXPECT_EQ(Decode({Header(0), row + "x"}).status.code(), StatusCode::kIOError);
  // a row without its field count, data after the trailer
  EXPECT_EQ(Decode({Header(0), "\x01"}).status.code(), StatusCode::kIOError);
  EXPECT_EQ(Decode({Header(0), "\xff\xff", row}).status.code(), StatusCode::kIOError);
}

}  // namespace nilus
