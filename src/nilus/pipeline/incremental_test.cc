#include "nilus/pipeline/incremental.h"

#include <gtest/gtest.h>

namespace nilus {

namespace {

/// Keys (column k) and a payload column (v) told apart by their values.
std::shared_ptr<const RecordBatch> Rows(std::initializer_list<std::pair<int64_t, std::string>> rows) {
  BatchBuilder b(Schema({{"k", LogicalType::Bigint()}, {"v", LogicalType::Text()}}));
  for (const auto& [k, v] : rows) {
    b.column(0).AppendInt64(k);
    b.column(1).AppendBytes(v);
  }
  return b.Finish();
}

std::vector<int64_t> KeepAll(IncrementalCursor& cursor, const RecordBatch& batch, int64_t limit = -1) {
  auto kept = cursor.Keep(batch, batch, limit);
  EXPECT_TRUE(kept.ok()) << kept.status().ToString();
  return kept.ok() ? *kept : std::vector<int64_t>{};
}

SourceOptions KeyK() {
  SourceOptions o;
  o.incremental_key = "k";
  return o;
}

}  // namespace

TEST(IncrementalCursor, KeepsRowsFromTheSavedCursorOnAndTracksTheMaximum) {
  IncrementalCursor first(KeyK(), {});
  EXPECT_EQ(KeepAll(first, *Rows({{3, "a"}, {5, "b"}, {5, "c"}})), (std::vector<int64_t>{0, 1, 2}));
  nlohmann::json saved = first.ToState();
  EXPECT_EQ(saved["value"], "5");
  EXPECT_EQ(saved["at_value"].size(), 2u);

  // The next run reads from 5 on: the two rows loaded with 5 are known, a new one with 5 is not.
  IncrementalCursor next(KeyK(), saved);
  EXPECT_EQ(next.SavedValue(), "5");
  EXPECT_EQ(next.SavedRowsAtValue(), 2);
  EXPECT_EQ(KeepAll(next, *Rows({{3, "a"}, {5, "b"}, {5, "d"}, {5, "c"}, {6, "e"}})), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(next.ToState()["value"], "6");
  EXPECT_EQ(next.ToState()["at_value"].size(), 1u);
}

TEST(IncrementalCursor, RowsArrivingLaterWithTheLastValueJoinItsRecord) {
  IncrementalCursor first(KeyK(), {});
  KeepAll(first, *Rows({{7, "a"}}));
  IncrementalCursor second(KeyK(), first.ToState());
  EXPECT_EQ(KeepAll(second, *Rows({{7, "a"}, {7, "b"}})), (std::vector<int64_t>{1}));
  // Nothing greater came: the record now holds both rows with 7.
  IncrementalCursor third(KeyK(), second.ToState());
  EXPECT_EQ(third.SavedRowsAtValue(), 2);
  EXPECT_TRUE(KeepAll(third, *Rows({{7, "b"}, {7, "a"}})).empty());
}

TEST(IncrementalCursor, IdenticalRowsAreCounted) {
  IncrementalCursor first(KeyK(), {});
  KeepAll(first, *Rows({{1, "same"}, {1, "same"}}));
  EXPECT_EQ(first.ToState()["at_value"].begin().value(), 2);
  // A third identical row arrives later: it is new.
  IncrementalCursor second(KeyK(), first.ToState());
  EXPECT_EQ(KeepAll(second, *Rows({{1, "same"}, {1, "same"}, {1, "same"}})), (std::vector<int64_t>{2}));
}

TEST(IncrementalCursor, LimitCutsTheRowsKept) {
  IncrementalCursor cursor(KeyK(), {});
  EXPECT_EQ(KeepAll(cursor, *Rows({{1, "a"}, {2, "b"}, {2, "c"}, {3, "d"}}), 3), (std::vector<int64_t>{0, 1, 2}));
  nlohmann::json saved = cursor.ToState();
  EXPECT_EQ(saved["value"], "2");
  IncrementalCursor next(KeyK(), saved);
  EXPECT_EQ(KeepAll(next, *Rows({{2, "b"}, {2, "c"}, {3, "d"}}), 3), (std::vector<int64_t>{2}));
}

TEST(IncrementalCursor, CursorsOfOlderVersionsStayExclusive) {
  IncrementalCursor cursor(KeyK(), {{"key", "k"}, {"type", "bigint"}, {"value", "5"}});
  EXPECT_EQ(KeepAll(cursor, *Rows({{5, "a"}, {6, "b"}})), (std::vector<int64_t>{1}));
}

TEST(IncrementalCursor, IntervalIsABackfillThatKeepsTheCursor) {
  SourceOptions o = KeyK();
  o.interval_start = "2";
  o.interval_end = "4";
  nlohmann::json saved = {{"key", "k"}, {"type", "bigint"}, {"value", "100"}, {"at_value", nlohmann::json::object()}};
  IncrementalCursor cursor(o, saved);
  EXPECT_EQ(KeepAll(cursor, *Rows({{1, "a"}, {2, "b"}, {3, "c"}, {4, "d"}})), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(cursor.ToState(), saved);
}

TEST(IncrementalCursor, ARowWithoutAKeyIsAnError) {
  BatchBuilder b(Schema({{"k", LogicalType::Bigint()}}));
  b.column(0).AppendNull();
  auto batch = b.Finish();
  IncrementalCursor cursor(KeyK(), {});
  auto kept = cursor.Keep(*batch, *batch, -1);
  EXPECT_EQ(kept.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(kept.status().message().find("no value for incremental-key 'k'"), std::string::npos);
}

TEST(IncrementalCursor, RefusesAKeyWhoseTypeChanged) {
  IncrementalCursor cursor(KeyK(), {{"key", "k"}, {"type", "text"}, {"value", "x"}, {"at_value", {}}});
  auto batch = Rows({{1, "a"}});
  EXPECT_EQ(cursor.Keep(*batch, *batch, -1).status().code(), StatusCode::kFailedPrecondition);
}

TEST(RowHash, IgnoresNullsAndColumnOrder) {
  BatchBuilder a(Schema({{"x", LogicalType::Bigint()}, {"y", LogicalType::Text()}, {"z", LogicalType::Text()}}));
  a.column(0).AppendInt64(1);
  a.column(1).AppendBytes("q");
  a.column(2).AppendNull();
  BatchBuilder b(Schema({{"y", LogicalType::Text()}, {"x", LogicalType::Bigint()}}));
  b.column(0).AppendBytes("q");
  b.column(1).AppendInt64(1);
  EXPECT_EQ(RowHash(*a.Finish(), 0), RowHash(*b.Finish(), 0));
}

TEST(CompareValues, DecimalsCompareByValue) {
  Column c(LogicalType::Decimal());
  for (const char* v : {"10.5", "9.75", "-2", "-10", "10.50"}) c.AppendBytes(v);
  EXPECT_GT(CompareValues(c, 0, c, 1), 0);
  EXPECT_GT(CompareValues(c, 2, c, 3), 0);
  EXPECT_EQ(CompareValues(c, 0, c, 4), 0);
}

}  // namespace nilus
