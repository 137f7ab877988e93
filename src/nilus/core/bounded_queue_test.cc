#include "nilus/core/bounded_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace nilus {

TEST(BoundedQueue, NeverHoldsMoreThanItsCapacity) {
  BoundedQueue<int> q(2);
  std::atomic<int> pushed{0};
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) {
      ASSERT_TRUE(q.Push(i));
      ++pushed;
    }
    q.Close();
  });
  int expected = 0;
  while (auto v = q.Pop()) {
    EXPECT_EQ(*v, expected++);
    EXPECT_LE(pushed.load() - expected, 3);  // at most the capacity plus one being handed over
  }
  producer.join();
  EXPECT_EQ(expected, 1000);
}

TEST(BoundedQueue, CloseWakesABlockedProducer) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.Push(1));
  std::thread producer([&] { EXPECT_FALSE(q.Push(2)); });
  // Close only once the producer waits for room, so that it is the close that wakes it.
  while (q.blocked_producers() == 0) std::this_thread::yield();
  q.Close();
  producer.join();
  EXPECT_EQ(q.Pop(), 1);
  EXPECT_EQ(q.Pop(), std::nullopt);
}

}  // namespace nilus
