#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace nilus {

/// A blocking queue of at most `capacity` items between two pipeline stages: the producer
/// waits when it is full, so memory stays bounded whatever the size of the data.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  /// What a push with a time limit did.
  enum class PushResult { kPushed, kTimedOut, kClosed };

  /// Blocks while full; returns false (dropping `item`) when the queue was closed.
  bool Push(T item) {
    while (true) {
      PushResult r = PushFor(item, std::chrono::hours(1));
      if (r != PushResult::kTimedOut) return r == PushResult::kPushed;
    }
  }

  /// Like Push, but gives up after `wait` (keeping `item`), so that a producer can do other work
  /// while the consumer is slow (answer a server's keepalive, say).
  template <typename Duration>
  PushResult PushFor(T& item, Duration wait) {
    std::unique_lock lock(mu_);
    ++blocked_;
    bool room = not_full_.wait_for(lock, wait, [&] { return closed_ || items_.size() < capacity_; });
    --blocked_;
    if (closed_) return PushResult::kClosed;
    if (!room) return PushResult::kTimedOut;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return PushResult::kPushed;
  }

  /// Like Pop, but gives up after `wait`: nullopt then, or once the queue is closed and drained.
  template <typename Duration>
  std::optional<T> PopFor(Duration wait) {
    std::unique_lock lock(mu_);
    not_empty_.wait_for(lock, wait, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  bool closed() {
    std::lock_guard lock(mu_);
    return closed_;
  }

  /// Blocks while empty; returns nullopt once the queue is closed and drained.
  std::optional<T> Pop() {
    while (true) {
      if (auto item = PopFor(std::chrono::hours(1))) return item;
      if (closed()) return std::nullopt;  // else the wait timed out
    }
  }

  /// How many producers wait in Push for room (for tests and progress reports).
  size_t blocked_producers() {
    std::lock_guard lock(mu_);
    return blocked_;
  }

  /// Wakes both sides; later pushes fail, pops drain what is left.
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
  size_t blocked_ = 0;
};

}  // namespace nilus
