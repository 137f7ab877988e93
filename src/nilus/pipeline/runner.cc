#include "nilus/pipeline/runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <random>
#include <thread>
#include <tuple>

#include "nilus/core/bounded_queue.h"
#include "nilus/core/identifiers.h"
#include "nilus/core/log.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"
#include "nilus/pipeline/normalize_stage.h"
#include "nilus/pipeline/retry.h"
#include "nilus/python/code.h"
#include "nilus/python/python.h"

namespace nilus {

namespace {

using Clock = std::chrono::steady_clock;

/// Batches in flight between extract and load: memory is bounded by this many batches.
constexpr size_t kQueueDepth = 4;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The destination batches of one source batch, handed from the extract and normalize stages
/// to the load stage, or the failure that ended them.
struct Normalized {
  std::vector<TableBatch> batches;
  Status status;
};

/// Shows rows, rows/s, bytes and elapsed time: a live line on a terminal, a log line every
/// 10 seconds otherwise.
class Progress {
 public:
  explicit Progress(std::string table) : table_(std::move(table)), start_(Clock::now()), last_(start_) {}
  ~Progress() { ClearProgressLine(); }

  void Update(int64_t rows, int64_t bytes) {
    auto now = Clock::now();
    bool live = ProgressLineEnabled();
    if (now - last_ < (live ? std::chrono::milliseconds(200) : std::chrono::seconds(10))) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    std::string line = fmt::format("{}: {} rows, {:.0f} rows/s, {:.1f} MB, {:.0f}s", table_, rows,
                                   secs > 0 ? rows / secs : 0.0, bytes / 1e6, secs);
    if (live) {
      SetProgressLine(line);
    } else {
      spdlog::info("{}", line);
    }
  }

 private:
  std::string table_;
  Clock::time_point start_, last_;
};

/// What one attempt works with.
struct Attempt {
  const Pipeline& pipeline;
  const RunOptions& options;
  Source& source;
  Destination& destination;
  TableSpec table;  ///< `dest-table` and the sink's strategy; streams of their own adapt it
  LoadSpec load;
};

/// What moved through the stages of one attempt.
struct Transferred {
  int64_t rows = 0;
  int64_t bytes = 0;
  std::map<std::string, int64_t> child_rows;
  double normalize_seconds = 0;
};

/// Reads the source and normalizes its batches on one thread, handing them over a bounded
/// queue, and writes them to the load on this one. Stops early at `yield-limit` batches,
/// at `sql-limit` rows, or on a stop request.
Result<Transferred> Transfer(const Attempt& a, const TableSpec& table, BatchReader& reader, NormalizeStage& stage,
                             Load& load) {
  BoundedQueue<Normalized> queue(kQueueDepth);
  Transferred out;
  const std::stop_token& stop = a.options.stop;
  // The next source batch, normalized; nullopt at the end.
  auto next_batches = [&]() -> Result<std::optional<std::vector<TableBatch>>> {
    std::optional<std::vector<TableBatch>> none;
    if (reader.flattens()) {
      NILUS_ASSIGN_OR_RAISE(auto flat, reader.NextFlattened());
      if (!flat) return none;
      auto started = Clock::now();
      NILUS_ASSIGN_OR_RAISE(auto batches, stage.ApplyFlattened(std::move(*flat)));
      out.normalize_seconds += std::chrono::duration<double>(Clock::now() - started).count();
      return std::optional<std::vector<TableBatch>>(std::move(batches));
    }
    NILUS_ASSIGN_OR_RAISE(auto batch, reader.Next());
    if (!batch) return none;
    auto started = Clock::now();
    NILUS_ASSIGN_OR_RAISE(auto batches, stage.Apply(batch));
    out.normalize_seconds += std::chrono::duration<double>(Clock::now() - started).count();
    return std::optional<std::vector<TableBatch>>(std::move(batches));
  };
  std::thread extract([&] {
    int64_t yielded = 0;
    const int64_t yield_limit = a.pipeline.source_options.yield_limit;
    while (!stop.stop_requested()) {
      auto normalized = next_batches();
      if (!normalized.ok()) {
        queue.Push({{}, normalized.status()});
        break;
      }
      if (!*normalized) break;
      const bool any = !(*normalized)->empty();
      if (any && !queue.Push({std::move(**normalized), Status::OK()})) break;
      // yield-limit: at most this many batches with rows to load.
      if (any && yield_limit > 0 && ++yielded >= yield_limit) break;
      if (stage.LimitReached()) break;
    }
    queue.Close();
  });

  Status status;
  Progress progress(table.qualified());
  std::map<std::string, TableSpec> children;
  while (auto item = queue.Pop()) {
    status = item->status;
    if (status.ok() && stop.stop_requested()) status = Status::Cancelled("interrupted");
    if (!status.ok()) break;
    for (const auto& tb : item->batches) {
      const bool root = tb.table == table.name;
      if (!root && !children.count(tb.table)) {
        TableSpec child = table;
        child.name = tb.table;
        child.root = table.name;
        child.primary_key.clear();
        children.emplace(tb.table, std::move(child));
      }
      status = load.Write(root ? table : children.at(tb.table), *tb.batch);
      if (!status.ok()) break;
      (root ? out.rows : out.child_rows[tb.table]) += tb.batch->num_rows();
      out.bytes += tb.batch->byte_size();
    }
    if (!status.ok()) break;
    progress.Update(out.rows, out.bytes);
  }
  queue.Close();
  extract.join();
  NILUS_RETURN_NOT_OK(status);
  if (stop.stop_requested()) return Status::Cancelled("interrupted");
  return out;
}

/// What a committed attempt leaves for the local state store.
struct Committed {
  nlohmann::json state;  // the state it committed
  /// Per table: the schema version the load started from and the one it committed.
  std::vector<std::tuple<std::string, nlohmann::json, nlohmann::json>> schemas;
};

/// The key of a merge that names none: the source table's primary key, from its catalog.
Result<std::vector<std::string>> DiscoverMergeKey(Source& source, const SourceOptions& options,
                                                  const TableSpec& table) {
  NILUS_ASSIGN_OR_RAISE(auto key, source.PrimaryKey(options));
  if (key.empty()) {
    return Status::InvalidInput(
        "{}: incremental-strategy 'merge' needs a primary key and the source declares none; add primary-key: "
        "<column>[,<column>]",
        table.qualified());
  }
  spdlog::info("merging on the source's primary key ({})", Join(key, ", "));
  for (auto& k : key) k = NormalizeIdentifier(k);
  return key;
}

/// The destination table of `stream`: `dest-table` for the only stream of a source (unless
/// dest-table names only a schema), else a table of the stream's name beside it, with the
/// stream's own strategy and key when it has them.
Result<TableSpec> StreamTable(const Attempt& a, const SourceStream& stream, bool only) {
  TableSpec table = a.table;
  if (!stream.name.empty() && (!only || table.name.empty())) table.name = NormalizeIdentifier(stream.name);
  if (table.name.empty()) {
    return Status::InvalidInput(
        "dest-table '{}' names a schema, and the source's table has no name of its own; give "
        "dest-table as schema.table",
        a.pipeline.sink_options.dest_table);
  }
  if (stream.strategy) table.strategy = *stream.strategy;
  if (!stream.primary_key.empty()) {
    table.primary_key.clear();
    for (const auto& k : stream.primary_key) table.primary_key.push_back(NormalizeColumnName(k));
  }
  const bool full_refresh = a.options.full_refresh || a.pipeline.sink_options.full_refresh;
  table.rebuild = table.strategy == WriteDisposition::kReplace || full_refresh;
  if (table.keyed() && table.primary_key.empty()) {
    NILUS_ASSIGN_OR_RAISE(table.primary_key, DiscoverMergeKey(a.source, a.pipeline.source_options, table));
  }
  return table;
}

/// One attempt at the load: everything happens in one destination transaction, which is
/// rolled back on any failure. Each stream of the source lands in its table, one after the
/// other; a source of several streams keeps the state of each under "tables".
Status LoadOnce(const Attempt& a, std::vector<LoadSummary>* summaries, Committed* committed) {
  NILUS_ASSIGN_OR_RAISE(auto streams, a.source.Streams(a.pipeline.source_options));
  NILUS_ASSIGN_OR_RAISE(auto load, a.destination.Begin(a.load));
  nlohmann::json prior = load->prior_state();
  if (a.load.local_state) {
    NILUS_ASSIGN_OR_RAISE(prior, a.load.local_state());
  }
  const bool several = streams.size() != 1;
  const bool full_refresh = a.options.full_refresh || a.pipeline.sink_options.full_refresh;
  nlohmann::json state = nlohmann::json::object();
  std::vector<LoadRecord> records;
  std::vector<LoadSummary> out;
  std::vector<std::tuple<std::string, nlohmann::json, nlohmann::json>> schemas;
  for (const SourceStream& stream : streams) {
    NILUS_ASSIGN_OR_RAISE(TableSpec table, StreamTable(a, stream, !several));
    nlohmann::json table_prior =
        several ? prior.value("tables", nlohmann::json::object()).value(table.name, nlohmann::json::object()) : prior;
    SourceOptions normalize_options = a.pipeline.source_options;
    if (stream.own_incremental) normalize_options.incremental_key.clear();
    NILUS_ASSIGN_OR_RAISE(auto stage,
                          NormalizeStage::Make(normalize_options, table, a.load.load_id, table_prior, full_refresh));
    // A rebuild makes the table anew and reads everything: the source's own state does not apply.
    nlohmann::json source_state = nlohmann::json::object();
    if (!table.rebuild) {
      NILUS_ASSIGN_OR_RAISE(auto existing, load->TableColumns(table.schema, table.name));
      stage->AdoptTable(existing);
      source_state = table_prior.value("source", nlohmann::json::object());
    }
    ResumePoint resume = stage->Resume(source_state);
    resume.stream = stream.name;
    NILUS_ASSIGN_OR_RAISE(auto reader, a.source.Read(a.pipeline.source_options, resume));
    NILUS_ASSIGN_OR_RAISE(Transferred moved, Transfer(a, table, *reader, *stage, *load));
    NILUS_RETURN_NOT_OK(stage->Finish());

    nlohmann::json table_state = {{"source", reader->state()}};
    stage->AddState(table_state);
    schemas.emplace_back(table.qualified(), table_prior.value("schema", nlohmann::json::object()),
                         table_state.value("schema", nlohmann::json::object()));
    if (several) {
      state["tables"][table.name] = std::move(table_state);
    } else {
      state = std::move(table_state);
    }
    records.push_back({table, moved.rows, moved.bytes, stage->ChildTables()});
    LoadSummary summary;
    summary.dest_table = table.qualified();
    summary.strategy = table.rebuild ? "replace" : std::string(WriteDispositionName(table.strategy));
    summary.rows = moved.rows;
    summary.bytes = moved.bytes;
    summary.child_rows.assign(moved.child_rows.begin(), moved.child_rows.end());
    summary.normalize_seconds = moved.normalize_seconds;
    out.push_back(std::move(summary));
  }
  NILUS_RETURN_NOT_OK(load->Commit(records, state));
  if (a.options.stop.stop_requested()) {
    spdlog::warn("a stop was requested while {} was committing; the load was committed in full", a.table.qualified());
  }
  *summaries = std::move(out);
  committed->state = std::move(state);
  committed->schemas = std::move(schemas);
  return Status::OK();
}

}  // namespace

std::string NewLoadId() {
  int64_t micros = NowMicros();
  std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &utc);
  std::mt19937 rng(std::random_device{}());
  return fmt::format("{}.{:06d}Z.{:04x}", stamp, micros % 1000000, rng() & 0xffff);
}

Status CheckMaskedColumns(const Pipeline& p, const ConnectorRegistry& registry) {
  if (p.source_options.mask.empty()) return Status::OK();
  // Not being able to read the columns (no file yet, no server) is not the mask's fault.
  auto source = registry.OpenSource(p.source);
  if (!source.ok()) return Status::FailedPrecondition("{}", source.status().message());
  auto names = (*source)->ColumnNames(p.source_options);
  if (!names.ok()) return Status::FailedPrecondition("{}", names.status().message());
  if (!*names) return Status::OK();
  std::vector<std::string> normal;
  for (const auto& n : **names) normal.push_back(NormalizeIdentifier(n));
  for (const auto& [column, algorithm] : p.source_options.mask) {
    if (std::find(normal.begin(), normal.end(), NormalizeColumnName(column)) == normal.end()) {
      std::string close = ClosestMatch(column, **names);
      return Status::InvalidInput("mask names column '{}', which {} does not have{}; its columns are: {}", column,
                                  p.source_options.table.empty() ? p.source.Masked() : p.source_options.table,
                                  close.empty() ? "" : fmt::format(" (did you mean '{}'?)", close),
                                  Join(**names, ", "));
    }
  }
  return Status::OK();
}

Result<std::vector<LoadSummary>> RunPipeline(const Pipeline& p, const RunOptions& options,
                                             const ConnectorRegistry& registry, StateStore& store) {
  const std::string& dest_table = p.sink_options.dest_table;
  std::string context = fmt::format(
      "loading {} into {}", p.source_options.table.empty() ? p.source.Masked() : p.source_options.table, dest_table);
  auto fail = [&](const Status& st) { return st.WithContext(context); };

  TableSpec table;
  if (dest_table.find('.') == std::string::npos && registry.Traits(p.source).names_tables) {
    table.schema = dest_table;  // each stream lands in a table of its own name
  } else {
    NILUS_ASSIGN_OR_RAISE(auto split, SplitDestTable(dest_table, "dest-table"));
    table.schema = split.first;
    table.name = split.second;
  }
  table.strategy = p.sink_options.strategy;
  table.primary_key = p.sink_options.primary_key;
  // The key of the state row: dest-table, or when it names a schema, the source's name in it.
  const std::string state_key =
      table.name.empty() ? table.schema + "." + NormalizeIdentifier(p.source.host()) : dest_table;

  if (p.source.scheme() == "custom" || p.destination.scheme() == "custom") {
    for (const auto& dir : options.python_path) {
      if (Status st = python::AddCodeDir(dir); !st.ok()) return fail(st.WithContext("--python-path"));
    }
    if (p.repo) {
      if (Status st = python::UseRepo(*p.repo, options.stop); !st.ok()) return fail(st);
    }
  }
  auto started = Clock::now();
  LoadSpec load{p.name,
                state_key,
                "",
                FormatTimestamp(NowMicros(), true),
                options.lock_timeout,
                false,
                std::max<int64_t>(p.sink_options.loader_file_size, 0),
                p.sink_options.aws_region,
                p.sink_options.partition_by,
                p.sink_options.cluster_by,
                p.sink_options.compact_delete_files,
                p.sink_options.compact_delete_percent,
                std::max<int64_t>(p.sink_options.batch_size, 0),
                nullptr};
  if (!registry.SinkTraits(p.destination).holds_state) {
    load.local_state = [&]() -> Result<nlohmann::json> {
      NILUS_ASSIGN_OR_RAISE(auto entries, store.List(p.name));
      for (const auto& e : entries) {
        if (e.table == state_key) return e.state;
      }
      return nlohmann::json::object();
    };
  }

  std::vector<LoadSummary> summaries;
  Committed committed;
  Status st = RetryTransient(
      context, options.stop,
      [&]() -> Status {
        load.load_id = NewLoadId();
        NILUS_ASSIGN_OR_RAISE(auto source, registry.OpenSource(p.source, options.stop));
        NILUS_ASSIGN_OR_RAISE(auto dest, registry.OpenDestination(p.destination, options.stop));
        return LoadOnce({p, options, *source, *dest, table, load}, &summaries, &committed);
      },
      RetryPolicy{}, options.metrics ? &options.metrics->retries : nullptr);
  if (!st.ok()) return fail(st);
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  double normalize_seconds = 0;
  for (auto& s : summaries) {
    s.pipeline = p.name;
    s.source_table = p.source_options.table;
    s.load_id = load.load_id;
    s.seconds = seconds;
    normalize_seconds += s.normalize_seconds;
  }
  spdlog::info("normalize took {:.3f} s of the load's {:.3f} s ({:.1f}%)", normalize_seconds, seconds,
               seconds > 0 ? 100 * normalize_seconds / seconds : 0.0);

  Status saved = store.Save(
      {p.name, state_key, AddressWithoutPassword(p.destination_as_written), committed.state, load.load_id, ""});
  // Per table, the schema version this load read (in case the run that committed it could not
  // record it) and the one it committed.
  for (const auto& [name, before, after] : committed.schemas) {
    if (saved.ok()) saved = store.SaveSchema(p.name, name, before);
    if (saved.ok()) saved = store.SaveSchema(p.name, name, after);
  }
  if (!saved.ok()) {
    spdlog::warn("the local state store could not be updated ({}); the destination holds the state", saved.message());
  }
  return summaries;
}

}  // namespace nilus
