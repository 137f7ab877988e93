#include "nilus/normalize/evolution.h"

#include <gtest/gtest.h>

#include "nilus/core/identifiers.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

std::shared_ptr<Column> Bigints(std::initializer_list<std::optional<int64_t>> values) {
  auto c = std::make_shared<Column>(LogicalType::Bigint());
  for (const auto& v : values) v ? c->AppendInt64(*v) : c->AppendNull();
  return c;
}

std::shared_ptr<Column> Doubles(std::initializer_list<std::optional<double>> values) {
  auto c = std::make_shared<Column>(LogicalType::Double());
  for (const auto& v : values) v ? c->AppendDouble(*v) : c->AppendNull();
  return c;
}

std::shared_ptr<Column> Texts(LogicalType type, std::initializer_list<std::optional<std::string>> values) {
  auto c = std::make_shared<Column>(type);
  for (const auto& v : values) v ? c->AppendBytes(*v) : c->AppendNull();
  return c;
}

/// What `value` (row 0 of `in`) becomes in a column of `to`, or "refused".
std::string Coerce(const Column& in, LogicalType to) {
  Column out(to);
  if (!AppendCoerced(in, 0, out)) return "refused";
  return ValueToString(out, 0);
}

std::vector<std::string> Values(const RecordBatch& batch, const std::string& column) {
  std::vector<std::string> out;
  int i = batch.schema().FieldIndex(column);
  if (i < 0) return {"no column " + column};
  for (int64_t r = 0; r < batch.num_rows(); ++r) out.push_back(ValueToString(batch.column(i), r));
  return out;
}

}  // namespace

TEST(Coercion, LosslessConversionsAreMade) {
  EXPECT_EQ(Coerce(*Bigints({12}), LogicalType::Double()), "12");
  EXPECT_EQ(Coerce(*Bigints({12}), LogicalType::Text()), "12");
  EXPECT_EQ(Coerce(*Bigints({12}), LogicalType::Decimal(5, 2)), "12");
  EXPECT_EQ(Coerce(*Bigints({12}), LogicalType::Json()), "12");
  EXPECT_EQ(Coerce(*Doubles({15.0}), LogicalType::Bigint()), "15");
  EXPECT_EQ(Coerce(*Doubles({2.5}), LogicalType::Text()), "2.5");
  EXPECT_EQ(Coerce(*Texts(LogicalType::Text(), {"123"}), LogicalType::Bigint()), "123");
  EXPECT_EQ(Coerce(*Texts(LogicalType::Text(), {"12.5"}), LogicalType::Double()), "12.5");
  EXPECT_EQ(Coerce(*Texts(LogicalType::Text(), {"true"}), LogicalType::Bool()), "true");
  EXPECT_EQ(Coerce(*Texts(LogicalType::Text(), {"2024-03-15"}), LogicalType::Date()), "2024-03-15");
  EXPECT_EQ(Coerce(*Texts(LogicalType::Text(), {"2024-03-15T10:00:00Z"}), LogicalType::TimestampTz()),
            "2024-03-15 10:00:00+00:00");
  EXPECT_EQ(Coerce(*Texts(LogicalType::Text(), {"say \"hi\""}), LogicalType::Json()), "\"say \\\"hi\\\"\"");
}

TEST(Coercion, LossyConversionsAreRefused) {
  EXPECT_EQ(Coerce(*Doubles({12.5}), LogicalType::Bigint()), "refused");
  EXPECT_EQ(Coerce(*Bigints({(int64_t{1} << 53) + 1}), LogicalType::Double()), "refused");
  EXPECT_EQ(Coerce(*Texts(LogicalType::Text(), {"007"}), LogicalType::Bigint()), "refused");
  EXPECT_EQ(Coerce(*Texts(LogicalType::Text(), {"1.50"}), LogicalType::Double()), "refused");
  EXPECT_EQ(Coerce(*Texts(LogicalType::Text(), {"yes"}), LogicalType::Bool()), "refused");
  EXPECT_EQ(Coerce(*Texts(LogicalType::Text(), {"abc"}), LogicalType::Bigint()), "refused");
  EXPECT_EQ(Coerce(*Texts(LogicalType::Json(), {"{\"a\":1}"}), LogicalType::Text()), "refused");
  // A zone cannot be invented or dropped.
  EXPECT_EQ(Coerce(*Texts(LogicalType::Text(), {"2024-03-15T10:00:00"}), LogicalType::TimestampTz()), "refused");
  EXPECT_EQ(Coerce(*Texts(LogicalType::Text(), {"2024-03-15T10:00:00Z"}), LogicalType::Timestamp()), "refused");
  EXPECT_EQ(Coerce(*Texts(LogicalType::Decimal(), {"123.456"}), LogicalType::Decimal(5, 2)), "refused");
}

TEST(CommonType, OfTheValuesThatCreateAColumn) {
  EXPECT_EQ(CommonType({Bigints({1, 2})}, false), LogicalType::Bigint());
  EXPECT_EQ(CommonType({Bigints({1, std::nullopt}), Doubles({std::nullopt, 2.5})}, false), LogicalType::Double());
  EXPECT_EQ(CommonType({Bigints({int64_t{1} << 60, std::nullopt}), Doubles({std::nullopt, 2.5})}, false),
            LogicalType::Decimal());
  EXPECT_EQ(CommonType({Bigints({1, std::nullopt}), Texts(LogicalType::Text(), {std::nullopt, "a"})}, false),
            LogicalType::Text());
  EXPECT_EQ(CommonType({Bigints({1, std::nullopt}), Texts(LogicalType::Json(), {std::nullopt, "[1]"})}, false),
            LogicalType::Json());
  // ISO-8601 strings, when date detection is on
  auto dates = Texts(LogicalType::Text(), {"2024-03-15", "2024-03-16"});
  EXPECT_EQ(CommonType({dates}, true), LogicalType::Date());
  EXPECT_EQ(CommonType({dates}, false), LogicalType::Text());
  EXPECT_EQ(CommonType({Texts(LogicalType::Text(), {"2024-03-15T10:00:00Z"})}, true), LogicalType::TimestampTz());
  EXPECT_EQ(CommonType({Texts(LogicalType::Text(), {"2024-03-15T10:00:00"})}, true), LogicalType::Timestamp());
  EXPECT_EQ(CommonType({Texts(LogicalType::Text(), {"2024-03-15", "soon"})}, true), LogicalType::Text());
}

TEST(TableBatchAssembler, NewColumnsAreAddedAndMatchingOnesPassThrough) {
  StoredSchema schema;
  TableSchema& table = schema.Table("orders", "");
  auto ids = Bigints({1, 2});
  TableBatchAssembler a(schema, table, 2);
  ASSERT_TRUE(a.Place({"id", {ids}}).ok());
  ASSERT_TRUE(a.Place({"note", {Texts(LogicalType::Text(), {std::nullopt, std::nullopt})}}).ok());  // all NULL
  auto batch = a.Finish();
  EXPECT_EQ(batch->schema().ToString(), "id bigint");  // no type to learn from NULLs
  EXPECT_EQ(batch->column_ptr(0), ids);                // not copied
  EXPECT_EQ(schema.changes(), (std::vector<std::string>{"created table orders", "orders: added column id bigint"}));
}

TEST(TableBatchAssembler, ValuesThatDoNotFitGoToAVariantColumnAndComeBackWhenTheyFit) {
  StoredSchema schema;
  TableSchema& table = schema.Table("orders", "");
  TableBatchAssembler first(schema, table, 2);
  ASSERT_TRUE(first.Place({"discount", {Bigints({5, 7})}}).ok());
  first.Finish();
  schema.Commit("load1");

  // A later load brings 12.5: discount stays bigint, 12.5 goes to discount__v_double, 15.0 fits.
  TableBatchAssembler second(schema, table, 3);
  ASSERT_TRUE(second.Place({"discount", {Doubles({12.5, 15.0, std::nullopt})}}).ok());
  auto batch = second.Finish();
  EXPECT_EQ(batch->schema().ToString(), "discount bigint, discount__v_double double");
  EXPECT_EQ(Values(*batch, "discount"), (std::vector<std::string>{"NULL", "15", "NULL"}));
  EXPECT_EQ(Values(*batch, "discount__v_double"), (std::vector<std::string>{"12.5", "NULL", "NULL"}));
  EXPECT_EQ(schema.changes(),
            (std::vector<std::string>{"orders: added column discount__v_double double (values of discount that are "
                                      "not bigint)"}));

  // Values that fit go back to the column; the variant column stays and gets NULLs.
  TableBatchAssembler third(schema, table, 1);
  ASSERT_TRUE(third.Place({"discount", {Bigints({9})}}).ok());
  auto back = third.Finish();
  EXPECT_EQ(Values(*back, "discount"), (std::vector<std::string>{"9"}));
  EXPECT_EQ(Values(*back, "discount__v_double"), (std::vector<std::string>{"NULL"}));
}

TEST(TableBatchAssembler, ValuesOfSeveralTypesInOneBatch) {
  StoredSchema schema;
  TableSchema& table = schema.Table("t", "");
  TableBatchAssembler a(schema, table, 3);
  // A JSON field that is a number, a string and missing.
  ASSERT_TRUE(a.Place({"code",
                       {Bigints({7, std::nullopt, std::nullopt}),
                        Texts(LogicalType::Text(), {std::nullopt, "A1", std::nullopt})}})
                  .ok());
  auto batch = a.Finish();
  EXPECT_EQ(batch->schema().ToString(), "code text");
  EXPECT_EQ(Values(*batch, "code"), (std::vector<std::string>{"7", "A1", "NULL"}));

  // Hints fix the type of a new column.
  LogicalType hint = LogicalType::Decimal(10, 2);
  TableBatchAssembler b(schema, table, 1);
  auto amounts = Texts(LogicalType::Decimal(10, 2), {"1.50"});
  ASSERT_TRUE(b.Place({"amount", {amounts}, "", false, &hint}).ok());
  EXPECT_EQ(b.Finish()->schema().field(1).type, hint);
}

TEST(StoredSchema, RoundTripsThroughJson) {
  StoredSchema schema;
  TableSchema& root = schema.Table("orders", "");
  schema.AddColumn(root, {"id", LogicalType::Bigint()});
  root.renamed["orderId"] = "id";
  TableSchema& child = schema.Table("orders__items", "orders");
  child.source = "items";
  schema.AddColumn(child, {"sku", LogicalType::Decimal(12, 2), true, "postgresql:numeric(12,2)"});
  schema.Commit("load1");
  auto back = StoredSchema::FromJson(schema.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->version(), 1);
  EXPECT_EQ(back->ToJson()["load_id"], "load1");
  EXPECT_EQ(back->ToJson(), schema.ToJson());
  ASSERT_NE(back->Find("orders__items"), nullptr);
  EXPECT_EQ(back->Find("orders__items")->parent, "orders");
  EXPECT_EQ(back->Find("orders__items")->columns[0].native_type, "postgresql:numeric(12,2)");
  EXPECT_EQ(back->Find("orders")->renamed.at("orderId"), "id");
  EXPECT_EQ(StoredSchema::FromJson({{"version", "x"}}).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(VariantColumnName("discount", LogicalType::Decimal(5, 2)), "discount__v_decimal");
  EXPECT_EQ(VariantColumnName(std::string(70, 'x'), LogicalType::Double()).size(), kMaxIdentifierLength);
}

}  // namespace nilus
