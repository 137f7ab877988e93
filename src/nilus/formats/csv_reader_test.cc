#include "nilus/formats/csv_reader.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace nilus {

namespace {

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/nilus-csv-XXXXXX";
    int fd = mkstemp(name);
    close(fd);
    path = name;
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

std::vector<std::vector<std::string>> ReadAll(const std::string& content, CsvDialect d = {}, Status* error = nullptr) {
  TempFile f(content);
  auto in = OpenInputStream(f.path);
  EXPECT_TRUE(in.ok());
  CsvReader reader(in.MoveValue(), "t.csv", d);
  CsvRecord rec;
  std::vector<std::vector<std::string>> out;
  while (true) {
    auto more = reader.Next(&rec);
    if (!more.ok()) {
      if (error) *error = more.status();
      break;
    }
    if (!*more) break;
    out.emplace_back(rec.fields.begin(), rec.fields.end());
  }
  return out;
}

}  // namespace

TEST(CsvReader, QuotedFieldsHoldDelimitersQuotesAndNewlines) {
  auto rows = ReadAll("a,b\r\n1,\"x, \"\"y\"\"\nz\"\n\n2,\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "x, \"y\"\nz"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"2", ""}));
}

TEST(CsvReader, LastLineWithoutNewlineAndOtherDelimiters) {
  CsvDialect d;
  d.delimiter = ';';
  auto rows = ReadAll("a;b\n1;2", d);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "2"}));
}

TEST(CsvReader, TellsQuotedEmptyFromNull) {
  TempFile f("a,b,c\n,\"\",NA\n");
  CsvDialect d;
  CsvReader reader(OpenInputStream(f.path).MoveValue(), f.path, d);
  CsvRecord rec;
  ASSERT_TRUE(*reader.Next(&rec));
  ASSERT_TRUE(*reader.Next(&rec));
  EXPECT_TRUE(rec.IsNull(0, d));
  EXPECT_FALSE(rec.IsNull(1, d));
  EXPECT_FALSE(rec.IsNull(2, d));
  d.null_string = "NA";
  EXPECT_TRUE(rec.IsNull(2, d));
  EXPECT_EQ(rec.line, 2);
}

TEST(CsvReader, ErrorsNameTheLine) {
  Status st;
  ReadAll("a,b\n1,2\n3,\"open\n4,5\n", {}, &st);
  EXPECT_EQ(st.code(), StatusCode::kInvalidInput);
  EXPECT_NE(st.message().find("opened on line 3"), std::string::npos) << st.message();
  ReadAll("a\n\xff\n", {}, &st);
  EXPECT_NE(st.message().find("t.csv:2: invalid UTF-8"), std::string::npos) << st.message();
  ReadAll("a,b\n\"x\"y,2\n", {}, &st);
  EXPECT_NE(st.message().find("after a closing quote"), std::string::npos) << st.message();
}

TEST(CsvReader, RecordsLongerThanTheReadBuffer) {
  std::string big(3 << 20, 'x');
  auto rows = ReadAll("a,b\n\"" + big + "\"," + big + "\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][0].size(), big.size());
  EXPECT_EQ(rows[1][1], big);
}

TEST(CsvReader, AQuotedEmptyLastFieldIsNotNull) {
  for (const char* content : {"a,b\n1,\"\"", "a,b\n1,\"\"\n", "a,b\r\n1,\"\"\r\n"}) {
    TempFile f(content);
    auto in = OpenInputStream(f.path);
    ASSERT_TRUE(in.ok());
    CsvReader reader(in.MoveValue(), "t.csv", {});
    CsvRecord rec;
    ASSERT_TRUE(*reader.Next(&rec));
    ASSERT_TRUE(*reader.Next(&rec));
    ASSERT_EQ(rec.fields.size(), 2u) << content;
    EXPECT_EQ(rec.fields[1], "");
    EXPECT_FALSE(rec.IsNull(1, {})) << content;
  }
}

}  // namespace nilus
