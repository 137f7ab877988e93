// The Avro container writer, checked by a reader we did not write: Debian's python3-avro
// (tests/tools/avro_read.py) reads each file back; our own reader must agree. test_formats.sh
// runs it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "command_output.h"
#include "nilus/formats/avro/avro_reader.h"
#include "nilus/formats/avro/avro_writer.h"

namespace nilus::avro {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json ReadBack(const std::string& path) {
  const char* script = std::getenv("NILUS_AVRO_READ");
  if (!script) ADD_FAILURE() << "NILUS_AVRO_READ is not set: run tests/integration/test_formats.sh";
  std::string out =
      CommandOutput(std::string("/usr/bin/python3 -W ignore ") + (script ? script : "missing") + " '" + path + "'");
  json parsed = json::parse(out, nullptr, false);
  if (parsed.is_discarded()) ADD_FAILURE() << out.substr(0, 2000);
  return parsed;
}

// A record shaped like an Iceberg manifest entry: nested records, optional values (unions),
// a map as an array of key/value records, a map, bytes, fixed, booleans and doubles.
constexpr char kSchema[] = R"({"type": "record", "name": "manifest_entry", "fields": [
  {"name": "status", "type": "int", "field-id": 0},
  {"name": "snapshot_id", "type": ["null", "long"], "default": null, "field-id": 1},
  {"name": "data_file", "field-id": 2, "type": {"type": "record", "name": "r2", "fields": [
    {"name": "file_path", "type": "string", "field-id": 100},
    {"name": "record_count", "type": "long", "field-id": 103},
    {"name": "column_sizes", "default": null, "field-id": 108, "type": ["null", {"type": "array",
      "logicalType": "map", "items": {"type": "record", "name": "k117_v118", "fields": [
        {"name": "key", "type": "int", "field-id": 117}, {"name": "value", "type": "long", "field-id": 118}]}}]},
    {"name": "properties", "type": {"type": "map", "values": "bytes"}},
    {"name": "key_metadata", "type": ["null", "bytes"], "default": null},
    {"name": "flag", "type": "boolean"},
    {"name": "ratio", "type": "double"},
    {"name": "id", "type": {"type": "fixed", "name": "f16", "size": 16}}]}}]})";

struct Entry {
  int status;
  std::optional<int64_t> snapshot;
  std::string path;
  int64_t count;
  std::vector<std::pair<int, int64_t>> sizes;
  bool has_sizes;
  std::vector<std::pair<std::string, std::string>> properties;
  std::optional<std::string> key;
  bool flag;
  double ratio;
  std::string id;
};

std::string Encode(const Entry& x) {
  std::string out;
  Encoder e(out);
  e.Int(x.status);
  if (x.snapshot) {
    e.Union(1);
    e.Long(*x.snapshot);
  } else {
    e.Union(0);
  }
  e.String(x.path);
  e.Long(x.count);
  if (x.has_sizes) {
    e.Union(1);
    e.BeginBlock(static_cast<int64_t>(x.sizes.size()));
    for (const auto& [k, v] : x.sizes) {
      e.Int(k);
      e.Long(v);
    }
    e.EndBlocks();
  } else {
    e.Union(0);
  }
  e.BeginBlock(static_cast<int64_t>(x.properties.size()));
  for (const auto& [k, v] : x.properties) {
    e.String(k);
    e.Bytes(v);
  }
  e.EndBlocks();
  if (x.key) {
    e.Union(1);
    e.Bytes(*x.key);
  } else {
    e.Union(0);
  }
  e.Bool(x.flag);
  e.Double(x.ratio);
  e.Fixed(x.id);
  return out;
}

std::string Hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

json Expected(const Entry& x) {
  json sizes = nullptr;
  if (x.has_sizes) {
    sizes = json::array();
    for (const auto& [k, v] : x.sizes) sizes.push_back({{"key", k}, {"value", v}});
  }
  json props = json::object();
  for (const auto& [k, v] : x.properties) props[k] = Hex(v);
  return {{"status", x.status},
          {"snapshot_id", x.snapshot ? json(*x.snapshot) : json(nullptr)},
          {"data_file",
           {{"file_path", x.path},
            {"record_count", x.count},
            {"column_sizes", sizes},
            {"properties", props},
            {"key_metadata", x.key ? json(Hex(*x.key)) : json(nullptr)},
            {"flag", x.flag},
            {"ratio", x.ratio},
            {"id", Hex(x.id)}}}};
}

class AvroTest : public ::testing::TestWithParam<Codec> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nilus_avro_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_P(AvroTest, RecordsAndMetadataReadBackInManyBlocks) {
  std::string path = (dir_ / "entries.avro").string();
  auto w = FileWriter::Open(path, kSchema, {{"format-version", "2"}, {"content", "data"}}, GetParam());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::vector<Entry> entries = {
      {1,
       9223372036854775807LL,
       "s3://bucket/ä/data.parquet",
       0,
       {{1, -1}, {200, 1LL << 40}},
       true,
       {{"k", std::string("\0\x01\xff", 3)}},
       std::string("\x7f", 1),
       true,
       -0.25,
       std::string(16, '\xab')},
      {0,
       std::nullopt,
       "",
       -9223372036854775807LL - 1,
       {},
       false,
       {},
       std::nullopt,
       false,
       1e300,
       std::string(16, '\0')},
      {2, -1, "x", 42, {}, true, {}, std::string(), false, 0, "0123456789abcdef"},
  };
  // Enough records for several blocks of a megabyte.
  for (int i = 0; i < 30000; ++i) {
    entries.push_back({i % 3,
                       i,
                       fmt::format("data/{:08d}-{}.parquet", i, std::string(40, 'p')),
                       i * 1000LL,
                       {{i, i * 7LL}},
                       true,
                       {{"n", std::to_string(i)}},
                       std::nullopt,
                       i % 2 == 0,
                       i / 3.0,
                       std::string(16, static_cast<char>(i))});
  }
  for (const auto& x : entries) ASSERT_TRUE((*w)->Append(Encode(x)).ok());
  auto size = (*w)->Close();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, static_cast<int64_t>(fs::file_size(path)));

  // Our own reader (what the lakehouse reads manifest lists with) agrees, bytes as raw strings.
  auto ours = ReadFile(path);
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  ASSERT_EQ(ours->records.size(), entries.size());
  EXPECT_EQ(ours->metadata["format-version"], "2");
  EXPECT_EQ(ours->records[0]["data_file"]["column_sizes"][1], json({{"key", 200}, {"value", 1LL << 40}}));
  EXPECT_EQ(ours->records[0]["data_file"]["properties"]["k"], std::string("\0\x01\xff", 3));
  EXPECT_EQ(ours->records[1]["snapshot_id"], nullptr);
  EXPECT_EQ(ours->records[1]["data_file"]["record_count"], -9223372036854775807LL - 1);
  EXPECT_EQ(ours->records.back()["data_file"]["file_path"], entries.back().path);

  json got = ReadBack(path);
  EXPECT_EQ(got["codec"], GetParam() == Codec::kDeflate ? "deflate" : "null");
  EXPECT_EQ(got["meta"], json({{"format-version", "2"}, {"content", "data"}}));
  ASSERT_EQ(got["records"].size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    ASSERT_EQ(got["records"][i], Expected(entries[i])) << "record " << i;
  }
}

// What the lakehouse merges manifests with: a record decoded by our reader, encoded again from
// its JSON along the schema, is the same bytes.
TEST_P(AvroTest, DecodedRecordsEncodeToTheSameBytes) {
  std::string path = (dir_ / "again.avro").string();
  auto w = FileWriter::Open(path, kSchema, {}, GetParam());
  ASSERT_TRUE(w.ok());
  const std::vector<Entry> entries = {
      {1,
       5,
       "a",
       1,
       {{1, -1}, {200, 1LL << 40}},
       true,
       {{"k", std::string("\0\xff", 2)}},
       std::string("\x7f", 1),
       true,
       -0.25,
       std::string(16, '\xab')},
      {0, std::nullopt, "", -1, {}, false, {}, std::nullopt, false, 1e300, std::string(16, '\0')}};
  for (const auto& x : entries) ASSERT_TRUE((*w)->Append(Encode(x)).ok());
  ASSERT_TRUE((*w)->Close().ok());
  auto decoded = ReadFile(path);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const json schema = json::parse(kSchema);
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string again;
    std::map<std::string, json> names;
    ASSERT_TRUE(EncodeJson(schema, decoded->records[i], again, names).ok());
    EXPECT_EQ(Hex(again), Hex(Encode(entries[i]))) << "record " << i;
  }
  std::string out;
  std::map<std::string, json> names;
  EXPECT_FALSE(EncodeJson(schema, json{{"status", "one"}}, out, names).ok()) << "a string is not an int";
}

TEST_P(AvroTest, AnEmptyFileHasItsHeader) {
  std::string path = (dir_ / "empty.avro").string();
  auto w = FileWriter::Open(path, kSchema, {}, GetParam());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(ReadBack(path)["records"], json::array());
}

INSTANTIATE_TEST_SUITE_P(Codecs, AvroTest, ::testing::Values(Codec::kDeflate, Codec::kNull));

}  // namespace
}  // namespace nilus::avro
