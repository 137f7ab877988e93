#include "nilus/pipeline/retry.h"

#include <gtest/gtest.h>

#include <thread>

namespace nilus {

namespace {
const RetryPolicy kFast{4, std::chrono::milliseconds(1), std::chrono::milliseconds(4)};
}

TEST(RetryTransient, RetriesTransientFailuresUntilSuccess) {
  int calls = 0;
  Status st = RetryTransient(
      "test", {},
      [&] {
        ++calls;
        return calls < 3 ? Status::Unavailable("busy") : Status::OK();
      },
      kFast);
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(calls, 3);
}

TEST(RetryTransient, FailsAtOnceOnPermanentErrors) {
  int calls = 0;
  Status st = RetryTransient(
      "test", {},
      [&] {
        ++calls;
        return Status::InvalidInput("bad");
      },
      kFast);
  EXPECT_EQ(st.code(), StatusCode::kInvalidInput);
  EXPECT_EQ(calls, 1);
}

TEST(RetryTransient, GivesUpAfterMaxAttempts) {
  int calls = 0;
  Status st = RetryTransient(
      "loading x", {},
      [&] {
        ++calls;
        return Status::Aborted("deadlock");
      },
      kFast);
  EXPECT_EQ(st.code(), StatusCode::kAborted);
  EXPECT_EQ(calls, 4);
  EXPECT_NE(st.message().find("failed 4 times"), std::string::npos) << st.message();
}

TEST(RetryTransient, AnAttemptThatRanLongerThanTheLongestWaitStartsAfresh) {
  // Each attempt runs past max_delay before failing: the count starts again every time, so
  // five failures in a row do not exhaust four attempts.
  int calls = 0;
  Status st = RetryTransient(
      "streaming", {},
      [&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return ++calls <= 5 ? Status::Unavailable("connection lost") : Status::OK();
      },
      kFast);
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(calls, 6);
}

}  // namespace nilus
