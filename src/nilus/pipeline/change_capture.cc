#include "nilus/pipeline/change_capture.h"

#include <spdlog/spdlog.h>

#include <climits>
#include <map>

#include "nilus/connectors/change_records.h"
#include "nilus/core/identifiers.h"
#include "nilus/core/log.h"
#include "nilus/core/secrets.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"
#include "nilus/pipeline/normalize_stage.h"
#include "nilus/pipeline/retry.h"

namespace nilus {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

/// How a change-data-capture pipeline writes, from its options.
struct Settings {
  std::string schema;  ///< the destination schema (dest-table)
  std::string prefix;  ///< topic.prefix: the destination tables' names start with it
  bool mirror = false;
  int64_t max_batch = 2048;
  std::chrono::milliseconds poll{1000};
  /// The pipeline's state row is keyed `<schema>.<prefix>`.
  std::string state_key() const { return schema + "." + prefix; }

  static Settings Of(const Pipeline& p) {
    Settings s;
    const auto& cdc = p.source_options.cdc;
    auto get = [&](const char* name, const char* fallback) {
      auto it = cdc.find(name);
      return it == cdc.end() ? std::string(fallback) : it->second;
    };
    s.schema = p.sink_options.dest_table;
    s.prefix = get("topic.prefix", "cdc");
    s.mirror = p.sink_options.strategy == WriteDisposition::kMerge;
    s.max_batch = std::stoll(get("max.batch.size", "2048"));
    s.poll = std::chrono::milliseconds(std::stoll(get("poll.interval.ms", "1000")));
    return s;
  }
};

/// The change-record columns a mirror keeps: where each row's last change came from.
bool KeptInMirror(std::string_view name) { return name == kCdcLsn || name == kCdcCommitLsn || name == kCdcSourceTs; }

/// A mirror's rows: the table's columns and the kept change-record columns, and, as
/// `_nilus_op`, "d" for the rows that delete their key.
struct MirrorRows {
  std::shared_ptr<const RecordBatch> rows;
  std::shared_ptr<const Column> ops;
  /// `_nilus_unchanged`, with destination names (in every batch, so that the staged rows of a
  /// load have one shape).
  std::shared_ptr<const Column> unchanged;
};

/// The unchanged-column lists of `_cdc_unchanged`, with the names Normalize gives the columns.
std::shared_ptr<const Column> UnchangedColumns(const Column& lists) {
  auto out = std::make_shared<Column>(LogicalType::Text());
  for (int64_t r = 0; r < lists.length(); ++r) {
    if (lists.IsNull(r)) {
      out->AppendNull();
      continue;
    }
    auto names = json::parse(lists.View(r), nullptr, false);
    json normal = json::array();
    if (names.is_array()) {
      for (const auto& n : names) {
        if (n.is_string()) normal.push_back(NormalizeIdentifier(n.get<std::string>()));
      }
    }
    out->AppendBytes(normal.dump());
  }
  return out;
}

MirrorRows ToMirrorRows(const RecordBatch& b) {
  Schema schema;
  std::vector<RecordBatch::ColumnPtr> columns;
  auto ops = std::make_shared<Column>(LogicalType::Text());
  std::shared_ptr<const Column> unchanged;
  for (size_t i = 0; i < b.num_columns(); ++i) {
    const Field& f = b.schema().field(i);
    if (f.name == kCdcOp) {
      const Column& op = b.column(i);
      for (int64_t r = 0; r < b.num_rows(); ++r) {
        if (!op.IsNull(r) && op.View(r) == "d") {
          ops->AppendBytes(kDeleteOperation);
        } else {
          ops->AppendNull();
        }
      }
    }
    if (f.name == kCdcUnchanged) unchanged = UnchangedColumns(b.column(i));
    if (IsChangeRecordColumn(f.name) && !KeptInMirror(f.name)) continue;
    schema.AddField(f);
    columns.push_back(b.column_ptr(i));
  }
  return {std::make_shared<RecordBatch>(std::move(schema), std::move(columns), b.num_rows()), std::move(ops),
          std::move(unchanged)};
}

/// `batch` with one more column.
std::shared_ptr<const RecordBatch> WithColumn(const RecordBatch& batch, Field field,
                                              std::shared_ptr<const Column> column) {
  Schema schema = batch.schema();
  schema.AddField(std::move(field));
  std::vector<RecordBatch::ColumnPtr> columns;
  for (size_t i = 0; i < batch.num_columns(); ++i) columns.push_back(batch.column_ptr(i));
  columns.push_back(std::move(column));
  return std::make_shared<RecordBatch>(std::move(schema), std::move(columns), batch.num_rows());
}

Status Unmirrorable(const std::string& schema, const std::string& table) {
  return Status::FailedPrecondition(
      "table {0}.{1} has no primary key and its changes do not carry the whole old row, so its rows cannot be "
      "mirrored (incremental-strategy: merge needs a key, or the whole old row, to find the row a change applies "
      "to); add a primary key to the table, or run ALTER TABLE {0}.{1} REPLICA IDENTITY FULL, or leave it out of "
      "table.include.list, or capture a change log with incremental-strategy: append",
      schema, table);
}

/// Applies chunks of changes to destination loads: one load open at a time, committed with the
/// position of the last whole source transaction it holds.
class Applier {
 public:
  Applier(const Pipeline& p, const RunOptions& options, Destination& dest, Settings settings)
      : p_(p), options_(options), dest_(dest), s_(std::move(settings)) {}

  /// The state the pipeline committed last ({} when none): read under the pipeline's lock, in
  /// a transaction that is then rolled back.
  Result<json> ReadState() {
    NILUS_ASSIGN_OR_RAISE(auto load, dest_.Begin(Spec(NewLoadId())));
    committed_ = load->prior_state();
    return committed_.value("source", json::object());
  }

  bool pending() const { return load_ != nullptr; }
  /// Whether the open load should commit at the next transaction boundary.
  bool Due() const { return load_ && (rows_ >= s_.max_batch || Clock::now() - opened_ >= s_.poll); }
  int64_t pending_rows() const { return rows_; }
  int64_t last_source_ts() const { return last_source_ts_; }

  Status Apply(const ChangeChunk& chunk) {
    if (!load_) NILUS_RETURN_NOT_OK(Open());
    for (const auto& tc : chunk.changes) NILUS_RETURN_NOT_OK(Write(tc));
    return Status::OK();
  }

  /// Commits the open load (or, when none is open, the position alone) with `position`.
  Status Commit(const json& position) {
    if (!load_) NILUS_RETURN_NOT_OK(Open());
    json state = committed_;
    state["source"] = position;
    if (!state.contains("tables")) state["tables"] = json::object();
    std::vector<LoadRecord> records;
    for (auto& [name, t] : tables_) {
      NILUS_RETURN_NOT_OK(t.stage->Finish());
      json table_state = json::object();
      t.stage->AddState(table_state);
      state["tables"][name] = std::move(table_state);
      records.push_back({t.spec, t.rows, t.bytes, t.stage->ChildTables()});
    }
    NILUS_RETURN_NOT_OK(load_->Commit(records, state));
    load_.reset();
    tables_.clear();
    committed_ = std::move(state);
    total_rows_ += rows_;
    rows_ = 0;
    return Status::OK();
  }

  const json& committed() const { return committed_; }
  const std::string& load_id() const { return load_id_; }

 private:
  /// One destination table of the open load.
  struct Table {
    TableSpec spec;
    std::unique_ptr<NormalizeStage> stage;
    int64_t rows = 0, bytes = 0;
  };

  LoadSpec Spec(const std::string& load_id) const {
    auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    return LoadSpec{p_.name,
                    s_.state_key(),
                    load_id,
                    FormatTimestamp(micros, true),
                    options_.lock_timeout,
                    true,
                    std::max<int64_t>(p_.sink_options.loader_file_size, 0),
                    p_.sink_options.aws_region,
                    p_.sink_options.partition_by,
                    p_.sink_options.cluster_by,
                    p_.sink_options.compact_delete_files,
                    p_.sink_options.compact_delete_percent};
  }

  /// Opens a load, checking that nobody committed for this pipeline since this run did.
  Status Open() {
    load_id_ = NewLoadId();
    NILUS_ASSIGN_OR_RAISE(load_, dest_.Begin(Spec(load_id_)));
    if (load_->prior_state().value("source", json::object()) != committed_.value("source", json::object())) {
      load_.reset();
      return Status::FailedPrecondition(
          "pipeline {}: another run committed changes meanwhile (is a second nilus running this pipeline?); this "
          "run stops without writing",
          p_.name);
    }
    opened_ = Clock::now();
    return Status::OK();
  }

  Result<Table*> TableFor(const TableChanges& tc) {
    std::string name = NormalizeIdentifier(s_.prefix + "_" + tc.schema + "_" + tc.table);
    auto it = tables_.find(name);
    if (it != tables_.end()) return &it->second;
    Table t;
    t.spec.schema = s_.schema;
    t.spec.name = name;
    t.spec.strategy = s_.mirror ? WriteDisposition::kMerge : WriteDisposition::kAppend;
    // A keyless table is mirrored by whole rows (the stream opened only if its changes carry them).
    if (s_.mirror) {
      for (const auto& k : tc.key) t.spec.primary_key.push_back(NormalizeColumnName(k));
    }
    json prior = committed_.contains("tables") ? committed_["tables"].value(name, json::object()) : json::object();
    NILUS_ASSIGN_OR_RAISE(t.stage, NormalizeStage::Make(p_.source_options, t.spec, load_id_, prior, false));
    NILUS_ASSIGN_OR_RAISE(auto existing, load_->TableColumns(t.spec.schema, t.spec.name));
    t.stage->AdoptTable(existing);
    return &tables_.emplace(name, std::move(t)).first->second;
  }

  Status Write(const TableChanges& tc) {
    NILUS_ASSIGN_OR_RAISE(Table * t, TableFor(tc));
    if (tc.truncate && s_.mirror) return load_->Truncate(t->spec, t->stage->ChildTables());
    std::shared_ptr<const RecordBatch> rows = tc.batch;
    std::shared_ptr<const Column> ops, unchanged;
    if (s_.mirror) {
      auto mirror = ToMirrorRows(*tc.batch);
      rows = std::move(mirror.rows);
      ops = std::move(mirror.ops);
      unchanged = std::move(mirror.unchanged);
    }
    NILUS_ASSIGN_OR_RAISE(auto batches, t->stage->Apply(rows));
    for (auto& tb : batches) {
      const bool root = tb.table == t->spec.name;
      std::shared_ptr<const RecordBatch> out = tb.batch;
      if (root && ops) {
        if (out->num_rows() != ops->length()) return Status::Internal("a mirror batch lost rows in Normalize");
        out = WithColumn(*out, {kOperationColumn, LogicalType::Text()}, ops);
        out = WithColumn(*out, {kUnchangedColumn, LogicalType::Text()}, unchanged);
      }
      TableSpec spec = t->spec;
      if (!root) {
        spec.name = tb.table;
        spec.root = t->spec.name;
        spec.primary_key.clear();
      }
      NILUS_RETURN_NOT_OK(load_->Write(spec, *out));
      if (root) t->rows += out->num_rows();
      t->bytes += out->byte_size();
    }
    rows_ += tc.batch->num_rows();
    if (int i = tc.batch->schema().FieldIndex(kCdcSourceTs); i >= 0 && tc.batch->num_rows() > 0) {
      const Column& ts = tc.batch->column(static_cast<size_t>(i));
      if (!ts.IsNull(tc.batch->num_rows() - 1)) last_source_ts_ = ts.Int64(tc.batch->num_rows() - 1);
    }
    return Status::OK();
  }

  const Pipeline& p_;
  const RunOptions& options_;
  Destination& dest_;
  Settings s_;
  json committed_ = json::object();
  std::unique_ptr<Load> load_;
  std::string load_id_;
  std::map<std::string, Table> tables_;
  Clock::time_point opened_;
  int64_t rows_ = 0, total_rows_ = 0, last_source_ts_ = 0;
};

/// A source position for the log: PostgreSQL's LSN, or MySQL's binary log file and offset.
std::string Where(const json& position) {
  if (position.contains("file")) {
    return fmt::format("{}:{}", position.value("file", ""), position.value("pos", int64_t{0}));
  }
  return position.value("lsn", "-");
}

/// Logs changes/s, the last committed position and how far behind the source it is (in time
/// since the last change's source commit, and in bytes of the source's log) every 10 seconds,
/// and reports the same to the run history (`cdc_status`) every 5 seconds and when the service
/// stops or fails. Lives as long as the service, across reconnections.
class CdcProgress {
 public:
  CdcProgress(const Pipeline& p, RunHistory* history) : history_(history) {
    report_.pipeline = p.name;
    report_.source = p.source.Masked();
    report_.started_at = HistoryNow();
  }

  void Committed(int64_t rows, const json& position, int64_t source_ts_ms, int64_t bytes_behind) {
    rows_ += rows;
    unreported_ += rows;
    // A commit of no change is a heartbeat or a boundary: the source has nothing older to send.
    report_.lag_seconds = rows > 0 && source_ts_ms > 0 ? std::max(0.0, (NowMillis() - source_ts_ms) / 1e3) : 0.0;
    report_.lag_bytes = bytes_behind;
    report_.position = position;
    auto now = Clock::now();
    if (now - last_report_ >= std::chrono::seconds(5)) Report("streaming", "");
    if (now - last_ < std::chrono::seconds(10)) return;
    double secs = std::chrono::duration<double>(now - last_).count();
    std::string lag =
        rows_ > 0 && source_ts_ms > 0 ? fmt::format("{:.1f} s behind the source", report_.lag_seconds) : "idle";
    if (bytes_behind >= 0) lag += fmt::format(", {} bytes of its log to read", bytes_behind);
    spdlog::info("change capture: {} changes ({:.0f}/s), committed position {}, {}", rows_, rows_ / secs,
                 Where(position), lag);
    rows_ = 0;
    last_ = now;
  }

  /// Writes the report; a history that cannot be written is a warning, once.
  void Report(const std::string& state, const std::string& error) {
    last_report_ = Clock::now();
    if (history_ == nullptr) return;
    report_.changes = unreported_;
    report_.state = state;
    report_.error = error;
    Status st = history_->ReportCdc(report_);
    if (st.ok()) {
      unreported_ = 0;
    } else if (!warned_) {
      warned_ = true;
      spdlog::warn("the service's progress is not written to the run history: {}", st.message());
    }
  }

 private:
  RunHistory* history_;
  CdcReport report_;
  int64_t rows_ = 0, unreported_ = 0;
  bool warned_ = false;
  Clock::time_point last_ = Clock::now();
  Clock::time_point last_report_ = Clock::now() - std::chrono::hours(1);
};

/// One connection's worth of streaming: from the committed position until a stop or a failure.
Status StreamOnce(const Pipeline& p, const RunOptions& options, const ConnectorRegistry& registry, StateStore& store,
                  const Settings& settings, CdcProgress& progress) {
  NILUS_ASSIGN_OR_RAISE(auto dest, registry.OpenDestination(p.destination, options.stop));
  Applier applier(p, options, *dest, settings);
  NILUS_ASSIGN_OR_RAISE(json position, applier.ReadState());
  NILUS_ASSIGN_OR_RAISE(auto source, registry.OpenChangeSource(p.source, options.stop));
  NILUS_ASSIGN_OR_RAISE(auto stream, source->Open(p.source_options, position, settings.mirror));
  if (settings.mirror) {
    for (const auto& t : stream->tables()) {
      if (t.key.empty() && !t.whole_old_row) return Unmirrorable(t.schema, t.table);
    }
  }

  auto last_saved = Clock::now() - std::chrono::hours(1);
  auto commit = [&](const json& at) -> Status {
    int64_t rows = applier.pending_rows();
    NILUS_RETURN_NOT_OK(applier.Commit(at));
    stream->Confirm(at);
    progress.Committed(rows, at, applier.last_source_ts(), stream->BytesBehind(at));
    // The local copy of the state, for `nilus state show`: at most every few seconds.
    if (Clock::now() - last_saved >= std::chrono::seconds(5) || stream->finished()) {
      last_saved = Clock::now();
      Status saved = store.Save({p.name, settings.state_key(), AddressWithoutPassword(p.destination_as_written),
                                 applier.committed(), applier.load_id(), ""});
      if (!saved.ok()) spdlog::warn("the local state store could not be updated ({})", saved.message());
    }
    return Status::OK();
  };

  json pending_position;
  bool at_boundary = false;
  while (true) {
    if (options.stop.stop_requested()) {
      // A stop takes effect at a transaction boundary: what is whole commits, the rest rolls back.
      if (applier.pending() && at_boundary) NILUS_RETURN_NOT_OK(commit(pending_position));
      return Status::Cancelled("stopped");
    }
    auto next = stream->Next();
    if (!next.ok()) {
      if (options.stop.stop_requested()) continue;
      return next.status();
    }
    if (!*next) {
      if (applier.pending() && at_boundary) NILUS_RETURN_NOT_OK(commit(pending_position));
      if (stream->finished()) return Status::OK();
      continue;
    }
    ChangeChunk& chunk = **next;
    if (chunk.changes.empty() && chunk.at_boundary && !applier.pending()) {
      NILUS_RETURN_NOT_OK(commit(chunk.position));  // the position alone: a heartbeat, a new slot
      continue;
    }
    NILUS_RETURN_NOT_OK(applier.Apply(chunk));
    pending_position = std::move(chunk.position);
    at_boundary = chunk.at_boundary;
    if (at_boundary && applier.Due()) NILUS_RETURN_NOT_OK(commit(pending_position));
  }
}

}  // namespace

Status RunChangeCapture(const Pipeline& p, const RunOptions& options, const ConnectorRegistry& registry,
                        StateStore& store, RunHistory* history) {
  Settings settings = Settings::Of(p);
  spdlog::info("pipeline {}: capturing changes of {} into schema {} as {} (tables {}_<schema>_<table>)", p.name,
               p.source.Masked(), settings.schema, settings.mirror ? "a mirror" : "a change log", settings.prefix);
  // A service keeps going: a lost connection or server is retried with backoff, without end.
  RetryPolicy forever{INT_MAX, std::chrono::milliseconds(1000), std::chrono::milliseconds(60000)};
  CdcProgress progress(p, history);
  progress.Report("streaming", "");
  Status st = RetryTransient(
      "capturing changes", options.stop, [&] { return StreamOnce(p, options, registry, store, settings, progress); },
      forever, options.metrics ? &options.metrics->retries : nullptr);
  if (st.ok() || (st.code() == StatusCode::kCancelled && options.stop.stop_requested())) {
    progress.Report("stopped", "");
    spdlog::info("pipeline {}: stopped; every committed change is in the destination", p.name);
    return Status::OK();
  }
  st = st.WithContext("pipeline " + p.name);
  progress.Report("failed", MaskSecrets(st.message()));
  return st;
}

}  // namespace nilus
