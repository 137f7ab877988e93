#include "nilus/connectors/change_records.h"

#include <chrono>

#include "nilus/core/strings.h"

namespace nilus {

std::vector<Field> ChangeFields() {
  auto text = LogicalType::Text();
  auto bigint = LogicalType::Bigint();
  return {{kCdcOp, text},
          {kCdcLsn, bigint},
          {kCdcCommitLsn, bigint},
          {kCdcSeq, bigint},
          {kCdcTxId, bigint},
          {kCdcSourceTs, bigint},
          {kCdcTs, bigint},
          {kCdcSnapshot, text},
          {kCdcDb, text},
          {kCdcSchema, text},
          {kCdcTable, text},
          {kCdcBefore, LogicalType::Json()},
          {kCdcUnchanged, LogicalType::Json()}};
}

void AppendRecord(BatchBuilder& b, size_t first, const ChangeRecord& r) {
  size_t i = first;
  b.column(i++).AppendBytes(r.op);
  b.column(i++).AppendInt64(r.lsn);
  b.column(i++).AppendInt64(r.commit_lsn);
  b.column(i++).AppendInt64(r.seq);
  b.column(i++).AppendInt64(r.tx_id);
  b.column(i++).AppendInt64(r.source_ts_ms);
  b.column(i++).AppendInt64(r.ts_ms);
  b.column(i++).AppendBytes(r.snapshot);
  b.column(i++).AppendBytes(r.db);
  b.column(i++).AppendBytes(r.schema);
  b.column(i++).AppendBytes(r.table);
  for (const auto* json : {&r.before, &r.unchanged}) {
    if (*json) {
      b.column(i++).AppendBytes(**json);
    } else {
      b.column(i++).AppendNull();
    }
  }
}

TableChanges SnapshotChanges(const RecordBatch& data, const ChangeRecord& r, std::vector<std::string> key) {
  Schema schema = data.schema();
  for (auto& f : ChangeFields()) schema.AddField(std::move(f));
  BatchBuilder meta{Schema(ChangeFields())};
  for (int64_t i = 0; i < data.num_rows(); ++i) AppendRecord(meta, 0, r);
  auto meta_batch = meta.Finish();
  std::vector<RecordBatch::ColumnPtr> columns;
  for (size_t i = 0; i < data.num_columns(); ++i) columns.push_back(data.column_ptr(i));
  for (size_t i = 0; i < meta_batch->num_columns(); ++i) columns.push_back(meta_batch->column_ptr(i));
  TableChanges out{std::string(r.schema), std::string(r.table), std::move(key), nullptr, false};
  out.batch = std::make_shared<RecordBatch>(std::move(schema), std::move(columns), data.num_rows());
  return out;
}

TableChanges TruncateChanges(const ChangeRecord& r, std::vector<std::string> key) {
  BatchBuilder b{Schema(ChangeFields())};
  AppendRecord(b, 0, r);
  return TableChanges{std::string(r.schema), std::string(r.table), std::move(key), b.Finish(), true};
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void ChunkHandOver::Stop() {
  queue_.Close();
  if (thread_.joinable()) thread_.join();
}

void ChunkHandOver::Start(std::function<Status()> read) {
  thread_ = std::thread([this, read = std::move(read)] {
    Status st = read();
    if (!st.ok() && st.code() != StatusCode::kCancelled) {
      Item item{ChangeChunk{}, st};
      while (queue_.PushFor(item, std::chrono::seconds(1)) == BoundedQueue<Item>::PushResult::kTimedOut) {
      }
    }
    queue_.Close();
  });
}

Status ChunkHandOver::Push(ChangeChunk chunk, const std::stop_token& stop, const std::function<Status()>& waiting) {
  Item item{std::move(chunk), Status::OK()};
  while (true) {
    auto r = queue_.PushFor(item, std::chrono::milliseconds(500));
    if (r == BoundedQueue<Item>::PushResult::kPushed) return Status::OK();
    if (r == BoundedQueue<Item>::PushResult::kClosed || stop.stop_requested()) return Status::Cancelled("");
    if (waiting) NILUS_RETURN_NOT_OK(waiting());
  }
}

Result<std::optional<ChangeChunk>> ChunkHandOver::Pop(std::string_view what) {
  auto item = queue_.PopFor(std::chrono::seconds(1));
  if (!item) {
    if (queue_.closed()) return Status::Unavailable("{} stopped", what);
    return std::optional<ChangeChunk>();
  }
  NILUS_RETURN_NOT_OK(item->status);
  return std::optional<ChangeChunk>(std::move(item->chunk));
}

NamePatterns::NamePatterns(const SourceOptions& o, const std::string& option) {
  auto it = o.cdc.find(option);
  if (it == o.cdc.end()) return;
  for (const auto& p : SplitList(it->second)) patterns_.push_back(std::make_shared<RE2>(p, RE2::Quiet));
}

bool NamePatterns::Matches(const std::string& name) const {
  for (const auto& p : patterns_) {
    if (RE2::FullMatch(name, *p)) return true;
  }
  return false;
}

std::string OptionAt(const SourceOptions& o, const std::string& name) {
  for (const auto& [given, where] : o.given) {
    if (given == name) return where + ": ";
  }
  return std::string();
}

Status CheckChangeOptions(const SourceOptions& o, const std::vector<std::string>& kinds) {
  auto get = [&](const std::string& name) {
    auto it = o.cdc.find(name);
    return it == o.cdc.end() ? std::string() : it->second;
  };
  for (const auto& kind : kinds) {
    std::string include = kind + ".include.list", exclude = kind + ".exclude.list";
    if (!get(include).empty() && !get(exclude).empty()) {
      return Status::InvalidInput("{}{} and {} exclude each other; give one of them", OptionAt(o, exclude), include,
                                  exclude);
    }
    for (const auto& name : {include, exclude}) {
      for (const auto& p : SplitList(get(name))) {
        RE2 re(p, RE2::Quiet);
        if (!re.ok()) {
          return Status::InvalidInput("{}{}: '{}' is not a regular expression ({})", OptionAt(o, name), name, p,
                                      re.error());
        }
      }
    }
  }
  const std::string precision = get("time.precision.mode");
  if (!precision.empty() && precision != "adaptive" && precision != "adaptive_time_microseconds") {
    return Status::InvalidInput(
        "{}time.precision.mode '{}' is not supported: nilus keeps times and timestamps in microseconds "
        "(adaptive_time_microseconds), as their columns' types say",
        OptionAt(o, "time.precision.mode"), precision);
  }
  if (get("include.schema.changes") == "true") {
    return Status::InvalidInput(
        "{}include.schema.changes: true is not supported: schema changes are applied to the destination tables "
        "(new columns appear), not written as events",
        OptionAt(o, "include.schema.changes"));
  }
  if (!o.table.empty() || !o.incremental_key.empty() || o.sql_limit > 0 || o.yield_limit > 0) {
    return Status::InvalidInput(
        "a change-data-capture source reads the tables that table.include.list names, from their snapshot and log; "
        "source-table, incremental-key, sql-limit and yield-limit do not apply to it");
  }
  return Status::OK();
}

}  // namespace nilus
