#pragma once

#include <array>
#include <chrono>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nilus/core/status.h"

namespace nilus {

class SqliteDb;
class RemoteHistory;

/// One table a run loaded: what its extract, normalize and load stages did.
struct TableRun {
  std::string source_table;
  std::string dest_table;
  std::string load_id;
  int64_t rows = 0;
  int64_t bytes = 0;
  double seconds = 0;            ///< extract and load, which overlap
  double normalize_seconds = 0;  ///< of those, in the Normalize stage
  int64_t files_loaded = 0;      ///< files or batches the destination wrote for it
  nlohmann::json schema;         ///< the table's columns as committed
};

/// One run of a pipeline, as the manager's run history keeps it (DESIGN §2.5).
struct RunRecord {
  std::string run_id;
  std::string pipeline;  ///< the manifest's name (dataos_resource_id)
  std::string run_as_user;
  std::string source_depot, destination_depot;  ///< the addresses' schemes (or depot names)
  std::string destination_uri;                  ///< masked
  std::string destination_schema;
  std::string started_at, finished_at;  ///< ISO 8601, UTC
  double duration_sec = 0;
  double memory_mb = 0;    ///< the process's peak RSS
  double cpu_percent = 0;  ///< CPU time over wall time during the run
  int64_t retries = 0;     ///< attempts repeated after a transient failure
  bool is_success = false;
  nlohmann::json error;  ///< {"code", "message"}, or null
  nlohmann::json pipeline_state;
  std::vector<TableRun> tables;
};

/// Which runs a query of the history returns (every filter optional), newest first.
struct RunQuery {
  std::string pipeline;  ///< dataos_resource_id
  std::string run_as_user;
  std::optional<bool> is_success;
  std::string started_gte, started_lte;  ///< ISO 8601 bounds of started_at
  int64_t limit = 50;
  int64_t offset = 0;
};

/// The upper bounds, in seconds, of the run-duration histogram's buckets.
inline constexpr double kDurationBuckets[] = {1, 5, 15, 60, 300, 900, 3600};

/// Every run recorded, for metrics (counters: kept as runs are recorded, so they never drop when
/// retention removes old runs, and reading them costs the same however long the history): per
/// pipeline, runs by outcome, the durations' histogram, the last run's end and outcome; per
/// pipeline and table, rows and bytes loaded.
struct RunTotals {
  struct Pipeline {
    std::string name;
    int64_t successes = 0, failures = 0;
    double last_finished = 0;  ///< seconds since 1970
    bool last_success = false;
    double duration_sum = 0;
    int64_t retries = 0;
    /// Runs that took at most kDurationBuckets[i] seconds.
    std::array<int64_t, std::size(kDurationBuckets)> buckets = {};
  };
  struct Table {
    std::string pipeline, table;
    int64_t rows = 0;
    double bytes = 0;
  };
  std::vector<Pipeline> pipelines;
  std::vector<Table> tables;
};

/// How a change-data-capture service is doing, as it reports itself every few seconds.
struct CdcReport {
  std::string pipeline;
  std::string source;       ///< the source address, masked
  std::string started_at;   ///< when this service process started
  nlohmann::json position;  ///< the committed position
  int64_t changes = 0;      ///< changes applied since its last report
  double lag_seconds = 0;   ///< since the source committed the last change applied; 0 when caught up
  int64_t lag_bytes = -1;   ///< of the source's log beyond the committed position; -1 when unknown
  std::string state;        ///< streaming, stopped or failed
  std::string error;        ///< why it failed
};

/// The run history under `$NILUS_HOME` (`metadata.db`, SQLite): the tables of the upstream
/// manager — runs_info, extract_info, normalize_info, load_info — created when missing, rows
/// older than the retention removed as runs are recorded.
class RunHistory {
 public:
  /// Opens (creating) `home`/metadata.db; runs older than `retention_days` go. With `remote_uri`
  /// (NILUS_METADATA_URI), each run recorded is also sent to that PostgreSQL history; one that
  /// cannot be sent waits in the local history (a warning) and goes with the next run.
  static Result<std::unique_ptr<RunHistory>> Open(const std::string& home, int retention_days,
                                                  const std::string& remote_uri = "");
  ~RunHistory();

  /// Records a run and its tables in one transaction (then sends the waiting runs to the remote
  /// history, if any).
  Status Record(const RunRecord& run);

  /// With a remote history: copies into this one the runs recorded there since the last call
  /// (by other machines, by the runs of other processes), each once, and the services' reports.
  Status Pull();

  /// The runs_info rows `q` selects, as JSON objects (JSON columns parsed), and how many there
  /// are in all: {"items": […], "total": n, "limit": …, "offset": …}.
  Result<nlohmann::json> Runs(const RunQuery& q);
  /// Per pipeline (or for `pipeline` alone), over the runs started in the last `period_days`:
  /// runs, successes, failures, success rate, average and longest duration, rows loaded, the
  /// last run's start and outcome.
  Result<nlohmann::json> Stats(const std::string& pipeline, int64_t period_days);

  /// What the history holds, for metrics.
  Result<RunTotals> Totals();

  /// Records a change-data-capture service's report: one row per pipeline in `cdc_status`, its
  /// `changes_applied` the sum of every report's changes.
  Status ReportCdc(const CdcReport& report);
  /// Every service's last report: {pipeline, source, started_at, updated_at, position,
  /// changes_applied, lag_seconds, lag_bytes, state, error}.
  Result<nlohmann::json> CdcStatuses();

 private:
  RunHistory(std::unique_ptr<SqliteDb> db, int retention_days, std::string remote_uri);
  Status Insert(const RunRecord& run);
  /// Adds the run `run_id`, recorded here, to the metrics' totals.
  Status AddTotals(const std::string& run_id, int64_t retries);
  /// Sends the runs of export_queue to the remote history; a warning when it cannot.
  void FlushExports();
  /// The remote history, connected (again) when needed.
  Result<RemoteHistory*> Remote();

  std::unique_ptr<SqliteDb> db_;
  int retention_days_;
  std::string remote_uri_;
  std::unique_ptr<RemoteHistory> remote_connection_;
  bool warned_ = false;
  std::chrono::steady_clock::time_point retry_remote_at_{};
};

/// A time as 2026-11-30T20:04:00.022936Z: the history's timestamps, which sort as text.
std::string HistoryTime(std::chrono::system_clock::time_point t);
/// Now, as HistoryTime writes it.
std::string HistoryNow();

/// Who runs this process, for run_as_user: $USER, else the user of its uid.
std::string CurrentUser();

/// The PostgreSQL run history of NILUS_METADATA_URI ("" when not set); an address that is not
/// postgresql:// is invalid input. Its password is registered as a secret.
Result<std::string> MetadataUri();

/// The retention of the run history in days: NILUS_HISTORY_RETENTION_DAYS, 90 by default.
Result<int> HistoryRetentionDays();

}  // namespace nilus
