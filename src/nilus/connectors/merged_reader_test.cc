#include "nilus/connectors/merged_reader.h"

#include <gtest/gtest.h>

#include <set>

namespace nilus {

namespace {

/// A part that yields `batches` batches of one row each (its id * 1000 + the batch's number),
/// then fails when `fail` says so.
class Part final : public BatchReader {
 public:
  Part(int id, int batches, bool fail = false) : id_(id), batches_(batches), fail_(fail) {}
  Result<std::shared_ptr<const RecordBatch>> Next() override {
    if (next_ == batches_) {
      if (fail_) return Status::IOError("part {} broke", id_);
      return std::shared_ptr<const RecordBatch>();
    }
    BatchBuilder b(Schema({{"v", LogicalType::Bigint()}}));
    b.column(0).AppendInt64(id_ * 1000 + next_++);
    return b.Finish();
  }

 private:
  int id_, batches_;
  bool fail_;
  int next_ = 0;
};

std::vector<std::unique_ptr<BatchReader>> Parts(std::initializer_list<std::pair<int, bool>> sizes) {
  std::vector<std::unique_ptr<BatchReader>> out;
  int id = 0;
  for (auto [batches, fail] : sizes) out.push_back(std::make_unique<Part>(++id, batches, fail));
  return out;
}

}  // namespace

TEST(MergedReader, YieldsEveryBatchOfEveryPartOnce) {
  MergedReader reader(Parts({{50, false}, {0, false}, {120, false}}), nullptr);
  std::multiset<int64_t> seen;
  while (true) {
    auto next = reader.Next();
    ASSERT_TRUE(next.ok());
    if (!*next) break;
    seen.insert((*next)->column(0).Int64(0));
  }
  ASSERT_EQ(seen.size(), 170u);
  EXPECT_EQ(seen.count(1049), 1u);
  EXPECT_EQ(seen.count(3119), 1u);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 170u);
}

TEST(MergedReader, AFailingPartFailsTheRead) {
  MergedReader reader(Parts({{1000, false}, {3, true}}), nullptr);
  Status failure;
  while (true) {
    auto next = reader.Next();
    if (!next.ok()) {
      failure = next.status();
      break;
    }
    ASSERT_TRUE(*next) << "the read ended without the failure";
  }
  EXPECT_EQ(failure.code(), StatusCode::kIOError);
  EXPECT_NE(failure.message().find("part 2 broke"), std::string::npos);
}

TEST(MergedReader, ClosesWhileItsPartsStillHaveData) {
  auto keep_alive = std::make_shared<int>(1);
  {
    MergedReader reader(Parts({{100000, false}, {100000, false}}), keep_alive);
    ASSERT_TRUE(reader.Next().ok());
    EXPECT_EQ(keep_alive.use_count(), 2);
  }  // the parts are blocked on a full queue: destruction must wake and join them
  EXPECT_EQ(keep_alive.use_count(), 1);
}

}  // namespace nilus
