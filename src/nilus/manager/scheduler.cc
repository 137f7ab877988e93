#include "nilus/manager/scheduler.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "nilus/connectors/registry.h"
#include "nilus/core/cancellation.h"
#include "nilus/core/secrets.h"
#include "nilus/core/strings.h"

extern char** environ;

namespace nilus {

namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::seconds kMaxBackoff{60};
/// A service that ran this long before it failed starts again after the shortest backoff.
constexpr std::chrono::seconds kHealthyRun{60};

double Seconds(SystemTime t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

std::string ExitText(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("status {}", status);
}

std::string PolicyName(ConcurrencyPolicy p) {
  switch (p) {
    case ConcurrencyPolicy::kAllow:
      return "Allow";
    case ConcurrencyPolicy::kForbid:
      return "Forbid";
    case ConcurrencyPolicy::kReplace:
      return "Replace";
  }
  return "";
}

/// The next scheduled time after `after`, none past endOn.
std::optional<SystemTime> NextRun(const WorkflowSchedule& s, SystemTime after) {
  auto next = s.cron.Next(after);
  if (next && s.end_on && *next > *s.end_on) return std::nullopt;
  return next;
}

/// Starts `args` as a child in its own process group (a Ctrl-C at the terminal reaches nilus
/// serve, which stops its children one by one), with stdin and stdout on /dev/null (the run's
/// summary; its log goes to stderr, shared with nilus serve), no other descriptor, and the
/// environment less `NILUS_API_TOKEN`. SIGINT and SIGTERM stay
/// blocked across exec, as nilus takes them with sigwait: a stop sent before the child is
/// ready waits for it. The child is sent SIGTERM if this thread ends before it.
Result<pid_t> SpawnProcess(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "NILUS_API_TOKEN=", 16) != 0) envp.push_back(*e);
  }
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return Status::IOError("cannot start a run: fork: {}", std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
    close_range(3, ~0U, 0);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so that a stop sent at once reaches the group
  return pid;
}

}  // namespace

Scheduler::Scheduler(SchedulerOptions options) : options_(std::move(options)) {}

void Scheduler::Load(Entry& e) {
  const std::string kind_before = e.kind;
  auto m = LoadManifest(e.file, ConnectorRegistry::Builtin());
  if (!m.ok()) {
    if (e.id.empty()) e.id = fs::path(e.file).stem().string();
    e.error = MaskSecrets(m.status().message());
    spdlog::error("manifest {} is not run: {}{}", e.file, e.error,
                  e.running.empty() ? "" : "; its running pipeline goes on as it was");
    return;
  }
  e.error.clear();
  e.id = m->name;
  e.kind = m->kind;
  e.schedule = m->schedule;
  e.pipelines.clear();
  for (const auto& p : m->pipelines) e.pipelines.push_back(p.name);
  e.completed = false;
  e.backoff = std::chrono::seconds(1);
  e.restart_at = {};
  for (const auto& [file, other] : entries_) {
    if (file != e.file && !other.removed && other.error.empty() && other.id == e.id) {
      e.error = fmt::format(
          "its name '{}' is also the name of {}; names key the pipelines' state and the API, so each must be unique",
          e.id, file);
      spdlog::error("manifest {} is not run: {}", e.file, e.error);
      return;
    }
  }
  e.next_run = e.schedule ? NextRun(*e.schedule, std::chrono::system_clock::now()) : std::nullopt;
  if (e.kind == "service") {
    // A changed service restarts with its new manifest.
    if (!e.running.empty()) spdlog::info("service {}: its manifest changed; restarting it", e.id);
    StopRuns(e);
  } else if (kind_before == "service") {
    StopRuns(e);
  }
  std::string when = e.kind == "service" ? "runs continuously"
                     : e.next_run        ? "next run at " + FormatRfc3339(*e.next_run)
                     : e.schedule        ? "its schedule has ended (endOn)"
                                         : "runs when triggered (POST /api/v1/pipelines/" + e.id + "/run)";
  spdlog::info("manifest {}: {} {} ({} pipeline{}); {}", e.file, e.kind, e.id, e.pipelines.size(),
               e.pipelines.size() == 1 ? "" : "s", when);
}

void Scheduler::Rescan() {
  std::set<std::string> seen;
  std::error_code ec;
  fs::directory_iterator it(options_.folder, ec);
  if (ec) {
    spdlog::warn("cannot read the manifests folder {}: {}", options_.folder, ec.message());
    return;  // nothing is removed for a folder that cannot be read for a moment
  }
  for (const auto& de : it) {
    const fs::path& p = de.path();
    const std::string name = p.filename().string();
    if (name.starts_with(".") || (p.extension() != ".yaml" && p.extension() != ".yml")) continue;
    struct stat st {};
    if (stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const FileStamp stamp{static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                          static_cast<int64_t>(st.st_size), static_cast<int64_t>(st.st_ino)};
    seen.insert(p.string());
    auto found = entries_.find(p.string());
    if (found == entries_.end()) {
      Entry& e = entries_[p.string()];
      e.file = p.string();
      e.stamp = stamp;
      Load(e);
    } else if (found->second.stamp != stamp || found->second.removed) {
      found->second.stamp = stamp;
      found->second.removed = false;
      Load(found->second);
    }
  }
  for (auto& [file, e] : entries_) {
    if (seen.count(file) || e.removed) continue;
    e.removed = true;
    e.pending.reset();
    spdlog::info("manifest {} was removed: {} runs no more{}", file, e.id.empty() ? file : e.id,
                 e.kind == "service" ? "; stopping it" : "");
    if (e.kind == "service") StopRuns(e);
  }
  std::erase_if(entries_, [](const auto& kv) { return kv.second.removed && kv.second.running.empty(); });
}

void Scheduler::StopRuns(Entry& e) {
  for (auto& c : e.running) {
    if (c.stopping) continue;
    kill(-c.pid, SIGTERM);
    c.stopping = true;
    spdlog::info("{}: asked the run of pid {} to stop", e.id, c.pid);
  }
}

Result<nlohmann::json> Scheduler::Spawn(Entry& e, const std::string& trigger, const std::string& node) {
  std::vector<std::string> args = {options_.binary, "run", e.file};
  if (!node.empty()) args.insert(args.end(), {"--node", node});
  args.insert(args.end(), options_.run_flags.begin(), options_.run_flags.end());
  NILUS_ASSIGN_OR_RAISE(pid_t pid, SpawnProcess(args));
  Child c{pid, trigger, node, std::chrono::system_clock::now(), false};
  e.running.push_back(c);
  ++e.started;
  spdlog::info("{}: started {} (pid {}, {})", e.id, node.empty() ? e.kind : node, pid, trigger);
  return nlohmann::json{{"id", e.id},
                        {"node", node.empty() ? nlohmann::json() : nlohmann::json(node)},
                        {"pid", pid},
                        {"trigger", trigger},
                        {"started_at", FormatRfc3339(c.started)}};
}

Result<nlohmann::json> Scheduler::StartRun(Entry& e, const std::string& trigger, const std::string& node) {
  const auto policy = e.schedule ? e.schedule->policy : ConcurrencyPolicy::kAllow;
  if (!e.running.empty() && policy == ConcurrencyPolicy::kForbid) {
    ++e.skipped;
    const Child& c = e.running.front();
    spdlog::info("{}: {} run skipped: the run of pid {} started at {} is still running (concurrencyPolicy: Forbid)",
                 e.id, trigger, c.pid, FormatRfc3339(c.started));
    return Status::FailedPrecondition(
        "{} is running (pid {}, started at {}) and its concurrencyPolicy is Forbid; the run was skipped", e.id, c.pid,
        FormatRfc3339(c.started));
  }
  if (!e.running.empty() && policy == ConcurrencyPolicy::kReplace) {
    // The running load is stopped and rolls back; the new run starts once it has ended.
    nlohmann::json replaces = nlohmann::json::array();
    for (const auto& c : e.running) {
      if (!c.stopping) ++e.replaced;
      replaces.push_back(c.pid);
    }
    spdlog::info("{}: {} run replaces the running one (concurrencyPolicy: Replace)", e.id, trigger);
    StopRuns(e);
    e.pending = trigger;
    e.pending_node = node;
    return nlohmann::json{{"id", e.id}, {"trigger", trigger}, {"state", "starting"}, {"replaces", replaces}};
  }
  return Spawn(e, trigger, node);
}

void Scheduler::Reap() {
  const auto now = std::chrono::system_clock::now();
  for (auto& [file, e] : entries_) {
    for (auto it = e.running.begin(); it != e.running.end();) {
      int status = 0;
      const pid_t r = waitpid(it->pid, &status, WNOHANG);
      if (r == 0) {
        ++it;
        continue;
      }
      const std::string how = r < 0 ? "lost" : ExitText(status);
      e.last_exit = how;
      e.last_exit_at = now;
      const bool ok = r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
      const bool asked = it->stopping;
      const auto ran = now - it->started;
      if (r > 0 && WIFSIGNALED(status) && e.kind != "service") RecordKilled(e, *it, how);
      it = e.running.erase(it);
      if (e.kind != "service" || asked || stopping_ || e.removed) {
        if (ok || asked) {
          spdlog::info("{}: run ended ({})", e.id, how);
        } else {
          spdlog::warn("{}: run failed ({}); its error is in the log above and in the run history", e.id, how);
        }
        continue;
      }
      if (ok) {
        e.completed = true;
        spdlog::info("service {} ended on its own ({}); it is not restarted", e.id, how);
        continue;
      }
      if (ran >= kHealthyRun) e.backoff = std::chrono::seconds(1);
      e.restart_at = SteadyClock::now() + e.backoff;
      ++e.restarts;
      spdlog::warn("service {} ended ({}); restarting it in {} s", e.id, how, e.backoff.count());
      e.backoff = std::min(e.backoff * 2, kMaxBackoff);
    }
  }
}

void Scheduler::RecordKilled(const Entry& e, const Child& c, const std::string& how) {
  if (!history_) return;
  // The nodes run in order, each recording itself as it ends: the one killed is the first
  // without a run since the child started.
  std::vector<std::string> nodes = c.node.empty() ? e.pipelines : std::vector<std::string>{c.node};
  for (const auto& pipeline : nodes) {
    RunQuery q;
    q.pipeline = pipeline;
    q.started_gte = HistoryTime(c.started);
    q.limit = 1;
    auto runs = history_->Runs(q);
    if (!runs.ok() || (*runs)["total"].get<int64_t>() > 0) continue;
    RunRecord r;
    r.run_id = fmt::format("{}.killed.{}", HistoryTime(c.started), c.pid);
    r.pipeline = pipeline;
    r.run_as_user = CurrentUser();
    r.started_at = HistoryTime(c.started);
    r.finished_at = HistoryNow();
    r.duration_sec = std::chrono::duration<double>(std::chrono::system_clock::now() - c.started).count();
    r.error = {{"code", "killed"},
               {"message", fmt::format("the run (pid {}) was ended by {}; its load rolled back", c.pid, how)}};
    Status st = history_->Record(r);
    if (!st.ok()) spdlog::warn("{}: the killed run is not in the run history: {}", e.id, st.message());
    return;
  }
}

Result<nlohmann::json> Scheduler::Answer(const std::string& id) {
  Entry* entry = nullptr;
  std::string node;
  for (auto& [file, e] : entries_) {
    if (e.removed) continue;
    if (e.id == id) {
      entry = &e;
      break;
    }
    if (std::find(e.pipelines.begin(), e.pipelines.end(), id) != e.pipelines.end()) {
      entry = &e;
      node = id;
      break;
    }
  }
  if (entry == nullptr) {
    return Status::NotFound(
        "no manifest in {} is named {} or has a pipeline named so; GET /api/v1/scheduler lists them", options_.folder,
        id);
  }
  Entry& e = *entry;
  if (!e.error.empty()) return Status::FailedPrecondition("manifest {} is not run: {}", e.file, e.error);
  if (e.kind == "service") {
    if (!e.running.empty()) {
      return Status::FailedPrecondition("{} is a service: it runs continuously (pid {})", e.id, e.running[0].pid);
    }
    e.completed = false;
    return Spawn(e, "api", "");
  }
  return StartRun(e, "api", node);
}

Result<nlohmann::json> Scheduler::Trigger(const std::string& id) {
  auto request = std::make_shared<TriggerRequest>();
  request->id = id;
  auto answer = request->done.get_future();
  {
    std::lock_guard lock(mu_);
    if (!running_ || stopping_) return Status::Unavailable("the scheduler is stopping; no run is started");
    requests_.push_back(request);
  }
  return answer.get();
}

void Scheduler::Tick(SystemTime now) {
  while (!requests_.empty()) {
    auto r = std::move(requests_.front());
    requests_.pop_front();
    r->done.set_value(Answer(r->id));
  }
  for (auto& [file, e] : entries_) {
    if (e.removed || !e.error.empty()) continue;
    if (e.pending && e.running.empty()) {
      auto started = Spawn(e, *e.pending, e.pending_node);
      if (!started.ok()) spdlog::error("{}: {}", e.id, started.status().message());
      e.pending.reset();
    }
    if (e.kind == "service") {
      if (e.running.empty() && !e.completed && SteadyClock::now() >= e.restart_at) {
        auto started = Spawn(e, "service", "");
        if (!started.ok()) spdlog::error("{}: {}", e.id, started.status().message());
      }
    } else if (e.next_run && now >= *e.next_run) {
      (void)StartRun(e, "schedule", "");  // a skipped or failed start is logged
      e.next_run = NextRun(*e.schedule, now);
      if (!e.next_run) spdlog::info("{}: its schedule has ended (endOn); no more runs", e.id);
    }
  }
}

void Scheduler::Run(std::stop_token stop) {
  spdlog::info("scheduler: running the manifests of {}", options_.folder);
  if (!options_.home.empty()) {
    auto history = RunHistory::Open(options_.home, options_.retention_days, options_.metadata_uri);
    if (history.ok()) {
      history_ = std::move(*history);
    } else {
      spdlog::warn("runs killed by a signal are not written to the run history: {}", history.status().message());
    }
  }
  auto next_scan = SteadyClock::now();
  {
    std::lock_guard lock(mu_);
    running_ = true;
  }
  while (!stop.stop_requested()) {
    {
      std::lock_guard lock(mu_);
      Reap();
      if (SteadyClock::now() >= next_scan) {
        Rescan();
        next_scan = SteadyClock::now() + options_.rescan_every;
      }
      Tick(std::chrono::system_clock::now());
    }
    WaitForStop(stop, std::chrono::milliseconds(100));
  }
  // Stop every pipeline: each rolls back what it had not committed.
  const auto deadline = SteadyClock::now() + options_.stop_grace;
  bool killed = false;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        stopping_ = true;
        for (auto& r : requests_)
          r->done.set_value(Status::Unavailable("the scheduler is stopping; no run is started"));
        requests_.clear();
        for (auto& [file, e] : entries_) StopRuns(e);
      }
      Reap();
      size_t left = 0;
      for (auto& [file, e] : entries_) left += e.running.size();
      if (left == 0) break;
      if (!killed && SteadyClock::now() >= deadline) {
        killed = true;
        spdlog::warn("scheduler: {} pipeline{} did not stop within {} s; killing them (their loads roll back)", left,
                     left == 1 ? "" : "s", options_.stop_grace.count());
        for (auto& [file, e] : entries_) {
          for (const auto& c : e.running) kill(-c.pid, SIGKILL);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  spdlog::info("scheduler: every pipeline has stopped");
}

nlohmann::json Scheduler::DescribeEntry(const Entry& e) const {
  std::string state;
  if (!e.error.empty()) {
    state = "invalid";
  } else if (!e.running.empty()) {
    state = std::all_of(e.running.begin(), e.running.end(), [](const Child& c) { return c.stopping; }) ? "stopping"
                                                                                                       : "running";
  } else if (e.removed) {
    state = "removed";
  } else if (e.kind == "service") {
    state = e.completed ? "completed" : "restarting";
  } else if (e.next_run) {
    state = "scheduled";
  } else {
    state = e.schedule ? "ended" : "idle";
  }
  nlohmann::json running = nlohmann::json::array();
  for (const auto& c : e.running) {
    running.push_back({{"pid", c.pid}, {"trigger", c.trigger}, {"started_at", FormatRfc3339(c.started)}});
  }
  nlohmann::json schedule;
  if (e.schedule) {
    schedule = {{"cron", e.schedule->cron.expression()},
                {"timezone", e.schedule->cron.timezone().empty() ? "UTC" : e.schedule->cron.timezone()},
                {"end_on", e.schedule->end_on ? nlohmann::json(FormatRfc3339(*e.schedule->end_on)) : nlohmann::json()},
                {"concurrency_policy", PolicyName(e.schedule->policy)}};
  }
  return {{"id", e.id},
          {"file", e.file},
          {"kind", e.kind},
          {"state", state},
          {"error", e.error.empty() ? nlohmann::json() : nlohmann::json(e.error)},
          {"pipelines", e.pipelines},
          {"schedule", schedule},
          {"next_run_at", e.next_run ? nlohmann::json(FormatRfc3339(*e.next_run)) : nlohmann::json()},
          {"running", running},
          {"runs_started", e.started},
          {"runs_skipped", e.skipped},
          {"runs_replaced", e.replaced},
          {"restarts", e.restarts},
          {"last_exit", e.last_exit.empty() ? nlohmann::json() : nlohmann::json(e.last_exit)},
          {"last_exit_at", e.last_exit_at ? nlohmann::json(FormatRfc3339(*e.last_exit_at)) : nlohmann::json()}};
}

nlohmann::json Scheduler::Describe() const {
  std::lock_guard lock(mu_);
  nlohmann::json items = nlohmann::json::array();
  for (const auto& [file, e] : entries_) items.push_back(DescribeEntry(e));
  return {{"folder", options_.folder}, {"items", items}};
}

std::string Scheduler::Metrics() const {
  std::lock_guard lock(mu_);
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    for (const auto& [file, e] : entries_) {
      if (!e.error.empty()) continue;
      auto v = value(e);
      if (v) out += fmt::format("{}{{manifest=\"{}\"}} {}\n", name, PrometheusLabel(e.id), *v);
    }
  };
  using Value = std::optional<double>;
  family("nilus_manager_runs_started_total", "counter", "Runs the manager started, by manifest.",
         [](const Entry& e) -> Value { return static_cast<double>(e.started); });
  family("nilus_manager_runs_skipped_total", "counter",
         "Scheduled runs skipped because a run was still running (concurrencyPolicy: Forbid).",
         [](const Entry& e) -> Value { return static_cast<double>(e.skipped); });
  family("nilus_manager_runs_replaced_total", "counter", "Runs stopped for a newer one (concurrencyPolicy: Replace).",
         [](const Entry& e) -> Value { return static_cast<double>(e.replaced); });
  family("nilus_manager_service_restarts_total", "counter", "Times a service was restarted after it failed or died.",
         [](const Entry& e) -> Value {
           return e.kind == "service" ? Value(static_cast<double>(e.restarts)) : std::nullopt;
         });
  family("nilus_manager_running", "gauge", "Runs of the manifest running now.",
         [](const Entry& e) -> Value { return static_cast<double>(e.running.size()); });
  family("nilus_manager_next_run_timestamp_seconds", "gauge", "When the manifest's next scheduled run starts.",
         [](const Entry& e) -> Value { return e.next_run ? Value(Seconds(*e.next_run)) : std::nullopt; });
  size_t invalid =
      std::count_if(entries_.begin(), entries_.end(), [](const auto& kv) { return !kv.second.error.empty(); });
  out += fmt::format(
      "# HELP nilus_manager_invalid_manifests Manifests of the folder that do not load (GET /api/v1/scheduler says "
      "why).\n# TYPE nilus_manager_invalid_manifests gauge\nnilus_manager_invalid_manifests {}\n",
      invalid);
  return out;
}

}  // namespace nilus
