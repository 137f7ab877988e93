#include "nilus/connectors/postgres/pgoutput.h"

#include <gtest/gtest.h>

#include "nilus/connectors/postgres/pg_types.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

/// Builds pgoutput messages as the server writes them.
class Writer {
 public:
  Writer& Byte(char c) {
    out_.push_back(c);
    return *this;
  }
  Writer& U16(uint16_t v) { return Be(v, 2); }
  Writer& U32(uint32_t v) { return Be(v, 4); }
  Writer& U64(uint64_t v) { return Be(v, 8); }
  Writer& Str(const std::string& s) {
    out_ += s;
    out_.push_back('\0');
    return *this;
  }
  Writer& Text(const std::string& s) {
    Byte('t').U32(static_cast<uint32_t>(s.size()));
    out_ += s;
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  Writer& Be(uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out_.push_back(static_cast<char>(v >> (8 * i) & 0xff));
    return *this;
  }
  std::string out_;
};

}  // namespace

TEST(Lsn, FormatsAndParsesAsPostgreSQLPrintsIt) {
  EXPECT_EQ(FormatLsn(0x16B374D848ULL), "16/B374D848");
  Lsn lsn;
  ASSERT_TRUE(ParseLsn("16/B374D848", &lsn));
  EXPECT_EQ(lsn, 0x16B374D848ULL);
  for (const char* bad : {"", "/", "1/", "/1", "x/1", "1/2/3", "123456789/1"}) EXPECT_FALSE(ParseLsn(bad, &lsn)) << bad;
}

TEST(Pgoutput, DecodesRelationAndAnUpdateWithItsOldKey) {
  pgoutput::Message m;
  Writer rel;
  rel.Byte('R').U32(16384).Str("").Str("orders").Byte('d').U16(2);
  rel.Byte(1).Str("id").U32(23).U32(0xffffffff);
  rel.Byte(0).Str("note").U32(25).U32(0xffffffff);
  ASSERT_TRUE(pgoutput::Decode(rel.str(), &m).ok());
  EXPECT_EQ(m.type, 'R');
  EXPECT_EQ(m.relation.schema, "pg_catalog");  // an empty namespace is pg_catalog
  ASSERT_EQ(m.relation.columns.size(), 2u);
  EXPECT_TRUE(m.relation.columns[0].key);
  EXPECT_EQ(m.relation.columns[1].type_modifier, -1);

  Writer upd;
  upd.Byte('U').U32(16384).Byte('K').U16(2).Text("1").Byte('n');
  upd.Byte('N').U16(2).Text("2").Byte('u');
  ASSERT_TRUE(pgoutput::Decode(upd.str(), &m).ok());
  EXPECT_EQ(m.change.kind, 'U');
  EXPECT_EQ(m.change.old_kind, 'K');
  EXPECT_EQ(m.change.old_tuple[0].data, "1");
  EXPECT_EQ(m.change.new_tuple[0].data, "2");
  EXPECT_EQ(m.change.new_tuple[1].kind, pgoutput::Value::kUnchanged);
}

TEST(Pgoutput, DecodesBeginCommitAndTruncate) {
  pgoutput::Message m;
  ASSERT_TRUE(pgoutput::Decode(Writer().Byte('B').U64(100).U64(5).U32(7).str(), &m).ok());
  EXPECT_EQ(m.begin.final_lsn, 100u);
  EXPECT_EQ(m.begin.xid, 7u);
  ASSERT_TRUE(pgoutput::Decode(Writer().Byte('C').Byte(0).U64(100).U64(120).U64(5).str(), &m).ok());
  EXPECT_EQ(m.commit.end_lsn, 120u);
  ASSERT_TRUE(pgoutput::Decode(Writer().Byte('T').U32(2).Byte(1).U32(10).U32(11).str(), &m).ok());
  EXPECT_EQ(m.truncate.relations, (std::vector<uint32_t>{10, 11}));
  EXPECT_TRUE(m.truncate.cascade);
}

TEST(Pgoutput, RefusesEveryCutAndTrailingBytes) {
  Writer ins;
  ins.Byte('I').U32(1).Byte('N').U16(2).Text("42").Byte('n');
  pgoutput::Message m;
  ASSERT_TRUE(pgoutput::Decode(ins.str(), &m).ok());
  for (size_t n = 0; n < ins.str().size(); ++n) {
    EXPECT_FALSE(pgoutput::Decode(ins.str().substr(0, n), &m).ok()) << n;
  }
  EXPECT_FALSE(pgoutput::Decode(ins.str() + "x", &m).ok());
  EXPECT_FALSE(pgoutput::Decode(Writer().Byte('I').U32(1).Byte('K').U16(0).str(), &m).ok());  // an old insert
  EXPECT_FALSE(pgoutput::Decode(Writer().Byte('Z').str(), &m).ok());
  // A truncate that claims more relations than it has bytes.
  EXPECT_FALSE(pgoutput::Decode(Writer().Byte('T').U32(0xffffffff).Byte(0).str(), &m).ok());
}

TEST(PgText, DecodesWhatTheServerPrintsAsTheBinaryDecoderWould) {
  auto decode = [](uint32_t oid, const char* sql_type, std::string_view text) {
    PgColumnType t = ClassifyPgType(oid, sql_type, true, 'b');
    Column c(t.logical);
    Status st = DecodePgText(t, text, c);
    EXPECT_TRUE(st.ok()) << text << ": " << st.message();
    return st.ok() ? ValueToString(c, 0) : std::string("error");
  };
  EXPECT_EQ(decode(pgoid::kBool, "boolean", "t"), "true");
  EXPECT_EQ(decode(pgoid::kInt4, "integer", "-42"), "-42");
  EXPECT_EQ(decode(pgoid::kFloat8, "double precision", "-Infinity"), "-Infinity");
  EXPECT_EQ(decode(pgoid::kNumeric, "numeric(12,2)", "12.50"), "12.50");
  EXPECT_EQ(decode(pgoid::kDate, "date", "2024-02-29"), "2024-02-29");
  EXPECT_EQ(decode(pgoid::kDate, "date", "infinity"), decode(pgoid::kDate, "date", "infinity"));
  EXPECT_EQ(decode(pgoid::kTimestampTz, "timestamp with time zone", "2024-06-01 12:00:00.123456+00"),
            "2024-06-01 12:00:00.123456+00:00");
  EXPECT_EQ(decode(pgoid::kTimestamp, "timestamp without time zone", "2024-06-01 12:00:00"), "2024-06-01 12:00:00");
  EXPECT_EQ(decode(pgoid::kUuid, "uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_EQ(decode(pgoid::kBytea, "bytea", "\\x00ff"), std::string("\x00\xff", 2));
  // Dates past 9999 and before year 1.
  PgColumnType date = ClassifyPgType(pgoid::kDate, "date", true, 'b');
  Column c(date.logical);
  ASSERT_TRUE(DecodePgText(date, "12345-01-01", c).ok());
  ASSERT_TRUE(DecodePgText(date, "0044-03-15 BC", c).ok());
  EXPECT_EQ(c.Int64(0), DaysFromCivil(12345, 1, 1));
  EXPECT_EQ(c.Int64(1), DaysFromCivil(-43, 3, 15));
  EXPECT_FALSE(DecodePgText(date, "yesterday", c).ok());
  PgColumnType bytea = ClassifyPgType(pgoid::kBytea, "bytea", true, 'b');
  Column b(bytea.logical);
  EXPECT_FALSE(DecodePgText(bytea, "\\x0g", b).ok());
}

}  // namespace nilus
