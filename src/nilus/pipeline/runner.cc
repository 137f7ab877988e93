#include "nilus/pipeline/runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "nilus/core/cancellation.h"
#include "nilus/core/log.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"
#include "nilus/normalize/identifiers.h"
#include "nilus/pipeline/bounded_queue.h"
#include "nilus/pipeline/normalize_stage.h"
#include "nilus/pipeline/retry.h"

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

/// One attempt at loading the table: everything happens in one destination transaction, which
/// is rolled back on any failure. Extract and Normalize run on one thread, Load on this one.
Status LoadOnce(const Pipeline& p, Source& source, Destination& dest, const nlohmann::json& prior,
                const LoadRequest& request, bool ignore_state, const std::string& started_at, LoadSummary* summary,
                nlohmann::json* committed_state) {
  NILUS_ASSIGN_OR_RAISE(auto stage, NormalizeStage::Make(p.source_options, request, prior, ignore_state));
  ResumePoint resume;
  // Replace reloads everything: the source's own state (e.g. the files read) does not apply.
  if (request.strategy != WriteDisposition::kReplace) resume.state = prior.value("source", nlohmann::json::object());
  resume.cursor = stage->SavedCursor();
  // A replace rebuilds the table; any other load evolves the table as it is.
  if (request.strategy != WriteDisposition::kReplace) {
    NILUS_ASSIGN_OR_RAISE(auto existing, dest.TableColumns(request.dest_schema, request.dest_table));
    stage->AdoptTable(existing);
  }

  NILUS_ASSIGN_OR_RAISE(auto load, dest.Begin(request));
  NILUS_ASSIGN_OR_RAISE(auto reader, source.Read(p.source_options, resume));

  BoundedQueue<Normalized> queue(kQueueDepth);
  double normalize_seconds = 0;  // written by the extract thread, read after it is joined
  std::thread extract([&] {
    int64_t yielded = 0;
    const int64_t limit = p.source_options.yield_limit;
    while (true) {
      auto next = reader->Next();
      if (!next.ok()) {
        queue.Push({{}, next.status()});
        break;
      }
      if (!*next) break;
      auto started = Clock::now();
      auto normalized = stage->Apply(*next);
      normalize_seconds += std::chrono::duration<double>(Clock::now() - started).count();
      if (!normalized.ok()) {
        queue.Push({{}, normalized.status()});
        break;
      }
      if (!queue.Push({std::move(*normalized), Status::OK()})) break;
      if (limit > 0 && ++yielded >= limit) break;  // yield-limit: at most this many batches
    }
    queue.Close();
  });

  Status status;
  Progress progress(p.sink_options.dest_table);
  int64_t rows = 0, bytes = 0;
  std::map<std::string, int64_t> child_rows;
  while (auto item = queue.Pop()) {
    if (!item->status.ok()) {
      status = item->status;
      break;
    }
    if (StopRequested()) {
      status = Status::Cancelled("interrupted");
      break;
    }
    for (const auto& tb : item->batches) {
      status = load->Write(tb.table, *tb.batch);
      if (!status.ok()) break;
      if (tb.table == request.dest_table) {
        rows += tb.batch->num_rows();
      } else {
        child_rows[tb.table] += tb.batch->num_rows();
      }
      bytes += tb.batch->byte_size();
    }
    if (!status.ok()) break;
    progress.Update(rows, bytes);
  }
  queue.Close();
  extract.join();
  NILUS_RETURN_NOT_OK(status);
  if (StopRequested()) return Status::Cancelled("interrupted");
  NILUS_RETURN_NOT_OK(stage->Finish());

  nlohmann::json state = {{"source", reader->state()}};
  stage->AddState(state);
  LoadRecord record{
      request.load_id, p.name,     p.sink_options.dest_table, std::string(WriteDispositionName(request.strategy)), rows,
      bytes,           started_at, stage->ChildTables()};
  NILUS_RETURN_NOT_OK(load->Commit(record, state));
  summary->rows = rows;
  summary->bytes = bytes;
  summary->child_rows.assign(child_rows.begin(), child_rows.end());
  summary->normalize_seconds = normalize_seconds;
  *committed_state = std::move(state);
  return Status::OK();
}

}  // namespace

std::string NewLoadId() {
  int64_t micros = NowMicros();
  std::string ts = FormatTimestamp(micros, false);  // "YYYY-MM-DD HH:MM:SS.ffffff"
  std::string compact;
  for (char c : ts) {
    if (c == '-' || c == ':') continue;
    compact += c == ' ' ? 'T' : c;
  }
  if (compact.find('.') == std::string::npos) compact += ".0";
  std::mt19937 rng(std::random_device{}());
  return fmt::format("{}Z.{:04x}", compact, rng() & 0xffff);
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

Result<LoadSummary> RunPipeline(const Pipeline& p, const RunOptions& options, const ConnectorRegistry& registry,
                                StateStore& store) {
  const std::string& table = p.sink_options.dest_table;
  std::string context = fmt::format("loading {} into {}",
                                    p.source_options.table.empty() ? p.source.Masked() : p.source_options.table, table);
  auto fail = [&](const Status& st) { return st.WithContext(context); };

  NILUS_ASSIGN_OR_RAISE(auto split, SplitDestTable(table, "dest-table"));
  LoadRequest request;
  request.pipeline = p.name;
  request.dest_schema = split.first;
  request.dest_table = split.second;
  request.primary_key = p.sink_options.primary_key;
  request.strategy = p.sink_options.strategy;
  bool full_refresh = options.full_refresh || p.sink_options.full_refresh;
  if (full_refresh) request.strategy = WriteDisposition::kReplace;

  LoadSummary summary;
  summary.pipeline = p.name;
  summary.source_table = p.source_options.table;
  summary.dest_table = table;
  summary.strategy = WriteDispositionName(request.strategy);
  auto started = Clock::now();
  std::string started_at = FormatTimestamp(NowMicros(), true);

  nlohmann::json committed_state;
  nlohmann::json prior_schema = nlohmann::json::object();
  Status st = RetryTransient(context, [&]() -> Status {
    request.load_id = NewLoadId();
    auto source = registry.OpenSource(p.source);
    if (!source.ok()) return source.status();
    if (request.strategy == WriteDisposition::kMerge && request.primary_key.empty()) {
      auto key = (*source)->PrimaryKey(p.source_options);
      if (!key.ok()) return key.status();
      if (key->empty()) {
        return Status::InvalidInput(
            "incremental-strategy 'merge' needs a primary key and the source table declares none; add primary-key: "
            "<column>[,<column>]");
      }
      spdlog::info("merging on the source's primary key ({})", Join(*key, ", "));
      request.primary_key.clear();
      for (const auto& k : *key) request.primary_key.push_back(NormalizeIdentifier(k));
    }
    auto dest = registry.OpenDestination(p.destination);
    if (!dest.ok()) return dest.status();
    // Read even for a full refresh: the schema's history and child tables carry on.
    auto prior = (*dest)->ReadState(p.name, table);
    if (!prior.ok()) return prior.status();
    prior_schema = prior->value("schema", nlohmann::json::object());
    return LoadOnce(p, **source, **dest, *prior, request, full_refresh, started_at, &summary, &committed_state);
  });
  if (!st.ok()) return fail(st);
  summary.load_id = request.load_id;
  summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  spdlog::info("normalize took {:.3f} s of the load's {:.3f} s ({:.1f}%)", summary.normalize_seconds, summary.seconds,
               summary.seconds > 0 ? 100 * summary.normalize_seconds / summary.seconds : 0.0);

  Status saved = store.Save({p.name, table, p.destination_as_written, committed_state, request.load_id, ""});
  // The schema version this load read (in case the run that committed it could not record it)
  // and the one it committed.
  if (saved.ok()) saved = store.SaveSchema(p.name, table, prior_schema);
  if (saved.ok()) saved = store.SaveSchema(p.name, table, committed_state.value("schema", nlohmann::json::object()));
  if (!saved.ok())
    spdlog::warn("the local state store could not be updated ({}); the destination holds the state", saved.message());
  return summary;
}

}  // namespace nilus
