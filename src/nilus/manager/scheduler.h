#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "nilus/core/status.h"
#include "nilus/manifest/manifest.h"
#include "nilus/state/run_history.h"

namespace nilus {

/// Where the scheduler finds its manifests and how it starts a run.
struct SchedulerOptions {
  std::string folder;  ///< the manifests (*.yaml, *.yml; not in subfolders)
  /// The program a run is (`<binary> run MANIFEST [--node NODE] <run_flags>`): this nilus.
  std::string binary;
  std::vector<std::string> run_flags = {};
  std::chrono::milliseconds rescan_every{2000};
  /// How long a pipeline asked to stop may take before it is killed (its load rolls back either way).
  std::chrono::seconds stop_grace{30};
  /// $NILUS_HOME: a run killed by a signal cannot record itself; the scheduler records it there.
  std::string home = {};
  int retention_days = 90;
  std::string metadata_uri = {};
};

/// Runs the manifests of a folder (`nilus serve --manifests DIR`): each workflow on its
/// schedule (cron in its time zone, until endOn, with its concurrency policy), each service
/// continuously, restarting it with backoff (1 s doubling to 60 s) when it fails or is killed.
/// Manifests added, changed or removed are picked up while it runs.
///
/// Every run is a child process, `nilus run MANIFEST`, in its own process group: it has its own
/// stop (SIGTERM), its own memory and its own failures, so one pipeline never stops another,
/// and the run records itself in the run history as any `nilus run` does. A manifest that does
/// not load is listed with its error and not run; the others go on.
class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options);

  /// Runs until `stop` is requested; then asks every running pipeline to stop, waits for them
  /// (killing one that takes longer than `stop_grace`) and returns.
  void Run(std::stop_token stop);

  /// Starts a run of `id` now: a manifest's name (all its pipelines) or a pipeline's (that DAG
  /// node). Its concurrency policy applies. NotFound for an unknown id; FailedPrecondition when
  /// it cannot run now (a manifest with errors, Forbid while a run is running, a service that
  /// is running). Returns the run it started.
  Result<nlohmann::json> Trigger(const std::string& id);

  /// Every manifest of the folder: its kind, pipelines, schedule, next run, running runs, counts
  /// and last exit, or why it is not run.
  nlohmann::json Describe() const;

  /// The scheduler's metrics in Prometheus's text format.
  std::string Metrics() const;

 private:
  struct Child {
    pid_t pid = 0;
    std::string trigger;  ///< schedule, api or service
    std::string node;     ///< the DAG node it runs; empty: the whole manifest
    SystemTime started;
    bool stopping = false;  ///< asked to stop (SIGTERM sent)
  };
  struct FileStamp {
    int64_t mtime_ns = 0, size = 0, inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  struct Entry {
    std::string file;
    FileStamp stamp;
    std::string id;
    std::string kind;   ///< workflow, service or stackSpec
    std::string error;  ///< why it is not run; empty when it loaded
    std::optional<WorkflowSchedule> schedule;
    std::vector<std::string> pipelines;
    std::optional<SystemTime> next_run;
    std::vector<Child> running;
    bool removed = false;  ///< its file is gone: dropped once its runs have ended
    /// A run to start once the running ones have ended (Replace, or a changed service).
    std::optional<std::string> pending;
    std::string pending_node;
    // services
    bool completed = false;  ///< ended on its own with success (snapshot.mode: initial_only)
    std::chrono::steady_clock::time_point restart_at{};
    std::chrono::seconds backoff{1};
    // counts since the scheduler started
    int64_t started = 0, skipped = 0, replaced = 0, restarts = 0;
    std::string last_exit;  ///< "exit 0", "exit 1", "signal 9"
    std::optional<SystemTime> last_exit_at;
  };

  struct TriggerRequest {
    std::string id;
    std::promise<Result<nlohmann::json>> done;
  };

  void Rescan();
  void Load(Entry& e);
  void Tick(SystemTime now);
  void Reap();
  /// Starts a run by `trigger`, applying the entry's concurrency policy.
  Result<nlohmann::json> StartRun(Entry& e, const std::string& trigger, const std::string& node);
  Result<nlohmann::json> Spawn(Entry& e, const std::string& trigger, const std::string& node);
  Result<nlohmann::json> Answer(const std::string& id);
  void StopRuns(Entry& e);
  /// Records in the run history the failed run of a child that a signal ended (it could not).
  void RecordKilled(const Entry& e, const Child& c, const std::string& how);
  nlohmann::json DescribeEntry(const Entry& e) const;

  SchedulerOptions options_;
  std::unique_ptr<RunHistory> history_;  ///< null when it cannot be opened (then a warning)
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;  // by file
  /// Triggers from the API, carried out by the scheduler's thread: the runs are its children
  /// (a child is told of its parent's end through the thread that started it).
  std::deque<std::shared_ptr<TriggerRequest>> requests_;
  bool running_ = false;
  bool stopping_ = false;
};

}  // namespace nilus
