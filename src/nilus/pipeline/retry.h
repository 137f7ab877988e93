#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <stop_token>
#include <string_view>

#include "nilus/core/status.h"

namespace nilus {

struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds initial_delay{500};
  std::chrono::milliseconds max_delay{30000};
};

/// Runs `attempt` until it succeeds, fails permanently, or `max_attempts` transient failures
/// (Unavailable, Aborted) happened in a row. Waits between attempts with exponential backoff and
/// jitter; an attempt that ran longer than `max_delay` before failing resets the count and the
/// backoff (a long-lived service that fails after hours retries soon). A stop request (`stop`)
/// ends the wait and the retries. Each retry adds one to `*retries` when given.
Status RetryTransient(std::string_view what, const std::stop_token& stop, const std::function<Status()>& attempt,
                      const RetryPolicy& policy = {}, std::atomic<int64_t>* retries = nullptr);

}  // namespace nilus
