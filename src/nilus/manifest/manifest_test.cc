#include "nilus/manifest/manifest.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace nilus {

namespace {

std::string Write(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(Manifest, ReadsTheThreeShapes) {
  const auto& reg = ConnectorRegistry::Builtin();
  auto wf = LoadManifest(Write("wf.yaml", R"(
name: shop
type: workflow
workflow:
  schedule: {cron: "0 * * * *"}
  dag:
    - name: a
      spec:
        logLevel: DEBUG
        stackSpec:
          source: {address: "file:///x.csv"}
          sink: {address: "sqlite:///o.db", options: {dest-table: raw.a, incremental-strategy: append}}
    - name: b
      spec:
        stackSpec:
          source: {address: "jsonl:///y.jsonl", options: {primary-key: id}}
          sink: {address: "sqlite:///o.db", options: {dest-table: raw.b, incremental-strategy: merge}}
)"),
                         reg);
  ASSERT_TRUE(wf.ok()) << wf.status().ToString();
  EXPECT_EQ(wf->kind, "workflow");
  EXPECT_EQ(wf->schedule, "0 * * * *");
  EXPECT_EQ(wf->log_level, "debug");
  ASSERT_EQ(wf->pipelines.size(), 2u);
  EXPECT_EQ(wf->pipelines[0].name, "shop.a");
  EXPECT_EQ(wf->pipelines[1].sink_options.primary_key, (std::vector<std::string>{"id"}));

  auto svc = LoadManifest(Write("svc.yaml", R"(
name: cdc
type: service
service:
  stackSpec:
    source: {address: "file:///x.csv"}
    sink: {address: "sqlite:///o.db", options: {dest-table: raw.a, incremental-strategy: append}}
)"),
                          reg);
  ASSERT_TRUE(svc.ok()) << svc.status().ToString();
  EXPECT_EQ(svc->pipelines[0].name, "cdc");

  auto bare = LoadManifest(Write("bare.yaml", R"(
source: {address: "file:///x.csv"}
sink: {address: "sqlite:///o.db", options: {dest-table: raw.a, incremental-strategy: replace}}
)"),
                           reg);
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_EQ(bare->kind, "stackSpec");
  EXPECT_EQ(bare->pipelines[0].name, "bare");
  EXPECT_EQ(bare->pipelines[0].sink_options.strategy, WriteDisposition::kReplace);
}

TEST(Manifest, ErrorsPointAtTheLine) {
  auto m = LoadManifest(Write("bad.yaml", "source:\n  address: \"file:///x.csv\"\nsink:\n  address: \"nope://x\"\n"),
                        ConnectorRegistry::Builtin());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(m.status().message().find("bad.yaml:4:12"), std::string::npos) << m.status().message();
}

TEST(Interpolate, ReplacesVariablesAndKeepsBraces) {
  setenv("NILUS_UNIT_VAR", "value", 1);
  auto s = Interpolate("a{NILUS_UNIT_VAR}b {{x} \\d{2} {1}", "here");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "avalueb {x} \\d{2} {1}");
  unsetenv("NILUS_UNIT_VAR");
  auto missing = Interpolate("{NILUS_UNIT_VAR}", "here");
  EXPECT_NE(missing.status().message().find("NILUS_UNIT_VAR is not set"), std::string::npos);
}

}  // namespace nilus
