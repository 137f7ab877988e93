#include "nilus/core/options.h"

#include <gtest/gtest.h>

namespace nilus {

namespace {
RawOption Opt(std::string name, std::string value) { return {std::move(name), std::move(value), "test.yaml:1:1"}; }
}  // namespace

TEST(SourceOptions, ParsesEveryKind) {
  RawOption hints{"type-hints", RawOption::Map{{"id", "bigint"}, {"price", "decimal(10,2)"}}, "test.yaml:3:5"};
  auto o = ParseSourceOptions({Opt("source-table", "public.orders"), Opt("primary-key", "a, b"),
                               Opt("page-size", "1000"), Opt("sql-reflection-level", "FAST"), hints,
                               Opt("include.schema.changes", "true"), Opt("table.include.list", "public\\.a.*,b")});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->table, "public.orders");
  EXPECT_EQ(o->primary_key, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(o->page_size, 1000);
  EXPECT_EQ(o->sql_reflection_level, "fast");
  ASSERT_EQ(o->type_hints.size(), 2u);
  EXPECT_EQ(o->type_hints[1].second, LogicalType::Decimal(10, 2));
  EXPECT_EQ(o->cdc.at("include.schema.changes"), "true");
  EXPECT_EQ(o->cdc.at("table.include.list"), "public\\.a.*,b");
}

TEST(SourceOptions, BadValuesSayWhereWhatAndWhatIsAllowed) {
  auto st = ParseSourceOptions({Opt("page-size", "-5")}).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidInput);
  EXPECT_NE(st.message().find("test.yaml:1:1"), std::string::npos);
  EXPECT_NE(st.message().find("'-5'"), std::string::npos);
  EXPECT_NE(st.message().find("at least 1"), std::string::npos);

  st = ParseSourceOptions({Opt("snapshot.mode", "initail")}).status();
  EXPECT_NE(st.message().find("did you mean 'initial'"), std::string::npos) << st.message();
  st = ParseSourceOptions({Opt("interval-start", "yesterday"), Opt("incremental-key", "k")}).status();
  EXPECT_NE(st.message().find("ISO-8601"), std::string::npos);
  st = ParseSourceOptions({Opt("interval-start", "2024-01-01")}).status();
  EXPECT_NE(st.message().find("no incremental-key"), std::string::npos);
  st = ParseSourceOptions({Opt("column.exclude.list", "a(b")}).status();
  EXPECT_NE(st.message().find("not a valid regular expression"), std::string::npos);
  st = ParseSourceOptions({Opt("type-hints", "id:integr")}).status();
  EXPECT_NE(st.message().find("column 'id'"), std::string::npos);
}

TEST(SinkOptions, RequiresTableAndStrategyAndKeyForMerge) {
  EXPECT_NE(ParseSinkOptions({Opt("incremental-strategy", "append")}, "sink", {}, false)
                .status()
                .message()
                .find("dest-table"),
            std::string::npos);
  EXPECT_NE(
      ParseSinkOptions({Opt("dest-table", "a.b")}, "sink", {}, false).status().message().find("incremental-strategy"),
      std::string::npos);
  auto st = ParseSinkOptions({Opt("dest-table", "orders"), Opt("incremental-strategy", "append")}, "sink", {}, false);
  EXPECT_NE(st.status().message().find("must be schema.table"), std::string::npos);
  st = ParseSinkOptions({Opt("dest-table", "a.b"), Opt("incremental-strategy", "merge")}, "sink", {}, false);
  EXPECT_NE(st.status().message().find("needs a primary key"), std::string::npos);
  // A source that reads the key from its catalog needs none given.
  EXPECT_TRUE(
      ParseSinkOptions({Opt("dest-table", "a.b"), Opt("incremental-strategy", "merge")}, "sink", {}, true).ok());
  // The source's primary-key serves the sink.
  auto ok = ParseSinkOptions({Opt("dest-table", "a.b"), Opt("incremental-strategy", "merge")}, "sink", {"id"}, false);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->strategy, WriteDisposition::kMerge);
  EXPECT_EQ(ok->primary_key, (std::vector<std::string>{"id"}));
}

}  // namespace nilus
