#include "nilus/core/cancellation.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace nilus {

void InstallStopSignalHandlers(std::stop_source stop) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  // Blocked here, inherited by every thread started later, and taken by sigwait below.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, stop]() mutable {
    int sig = 0;
    while (sigwait(&set, &sig) == 0) {
      // A second signal: the user insists. Leave at once; the destination's transaction is
      // rolled back by the database itself.
      if (stop.stop_requested()) _exit(130);
      stop.request_stop();
    }
  }).detach();  // lives as long as the process; it holds no resources
}

bool WaitForStop(const std::stop_token& stop, std::chrono::milliseconds timeout) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait_for(lock, stop, timeout, [] { return false; });
  return stop.stop_requested();
}

}  // namespace nilus
