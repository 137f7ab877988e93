#pragma once

#include <chrono>
#include <vector>

#include "nilus/core/options.h"
#include "nilus/pipeline/runner.h"
#include "nilus/state/run_history.h"
#include "nilus/state/state_store.h"

namespace nilus {

/// Measures one run of a pipeline and writes it to the run history when it ends. Writing the
/// history never fails a run: a history that cannot be written is a warning.
class RunRecorder {
 public:
  /// Starts measuring a run of `pipeline` (wall time, CPU time).
  explicit RunRecorder(const Pipeline& pipeline);

  /// What the run counts as it goes: give it to the run (RunOptions::metrics).
  RunMetrics& metrics() { return metrics_; }

  /// Records the run's outcome: `loads` when it succeeded, else `status`; `store` gives the
  /// state it committed.
  /// Pushes the run's metrics to the Pushgateway at `push_url` when it is not empty.
  void Finish(const Result<std::vector<LoadSummary>>& loads, StateStore& store, RunHistory* history,
              const std::string& push_url);

 private:
  const Pipeline& pipeline_;
  std::string started_at_;
  std::chrono::steady_clock::time_point start_;
  double cpu_start_;
  RunMetrics metrics_;
};

}  // namespace nilus
