#include "nilus/formats/parquet/parquet_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "nilus/core/values.h"
#include "nilus/formats/parquet/parquet_writer.h"

namespace nilus::parquet {
namespace {

namespace fs = std::filesystem;

/// The reader over bytes in memory.
Result<std::unique_ptr<ParquetReader>> OpenBytes(std::shared_ptr<std::string> bytes) {
  auto read = [bytes](int64_t offset, int64_t length) -> Result<std::string> {
    if (offset < 0 || offset > static_cast<int64_t>(bytes->size())) return Status::IOError("out of range");
    return bytes->substr(static_cast<size_t>(offset), static_cast<size_t>(length));
  };
  return ParquetReader::Open("mem.parquet", static_cast<int64_t>(bytes->size()), read);
}

std::shared_ptr<std::string> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return std::make_shared<std::string>(s.str());
}

class ParquetRoundTrip : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() / ("nilus_parquet_rt_" + std::to_string(::getpid()) + ".parquet")).string();
  }
  void TearDown() override { fs::remove(path_); }
  std::string path_;
};

// What the writer writes, the reader returns: every logical type, NULLs, pages, row groups, and
// dictionaries that fall back to plain.
TEST_F(ParquetRoundTrip, EveryTypeThroughPagesRowGroupsAndDictionaryFallback) {
  Schema schema({{"b", LogicalType::Bool()},
                 {"i", LogicalType::Bigint(), false},
                 {"d", LogicalType::Double()},
                 {"d9", LogicalType::Decimal(9, 2)},
                 {"d18", LogicalType::Decimal(18, 4)},
                 {"d38", LogicalType::Decimal(38, 10)},
                 {"t", LogicalType::Text()},
                 {"bin", LogicalType::Binary()},
                 {"day", LogicalType::Date()},
                 {"tm", LogicalType::Time()},
                 {"ts", LogicalType::Timestamp()},
                 {"tz", LogicalType::TimestampTz()},
                 {"u", LogicalType::Uuid()}});
  constexpr int64_t kRows = 50000;
  std::vector<std::shared_ptr<const RecordBatch>> batches;  // of 5000 rows
  BatchBuilder b(schema);
  char text[kMaxFormattedValue];
  for (int64_t r = 0; r < kRows; ++r) {
    if (r > 0 && r % 5000 == 0) batches.push_back(b.Finish());
    if (r % 7 == 3) {
      for (size_t c = 0; c < schema.num_fields(); ++c) {
        if (c != 1) b.column(c).AppendNull();
      }
      b.column(1).AppendInt64(r);
      continue;
    }
    b.column(0).AppendBool(r % 3 == 0);
    b.column(1).AppendInt64(r * 1000003 - 7);
    b.column(2).AppendDouble(r / 3.0);
    b.column(3).AppendBytes({text, FormatUnscaledTo(-r * 101, 2, text)});
    b.column(4).AppendBytes({text, FormatUnscaledTo(r * 99991, 4, text)});
    b.column(5).AppendBytes({text, FormatUnscaledTo(static_cast<__int128>(r) * 1000000007 * 1000000007, 10, text)});
    // Few distinct values first (a dictionary), then many (it overflows and falls back).
    b.column(6).AppendBytes(r < 20000 ? "city " + std::to_string(r % 50) : "note " + std::to_string(r) + "é");
    b.column(7).AppendBytes(std::string("\0\xff", 2) + std::to_string(r));
    // Rows 1 and 2: the infinite dates and timestamps (PostgreSQL's) come back infinite.
    const int64_t infinity = r == 1 ? kPlusInfinity : kMinusInfinity;
    b.column(8).AppendInt64(r == 1 || r == 2 ? infinity : r - 25000);
    b.column(9).AppendInt64(r * 1000);
    b.column(10).AppendInt64(r == 1 || r == 2 ? infinity : -r * 1000000007);
    b.column(11).AppendInt64(r == 1 || r == 2 ? infinity : r * 1000000007);
    b.column(12).AppendBytes(std::string(8, '\x11') + std::string(reinterpret_cast<const char*>(&r), 8));
  }
  batches.push_back(b.Finish());
  WriterOptions options;
  options.page_bytes = 16 << 10;
  options.row_group_bytes = 256 << 10;
  options.dictionary_bytes = 32 << 10;
  auto writer = ParquetWriter::Open(path_, schema, options);
  ASSERT_TRUE(writer.ok());
  for (const auto& batch : batches) ASSERT_TRUE((*writer)->Write(*batch).ok());
  auto summary = (*writer)->Close();
  ASSERT_TRUE(summary.ok());
  ASSERT_GT(summary->row_group_offsets.size(), 3u);

  auto reader = OpenBytes(Slurp(path_));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ASSERT_EQ((*reader)->num_rows(), kRows);
  for (size_t c = 0; c < schema.num_fields(); ++c) {
    EXPECT_EQ((*reader)->columns()[c].name, schema.field(c).name);
    EXPECT_EQ((*reader)->columns()[c].type, schema.field(c).type) << schema.field(c).name;
    EXPECT_EQ((*reader)->columns()[c].nullable, schema.field(c).nullable) << schema.field(c).name;
  }
  int64_t at = 0;
  while (true) {
    auto next = (*reader)->Next(3001, 64 << 20);
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    if (!*next) break;
    const RecordBatch& got = **next;
    for (int64_t r = 0; r < got.num_rows(); ++r, ++at) {
      for (size_t c = 0; c < schema.num_fields(); ++c) {
        const Column& want = batches[at / 5000]->column(c);
        const int64_t w = at % 5000;
        const Column& have = got.column(c);
        SCOPED_TRACE(schema.field(c).name + " row " + std::to_string(at));
        ASSERT_EQ(have.IsNull(r), want.IsNull(w));
        if (want.IsNull(w)) continue;
        switch (schema.field(c).type.layout()) {
          case PhysicalLayout::kBool:
            ASSERT_EQ(have.Bool(r), want.Bool(w));
            break;
          case PhysicalLayout::kInt64:
            ASSERT_EQ(have.Int64(r), want.Int64(w));
            break;
          case PhysicalLayout::kDouble:
            ASSERT_EQ(have.Double(r), want.Double(w));
            break;
          case PhysicalLayout::kVarLen:
            ASSERT_EQ(have.View(r), want.View(w));
            break;
        }
      }
    }
  }
  EXPECT_EQ(at, kRows);
}

TEST_F(ParquetRoundTrip, DamagedFilesAreErrorsThatNameTheFile) {
  Schema schema({{"x", LogicalType::Bigint()}, {"s", LogicalType::Text()}});
  BatchBuilder b(schema);
  for (int64_t r = 0; r < 1000; ++r) {
    b.column(0).AppendInt64(r);
    b.column(1).AppendBytes(std::to_string(r * r));
  }
  auto writer = ParquetWriter::Open(path_, schema);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(*b.Finish()).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  const auto good = Slurp(path_);

  auto not_parquet = OpenBytes(std::make_shared<std::string>("id,name\n1,a\n"));
  ASSERT_FALSE(not_parquet.ok());
  EXPECT_EQ(not_parquet.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(not_parquet.status().message().find("mem.parquet: not a readable Parquet file"), std::string::npos);

  // Every byte of the data pages changed in turn: an error or other values, never a crash
  // (the sanitizers watch); the footer changed: an error or a file that still reads.
  for (size_t at = 4; at < good->size() - 8; at += 7) {
    auto damaged = std::make_shared<std::string>(*good);
    (*damaged)[at] = static_cast<char>((*damaged)[at] ^ 0x5a);
    auto reader = OpenBytes(damaged);
    if (!reader.ok()) {
      EXPECT_EQ(reader.status().code(), StatusCode::kInvalidInput) << reader.status().ToString();
      continue;
    }
    while (true) {
      auto next = (*reader)->Next(100, 1 << 20);
      if (!next.ok()) {
        EXPECT_EQ(next.status().code(), StatusCode::kInvalidInput) << next.status().ToString();
        break;
      }
      if (!*next) break;
    }
  }
}

}  // namespace
}  // namespace nilus::parquet
