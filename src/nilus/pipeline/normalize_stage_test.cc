#include "nilus/pipeline/normalize_stage.h"

#include <gtest/gtest.h>

namespace nilus {

namespace {

TableSpec Table(WriteDisposition strategy = WriteDisposition::kAppend) {
  TableSpec t;
  t.schema = "raw";
  t.name = "orders";
  t.strategy = strategy;
  t.rebuild = strategy == WriteDisposition::kReplace;
  return t;
}

std::shared_ptr<const RecordBatch> Documents(std::initializer_list<std::string> docs) {
  BatchBuilder b(DocumentSchema(true));
  int line = 0;
  for (const auto& d : docs) {
    b.column(0).AppendBytes(d);
    b.column(1).AppendBytes("in.jsonl:" + std::to_string(++line));
  }
  return b.Finish();
}

std::vector<std::string> Values(const RecordBatch& batch, const std::string& column) {
  std::vector<std::string> out;
  int i = batch.schema().FieldIndex(column);
  if (i < 0) return {"no column " + column};
  for (int64_t r = 0; r < batch.num_rows(); ++r) out.push_back(ValueToString(batch.column(i), r));
  return out;
}

/// Runs one load through a stage and returns what it would commit.
nlohmann::json RunStage(const SourceOptions& options, const nlohmann::json& prior,
                        const std::vector<std::shared_ptr<const RecordBatch>>& batches, std::vector<TableBatch>* out,
                        WriteDisposition strategy = WriteDisposition::kAppend) {
  auto stage = NormalizeStage::Make(options, Table(strategy), "load", prior, false);
  EXPECT_TRUE(stage.ok()) << stage.status().ToString();
  for (const auto& b : batches) {
    auto tables = (*stage)->Apply(b);
    EXPECT_TRUE(tables.ok()) << tables.status().ToString();
    if (tables.ok()) out->insert(out->end(), tables->begin(), tables->end());
  }
  EXPECT_TRUE((*stage)->Finish().ok());
  nlohmann::json state = nlohmann::json::object();
  (*stage)->AddState(state);
  return state;
}

}  // namespace

TEST(NormalizeStage, TypedBatchesAreRenamedAndPassedThrough) {
  BatchBuilder b(Schema({{"orderId", LogicalType::Bigint()}, {"Customer Name", LogicalType::Text()}}));
  b.column(0).AppendInt64(1);
  b.column(1).AppendBytes("Ada");
  auto batch = b.Finish();
  std::vector<TableBatch> out;
  nlohmann::json state = RunStage({}, {}, {batch}, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].table, "orders");
  EXPECT_EQ(out[0].batch->schema().ToString(), "order_id bigint, customer_name text");
  EXPECT_EQ(out[0].batch->column_ptr(0), batch->column_ptr(0));  // no copy
  EXPECT_EQ(state["schema"]["version"], 1);
  EXPECT_EQ(state["schema"]["tables"][0]["renamed"]["orderId"], "order_id");

  // The next load maps the names the same way, and a value that does not fit goes to a variant.
  BatchBuilder next(Schema({{"orderId", LogicalType::Text()}}));
  next.column(0).AppendBytes("A-7");
  next.column(0).AppendBytes("8");
  std::vector<TableBatch> out2;
  nlohmann::json state2 = RunStage({}, state, {next.Finish()}, &out2);
  ASSERT_EQ(out2.size(), 1u);
  EXPECT_EQ(out2[0].batch->schema().ToString(), "order_id bigint, customer_name text, order_id__v_text text");
  EXPECT_EQ(Values(*out2[0].batch, "order_id"), (std::vector<std::string>{"NULL", "8"}));
  EXPECT_EQ(Values(*out2[0].batch, "order_id__v_text"), (std::vector<std::string>{"A-7", "NULL"}));
  EXPECT_EQ(Values(*out2[0].batch, "customer_name"), (std::vector<std::string>{"NULL", "NULL"}));
  EXPECT_EQ(state2["schema"]["version"], 2);
}

TEST(NormalizeStage, AValueThatDoesNotFitItsHintFailsTheRunNamingIt) {
  SourceOptions options;
  options.type_hints = {{"amount", LogicalType::Decimal(10, 2)}};
  auto stage = NormalizeStage::Make(options, Table(), "load", {}, false);
  ASSERT_TRUE(stage.ok());
  auto ok = (*stage)->Apply(Documents({R"({"amount": "1.50"})"}));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)[0].batch->schema().ToString(), "amount decimal(10,2)");
  auto bad = (*stage)->Apply(Documents({R"({"amount": 2})", R"({"amount": "12.345"})"}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidInput);
  for (const char* part : {"in.jsonl:2", "orders", "'amount'", "12.345", "decimal(10,2)"}) {
    EXPECT_NE(bad.status().message().find(part), std::string::npos) << bad.status().message();
  }
}

TEST(NormalizeStage, ChildRowsLinkToTheirParents) {
  SourceOptions options;
  options.max_table_nesting = 1;
  std::vector<TableBatch> out;
  RunStage(options, {},
           {Documents({R"({"id": 1, "items": [{"sku": "A"}, {"sku": "B"}]})", R"({"id": 2, "items": []})"})}, &out,
           WriteDisposition::kMerge);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].table, "orders__items");
  const RecordBatch& root = *out[0].batch;
  const RecordBatch& items = *out[1].batch;
  EXPECT_EQ(items.schema().ToString(),
            "sku text, _nilus_id uuid, _nilus_parent_id uuid, _nilus_list_idx bigint, _nilus_root_id uuid");
  std::string first_root = ValueToString(root.column(root.schema().FieldIndex("_nilus_id")), 0);
  EXPECT_EQ(Values(items, "_nilus_parent_id"), (std::vector<std::string>{first_root, first_root}));
  EXPECT_EQ(Values(items, "_nilus_root_id"), (std::vector<std::string>{first_root, first_root}));
  EXPECT_EQ(Values(items, "_nilus_list_idx"), (std::vector<std::string>{"0", "1"}));
  auto ids = Values(items, "_nilus_id");
  EXPECT_NE(ids[0], ids[1]);
}

TEST(NormalizeStage, TheIncrementalRangeKeepsDocumentsWithTheirChildren) {
  SourceOptions options;
  options.max_table_nesting = 1;
  options.incremental_key = "updatedAt";
  nlohmann::json prior = {{"cursor", {{"key", "updated_at"}, {"type", "bigint"}, {"value", "10"}}}};
  std::vector<TableBatch> out;
  nlohmann::json state =
      RunStage(options, prior,
               {Documents({R"({"updatedAt": 9, "tags": ["old"]})", R"({"updatedAt": 11, "tags": ["new"]})"})}, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(Values(*out[0].batch, "updated_at"), (std::vector<std::string>{"11"}));
  EXPECT_EQ(Values(*out[1].batch, "value"), (std::vector<std::string>{"new"}));
  EXPECT_EQ(state["cursor"]["value"], "11");
}

TEST(NormalizeStage, AReplaceThatChangesNothingKeepsTheSchemaVersion) {
  std::vector<TableBatch> out;
  nlohmann::json first = RunStage({}, {}, {Documents({R"({"a": 1})"})}, &out, WriteDisposition::kReplace);
  nlohmann::json again = RunStage({}, first, {Documents({R"({"a": 2})"})}, &out, WriteDisposition::kReplace);
  EXPECT_EQ(again["schema"], first["schema"]);
  nlohmann::json changed = RunStage({}, first, {Documents({R"({"a": "x"})"})}, &out, WriteDisposition::kReplace);
  EXPECT_EQ(changed["schema"]["version"], 2);
  EXPECT_EQ(changed["schema"]["tables"][0]["columns"][0]["type"], "text");  // rebuilt, no variant
}

TEST(NormalizeStage, SequentialMasksContinueAcrossRuns) {
  SourceOptions options;
  options.mask = {{"email", "sequential"}};
  std::vector<TableBatch> out;
  nlohmann::json first =
      RunStage(options, {}, {Documents({R"({"email": "a@x"})", R"({"email": "b@x"})", R"({"email": "a@x"})"})}, &out);
  EXPECT_EQ(Values(*out[0].batch, "email"), (std::vector<std::string>{"1", "2", "1"}));
  std::vector<TableBatch> out2;
  RunStage(options, first, {Documents({R"({"email": "c@x"})", R"({"email": "b@x"})"})}, &out2);
  EXPECT_EQ(Values(*out2[0].batch, "email"), (std::vector<std::string>{"3", "2"}));
}

TEST(NormalizeStage, MaskingTheIncrementalKeyIsRefused) {
  SourceOptions options;
  options.incremental_key = "updatedAt";
  options.mask = {{"updated_at", "hash"}};
  EXPECT_EQ(CheckMaskOptions(options).code(), StatusCode::kInvalidInput);
}

TEST(NormalizeStage, AMaskedColumnTheDataNeverHadFailsTheLoad) {
  SourceOptions options;
  options.mask = {{"emial", "hash"}};
  auto stage = NormalizeStage::Make(options, Table(), "load", {}, false);
  ASSERT_TRUE(stage.ok());
  ASSERT_TRUE((*stage)->Apply(Documents({R"({"email": "a@x"})"})).ok());
  Status st = (*stage)->Finish();
  EXPECT_EQ(st.code(), StatusCode::kInvalidInput);
  EXPECT_NE(st.message().find("'emial'"), std::string::npos) << st.message();
}

}  // namespace nilus
