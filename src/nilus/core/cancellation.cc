#include "nilus/core/cancellation.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace nilus {

namespace {

std::atomic<bool> g_stop{false};
std::mutex g_mu;
std::condition_variable g_cv;

}  // namespace

void InstallStopSignalHandlers() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  // Blocked here, inherited by every thread started later, and taken by sigwait below.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    while (sigwait(&set, &sig) == 0) {
      if (StopRequested()) {
        // A second signal: the user insists. Leave at once; the destination's transaction is
        // rolled back by the database itself.
        _exit(130);
      }
      RequestStop();
    }
  }).detach();  // lives as long as the process; it holds no resources
}

bool StopRequested() { return g_stop.load(std::memory_order_relaxed); }

void RequestStop() {
  {
    std::lock_guard lock(g_mu);
    g_stop = true;
  }
  g_cv.notify_all();
}

bool WaitForStop(std::chrono::milliseconds timeout) {
  std::unique_lock lock(g_mu);
  return g_cv.wait_for(lock, timeout, [] { return g_stop.load(); });
}

}  // namespace nilus
