#include "nilus/python/rows.h"

#include <gtest/gtest.h>
#include <pybind11/eval.h>

namespace nilus::python {
namespace {

/// Runs `code` and returns its variable `rows` (the GIL held).
py::object Rows(const char* code) {
  py::dict scope;
  py::exec(code, scope);
  return scope["rows"];
}

const FlatColumn* Find(const FlatTable& t, const std::string& key) {
  for (const auto& c : t.columns) {
    if (c.key == key) return &c;
  }
  return nullptr;
}

TEST(RowsToTables, KeepsEachValueWithItsType) {
  ASSERT_TRUE(Start().ok());
  py::gil_scoped_acquire gil;
  py::object rows = Rows(R"(
import datetime, decimal, uuid
rows = [{"a": 1, "s": "x", "when": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
         "n": {"c": [1, 2], "d": 2.5}, "u": uuid.UUID(int=7), "p": decimal.Decimal("1.50"), "big": 2**64},
        {"a": "two", "day": datetime.date(2024, 1, 2), "b": b"\x01"}]
)");
  RowsToTables converter(2);
  ASSERT_TRUE(converter.Add(rows.ptr(), "test").ok());
  EXPECT_EQ(converter.rows(), 2);
  std::vector<FlatTable> tables = converter.Finish();
  ASSERT_EQ(tables.size(), 2u);  // the root and n.c's child table
  const FlatTable& root = tables[0];
  EXPECT_EQ(root.rows, 2);
  const FlatColumn* a = Find(root, "a");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->by_kind[kFlatBigint] && a->by_kind[kFlatText]);  // an int, then a str
  EXPECT_EQ(a->by_kind[kFlatBigint]->Int64(0), 1);
  EXPECT_TRUE(a->by_kind[kFlatBigint]->IsNull(1));
  EXPECT_EQ(a->by_kind[kFlatText]->View(1), "two");
  const FlatColumn* when = Find(root, "when");
  ASSERT_TRUE(when && when->by_kind[kFlatTimestamptz]);
  EXPECT_EQ(when->by_kind[kFlatTimestamptz]->Int64(0), 1704164645000000);
  const FlatColumn* d = Find(root, std::string("n") + FlatTableBuilder::kKeySeparator + "d");
  ASSERT_TRUE(d && d->by_kind[kFlatDouble]);
  EXPECT_EQ(d->by_kind[kFlatDouble]->Double(0), 2.5);
  ASSERT_TRUE(Find(root, "u") && Find(root, "u")->by_kind[kFlatUuid]);
  EXPECT_EQ(Find(root, "p")->by_kind[kFlatDecimal]->View(0), "1.50");
  EXPECT_EQ(Find(root, "big")->by_kind[kFlatDecimal]->View(0), "18446744073709551616");
  EXPECT_EQ(Find(root, "day")->by_kind[kFlatDate]->Int64(1), 19724);
  EXPECT_EQ(Find(root, "b")->by_kind[kFlatBinary]->View(1), "\x01");
  const FlatTable& child = tables[1];
  EXPECT_EQ(child.rows, 2);
  EXPECT_EQ(child.parent_row, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(Find(child, "value")->by_kind[kFlatBigint]->Int64(1), 2);
}

TEST(RowsToTables, NestingBelowTheDepthIsJson) {
  ASSERT_TRUE(Start().ok());
  py::gil_scoped_acquire gil;
  py::object rows = Rows(R"(rows = {"n": {"c": [1, None, {"k": float("nan")}]}, "t": (1, "a")})");
  RowsToTables converter(0);
  ASSERT_TRUE(converter.Add(rows.ptr(), "test").ok());
  std::vector<FlatTable> tables = converter.Finish();
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(Find(tables[0], "n")->by_kind[kFlatJson]->View(0), R"({"c":[1,null,{"k":null}]})");
  EXPECT_EQ(Find(tables[0], "t")->by_kind[kFlatJson]->View(0), R"([1,"a"])");
}

TEST(RowsToTables, RefusesWhatItCannotLoad) {
  ASSERT_TRUE(Start().ok());
  py::gil_scoped_acquire gil;
  RowsToTables converter(0);
  Status st = converter.Add(Rows("rows = [{'ok': 1}, {'x': object()}]").ptr(), "things");
  EXPECT_EQ(st.code(), StatusCode::kInvalidInput);
  EXPECT_NE(st.message().find("resource things: field 'x'"), std::string::npos) << st.message();
  EXPECT_EQ(converter.rows(), 0);  // the batch started over
  st = converter.Add(Rows("rows = 42").ptr(), "things");
  EXPECT_NE(st.message().find("yielded a int"), std::string::npos) << st.message();
}

TEST(BatchToPython, GivesPythonValues) {
  ASSERT_TRUE(Start().ok());
  py::gil_scoped_acquire gil;
  BatchBuilder b(
      Schema({{"d", LogicalType::Decimal()}, {"t", LogicalType::TimestampTz()}, {"j", LogicalType::Json()}}));
  b.column(0).AppendBytes("-1.25");
  b.column(1).AppendInt64(-1);
  b.column(2).AppendBytes(R"({"a":[1]})");
  auto rows = BatchToPython(*b.Finish());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  py::dict scope;
  scope["rows"] = *rows;
  py::exec("r = rows[0]; out = [repr(r['d']), r['t'].isoformat(), r['j']['a'][0]]", scope);
  EXPECT_EQ(py::str(scope["out"]).cast<std::string>(), "[\"Decimal('-1.25')\", '1969-12-31T23:59:59.999999+00:00', 1]");
}

}  // namespace
}  // namespace nilus::python
