#include "nilus/pipeline/retry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "nilus/core/cancellation.h"

namespace nilus {

Status RetryTransient(std::string_view what, const std::stop_token& stop, const std::function<Status()>& attempt,
                      const RetryPolicy& policy, std::atomic<int64_t>* retries) {
  std::mt19937_64 rng(std::random_device{}());
  auto ceiling = policy.initial_delay;
  for (int n = 1;; ++n) {
    auto started = std::chrono::steady_clock::now();
    Status st = attempt();
    if (st.ok() || !st.IsTransient()) return st;
    // An attempt that ran well (longer than the longest wait) before it failed starts afresh:
    // a service that failed after hours waits a second, not a minute.
    if (std::chrono::steady_clock::now() - started > policy.max_delay) {
      n = 1;
      ceiling = policy.initial_delay;
    }
    if (n >= policy.max_attempts) {
      return st.WithContext(fmt::format("{} failed {} times, giving up", what, n));
    }
    std::uniform_int_distribution<int64_t> jitter(ceiling.count() / 2, ceiling.count());
    std::chrono::milliseconds delay(jitter(rng));
    spdlog::warn("{}: {} (attempt {} of {}); retrying in {} ms", what, st.message(), n, policy.max_attempts,
                 delay.count());
    if (WaitForStop(stop, delay)) return Status::Cancelled("interrupted while waiting to retry {}", what);
    if (retries) ++*retries;
    ceiling = std::min(ceiling * 2, policy.max_delay);
  }
}

}  // namespace nilus
