#include "nilus/core/identifiers.h"

#include <gtest/gtest.h>

namespace nilus {

TEST(Identifiers, SnakeCase) {
  EXPECT_EQ(NormalizeIdentifier("order_id"), "order_id");
  EXPECT_EQ(NormalizeIdentifier("orderId"), "order_id");
  EXPECT_EQ(NormalizeIdentifier("OrderID"), "order_id");
  EXPECT_EQ(NormalizeIdentifier("HTTPServerError"), "http_server_error");
  EXPECT_EQ(NormalizeIdentifier("getHTTP"), "get_http");
  EXPECT_EQ(NormalizeIdentifier("v2Api"), "v2_api");
  EXPECT_EQ(NormalizeIdentifier("Customer Name"), "customer_name");
  EXPECT_EQ(NormalizeIdentifier("price ($)"), "price");
  EXPECT_EQ(NormalizeIdentifier("a-b.c/d"), "a_b_c_d");
  EXPECT_EQ(NormalizeIdentifier("  spaced  "), "spaced");
}

TEST(Identifiers, UnderscoresAreKeptButNeverDoubled) {
  EXPECT_EQ(NormalizeIdentifier("_id"), "_id");  // MongoDB's key keeps its leading underscore
  EXPECT_EQ(NormalizeIdentifier("__meta"), "_meta");
  EXPECT_EQ(NormalizeIdentifier("a__b"), "a_b");  // `__` separates nesting levels
  EXPECT_EQ(NormalizeIdentifier("a___b_"), "a_b");
}

TEST(Identifiers, DigitsAndEmptyNames) {
  EXPECT_EQ(NormalizeIdentifier("2024_sales"), "_2024_sales");
  EXPECT_EQ(NormalizeIdentifier("1"), "_1");
  EXPECT_EQ(NormalizeIdentifier("col1"), "col1");
  EXPECT_EQ(NormalizeIdentifier(""), "unnamed");
  EXPECT_EQ(NormalizeIdentifier("!!!"), "unnamed");
  EXPECT_EQ(NormalizeIdentifier("_"), "_");
}

TEST(Identifiers, UnicodeCharactersBecomeOneUnderscoreEach) {
  EXPECT_EQ(NormalizeIdentifier("größe"), "gr_e");   // ö and ß are one run
  EXPECT_EQ(NormalizeIdentifier("prix_€"), "prix");  // a trailing run goes
  EXPECT_EQ(NormalizeIdentifier("café au lait"), "caf_au_lait");
  EXPECT_EQ(NormalizeIdentifier("名前"), "unnamed");
  EXPECT_EQ(NormalizeIdentifier("Äpfel"), "pfel");  // a leading run goes, as for punctuation
}

TEST(Identifiers, LongNamesAreShortenedWithAStableTag) {
  std::string long_name(100, 'a');
  std::string other = long_name + "b";
  std::string a = NormalizeIdentifier(long_name);
  EXPECT_EQ(a.size(), kMaxIdentifierLength);
  EXPECT_EQ(a, NormalizeIdentifier(long_name));  // stable
  EXPECT_NE(a, NormalizeIdentifier(other));      // distinct names stay distinct
  EXPECT_EQ(a.substr(0, 50), long_name.substr(0, 50));
  EXPECT_EQ(a[kMaxIdentifierLength - 9], '_');
  EXPECT_EQ(NestedName("parent", "child"), "parent__child");
  EXPECT_EQ(NestedName(long_name.substr(0, 40), long_name.substr(0, 40)).size(), kMaxIdentifierLength);
}

TEST(Identifiers, ColumnNamesInOptionsKeepTheirNesting) {
  EXPECT_EQ(NormalizeColumnName("userId"), "user_id");
  EXPECT_EQ(NormalizeColumnName("user__email"), "user__email");
  EXPECT_EQ(NormalizeColumnName("User__eMail"), "user__e_mail");
}

}  // namespace nilus
