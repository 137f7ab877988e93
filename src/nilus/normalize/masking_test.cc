#include "nilus/normalize/masking.h"

#include <gtest/gtest.h>

namespace nilus {

namespace {

std::string Mask(const std::string& spec, const std::string& value) {
  auto m = Masker::Make({{"c", spec}}, {});
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  MaskRule rule{"c", spec.substr(0, spec.find(':')),
                spec.find(':') == std::string::npos ? "" : spec.substr(spec.find(':') + 1)};
  auto out = m->MaskText(rule, value);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : "";
}

std::shared_ptr<const RecordBatch> OneColumn(LogicalType type, std::initializer_list<int64_t> values) {
  BatchBuilder b(Schema({{"c", type}}));
  for (int64_t v : values) b.column(0).AppendInt64(v);
  b.column(0).AppendNull();
  return b.Finish();
}

}  // namespace

TEST(Masking, TheDocumentedExamples) {
  EXPECT_EQ(Mask("email", "john.doe@example.com"), "j******e@example.com");
  EXPECT_EQ(Mask("phone", "+1-555-123-4567"), "+1-555-***-****");
  EXPECT_EQ(Mask("credit_card", "4111-1111-1111-1111"), "****-****-****-1111");
  EXPECT_EQ(Mask("ssn", "123-45-6789"), "***-**-6789");
  EXPECT_EQ(Mask("partial:2", "Jonathan"), "Jo****an");
  EXPECT_EQ(Mask("first_letter", "Alice"), "A****");
  EXPECT_EQ(Mask("stars", "secret123"), "*********");
  EXPECT_EQ(Mask("redact", "anything"), "REDACTED");
  EXPECT_EQ(Mask("fixed:N/A", "anything"), "N/A");
  EXPECT_EQ(Mask("range:10000", "45000"), "40000-50000");
  EXPECT_EQ(Mask("year_only", "2024-03-15"), "2024");
  EXPECT_EQ(Mask("month_year", "2024-03-15"), "2024-03");
  EXPECT_EQ(Mask("stars", "café"), "****");  // characters, not bytes
}

TEST(Masking, DeterministicAlgorithmsGiveTheSameOutputForTheSameInput) {
  EXPECT_EQ(Mask("hash", "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Mask("sha256", "abc"), Mask("hash", "abc"));
  EXPECT_EQ(Mask("md5", "abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(Mask("hmac:key", "The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  std::string u = Mask("uuid", "alice@example.com");
  EXPECT_EQ(u, Mask("uuid", "alice@example.com"));
  EXPECT_NE(u, Mask("uuid", "bob@example.com"));
  EXPECT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '5');
}

TEST(Masking, NumbersAndDatesKeepTheirType) {
  auto round = Masker::Make({{"c", "round:5000"}}, {});
  ASSERT_TRUE(round.ok());
  auto out = round->Apply(*OneColumn(LogicalType::Bigint(), {52300, 47400}));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)->column(0).Int64(0), 50000);
  EXPECT_EQ((*out)->column(0).Int64(1), 45000);
  EXPECT_TRUE((*out)->column(0).IsNull(2));  // NULL stays NULL

  auto shift = Masker::Make({{"c", "date_shift:30"}}, {});
  ASSERT_TRUE(shift.ok());
  auto a = shift->Apply(*OneColumn(LogicalType::Date(), {19000, 19000, 19001}));
  ASSERT_TRUE(a.ok());
  const Column& d = (*a)->column(0);
  EXPECT_EQ(d.type(), LogicalType::Date());
  EXPECT_EQ(d.Int64(0), d.Int64(1));  // the same shift for the same value
  EXPECT_LE(std::abs(d.Int64(0) - 19000), 30);

  auto noise = Masker::Make({{"c", "noise:0.1"}}, {});
  ASSERT_TRUE(noise.ok());
  auto n = noise->Apply(*OneColumn(LogicalType::Bigint(), {1000}));
  ASSERT_TRUE(n.ok());
  EXPECT_GE((*n)->column(0).Int64(0), 900);
  EXPECT_LE((*n)->column(0).Int64(0), 1100);
}

TEST(Masking, SequentialNumbersEachDistinctValueAndContinuesFromItsState) {
  auto m = Masker::Make({{"c", "sequential"}}, {});
  ASSERT_TRUE(m.ok());
  MaskRule rule = m->rules()[0];
  EXPECT_EQ(*m->MaskText(rule, "alice"), "1");
  EXPECT_EQ(*m->MaskText(rule, "bob"), "2");
  EXPECT_EQ(*m->MaskText(rule, "alice"), "1");
  auto next = Masker::Make({{"c", "sequential"}}, {});
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->RestoreSequences(m->SequencesState()).ok());
  EXPECT_EQ(*next->MaskText(rule, "carol"), "3");
  EXPECT_EQ(*next->MaskText(rule, "bob"), "2");
  // On a bigint column it yields bigints.
  auto out = next->MaskColumn(rule, OneColumn(LogicalType::Bigint(), {77, 77})->column(0));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)->type(), LogicalType::Bigint());
  EXPECT_EQ((*out)->Int64(0), 4);
  EXPECT_EQ((*out)->Int64(1), 4);
  EXPECT_FALSE(next->MaskColumn(rule, OneColumn(LogicalType::Date(), {1})->column(0)).ok());
}

TEST(Masking, RandomKeepsTheType) {
  auto m = Masker::Make({{"c", "random"}}, {});
  ASSERT_TRUE(m.ok());
  auto out = m->Apply(*OneColumn(LogicalType::Bigint(), {5}));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)->column(0).type(), LogicalType::Bigint());
  EXPECT_TRUE((*out)->column(0).IsNull(1));
  std::string text = Mask("random", "secret");
  EXPECT_EQ(text.size(), 6u);
}

TEST(Masking, ColumnsAreNamedAsNormalized) {
  auto m = Masker::Make({{"E-Mail", "redact"}}, {});
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->Find("e_mail"), nullptr);
}

TEST(Masking, TextOnANumberColumnNeedsATypeHint) {
  auto m = Masker::Make({{"c", "redact"}}, {});
  ASSERT_TRUE(m.ok());
  auto refused = m->Apply(*OneColumn(LogicalType::Bigint(), {1}));
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(refused.status().message().find("'c: text'"), std::string::npos) << refused.status().message();
  auto hinted = Masker::Make({{"c", "redact"}}, {{"c", LogicalType::Text()}});
  ASSERT_TRUE(hinted.ok());
  auto out = hinted->Apply(*OneColumn(LogicalType::Bigint(), {1}));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)->schema().field(0).type, LogicalType::Text());
  EXPECT_EQ((*out)->column(0).View(0), "REDACTED");
}

TEST(Masking, BadRulesAreRefusedUpFront) {
  EXPECT_NE(Masker::Make({{"c", "redakt"}}, {}).status().message().find("did you mean 'redact'"), std::string::npos);
  EXPECT_NE(Masker::Make({{"c", "partial"}}, {}).status().message().find("needs a parameter"), std::string::npos);
  EXPECT_NE(Masker::Make({{"c", "partial:x"}}, {}).status().message().find("whole number"), std::string::npos);
  EXPECT_NE(Masker::Make({{"c", "noise:-1"}}, {}).status().message().find("positive"), std::string::npos);
  EXPECT_NE(Masker::Make({{"c", "redact:3"}}, {}).status().message().find("takes no parameter"), std::string::npos);
  auto missing = Masker::Make({{"nope", "redact"}}, {});
  ASSERT_TRUE(missing.ok());
  EXPECT_NE(missing->Apply(*OneColumn(LogicalType::Text(), {})).status().message().find("'nope'"), std::string::npos);
}

}  // namespace nilus
