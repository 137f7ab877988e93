#include "nilus/normalize/documents.h"

#include <gtest/gtest.h>

namespace nilus {

namespace {

/// The values of column `key` of `table`, rendered, with their JSON kind's type: "bigint:1".
std::vector<std::string> Cells(const FlatTable& table, const std::string& key) {
  auto it = table.column_index.find(key);
  if (it == table.column_index.end()) return {"no column " + key};
  const FlatColumn& c = table.columns[it->second];
  std::vector<std::string> out;
  for (int64_t r = 0; r < table.rows; ++r) {
    std::string cell = "NULL";
    for (const auto& values : c.by_kind) {
      if (values && !values->IsNull(r)) cell = values->type().ToString() + ":" + ValueToString(*values, r);
    }
    out.push_back(cell);
  }
  return out;
}

std::vector<FlatTable> Flatten(int nesting, std::initializer_list<std::string> documents) {
  DocumentFlattener f(nesting);
  int line = 0;
  for (const auto& d : documents) {
    Status st = f.Add(d, "test:" + std::to_string(++line));
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  return f.Finish();
}

}  // namespace

TEST(DocumentFlattener, KeepsKindsAndKeyOrder) {
  auto tables = Flatten(0, {R"({"id": 1, "name": "a", "ok": true, "score": 2.5})", R"({"id": 2, "extra": null})"});
  ASSERT_EQ(tables.size(), 1u);
  const FlatTable& t = tables[0];
  EXPECT_EQ(t.rows, 2);
  ASSERT_EQ(t.columns.size(), 4u);  // a key that is only ever null gives no column
  EXPECT_EQ(t.columns[0].key, "id");
  EXPECT_EQ(t.columns[3].key, "score");
  EXPECT_EQ(Cells(t, "id"), (std::vector<std::string>{"bigint:1", "bigint:2"}));
  EXPECT_EQ(Cells(t, "name"), (std::vector<std::string>{"text:a", "NULL"}));
  EXPECT_EQ(Cells(t, "ok"), (std::vector<std::string>{"bool:true", "NULL"}));
  EXPECT_EQ(Cells(t, "score"), (std::vector<std::string>{"double:2.5", "NULL"}));
  EXPECT_EQ(Cells(t, "extra"), (std::vector<std::string>{"no column extra"}));
}

TEST(DocumentFlattener, NumbersKeepTheirExactValue) {
  auto tables = Flatten(0, {R"({"n": 12345678901234567890, "f": 0.12345678901234567891, "e": 1e3, "m": -7})"});
  const FlatTable& t = tables[0];
  EXPECT_EQ(Cells(t, "n"), (std::vector<std::string>{"decimal:12345678901234567890"}));
  EXPECT_EQ(Cells(t, "f"), (std::vector<std::string>{"decimal:0.12345678901234567891"}));
  EXPECT_EQ(Cells(t, "e"), (std::vector<std::string>{"double:1000"}));
  EXPECT_EQ(Cells(t, "m"), (std::vector<std::string>{"bigint:-7"}));
}

TEST(DocumentFlattener, NestingZeroKeepsNestedValuesAsJson) {
  auto tables = Flatten(0, {R"({"user": {"name": "a", "langs": ["c", "go"]}, "tags": [], "s": "x\"y\u00e9"})"});
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(Cells(tables[0], "user"), (std::vector<std::string>{R"(json:{"name":"a","langs":["c","go"]})"}));
  EXPECT_EQ(Cells(tables[0], "tags"), (std::vector<std::string>{"json:[]"}));
  EXPECT_EQ(Cells(tables[0], "s"), (std::vector<std::string>{"text:x\"y\xc3\xa9"}));
}

TEST(DocumentFlattener, ObjectsBecomeColumnsAndArraysChildTables) {
  auto tables = Flatten(1, {R"({"id": 1, "user": {"name": "a", "address": {"city": "x"}},
                               "items": [{"sku": "A", "tags": ["t"]}, {"sku": "B"}], "codes": [7, 8]})",
                            R"({"id": 2, "items": []})"});
  ASSERT_EQ(tables.size(), 3u);
  const FlatTable& root = tables[0];
  EXPECT_EQ(Cells(root, "user\x1fname"), (std::vector<std::string>{"text:a", "NULL"}));
  // depth 2 > 1: kept as json
  EXPECT_EQ(Cells(root,
                  "user\x1f"
                  "address"),
            (std::vector<std::string>{R"(json:{"city":"x"})", "NULL"}));
  EXPECT_EQ(root.column_index.count("items"), 0u);

  const FlatTable& items = tables[1];
  EXPECT_EQ(items.key, "items");
  EXPECT_EQ(items.parent, 0u);
  EXPECT_EQ(items.rows, 2);
  EXPECT_EQ(items.parent_row, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(items.list_index, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(Cells(items, "sku"), (std::vector<std::string>{"text:A", "text:B"}));
  EXPECT_EQ(Cells(items, "tags"), (std::vector<std::string>{R"(json:["t"])", "NULL"}));

  const FlatTable& codes = tables[2];
  EXPECT_EQ(codes.key, "codes");
  EXPECT_EQ(Cells(codes, "value"), (std::vector<std::string>{"bigint:7", "bigint:8"}));
}

TEST(DocumentFlattener, DeeperNestingMakesGrandchildTables) {
  auto tables = Flatten(2, {R"({"a": {"list": [{"tags": ["x"]}]}, "orders": [{"tags": ["x", "y"]}],
                               "m": [[1, 2], [3]]})"});
  ASSERT_EQ(tables.size(), 6u);
  // a (depth 1) > list (2) > the fields of its items (3): tags stays json.
  EXPECT_EQ(tables[1].key, "a\x1flist");
  EXPECT_EQ(tables[1].path, (std::vector<std::string>{"a", "list"}));
  EXPECT_EQ(Cells(tables[1], "tags"), (std::vector<std::string>{R"(json:["x"])"}));
  // orders (1) > the fields of its items (2): tags is a grandchild table.
  EXPECT_EQ(tables[3].key, "orders\x1ftags");
  EXPECT_EQ(tables[3].parent, 2u);
  EXPECT_EQ(tables[3].root_row, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(Cells(tables[3], "value"), (std::vector<std::string>{"text:x", "text:y"}));
  // An array of arrays: the inner arrays are the `value` of each row, unnested one level down.
  EXPECT_EQ(tables[4].key, "m");
  EXPECT_EQ(tables[4].rows, 2);
  EXPECT_EQ(tables[5].key, "m\x1fvalue");
  EXPECT_EQ(Cells(tables[5], "value"), (std::vector<std::string>{"bigint:1", "bigint:2", "bigint:3"}));
  EXPECT_EQ(tables[5].parent_row, (std::vector<int64_t>{0, 0, 1}));
}

TEST(DocumentFlattener, BadDocumentsNameTheirOrigin) {
  DocumentFlattener f(0);
  Status st = f.Add(R"({"a": 1)", "in.jsonl:3");
  EXPECT_EQ(st.code(), StatusCode::kInvalidInput);
  EXPECT_NE(st.message().find("in.jsonl:3"), std::string::npos) << st.message();
  EXPECT_NE(f.Add("[1, 2]", "in.jsonl:4").message().find("must be a JSON object"), std::string::npos);
  EXPECT_FALSE(f.Add(R"({"a": tru})", "x").ok());
  EXPECT_FALSE(f.Add(R"({"a": 01})", "x").ok());
  EXPECT_FALSE(f.Add(R"({"a": {"b": [1, }})", "x").ok());
  EXPECT_FALSE(f.Add("{\"a\": \"\xff\"}", "x").ok());  // not UTF-8
  EXPECT_FALSE(f.Add(R"({"a": 1} {"b": 2})", "x").ok());
}

TEST(DocumentFlattener, AKeyGivenTwiceKeepsItsFirstValue) {
  auto tables = Flatten(0, {R"({"a": 1, "a": 2})", R"({"a": 3})"});
  EXPECT_EQ(Cells(tables[0], "a"), (std::vector<std::string>{"bigint:1", "bigint:3"}));
}

}  // namespace nilus

namespace nilus {

TEST(DocumentFlattener, AFailedDocumentLeavesNothingHalfAdded) {
  DocumentFlattener f(1);
  ASSERT_TRUE(f.Add(R"({"id": 1, "items": [{"a": 1}]})", "x:1").ok());
  // fails inside an array, after rows of the child table were started
  EXPECT_FALSE(f.Add(R"({"id": 11, "":[{"b": [1, 2069D98})", "x:2").ok());
  ASSERT_TRUE(f.Add(R"({"id": 3, "items": [{"a": 2}]})", "x:3").ok());
  auto tables = f.Finish();
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0].rows, 1);
  EXPECT_EQ(tables[1].rows, 1);
  EXPECT_EQ(tables[1].parent_row, (std::vector<int64_t>{0}));
}

}  // namespace nilus

namespace nilus {

TEST(DocumentFlattener, EmptyKeysAreKeysLikeAnyOther) {
  auto tables = Flatten(2, {R"({"": [{"": 1}], "a": {"": 2}, "b": {"": {"": 3}}})"});
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[1].key, "");
  EXPECT_EQ(Cells(tables[1], ""), (std::vector<std::string>{"bigint:1"}));
  EXPECT_EQ(Cells(tables[0], "a\x1f"), (std::vector<std::string>{"bigint:2"}));
  EXPECT_EQ(Cells(tables[0], "b\x1f\x1f"), (std::vector<std::string>{"bigint:3"}));
}

}  // namespace nilus
