#include "nilus/normalize/name_map.h"

#include <gtest/gtest.h>

namespace nilus {

TEST(NameMap, CollisionsAreResolvedDeterministically) {
  NameMap names("column");
  // `user_id` needs no normalising, so it keeps its name even though `userId` comes first.
  auto dest = names.ResolveAll({{"userId", "user_id", "userId"}, {"user_id", "user_id", "user_id"}});
  EXPECT_EQ(dest, (std::vector<std::string>{"user_id_2", "user_id"}));
  // The same source name always gets the same destination name.
  EXPECT_EQ(names.Resolve({"userId", "user_id", "userId"}), "user_id_2");
  EXPECT_EQ(names.Resolve({"UserID", "user_id", "UserID"}), "user_id_3");
}

TEST(NameMap, NamesOfEarlierRunsStay) {
  NameMap names("column");
  names.Restore("userId", "user_id");
  names.Reserve("amount__v_double");
  EXPECT_EQ(names.Resolve({"user_id", "user_id", "user_id"}), "user_id_2");
  EXPECT_EQ(names.Resolve({"userId", "user_id", "userId"}), "user_id");
  EXPECT_EQ(names.Resolve({"x", "amount__v_double", "x"}), "amount__v_double_2");
}

}  // namespace nilus
