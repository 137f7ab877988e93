// The Parquet reader, on files another writer made: DuckDB (tests/tools/duckdb) writes every type
// it has with every codec, with v1 and v2 pages (dictionaries, delta and byte-stream-split
// encodings), in several row groups; the reader must return each value the SQL computed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "command_output.h"
#include "nilus/core/values.h"
#include "nilus/formats/parquet/parquet_reader.h"

namespace nilus::parquet {
namespace {

namespace fs = std::filesystem;

Result<std::unique_ptr<ParquetReader>> OpenFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Status::NotFound("{}", path);
  auto read = [path](int64_t offset, int64_t length) -> Result<std::string> {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return Status::IOError("cannot open {}", path);
    std::string out(static_cast<size_t>(length), '\0');
    ssize_t n = pread(fd, out.data(), out.size(), offset);
    ::close(fd);
    if (n < 0) return Status::IOError("cannot read {}", path);
    out.resize(static_cast<size_t>(n));
    return out;
  };
  return ParquetReader::Open(path, st.st_size, read);
}

constexpr int64_t kRows = 100000;

// Each column a function of i, so that the test knows every value.
constexpr char kSelect[] = R"sql(SELECT i,
  CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END AS b,
  (i % 100 - 50)::TINYINT AS i8, (i % 200)::UTINYINT AS u8, (i * 3)::UINTEGER AS u32,
  (18446744073709551615 - i)::UBIGINT AS u64,
  (i * 7 - 3)::BIGINT AS i64, (i / 4)::DOUBLE AS f64, (i / 4)::FLOAT AS f32,
  ((i % 1000) * 0.1)::DECIMAL(4,1) AS d4, (i * 1.001)::DECIMAL(18,3) AS d18,
  (i::DECIMAL(30,5) * 123456789.12345 - 99999999999999999999.99999)::DECIMAL(30,5) AS d30,
  CASE WHEN i % 3 = 0 THEN NULL ELSE 'v' || (i % 1000) END AS s,
  ('b' || i)::BLOB AS bl, DATE '2020-01-01' + i::INTEGER AS dt,
  TIME '00:00:00' + i * INTERVAL 1 SECOND AS tm,
  TIMESTAMP '1960-01-01' + i * INTERVAL 1 MINUTE AS ts,
  (TIMESTAMP '2020-01-01' + i * INTERVAL 1 MINUTE)::TIMESTAMPTZ AS tz,
  (TIMESTAMP '2020-01-01' + i * INTERVAL 1 MILLISECOND)::TIMESTAMP_MS AS tms,
  (TIMESTAMP '2020-01-01' + i * INTERVAL 1 MICROSECOND)::TIMESTAMP_NS AS tns,
  ('00000000-0000-4000-8000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS u,
  ('{"a":' || i || '}')::JSON AS j,
  [i, i + 1] AS lst
FROM range(0, 100000) t(i))sql";

class ParquetReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nilus_parquet_read_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// DuckDB writes kSelect's rows to a file with `options`.
  std::string Write(const std::string& name, const std::string& options) {
    std::string path = (dir_ / name).string();
    std::string out = DuckDb(std::string("SET TimeZone = 'UTC'; COPY (") + kSelect + ") TO '" + path +
                             "' (FORMAT parquet, ROW_GROUP_SIZE 30000, " + options + ")");
    EXPECT_EQ(out, std::to_string(kRows) + "\n") << options;
    return path;
  }

  fs::path dir_;
};

std::string Text(const Column& c, int64_t r) { return std::string(c.View(r)); }

std::string Unscaled(__int128 v, int scale) {
  char out[kMaxFormattedValue];
  return std::string(out, FormatUnscaledTo(v, scale, out));
}

/// Reads the whole file and checks every value of every column against what kSelect computes.
void CheckEveryValue(const std::string& path) {
  auto opened = OpenFile(path);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ParquetReader& reader = **opened;
  EXPECT_EQ(reader.num_rows(), kRows);

  const std::vector<std::pair<std::string, LogicalType>> expected_types = {
      {"i", LogicalType::Bigint()},       {"b", LogicalType::Bool()},           {"i8", LogicalType::Bigint()},
      {"u8", LogicalType::Bigint()},      {"u32", LogicalType::Bigint()},       {"u64", LogicalType::Decimal(20, 0)},
      {"i64", LogicalType::Bigint()},     {"f64", LogicalType::Double()},       {"f32", LogicalType::Double()},
      {"d4", LogicalType::Decimal(4, 1)}, {"d18", LogicalType::Decimal(18, 3)}, {"d30", LogicalType::Decimal(30, 5)},
      {"s", LogicalType::Text()},         {"bl", LogicalType::Binary()},        {"dt", LogicalType::Date()},
      {"tm", LogicalType::Time()},        {"ts", LogicalType::Timestamp()},     {"tz", LogicalType::TimestampTz()},
      {"tms", LogicalType::Timestamp()},  {"tns", LogicalType::Timestamp()},    {"u", LogicalType::Uuid()},
      {"j", LogicalType::Json()},
  };
  ASSERT_EQ(reader.columns().size(), expected_types.size() + 1);
  for (size_t c = 0; c < expected_types.size(); ++c) {
    EXPECT_EQ(reader.columns()[c].name, expected_types[c].first);
    EXPECT_EQ(reader.columns()[c].type, expected_types[c].second) << expected_types[c].first;
    EXPECT_EQ(reader.columns()[c].unsupported, "") << expected_types[c].first;
  }
  EXPECT_EQ(reader.columns().back().name, "lst");
  EXPECT_NE(reader.columns().back().unsupported, "");

  const int64_t day2020 = DaysFromCivil(2020, 1, 1), day1960 = DaysFromCivil(1960, 1, 1);
  const int64_t us_day = 86400000000LL;
  __int128 big = 0;
  for (int k = 0; k < 25; ++k) big = big * 10 + 9;  // 99999999999999999999.99999 unscaled
  int64_t i = 0;
  while (true) {
    auto next = reader.Next(7000, 64 << 20);  // batches that straddle row groups
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    if (!*next) break;
    const RecordBatch& b = **next;
    ASSERT_EQ(b.num_columns(), expected_types.size());
    for (int64_t r = 0; r < b.num_rows(); ++r, ++i) {
      SCOPED_TRACE("row " + std::to_string(i) + " of " + path);
      ASSERT_EQ(b.column(0).Int64(r), i);
      ASSERT_EQ(b.column(1).IsNull(r), i % 5 == 0);
      if (i % 5 != 0) {
        ASSERT_EQ(b.column(1).Bool(r), i % 2 == 0);
      }
      ASSERT_EQ(b.column(2).Int64(r), i % 100 - 50);
      ASSERT_EQ(b.column(3).Int64(r), i % 200);
      ASSERT_EQ(b.column(4).Int64(r), i * 3);
      ASSERT_EQ(Text(b.column(5), r), std::to_string(18446744073709551615ULL - static_cast<uint64_t>(i)));
      ASSERT_EQ(b.column(6).Int64(r), i * 7 - 3);
      ASSERT_EQ(b.column(7).Double(r), i / 4.0);
      ASSERT_EQ(b.column(8).Double(r), static_cast<double>(static_cast<float>(i / 4.0)));
      ASSERT_EQ(Text(b.column(9), r), Unscaled(i % 1000, 1));
      ASSERT_EQ(Text(b.column(10), r), Unscaled(i * 1001, 3));
      ASSERT_EQ(Text(b.column(11), r), Unscaled(static_cast<__int128>(i) * 12345678912345LL - big, 5));
      ASSERT_EQ(b.column(12).IsNull(r), i % 3 == 0);
      if (i % 3 != 0) {
        ASSERT_EQ(Text(b.column(12), r), "v" + std::to_string(i % 1000));
      }
      ASSERT_EQ(Text(b.column(13), r), "b" + std::to_string(i));
      ASSERT_EQ(b.column(14).Int64(r), day2020 + i);
      ASSERT_EQ(b.column(15).Int64(r), (i % 86400) * 1000000);
      ASSERT_EQ(b.column(16).Int64(r), day1960 * us_day + i * 60000000);
      ASSERT_EQ(b.column(17).Int64(r), day2020 * us_day + i * 60000000);
      ASSERT_EQ(b.column(18).Int64(r), day2020 * us_day + i * 1000);
      ASSERT_EQ(b.column(19).Int64(r), day2020 * us_day + i);  // nanoseconds, read as microseconds
      std::string uuid;
      ASSERT_TRUE(ParseUuid(fmt::format("00000000-0000-4000-8000-{:012d}", i), &uuid));
      ASSERT_EQ(Text(b.column(20), r), uuid);
      ASSERT_EQ(Text(b.column(21), r), "{\"a\":" + std::to_string(i) + "}");
    }
  }
  EXPECT_EQ(i, kRows);
}

TEST_F(ParquetReadTest, EveryCodecAndPageVersionOfAnotherWriter) {
  for (std::string codec : {"uncompressed", "snappy", "gzip", "zstd", "lz4"}) {
    for (std::string version : {"V1", "V2"}) {
      SCOPED_TRACE(codec + " " + version);
      CheckEveryValue(Write(codec + version + ".parquet", "COMPRESSION " + codec + ", PARQUET_VERSION " + version));
    }
  }
}

TEST_F(ParquetReadTest, TheEncodingsOfVersion2AreThere) {
  // Not a test of the reader: that the files above hold what this test says they do.
  std::string path = Write("v2.parquet", "PARQUET_VERSION V2");
  std::string encodings =
      DuckDb("SELECT string_agg(DISTINCT encodings, ',' ORDER BY encodings) FROM parquet_metadata('" + path + "')");
  for (const char* e : {"DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "BYTE_STREAM_SPLIT", "RLE_DICTIONARY"}) {
    EXPECT_NE(encodings.find(e), std::string::npos) << e << " not in " << encodings;
  }
}

TEST_F(ParquetReadTest, ResumingAfterSkippedRowsAndSelectingColumns) {
  std::string path = Write("skip.parquet", "COMPRESSION zstd");
  auto opened = OpenFile(path);
  ASSERT_TRUE(opened.ok());
  ParquetReader& reader = **opened;
  ASSERT_TRUE(reader.Select({12, 0}).ok());
  ASSERT_TRUE(reader.Skip(65432).ok());
  auto batch = reader.Next(100000, 64 << 20);
  ASSERT_TRUE(batch.ok());
  const RecordBatch& b = **batch;
  ASSERT_EQ(b.num_rows(), kRows - 65432);
  EXPECT_EQ(b.schema().field(0).name, "s");
  EXPECT_EQ(b.column(1).Int64(0), 65432);
  EXPECT_EQ(Text(b.column(0), 0), "v432");
  EXPECT_EQ(b.column(1).Int64(b.num_rows() - 1), kRows - 1);

  Status nested = reader.Select({22});
  EXPECT_EQ(nested.code(), StatusCode::kInvalidInput);
  EXPECT_NE(nested.message().find("column 'lst'"), std::string::npos) << nested.message();
  EXPECT_NE(nested.message().find("sql-exclude-columns"), std::string::npos) << nested.message();
}

TEST_F(ParquetReadTest, ACodecNilusDoesNotReadIsNamed) {
  // A small file: brotli is slow to write.
  std::string path = (dir_ / "brotli.parquet").string();
  ASSERT_EQ(DuckDb("COPY (SELECT 1 AS x) TO '" + path + "' (FORMAT parquet, COMPRESSION brotli)"), "1\n");
  auto opened = OpenFile(path);
  ASSERT_TRUE(opened.ok());
  auto batch = (*opened)->Next(10, 1 << 20);
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.status().message().find("brotli"), std::string::npos) << batch.status().message();
}

}  // namespace
}  // namespace nilus::parquet
