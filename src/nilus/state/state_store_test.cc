#include "nilus/state/state_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

namespace nilus {

namespace {

std::string TempHome() {
  auto dir = std::filesystem::temp_directory_path() /
             ("nilus-store-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

}  // namespace

TEST(StateStore, KeepsStateAndSchemaVersionsPerPipeline) {
  std::string home = TempHome();
  {
    auto store = StateStore::Open(home);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Save({"p", "raw.a", "sqlite:///x.db", {{"cursor", 1}}, "l1", ""}).ok());
    ASSERT_TRUE((*store)->Save({"p", "raw.a", "sqlite:///x.db", {{"cursor", 2}}, "l2", ""}).ok());
    ASSERT_TRUE((*store)->Save({"q", "raw.b", "sqlite:///y.db", {}, "l3", ""}).ok());
    nlohmann::json schema = {{"version", 1}, {"load_id", "l1"}, {"changes", {"added a"}}, {"tables", {}}};
    ASSERT_TRUE((*store)->SaveSchema("p", "raw.a", schema).ok());
    ASSERT_TRUE((*store)->SaveSchema("p", "raw.a", schema).ok());                    // the same version: kept once
    ASSERT_TRUE((*store)->SaveSchema("p", "raw.a", nlohmann::json::object()).ok());  // none: nothing
  }
  // Reopened: what was saved is there; the file is the user's alone.
  auto store = StateStore::Open(home);
  ASSERT_TRUE(store.ok());
  auto p = (*store)->List("p");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ((*p)[0].state["cursor"], 2);
  EXPECT_EQ((*p)[0].load_id, "l2");
  EXPECT_EQ((*store)->List("")->size(), 2u);
  auto history = (*store)->SchemaHistory("p");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].changes, nlohmann::json::array({"added a"}));
  struct stat st;
  ASSERT_EQ(stat((home + "/state.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  ASSERT_TRUE((*store)->Remove("p").ok());
  EXPECT_TRUE((*store)->List("p")->empty());
  EXPECT_TRUE((*store)->SchemaHistory("p")->empty());
  EXPECT_EQ((*store)->List("")->size(), 1u);
  std::filesystem::remove_all(home);
}

TEST(StateStore, OpensWhileAnotherProcessOpensIt) {
  std::string home = TempHome();
  std::vector<std::thread> openers;
  std::atomic<int> failures{0};
  for (int i = 0; i < 8; ++i) {
    openers.emplace_back([&, i] {
      auto store = StateStore::Open(home);
      if (!store.ok() || !(*store)->Save({"p" + std::to_string(i), "t", "d", {}, "l", ""}).ok()) ++failures;
    });
  }
  for (auto& t : openers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*StateStore::Open(home))->List("")->size(), 8u);
  std::filesystem::remove_all(home);
}

TEST(StateStore, AHomeThatCannotBeMadeIsAClearError) {
  auto store = StateStore::Open("/proc/nilus-cannot-be-here");
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("NILUS_HOME"), std::string::npos);
}

}  // namespace nilus
