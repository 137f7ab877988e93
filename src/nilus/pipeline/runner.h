#pragma once

#include <atomic>
#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include "nilus/connectors/registry.h"
#include "nilus/core/options.h"
#include "nilus/state/state_store.h"

namespace nilus {

/// What a run counts as it goes, beside what it loads (for the run history and metrics).
struct RunMetrics {
  std::atomic<int64_t> retries{0};  ///< attempts repeated after a transient failure
};

/// How one run of a pipeline goes.
struct RunOptions {
  /// Ignore the saved state and rebuild the destination tables.
  bool full_refresh = false;
  /// How long to wait for another run of the same pipeline to finish.
  std::chrono::seconds lock_timeout{600};
  /// Stops the run: what is not committed is rolled back.
  std::stop_token stop;
  /// Folders of the Python code of custom:// connectors (`--python-path`), beside a manifest's
  /// repo block.
  std::vector<std::string> python_path = {};
  /// A Prometheus Pushgateway (`--push-metrics`) that each run's metrics go to when it ends.
  std::string push_metrics = {};
  /// Where the run counts its retries; none when null.
  RunMetrics* metrics = nullptr;
};

/// What one run loaded, for the end-of-run summary.
struct LoadSummary {
  std::string pipeline;
  std::string source_table;
  std::string dest_table;
  std::string strategy;
  std::string load_id;
  int64_t rows = 0;
  int64_t bytes = 0;
  double seconds = 0;
  /// Time the Normalize stage took (on the extract thread, beside the load).
  double normalize_seconds = 0;
  /// Rows written to each child table (nested arrays), by table name.
  std::vector<std::pair<std::string, int64_t>> child_rows;
};

/// Runs a pipeline once (one summary per table it loaded: one, unless its source yields several): extract → normalize →
/// load over a bounded queue, then commits data, load record and state in one destination transaction, and copies the
/// state to `store`. The state is read inside that transaction under the pipeline's lock, so two runs of one pipeline
/// never load the same rows. Transient failures are retried; a stop request rolls back and returns Cancelled, unless it
/// comes once the final COMMIT was sent: then the load is complete and the run says so.
Result<std::vector<LoadSummary>> RunPipeline(const Pipeline& pipeline, const RunOptions& options,
                                             const ConnectorRegistry& registry, StateStore& store);

/// Checks, for `nilus validate`, that every column `mask` names is a column of the source, when
/// the source can tell its columns without reading data (CSV headers, SQL catalogs).
Status CheckMaskedColumns(const Pipeline& pipeline, const ConnectorRegistry& registry);

/// A new load id, unique and sorting in time order: "20261124T110102.123456Z.3fa2" (UTC,
/// always six digits of microseconds).
std::string NewLoadId();

}  // namespace nilus
