#include "nilus/core/uri.h"

#include <gtest/gtest.h>

#include "nilus/core/secrets.h"

namespace nilus {

TEST(Uri, ParsesEveryPart) {
  auto uri = Uri::Parse("postgresql://app:p%40ss@db.local:5433/shop?sslmode=require&application_name=nilus");
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(uri->scheme(), "postgresql");
  EXPECT_EQ(uri->user(), "app");
  EXPECT_EQ(uri->password(), "p@ss");
  EXPECT_EQ(uri->host(), "db.local");
  EXPECT_EQ(uri->port(), 5433);
  EXPECT_EQ(uri->path(), "/shop");
  ASSERT_EQ(uri->query().size(), 2u);
  EXPECT_EQ(uri->query()[0], std::make_pair(std::string("sslmode"), std::string("require")));
  EXPECT_EQ(uri->query()[1].first, "application_name");
}

TEST(Uri, MasksThePasswordEverywhere) {
  auto uri = Uri::Parse("postgresql://app:verysecret@h/db");
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(uri->Masked(), "postgresql://app:***@h/db");
  EXPECT_EQ(MaskSecrets("failed to connect with verysecret"), "failed to connect with ***");
  // A password too short to be masked wherever it appears is still masked in its place.
  EXPECT_EQ(Uri::Parse("mysql://app:pw@h:3306/db")->Masked(), "mysql://app:***@h:3306/db");
  EXPECT_EQ(Uri::Parse("mysql://app@h/db")->Masked(), "mysql://app@h/db");
}

TEST(Uri, FilePathsAndIpv6) {
  auto file = Uri::Parse("file:///data/orders%20v2.csv");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->host(), "");
  EXPECT_EQ(file->path(), "/data/orders v2.csv");
  auto v6 = Uri::Parse("postgresql://[::1]:5432/db");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host(), "::1");
  EXPECT_EQ(v6->port(), 5432);
}

TEST(Uri, RejectsWhatIsNotAnAddress) {
  EXPECT_EQ(Uri::Parse("orders.csv").status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(Uri::Parse("pg://h:99999/db").status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(Uri::Parse("pg://h:abc/db").status().code(), StatusCode::kInvalidInput);
}

}  // namespace nilus
