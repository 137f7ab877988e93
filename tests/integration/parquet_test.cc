// The Parquet writer, checked by a reader we did not write: DuckDB (tests/tools/duckdb) reads
// every file and must return the rows, types and statistics written. test_formats.sh runs it
// with NILUS_DUCKDB_QUERY set to DuckDB's query script.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "command_output.h"
#include "nilus/core/values.h"
#include "nilus/formats/parquet/parquet_writer.h"

namespace nilus::parquet {
namespace {

namespace fs = std::filesystem;

class ParquetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nilus_parquet_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

std::string Uuid(std::string_view text) {
  std::string bytes;
  EXPECT_TRUE(ParseUuid(text, &bytes));
  return bytes;
}

TEST_F(ParquetTest, EveryTypeReadsBackAsWrittenWithNulls) {
  Schema schema({{"b", LogicalType::Bool()},
                 {"i", LogicalType::Bigint()},
                 {"d", LogicalType::Double()},
                 {"d9", LogicalType::Decimal(9, 2)},
                 {"d18", LogicalType::Decimal(18, 4)},
                 {"d38", LogicalType::Decimal(38, 10)},
                 {"dn", LogicalType::Decimal()},
                 {"t", LogicalType::Text()},
                 {"bin", LogicalType::Binary()},
                 {"day", LogicalType::Date()},
                 {"tm", LogicalType::Time()},
                 {"ts", LogicalType::Timestamp()},
                 {"tz", LogicalType::TimestampTz()},
                 {"j", LogicalType::Json()},
                 {"u", LogicalType::Uuid()},
                 {"req", LogicalType::Bigint(), false}});
  BatchBuilder b(schema);
  auto row = [&](bool nulls, bool bv, int64_t iv, double dv, const char* d9, const char* d18, const char* d38,
                 const char* dn, std::string_view t, std::string_view bin, int64_t day, int64_t tm, int64_t ts,
                 const char* j, const char* u, int64_t req) {
    if (nulls) {
      for (size_t c = 0; c + 1 < schema.num_fields(); ++c) b.column(c).AppendNull();
    } else {
      b.column(0).AppendBool(bv);
      b.column(1).AppendInt64(iv);
      b.column(2).AppendDouble(dv);
      b.column(3).AppendBytes(d9);
      b.column(4).AppendBytes(d18);
      b.column(5).AppendBytes(d38);
      b.column(6).AppendBytes(dn);
      b.column(7).AppendBytes(t);
      b.column(8).AppendBytes(bin);
      b.column(9).AppendInt64(day);
      b.column(10).AppendInt64(tm);
      b.column(11).AppendInt64(ts);
      b.column(12).AppendInt64(ts);
      b.column(13).AppendBytes(j);
      b.column(14).AppendBytes(Uuid(u));
    }
    b.column(15).AppendInt64(req);
  };
  row(false, true, -9223372036854775807LL - 1, -1.5, "-1234567.89", "12345678901234.5678",
      "-1234567890123456789012345678.0123456789", "3.14159265358979323846264338327950288419716939937510",
      "héllo, wörld", std::string_view("\0\xff\x01", 3), -719162, 0, -62135596800000000LL, R"({"a": [1, 2]})",
      "00000000-0000-0000-0000-000000000000", 1);
  row(true, false, 0, 0, "", "", "", "", "", "", 0, 0, 0, "", "", 2);
  row(false, false, 9223372036854775807LL, 1e300, "9999999.99", "-0.0001", "0.5", "-7", "", "", 2932896, 86399999999,
      1718454645123456LL, "[]", "ffffffff-ffff-ffff-ffff-ffffffffffff", 3);
  auto batch = b.Finish();

  auto writer = ParquetWriter::Open(Path("types.parquet"), schema);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Write(*batch).ok());
  auto summary = (*writer)->Close();
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->rows, 3);
  EXPECT_EQ(summary->bytes, static_cast<int64_t>(fs::file_size(Path("types.parquet"))));

  const std::string file = "read_parquet('" + Path("types.parquet") + "')";
  EXPECT_EQ(DuckDb("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM " + file + ")"),
            "b|BOOLEAN\ni|BIGINT\nd|DOUBLE\nd9|DECIMAL(9,2)\nd18|DECIMAL(18,4)\nd38|DECIMAL(38,10)\ndn|VARCHAR\n"
            "t|VARCHAR\nbin|BLOB\nday|DATE\ntm|TIME\nts|TIMESTAMP\ntz|TIMESTAMP WITH TIME ZONE\nj|VARCHAR\nu|UUID\n"
            "req|BIGINT\n");
  EXPECT_EQ(DuckDb("SET TimeZone = 'UTC'; SELECT b, i, d, d9, d18, d38, dn, t, hex(bin), day, tm, ts, tz, j, u, req "
                   "FROM " +
                   file + " ORDER BY req"),
            "true|-9223372036854775808|-1.5|-1234567.89|12345678901234.5678|-1234567890123456789012345678.0123456789|"
            "3.14159265358979323846264338327950288419716939937510|héllo, wörld|00FF01|0001-01-01|00:00:00|"
            "0001-01-01 00:00:00|0001-01-01 00:00:00+00|{\"a\": [1, 2]}|00000000-0000-0000-0000-000000000000|1\n"
            "NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|2\n"
            "false|9223372036854775807|1e+300|9999999.99|-0.0001|0.5000000000|-7|||9999-12-31|23:59:59.999999|"
            "2024-06-15 12:30:45.123456|2024-06-15 12:30:45.123456+00|[]|ffffffff-ffff-ffff-ffff-ffffffffffff|3\n");
  // Statistics, as DuckDB reads them from the footer.
  EXPECT_EQ(DuckDb("SELECT path_in_schema, stats_null_count, stats_min_value, stats_max_value, compression FROM "
                   "parquet_metadata('" +
                   Path("types.parquet") + "') WHERE path_in_schema IN ('i', 'd9', 'd38', 't', 'day') ORDER BY 1"),
            "d38|1|-1234567890123456789012345678.0123456789|0.5000000000|ZSTD\n"
            "d9|1|-1234567.89|9999999.99|ZSTD\n"
            "day|1|0001-01-01|9999-12-31|ZSTD\n"
            "i|1|-9223372036854775808|9223372036854775807|ZSTD\n"
            "t|1||héllo, wörld|ZSTD\n");
}

TEST_F(ParquetTest, ManyRowGroupsPagesAndADictionaryThatOverflows) {
  Schema schema({{"id", LogicalType::Bigint()},
                 {"city", LogicalType::Text()},
                 {"note", LogicalType::Text()},
                 {"amount", LogicalType::Decimal(12, 2)}});
  WriterOptions options;
  options.row_group_bytes = 4 << 20;
  options.dictionary_bytes = 256 << 10;
  options.field_ids = {1, 2, 3, 4};
  auto writer = ParquetWriter::Open(Path("big.parquet"), schema, options);
  ASSERT_TRUE(writer.ok());
  const int64_t rows = 1'000'000;
  int64_t expected_cents = 0;
  for (int64_t start = 0; start < rows; start += 10'000) {
    BatchBuilder b(schema);
    for (int64_t r = start; r < start + 10'000; ++r) {
      b.column(0).AppendInt64(r);
      b.column(1).AppendBytes("city " + std::to_string(r % 37));
      if (r % 5 == 0) {
        b.column(2).AppendNull();
      } else {
        b.column(2).AppendBytes("note number " + std::to_string(r * 7919 % 1000003));
      }
      int64_t cents = (r % 100000) - 50000;
      expected_cents += cents;
      std::string text = std::to_string(std::abs(cents) / 100) + "." + (std::abs(cents) % 100 < 10 ? "0" : "") +
                         std::to_string(std::abs(cents) % 100);
      b.column(3).AppendBytes(cents < 0 ? "-" + text : text);
    }
    ASSERT_TRUE((*writer)->Write(*b.Finish()).ok());
  }
  auto summary = (*writer)->Close();
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_GT(summary->row_group_offsets.size(), 3u);
  EXPECT_EQ(summary->columns[2].nulls, rows / 5);
  EXPECT_EQ(summary->columns[0].values, rows);

  const std::string file = "read_parquet('" + Path("big.parquet") + "')";
  EXPECT_EQ(DuckDb("SELECT count(*), count(DISTINCT id), sum(id), count(DISTINCT city), count(note), "
                   "count(DISTINCT note), sum(amount) FROM " +
                   file),
            fmt::format("{}|{}|{}|37|{}|{}|{}.00\n", rows, rows, rows * (rows - 1) / 2, rows - rows / 5,
                        rows - rows / 5, expected_cents / 100));
  EXPECT_EQ(DuckDb("SELECT id, city, note, amount FROM " + file + " WHERE id IN (0, 1, 999999) ORDER BY id"),
            "0|city 0|NULL|-500.00\n1|city 1|note number 7919|-499.99\n"
            "999999|city 0|" +
                fmt::format("note number {}", 999999LL * 7919 % 1000003) + "|499.99\n");
  // The low-cardinality column stays dictionary-encoded; the field ids are Iceberg's.
  EXPECT_EQ(DuckDb("SELECT DISTINCT encodings FROM parquet_metadata('" + Path("big.parquet") +
                   "') WHERE path_in_schema = 'city'"),
            "PLAIN, RLE, RLE_DICTIONARY\n");
  EXPECT_EQ(DuckDb("SELECT name, field_id FROM parquet_schema('" + Path("big.parquet") +
                   "') WHERE field_id IS NOT NULL ORDER BY field_id"),
            "id|1\ncity|2\nnote|3\namount|4\n");
}

TEST_F(ParquetTest, UncompressedAndEmptyFiles) {
  Schema schema({{"x", LogicalType::Bigint()}});
  WriterOptions options;
  options.codec = Codec::kNone;
  auto writer = ParquetWriter::Open(Path("plain.parquet"), schema, options);
  ASSERT_TRUE(writer.ok());
  BatchBuilder b(schema);
  for (int i = 0; i < 100; ++i) b.column(0).AppendInt64(i * i);
  ASSERT_TRUE((*writer)->Write(*b.Finish()).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ(DuckDb("SELECT sum(x), max(x) FROM read_parquet('" + Path("plain.parquet") + "')"), "328350|9801\n");

  auto empty = ParquetWriter::Open(Path("empty.parquet"), schema);
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE((*empty)->Close().ok());
  EXPECT_EQ(DuckDb("SELECT count(*) FROM read_parquet('" + Path("empty.parquet") + "')"), "0\n");
}

TEST_F(ParquetTest, AValueThatDoesNotFitItsDecimalIsAnErrorAndTheAbandonedFileIsRemoved) {
  Schema schema({{"amount", LogicalType::Decimal(5, 2)}});
  BatchBuilder b(schema);
  b.column(0).AppendBytes("1234.5");
  {
    auto writer = ParquetWriter::Open(Path("bad.parquet"), schema);
    ASSERT_TRUE(writer.ok());
    Status st = (*writer)->Write(*b.Finish());
    EXPECT_EQ(st.code(), StatusCode::kInvalidInput);
    EXPECT_NE(st.message().find("'1234.5' is not a decimal(5,2) value"), std::string::npos) << st.ToString();
  }
  EXPECT_FALSE(fs::exists(Path("bad.parquet")));
}

}  // namespace
}  // namespace nilus::parquet
