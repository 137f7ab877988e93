#include "nilus/core/strings.h"

#include <gtest/gtest.h>

namespace nilus {

TEST(Strings, SplitListTrimsAndKeepsParentheses) {
  EXPECT_EQ(SplitList(" a, b ,,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(SplitList("id:bigint,price:decimal(12,2)"), (std::vector<std::string>{"id:bigint", "price:decimal(12,2)"}));
  EXPECT_TRUE(SplitList("").empty());
}

TEST(Strings, ClosestMatchSuggestsOnlyNearNames) {
  std::vector<std::string> names = {"page-size", "primary-key", "source-table"};
  EXPECT_EQ(ClosestMatch("page-sise", names), "page-size");
  EXPECT_EQ(ClosestMatch("primary-keys", names), "primary-key");
  EXPECT_EQ(ClosestMatch("completely-different", names), "");
}

TEST(Strings, Utf8Validation) {
  EXPECT_EQ(FindInvalidUtf8("plain ascii text that is long"), std::string::npos);
  EXPECT_EQ(FindInvalidUtf8("café ☕ 𝄞"), std::string::npos);
  EXPECT_EQ(FindInvalidUtf8("caf\xe9"), 3u);           // Latin-1 é
  EXPECT_EQ(FindInvalidUtf8("ab\xc0\xaf"), 2u);        // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("\xed\xa0\x80"), 0u);      // a surrogate
  EXPECT_EQ(FindInvalidUtf8("12345678\xe2\x82"), 8u);  // cut short
}

TEST(Strings, ExcerptIsShortAndPrintable) {
  EXPECT_EQ(Excerpt("a\nb"), "a?b");
  EXPECT_EQ(Excerpt(std::string(100, 'x'), 5), "xxxxx…");
  // Broken UTF-8 is shown escaped; a character is never cut in two.
  EXPECT_EQ(Excerpt("a\xff\xfe"), "a\\xff\\xfe");
  EXPECT_EQ(Excerpt("\xc3\xa9t\xc3\xa9"), "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(Excerpt("ab\xc3\xa9", 3), "ab…");
}

}  // namespace nilus

namespace nilus {

TEST(Strings, AppendJsonStringEscapesWhatJsonRequires) {
  std::string out;
  AppendJsonString(out, "plain é");
  EXPECT_EQ(out, "\"plain é\"");
  out.clear();
  AppendJsonString(out, std::string("q\"b\\n\nt\tc\x01", 10));
  EXPECT_EQ(out, "\"q\\\"b\\\\n\\nt\\tc\\u0001\"");
}

}  // namespace nilus
