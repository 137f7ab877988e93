// The nilus command line: a table of commands over the engine library.

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <vector>

#include "nilus/core/cancellation.h"
#include "nilus/core/home.h"
#include "nilus/core/log.h"
#include "nilus/core/secrets.h"
#include "nilus/core/strings.h"
#include "nilus/core/uri.h"
#include "nilus/manager/api_server.h"
#include "nilus/manifest/manifest.h"
#include "nilus/pipeline/change_capture.h"
#include "nilus/pipeline/run_record.h"
#include "nilus/pipeline/runner.h"
#include "nilus/state/state_store.h"

namespace nilus {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitInvalid = 2;
constexpr int kExitInterrupted = 130;

int ExitCode(const Status& st) {
  switch (st.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kInvalidInput:
      return kExitInvalid;
    case StatusCode::kCancelled:
      return kExitInterrupted;
    default:
      return kExitFailed;
  }
}

int Fail(const Status& st) {
  ClearProgressLine();
  std::string message = MaskSecrets(st.message());
  if (st.code() == StatusCode::kCancelled) {
    std::fprintf(stderr, "nilus: interrupted; nothing of the unfinished load was committed\n");
  } else if (st.code() == StatusCode::kInvalidInput) {
    std::fprintf(stderr, "nilus: invalid input: %s\n", message.c_str());
  } else {
    std::fprintf(stderr, "nilus: %s: %s\n", std::string(StatusCodeName(st.code())).c_str(), message.c_str());
  }
  return ExitCode(st);
}

std::string HumanBytes(int64_t bytes) {
  if (bytes < 1000) return fmt::format("{} B", bytes);
  if (bytes < 1000 * 1000) return fmt::format("{:.1f} kB", bytes / 1e3);
  if (bytes < 1000LL * 1000 * 1000) return fmt::format("{:.1f} MB", bytes / 1e6);
  return fmt::format("{:.2f} GB", bytes / 1e9);
}

void PrintSummary(const std::vector<LoadSummary>& loads) {
  double seconds = 0;
  int64_t rows = 0;
  for (const auto& l : loads) {
    seconds += l.seconds;
    rows += l.rows;
  }
  std::printf("Loaded %zu table%s, %lld rows in %.2f s\n", loads.size(), loads.size() == 1 ? "" : "s",
              static_cast<long long>(rows), seconds);
  std::printf("  %-28s %-9s %12s %10s %8s  %s\n", "table", "strategy", "rows", "bytes", "seconds", "load id");
  for (const auto& l : loads) {
    std::printf("  %-28s %-9s %12lld %10s %8.2f  %s\n", l.dest_table.c_str(), l.strategy.c_str(),
                static_cast<long long>(l.rows), HumanBytes(l.bytes).c_str(), l.seconds, l.load_id.c_str());
    std::string schema = l.dest_table.substr(0, l.dest_table.find('.') + 1);
    for (const auto& [child, rows] : l.child_rows) {
      std::printf("    %-26s %-9s %12lld\n", (schema + child).c_str(), "child", static_cast<long long>(rows));
    }
  }
  std::vector<std::string> pipelines;
  for (const auto& l : loads) {
    if (std::find(pipelines.begin(), pipelines.end(), l.pipeline) == pipelines.end()) pipelines.push_back(l.pipeline);
  }
  std::printf("State is kept under pipeline name%s: %s\n", pipelines.size() == 1 ? "" : "s",
              Join(pipelines, ", ").c_str());
  std::fflush(stdout);
}

/// Flags every command takes.
struct GlobalFlags {
  std::string log_level = "info";
  std::string log_format = "text";
  bool log_level_given = false;
  /// Requested by SIGINT and SIGTERM.
  std::stop_token stop;
};

Status SetUpLogging(const GlobalFlags& g, const std::string& manifest_level) {
  std::string level = g.log_level_given || manifest_level.empty() ? g.log_level : manifest_level;
  if (g.log_format != "text" && g.log_format != "json") {
    return Status::InvalidInput("--log-format must be text or json, got '{}'", g.log_format);
  }
  return InitLogging(ToLower(level), g.log_format == "json" ? LogFormat::kJson : LogFormat::kText);
}

Result<std::vector<LoadSummary>> RunAll(const std::vector<Pipeline>& pipelines, const RunOptions& options) {
  if (!options.python_path.empty() && std::none_of(pipelines.begin(), pipelines.end(), [](const Pipeline& p) {
        return p.source.scheme() == "custom" || p.destination.scheme() == "custom";
      })) {
    return Status::InvalidInput(
        "--python-path is for custom:// connectors, and no pipeline here has one; leave it out");
  }
  NILUS_ASSIGN_OR_RAISE(auto store, StateStore::Open(NilusHome()));
  NILUS_ASSIGN_OR_RAISE(int retention_days, HistoryRetentionDays());
  NILUS_ASSIGN_OR_RAISE(std::string metadata_uri, MetadataUri());
  // The run history never stops a run: without it, a warning.
  auto history = RunHistory::Open(NilusHome(), retention_days, metadata_uri);
  if (!history.ok()) spdlog::warn("runs are not written to the run history: {}", history.status().message());
  std::unique_ptr<RunHistory> no_history;
  std::unique_ptr<RunHistory>& history_db = history.ok() ? *history : no_history;
  std::vector<LoadSummary> out;
  for (const auto& p : pipelines) {
    if (options.stop.stop_requested()) {
      return Status::Cancelled("interrupted before pipeline {}; the pipelines before it are committed", p.name);
    }
    if (p.source_options.IsChangeCapture()) {
      // Runs until stopped (or, for snapshot.mode: initial_only, until the snapshot is loaded).
      NILUS_RETURN_NOT_OK(RunChangeCapture(p, options, ConnectorRegistry::Builtin(), *store, history_db.get()));
      continue;
    }
    spdlog::info("pipeline {}: {} -> {} ({})", p.name, p.source.Masked(), p.sink_options.dest_table,
                 WriteDispositionName(p.sink_options.strategy));
    RunRecorder recorder(p);
    RunOptions measured = options;
    measured.metrics = &recorder.metrics();
    auto result = RunPipeline(p, measured, ConnectorRegistry::Builtin(), *store);
    recorder.Finish(result, *store, history_db.get(), options.push_metrics);
    NILUS_ASSIGN_OR_RAISE(auto loads, std::move(result));
    for (auto& s : loads) {
      spdlog::info("pipeline {}: committed {} rows into {} (load {})", p.name, s.rows, s.dest_table, s.load_id);
      out.push_back(std::move(s));
    }
  }
  return out;
}

// --- commands -----------------------------------------------------------------------------

struct RunCommand {
  std::string manifest;
  std::string node;
  std::vector<std::string> python_path;
  bool full_refresh = false;
  int64_t lock_timeout = 600;
  std::string push_metrics;

  void Setup(CLI::App& cmd) {
    cmd.add_option("MANIFEST", manifest, "Pipeline manifest (workflow, service or stackSpec YAML)")
        ->type_name("FILE")
        ->required();
    cmd.add_option("--node", node, "Run only the workflow DAG node with this name")->type_name("NAME");
    cmd.add_option("--python-path", python_path, "Folder of the Python code of custom:// connectors (repeatable)")
        ->type_name("DIR");
    cmd.add_flag("--full-refresh", full_refresh, "Ignore saved state and rebuild the destination tables");
    cmd.add_option("--push-metrics", push_metrics, "Push each run's metrics to this Prometheus Pushgateway")
        ->type_name("URL");
    cmd.add_option("--lock-timeout", lock_timeout,
                   "Seconds to wait for another run of the same pipeline to finish (default 600)")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber);
  }

  int Run(const GlobalFlags& g) {
    if (Status st = SetUpLogging(g, ""); !st.ok()) return Fail(st);
    auto m = LoadManifest(manifest, ConnectorRegistry::Builtin());
    if (!m.ok()) return Fail(m.status());
    if (Status st = SetUpLogging(g, m->log_level); !st.ok()) return Fail(st);
    std::vector<Pipeline> selected;
    std::vector<std::string> names;
    for (const auto& p : m->pipelines) {
      names.push_back(p.name);
      if (node.empty() || p.name == node || EndsWith(p.name, "." + node)) selected.push_back(p);
    }
    if (selected.empty()) {
      return Fail(Status::InvalidInput("--node {}: no such node in {}; nodes: {}", node, manifest, Join(names, ", ")));
    }
    if (m->schedule) {
      spdlog::debug("schedule '{}' is run by nilus serve --manifests; nilus run runs once now",
                    m->schedule->cron.expression());
    }
    auto loads = RunAll(
        selected, RunOptions{full_refresh, std::chrono::seconds(lock_timeout), g.stop, python_path, push_metrics});
    if (!loads.ok()) return Fail(loads.status());
    if (!loads->empty()) PrintSummary(*loads);
    return kExitOk;
  }
};

struct IngestCommand {
  std::string source_uri, source_table, dest_uri, dest_table;
  std::string incremental_key, incremental_strategy = "append", primary_key;
  std::string interval_start, interval_end, type_hints, mask, page_size, extract_parallelism, sql_limit, yield_limit,
      sql_exclude_columns, max_table_nesting, date_detection, loader_file_size, compact_delete_files,
      compact_delete_percent, aws_region, batch_size;
  std::vector<std::string> python_path;
  bool full_refresh = false;
  int64_t lock_timeout = 600;
  std::string push_metrics;

  void Setup(CLI::App& cmd) {
    // Values are taken as text and checked by the option contract, so flags and manifests give
    // the same errors; type_name says what is expected.
    cmd.add_option("--source-uri", source_uri, "Source address, e.g. file:///data/orders.csv")
        ->type_name("URI")
        ->required();
    cmd.add_option("--source-table", source_table, "Source table, file glob or query:SELECT …")->type_name("TABLE");
    cmd.add_option("--dest-uri", dest_uri, "Destination address, e.g. sqlite:///out.db")->type_name("URI")->required();
    cmd.add_option("--dest-table", dest_table, "Destination table as schema.table")
        ->type_name("SCHEMA.TABLE")
        ->required();
    cmd.add_option("--incremental-key", incremental_key, "Column whose largest loaded value is remembered")
        ->type_name("COLUMN");
    cmd.add_option("--incremental-strategy", incremental_strategy, "append (default), replace or merge")
        ->type_name("STRATEGY");
    cmd.add_option("--primary-key", primary_key, "Key columns (merge needs them)")->type_name("COLUMN,…");
    cmd.add_option("--interval-start", interval_start, "Load keys from this value (inclusive)")->type_name("VALUE");
    cmd.add_option("--interval-end", interval_end, "Load keys up to this value (exclusive)")->type_name("VALUE");
    cmd.add_option("--type-hints", type_hints, "e.g. id:bigint,price:decimal(12,2)")->type_name("COLUMN:TYPE,…");
    cmd.add_option("--mask", mask, "e.g. email:hash,card:partial:4")->type_name("COLUMN:ALGORITHM,…");
    cmd.add_option("--page-size", page_size, "Rows per batch (default 50000)")->type_name("INT");
    cmd.add_option("--extract-parallelism", extract_parallelism, "Parallel readers of one table (PostgreSQL)")
        ->type_name("INT");
    cmd.add_option("--sql-limit", sql_limit, "Read at most this many rows per run (SQL sources)")->type_name("INT");
    cmd.add_option("--yield-limit", yield_limit, "Load at most this many batches per run; the next continues")
        ->type_name("INT");
    cmd.add_option("--sql-exclude-columns", sql_exclude_columns, "Columns to leave out")->type_name("COLUMN,…");
    cmd.add_option("--max-table-nesting", max_table_nesting,
                   "Depth down to which nested JSON becomes columns and child tables (default 0: json columns)")
        ->type_name("INT");
    cmd.add_option("--date-detection", date_detection, "ISO-8601 strings become dates and timestamps (default true)")
        ->type_name("BOOL");
    cmd.add_option("--loader-file-size", loader_file_size, "Rows per data file (lakehouse)")->type_name("INT");
    cmd.add_option("--compact-delete-files", compact_delete_files,
                   "Compact a merged lakehouse table at this many delete files (default 64; 0: never)")
        ->type_name("INT");
    cmd.add_option("--compact-delete-percent", compact_delete_percent,
                   "Compact a merged lakehouse table when its deletes reach this % of its rows (default 20; 0: never)")
        ->type_name("INT");
    cmd.add_option("--aws-region", aws_region, "Region of an s3:// destination (default: AWS_REGION)")
        ->type_name("REGION");
    cmd.add_option("--batch-size", batch_size, "Rows per call of a custom:// destination's function (default 1000)")
        ->type_name("INT");
    cmd.add_option("--python-path", python_path, "Folder of the Python code of custom:// connectors (repeatable)")
        ->type_name("DIR");
    cmd.add_flag("--full-refresh", full_refresh, "Ignore saved state and rebuild the destination table");
    cmd.add_option("--push-metrics", push_metrics, "Push each run's metrics to this Prometheus Pushgateway")
        ->type_name("URL");
    cmd.add_option("--lock-timeout", lock_timeout,
                   "Seconds to wait for another run of the same pipeline to finish (default 600)")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber);
  }

  int Run(const GlobalFlags& g) {
    if (Status st = SetUpLogging(g, ""); !st.ok()) return Fail(st);
    EndpointSpec source{source_uri, "flag --source-uri", {}};
    EndpointSpec sink{dest_uri, "flag --dest-uri", {}};
    auto add = [](EndpointSpec& e, const char* name, const std::string& value) {
      if (!value.empty()) e.options.push_back({name, value, fmt::format("flag --{}", name)});
    };
    add(source, "source-table", source_table);
    add(source, "incremental-key", incremental_key);
    add(source, "primary-key", primary_key);
    add(source, "interval-start", interval_start);
    add(source, "interval-end", interval_end);
    add(source, "type-hints", type_hints);
    add(source, "mask", mask);
    add(source, "page-size", page_size);
    add(source, "extract-parallelism", extract_parallelism);
    add(source, "sql-limit", sql_limit);
    add(source, "yield-limit", yield_limit);
    add(source, "sql-exclude-columns", sql_exclude_columns);
    add(source, "max-table-nesting", max_table_nesting);
    add(source, "date-detection", date_detection);
    add(sink, "dest-table", dest_table);
    add(sink, "incremental-strategy", incremental_strategy);
    add(sink, "loader-file-size", loader_file_size);
    add(sink, "compact-delete-files", compact_delete_files);
    add(sink, "compact-delete-percent", compact_delete_percent);
    add(sink, "aws_region", aws_region);
    add(sink, "batch-size", batch_size);
    auto p = ResolvePipeline("", source, sink, ConnectorRegistry::Builtin());
    if (!p.ok()) return Fail(p.status());
    auto loads =
        RunAll({*p}, RunOptions{full_refresh, std::chrono::seconds(lock_timeout), g.stop, python_path, push_metrics});
    if (!loads.ok()) return Fail(loads.status());
    if (!loads->empty()) PrintSummary(*loads);
    return kExitOk;
  }
};

struct ValidateCommand {
  std::string manifest;

  void Setup(CLI::App& cmd) {
    cmd.add_option("MANIFEST", manifest, "Pipeline manifest to check")->type_name("FILE")->required();
  }

  int Run(const GlobalFlags& g) {
    if (Status st = SetUpLogging(g, ""); !st.ok()) return Fail(st);
    auto m = LoadManifest(manifest, ConnectorRegistry::Builtin());
    if (!m.ok()) return Fail(m.status());
    for (const auto& p : m->pipelines) {
      // Masked columns are checked against the source's columns when it can tell them.
      Status st = CheckMaskedColumns(p, ConnectorRegistry::Builtin());
      if (st.code() == StatusCode::kInvalidInput) return Fail(st.WithContext(p.name));
      if (!st.ok()) spdlog::warn("{}: could not check the masked columns against the source: {}", p.name, st.message());
    }
    std::printf("%s: valid %s with %zu pipeline%s\n", manifest.c_str(), m->kind.c_str(), m->pipelines.size(),
                m->pipelines.size() == 1 ? "" : "s");
    for (const auto& p : m->pipelines) {
      std::printf("  %s: %s -> %s %s (%s)\n", p.name.c_str(), p.source.Masked().c_str(), p.destination.Masked().c_str(),
                  p.sink_options.dest_table.c_str(),
                  std::string(WriteDispositionName(p.sink_options.strategy)).c_str());
    }
    return kExitOk;
  }
};

/// The local store and its entries for `pipeline` ("": every pipeline); an unknown pipeline is
/// an error that says where to find the names, unless `pipeline` is "".
struct StoredState {
  std::unique_ptr<StateStore> store;
  std::vector<StateEntry> entries;
};

Result<StoredState> ReadStoredState(const std::string& pipeline) {
  StoredState out;
  NILUS_ASSIGN_OR_RAISE(out.store, StateStore::Open(NilusHome()));
  NILUS_ASSIGN_OR_RAISE(out.entries, out.store->List(pipeline));
  if (out.entries.empty() && !pipeline.empty()) {
    return Status::InvalidInput("no state for pipeline '{}'; nilus state show lists the pipelines", pipeline);
  }
  return out;
}

/// `nilus state show [PIPELINE]`: the local copy of the state.
struct StateShowCommand {
  std::string pipeline;

  void Setup(CLI::App& cmd) {
    cmd.add_option("PIPELINE", pipeline, "Pipeline name (without it: every pipeline)")->type_name("NAME");
  }

  int Run(const GlobalFlags& g) {
    if (Status st = SetUpLogging(g, ""); !st.ok()) return Fail(st);
    auto stored = ReadStoredState(pipeline);
    if (!stored.ok()) return Fail(stored.status());
    if (stored->entries.empty()) {
      std::printf("no pipeline has state yet\n");
      return kExitOk;
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : stored->entries) {
      out.push_back({{"pipeline", e.pipeline},
                     {"table", e.table},
                     {"destination", MaskSecrets(AddressWithoutPassword(e.destination))},
                     {"load_id", e.load_id},
                     {"updated_at", e.updated_at},
                     {"state", e.state}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
};

/// `nilus state reset PIPELINE`: clears the state in the destination, then locally.
struct StateResetCommand {
  std::string pipeline;

  void Setup(CLI::App& cmd) {
    cmd.add_option("PIPELINE", pipeline, "Pipeline name (nilus state show lists them)")->type_name("NAME")->required();
  }

  int Run(const GlobalFlags& g) {
    if (Status st = SetUpLogging(g, ""); !st.ok()) return Fail(st);
    auto stored = ReadStoredState(pipeline);
    if (!stored.ok()) return Fail(stored.status());
    // The destination holds the state the next run reads: reset it there, then here.
    std::set<std::string> done;
    for (const auto& e : stored->entries) {
      if (!done.insert(e.destination).second) continue;
      auto uri = ResolveAddress(e.destination, "the recorded destination of " + pipeline);
      if (!uri.ok()) return Fail(uri.status());
      auto dest = ConnectorRegistry::Builtin().OpenDestination(*uri, g.stop);
      Status st = dest.ok() ? (*dest)->ResetState(pipeline) : dest.status();
      if (!st.ok()) {
        return Fail(st.WithContext(
            "resetting the state in the destination (nilus keeps addresses without their password: give it through "
            "a {ENV} placeholder in the manifest, or the database's own means such as PGPASSWORD)"));
      }
    }
    if (Status st = stored->store->Remove(pipeline); !st.ok()) return Fail(st);
    std::printf("state of pipeline %s reset; its next run starts from the beginning\n", pipeline.c_str());
    return kExitOk;
  }
};

/// `nilus schema show PIPELINE`: the current schema of the pipeline's tables and its history.
struct SchemaShowCommand {
  std::string pipeline;

  void Setup(CLI::App& cmd) {
    cmd.add_option("PIPELINE", pipeline, "Pipeline name (nilus state show lists them)")->type_name("NAME")->required();
  }

  static std::string Line(const nlohmann::json& change) {
    std::string text = change.is_string() ? change.get<std::string>() : change.dump();
    for (char& c : text) {
      if (c == '\x1f') c = '.';  // nested source keys
    }
    return text;
  }

  int Run(const GlobalFlags& g) {
    if (Status st = SetUpLogging(g, ""); !st.ok()) return Fail(st);
    auto store = StateStore::Open(NilusHome());
    if (!store.ok()) return Fail(store.status());
    auto history = (*store)->SchemaHistory(pipeline);
    if (!history.ok()) return Fail(history.status());
    if (history->empty()) {
      return Fail(Status::InvalidInput(
          "no schema recorded for pipeline '{}'; it has not loaded anything yet (nilus state show lists the pipelines)",
          pipeline));
    }
    // The newest version of each dest-table the pipeline loads.
    std::map<std::string, const SchemaVersion*> current;
    for (const auto& v : *history) current[v.table] = &v;
    for (const auto& [table, v] : current) {
      std::string prefix = table.substr(0, table.find('.') + 1);
      std::printf("%s: schema version %d (load %s)\n", table.c_str(), v->version, v->load_id.c_str());
      for (const auto& t : v->schema) {
        std::string name = prefix + t.value("name", "");
        std::string parent = t.value("parent", "");
        std::printf("\n  %s%s\n", name.c_str(),
                    parent.empty() ? "" : (" (child table of " + prefix + parent + ")").c_str());
        std::map<std::string, std::string> from;
        nlohmann::json renamed = t.value("renamed", nlohmann::json::object());
        for (const auto& [source, dest] : renamed.items()) from[dest.get<std::string>()] = Line(source);
        for (const auto& c : t.value("columns", nlohmann::json::array())) {
          std::string column = c.value("name", "");
          std::string note = from.count(column) ? "  (source: " + from[column] + ")" : "";
          std::printf("    %-32s %s%s\n", column.c_str(), c.value("type", "").c_str(), note.c_str());
        }
      }
      std::printf("\n  history\n");
      for (const auto& h : *history) {
        if (h.table != table) continue;
        std::printf("    version %d, load %s, recorded %s\n", h.version, h.load_id.c_str(), h.recorded_at.c_str());
        for (const auto& change : h.changes) std::printf("      %s\n", Line(change).c_str());
      }
    }
    return kExitOk;
  }
};

/// Flags every command takes, so that `nilus COMMAND --help` shows them too.
void AddGlobalFlags(CLI::App& app, GlobalFlags& g) {
  app.add_option("--log-level", g.log_level, "trace, debug, info (default), warn or error")
      ->type_name("LEVEL")
      ->each([&](const std::string&) { g.log_level_given = true; });
  app.add_option("--log-format", g.log_format, "text (default) or json")->type_name("FORMAT");
}

/// `nilus serve`: the Nilus Manager API over the run history, and the scheduler of a folder of
/// manifests.
struct ServeCommand {
  std::string listen = "127.0.0.1:9010";
  std::string manifests;

  void Setup(CLI::App& cmd) {
    cmd.add_option("--listen", listen, "Address to listen on: HOST:PORT (default 127.0.0.1:9010)")
        ->type_name("HOST:PORT");
    cmd.add_option("--manifests", manifests,
                   "Run the workflows of this folder on their schedules and keep its services running")
        ->type_name("DIR");
  }

  int Run(const GlobalFlags& g) {
    if (Status st = SetUpLogging(g, ""); !st.ok()) return Fail(st);
    ServeOptions o;
    o.home = NilusHome();
    if (const char* token = std::getenv("NILUS_API_TOKEN"); token && *token) {
      o.token = token;
      RegisterSecret(o.token);
    }
    auto days = HistoryRetentionDays();
    if (!days.ok()) return Fail(days.status());
    o.retention_days = *days;
    auto metadata_uri = MetadataUri();
    if (!metadata_uri.ok()) return Fail(metadata_uri.status());
    o.metadata_uri = *metadata_uri;
    auto parsed = ParseListen(listen, o);
    if (!parsed.ok()) return Fail(parsed.status());
    std::unique_ptr<Scheduler> scheduler;
    if (!manifests.empty()) {
      std::error_code ec;
      if (!std::filesystem::is_directory(manifests, ec)) {
        return Fail(Status::InvalidInput(
            "--manifests {}: not a folder; give the folder that holds the manifests (*.yaml)", manifests));
      }
      SchedulerOptions so;
      so.folder = std::filesystem::absolute(manifests).lexically_normal().string();
      so.binary = std::filesystem::read_symlink("/proc/self/exe", ec).string();
      if (g.log_level_given) so.run_flags.insert(so.run_flags.end(), {"--log-level", g.log_level});
      so.run_flags.insert(so.run_flags.end(), {"--log-format", g.log_format});
      so.home = o.home;
      so.retention_days = o.retention_days;
      so.metadata_uri = o.metadata_uri;
      scheduler = std::make_unique<Scheduler>(so);
    }
    if (Status st = Serve(*parsed, scheduler.get(), g.stop); !st.ok()) return Fail(st);
    return kExitOk;
  }
};

/// One command of the table: its name, what it does, its flags, and what it runs.
struct Command {
  const char* name;
  const char* help;
  std::function<void(CLI::App&)> setup;
  std::function<int()> run;
  std::vector<Command> subcommands = {};
};

int Main(int argc, char** argv) {
  // A load of a partitioned lakehouse table keeps a file open per partition it meets: the
  // descriptors the system allows this process, not the historical default of 1,024.
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, 65536);
    setrlimit(RLIMIT_NOFILE, &files);
  }
  GlobalFlags g;
  RunCommand run;
  IngestCommand ingest;
  ValidateCommand validate;
  StateShowCommand state_show;
  StateResetCommand state_reset;
  SchemaShowCommand schema_show;
  ServeCommand serve;
  auto print_version = [] {
    std::printf("nilus %s\n", NILUS_VERSION);
    return kExitOk;
  };
  const std::vector<Command> commands = {
      {"run", "Run the pipelines of a manifest once", [&](CLI::App& c) { run.Setup(c); }, [&] { return run.Run(g); }},
      {"ingest", "Run one pipeline given by flags", [&](CLI::App& c) { ingest.Setup(c); },
       [&] { return ingest.Run(g); }},
      {"validate", "Check a manifest without touching anything", [&](CLI::App& c) { validate.Setup(c); },
       [&] { return validate.Run(g); }},
      {"state",
       "Show or reset the saved state of a pipeline",
       [](CLI::App&) {},
       nullptr,
       {{"show", "Show the saved state of a pipeline (or of every pipeline)", [&](CLI::App& c) { state_show.Setup(c); },
         [&] { return state_show.Run(g); }},
        {"reset", "Forget a pipeline's state, in the destination and here: its next run starts over",
         [&](CLI::App& c) { state_reset.Setup(c); }, [&] { return state_reset.Run(g); }}}},
      {"schema",
       "Show the schema of a pipeline's tables and its history",
       [](CLI::App&) {},
       nullptr,
       {{"show", "Show the current schema of a pipeline's tables and every earlier version",
         [&](CLI::App& c) { schema_show.Setup(c); }, [&] { return schema_show.Run(g); }}}},
      {"serve", "Serve the Nilus Manager API; with --manifests, run a folder of pipelines",
       [&](CLI::App& c) { serve.Setup(c); }, [&] { return serve.Run(g); }},
      {"version", "Print the version", [](CLI::App&) {}, print_version},
      {"help", "Show the help of nilus or of a command", [](CLI::App&) {}, nullptr},
  };

  CLI::App app{"nilus moves data from databases, files and streams into databases and lakehouses", "nilus"};
  app.require_subcommand(1);
  app.set_version_flag("-V,--version", std::string("nilus ") + NILUS_VERSION);
  app.footer("Run nilus COMMAND --help (or nilus help COMMAND) for a command's flags.");
  AddGlobalFlags(app, g);
  std::vector<std::pair<const Command*, CLI::App*>> parsed;
  std::vector<std::string> names;
  std::string help_topic;
  for (const auto& c : commands) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    names.emplace_back(c.name);
    AddGlobalFlags(*sub, g);
    c.setup(*sub);
    if (std::string(c.name) == "help") sub->add_option("COMMAND", help_topic, "A command")->type_name("COMMAND");
    if (!c.subcommands.empty()) sub->require_subcommand(1);
    parsed.emplace_back(&c, sub);
    for (const auto& inner : c.subcommands) {
      CLI::App* leaf = sub->add_subcommand(inner.name, inner.help);
      AddGlobalFlags(*leaf, g);
      inner.setup(*leaf);
      parsed.emplace_back(&inner, leaf);
    }
  }
  // An unknown command is named as such, with the list of commands.
  if (argc > 1 && argv[1][0] != '-' && std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    std::string close = ClosestMatch(argv[1], names);
    std::fprintf(stderr, "nilus: invalid input: unknown command '%s'%s; the commands are: %s\n", argv[1],
                 close.empty() ? "" : (" (did you mean '" + close + "'?)").c_str(), Join(names, ", ").c_str());
    return kExitInvalid;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "nilus: invalid input: %s\nRun nilus --help (or nilus COMMAND --help) for usage.\n", e.what());
    return kExitInvalid;
  }
  std::stop_source stop;
  g.stop = stop.get_token();
  InstallStopSignalHandlers(stop);
  // The innermost command that was given runs.
  for (auto it = parsed.rbegin(); it != parsed.rend(); ++it) {
    if (!it->second->parsed()) continue;
    if (std::string(it->first->name) == "help") {
      if (help_topic.empty()) {
        app.clear();  // else CLI11 shows the help of the command given, `help`
        std::printf("%s", app.help().c_str());
        return kExitOk;
      }
      if (std::find(names.begin(), names.end(), help_topic) == names.end()) {
        return Fail(
            Status::InvalidInput("help: unknown command '{}'; the commands are: {}", help_topic, Join(names, ", ")));
      }
      // As `nilus COMMAND --help` shows it, with the command's full name.
      try {
        app.clear();
        app.parse(std::vector<std::string>{"--help", help_topic});  // CLI11 takes the arguments in reverse
      } catch (const CLI::ParseError& e) {
        return app.exit(e);
      }
      return kExitOk;
    }
    if (it->first->run) return it->first->run();
  }
  return kExitInvalid;
}

}  // namespace
}  // namespace nilus

int main(int argc, char** argv) { return nilus::Main(argc, argv); }
