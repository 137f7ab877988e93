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
  ASSERT_TRUE(wf->schedule);
  EXPECT_EQ(wf->schedule->cron.expression(), "0 * * * *");
  EXPECT_EQ(wf->name, "shop");
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

TEST(Manifest, ReadsTheSchedule) {
  auto load = [](const std::string& schedule) {
    return LoadManifest(Write("sched.yaml", R"(
name: nightly
type: workflow
workflow:
  schedule: )" + schedule + R"(
  dag:
    - name: a
      spec:
        stackSpec:
          source: {address: "file:///data/a.csv"}
          sink: {address: "sqlite:///out.db", options: {dest-table: raw.a, incremental-strategy: replace}}
)"),
                        ConnectorRegistry::Builtin());
  };
  auto m =
      load("{cron: '30 2 * * *', timezone: Asia/Kolkata, endOn: '2027-01-01T00:00:00Z', concurrencyPolicy: Forbid}");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->schedule->cron.timezone(), "Asia/Kolkata");
  EXPECT_EQ(m->schedule->policy, ConcurrencyPolicy::kForbid);
  EXPECT_EQ(FormatRfc3339(*m->schedule->end_on), "2027-01-01T00:00:00Z");
  auto error = [&](const std::string& schedule) {
    auto bad = load(schedule);
    return bad.ok() ? std::string("loaded") : bad.status().message();
  };
  EXPECT_NE(error("{cron: '61 * * * *'}").find("sched.yaml:5:20: cron '61 * * * *': minute 61"), std::string::npos)
      << error("{cron: '61 * * * *'}");
  EXPECT_NE(error("{cron: '@daily', timezone: Moon/Base}").find("sched.yaml:5:40: timezone 'Moon/Base'"),
            std::string::npos);
  EXPECT_NE(error("{cron: '@daily', endOn: soon}").find("endOn: 'soon' is not a time"), std::string::npos);
  EXPECT_NE(error("{cron: '@daily', concurrencyPolicy: Never}").find("'Never' is not one of Allow, Forbid, Replace"),
            std::string::npos);
  EXPECT_NE(error("{cron: '@daily', timeZone: UTC}")
                .find("unknown field 'timeZone' in workflow.schedule (did you mean "
                      "'timezone'?)"),
            std::string::npos);
  EXPECT_NE(error("{timezone: UTC}").find("workflow.schedule has no cron"), std::string::npos);
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
