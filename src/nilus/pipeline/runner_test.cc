#include "nilus/pipeline/runner.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "nilus/connectors/sqlite/sqlite_connector.h"

namespace nilus {

namespace {

/// What the test source does, shared with the test.
struct Script {
  int batches = 3;  // batches of `rows` rows, ids 1, 2, 3 … across them
  int rows = 10;
  int fail_after = -1;  // fail once this many batches were read (-1: never)
  StatusCode failure = StatusCode::kIOError;
  int failures_left = 1;                         // how many attempts fail so
  std::stop_source* stop_after_first = nullptr;  // requests a stop once the first batch is read
  int reads = 0;                                 // Read calls
  nlohmann::json last_resume;                    // what the last Read was given
  int state_calls_at = -1;                       // batches read when state() was last asked
};

/// A source that yields the batches of its script and reports how many it returned as state.
class ScriptedReader final : public BatchReader {
 public:
  ScriptedReader(Script& s, int64_t first_id) : s_(s), next_id_(first_id) {}
  Result<std::shared_ptr<const RecordBatch>> Next() override {
    if (returned_ == s_.fail_after && s_.failures_left > 0) {
      --s_.failures_left;
      return Status(s_.failure, "the source broke");
    }
    if (returned_ == s_.batches) return std::shared_ptr<const RecordBatch>();
    BatchBuilder b(Schema({{"id", LogicalType::Bigint()}}));
    for (int r = 0; r < s_.rows; ++r) b.column(0).AppendInt64(next_id_++);
    ++returned_;
    if (s_.stop_after_first) s_.stop_after_first->request_stop();
    return b.Finish();
  }
  nlohmann::json state() const override {
    s_.state_calls_at = returned_;
    return {{"next_id", next_id_}};
  }

 private:
  Script& s_;
  int64_t next_id_;
  int returned_ = 0;
};

class ScriptedSource final : public Source {
 public:
  explicit ScriptedSource(Script& s) : s_(s) {}
  Result<std::unique_ptr<BatchReader>> Read(const SourceOptions&, const ResumePoint& resume) override {
    ++s_.reads;
    s_.last_resume = resume.state;
    return std::unique_ptr<BatchReader>(new ScriptedReader(s_, resume.state.value("next_id", int64_t{1})));
  }

 private:
  Script& s_;
};

class RunnerTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("nilus-runner-" + std::to_string(::getpid()) + "-" +
                                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(registry_
                    .AddSource("scripted",
                               [this](const Uri&, std::stop_token) -> Result<std::unique_ptr<Source>> {
                                 return std::unique_ptr<Source>(new ScriptedSource(script_));
                               })
                    .ok());
    ASSERT_TRUE(RegisterSqlite(registry_).ok());
    auto store = StateStore::Open((dir_ / "home").string());
    ASSERT_TRUE(store.ok());
    store_ = store.MoveValue();
    pipeline_.name = "p";
    pipeline_.source = *Uri::Parse("scripted://x");
    pipeline_.destination = *Uri::Parse("sqlite:///" + (dir_ / "dest.db").string());
    pipeline_.destination_as_written = pipeline_.destination.text();
    pipeline_.sink_options.dest_table = "raw.t";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<LoadSummary> Run(RunOptions options = {}) {
    NILUS_ASSIGN_OR_RAISE(auto loads, RunPipeline(pipeline_, options, registry_, *store_));
    if (loads.size() != 1) return Status::Internal("{} tables loaded, expected one", loads.size());
    return loads[0];
  }

  std::string Query(const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open((dir_ / "dest.db").c_str(), &db);
    std::string out;
    sqlite3_exec(
        db, sql.c_str(),
        [](void* o, int n, char** v, char**) {
          auto* s = static_cast<std::string*>(o);
          for (int i = 0; i < n; ++i) *s += (s->empty() ? "" : "|") + std::string(v[i] ? v[i] : "NULL");
          return 0;
        },
        &out, nullptr);
    sqlite3_close(db);
    return out;
  }

  std::filesystem::path dir_;
  Script script_;
  ConnectorRegistry registry_;
  std::unique_ptr<StateStore> store_;
  Pipeline pipeline_;
};

}  // namespace

TEST_F(RunnerTest, CommitsTheDataWithTheSourcesStateAndContinuesFromIt) {
  auto first = Run();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->rows, 30);
  EXPECT_EQ(Query("SELECT count(*), max(id) FROM raw__t"), "30|30");
  EXPECT_EQ(Query("SELECT json_extract(state, '$.source.next_id') FROM _nilus_state"), "31");
  auto local = store_->List("p");
  ASSERT_TRUE(local.ok());
  ASSERT_EQ(local->size(), 1u);
  EXPECT_EQ((*local)[0].state["source"]["next_id"], 31);

  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(script_.last_resume["next_id"], 31);
  EXPECT_EQ(Query("SELECT count(*), count(DISTINCT id), max(id) FROM raw__t"), "60|60|60");
}

TEST_F(RunnerTest, AFailureRollsEverythingBack) {
  ASSERT_TRUE(Run().ok());
  script_.fail_after = 2;
  script_.failures_left = 100;
  auto failed = Run();
  EXPECT_EQ(failed.status().code(), StatusCode::kIOError);
  EXPECT_NE(failed.status().message().find("loading"), std::string::npos) << failed.status().message();
  EXPECT_EQ(Query("SELECT count(*) FROM raw__t"), "30");
  EXPECT_EQ(Query("SELECT json_extract(state, '$.source.next_id'), count(*) FROM _nilus_state"), "31|1");
  EXPECT_EQ(Query("SELECT count(*) FROM _nilus_loads"), "1");
}

TEST_F(RunnerTest, ATransientFailureIsRetriedFromTheStart) {
  script_.fail_after = 1;
  script_.failure = StatusCode::kUnavailable;
  auto run = Run();
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(script_.reads, 2);
  EXPECT_EQ(Query("SELECT count(*), count(DISTINCT id) FROM raw__t"), "30|30");
  EXPECT_EQ(Query("SELECT count(*) FROM _nilus_loads"), "1");
}

TEST_F(RunnerTest, YieldLimitStopsAfterThatManyBatchesAndSavesWhereItStopped) {
  pipeline_.source_options.yield_limit = 2;
  script_.batches = 5;
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(script_.state_calls_at, 2);
  EXPECT_EQ(Query("SELECT count(*), max(id) FROM raw__t"), "20|20");
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(Query("SELECT count(*), count(DISTINCT id), max(id) FROM raw__t"), "40|40|40");
}

TEST_F(RunnerTest, AStopRollsBackAndSaysCancelled) {
  std::stop_source stop;
  script_.stop_after_first = &stop;
  RunOptions options;
  options.stop = stop.get_token();
  auto run = Run(options);
  EXPECT_EQ(run.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(Query("SELECT count(*) FROM sqlite_schema WHERE name = 'raw__t'"), "0");
  EXPECT_TRUE(store_->List("p")->empty());
}

TEST_F(RunnerTest, AFullRefreshRebuildsTheTableAndIgnoresTheState) {
  ASSERT_TRUE(Run().ok());
  RunOptions options;
  options.full_refresh = true;
  auto run = Run(options);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->strategy, "replace");
  EXPECT_EQ(script_.last_resume, nlohmann::json::object());
  EXPECT_EQ(Query("SELECT count(*), max(id) FROM raw__t"), "30|30");
}

TEST(NewLoadId, IsFixedWidthAndSortsInTimeOrder) {
  std::string a = NewLoadId();
  std::string b = NewLoadId();
  EXPECT_EQ(a.size(), std::string("20261124T110102.123456Z.3fa2").size());
  EXPECT_LE(a.substr(0, 23), b.substr(0, 23));
}

}  // namespace nilus
