#pragma once

// What every change-data-capture source shares: the change-record columns each change row ends
// with, the include/exclude lists of Debezium's options, and the checks of the options that
// mean the same for every source.

#include <re2/re2.h>

#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "nilus/connectors/connector.h"
#include "nilus/core/bounded_queue.h"

namespace nilus {

/// The change-record columns (kCdcOp …), in the order every change batch ends with.
std::vector<Field> ChangeFields();

/// The values of one row's change-record columns.
struct ChangeRecord {
  std::string_view op;
  int64_t lsn = 0, commit_lsn = 0;
  int64_t seq = 0, tx_id = 0, source_ts_ms = 0, ts_ms = 0;
  std::string_view snapshot = "false";
  std::string_view db, schema, table;
  std::optional<std::string> before, unchanged;
};

/// Appends `r` to the change-record columns of `b`, which start at column `first`.
void AppendRecord(BatchBuilder& b, size_t first, const ChangeRecord& r);

/// Snapshot rows (`data`, the table's columns) with their change-record columns, all `r`.
TableChanges SnapshotChanges(const RecordBatch& data, const ChangeRecord& r, std::vector<std::string> key);

/// One truncate of a table: a row of change-record columns only.
TableChanges TruncateChanges(const ChangeRecord& r, std::vector<std::string> key);

/// Milliseconds since 1970, now.
int64_t NowMillis();

/// The hand-over from a change stream's reader thread (which reads the source's log) to the
/// stream's consumer: a few chunks of room, so that the reader runs ahead of a slow destination
/// by that much and no more. A failure of the reader reaches the consumer after the chunks
/// before it; the consumer going away (destruction) ends the reader.
class ChunkHandOver {
 public:
  ~ChunkHandOver() { Stop(); }
  /// Ends the reader and waits for it: a stream calls it first in its destructor, before the
  /// members the reader uses go.
  void Stop();
  /// Runs `read` on the reader thread until it returns (Cancelled: stopped, nothing to report).
  void Start(std::function<Status()> read);
  bool started() const { return thread_.joinable(); }
  /// Whether the consumer gave up (the reader should end).
  bool closed() { return queue_.closed(); }
  /// On the reader thread: hands `chunk` over, calling `waiting` every half second while the
  /// consumer is behind (to answer the server); Cancelled when the stream stops meanwhile.
  Status Push(ChangeChunk chunk, const std::stop_token& stop, const std::function<Status()>& waiting = nullptr);
  /// On the consumer: the next chunk, nullopt when none came for a second, the reader's error,
  /// or Unavailable (naming `what`) when it ended.
  Result<std::optional<ChangeChunk>> Pop(std::string_view what);

 private:
  struct Item {
    ChangeChunk chunk;
    Status status;
  };
  BoundedQueue<Item> queue_{4};
  std::thread thread_;
};

/// A list option of regular expressions (table.include.list …), each matching a whole name.
class NamePatterns {
 public:
  NamePatterns() = default;
  NamePatterns(const SourceOptions& o, const std::string& option);
  bool empty() const { return patterns_.empty(); }
  bool Matches(const std::string& name) const;

 private:
  std::vector<std::shared_ptr<RE2>> patterns_;
};

/// Whether `name` passes an include list (empty: everything) and an exclude list.
inline bool Included(const NamePatterns& include, const NamePatterns& exclude, const std::string& name) {
  return (include.empty() || include.Matches(name)) && !exclude.Matches(name);
}

/// "file:line:column: " where the manifest gives option `name`, or "".
std::string OptionAt(const SourceOptions& o, const std::string& name);

/// The checks every change source makes: include and exclude lists of each of `kinds` ("table",
/// "column" …) exclude each other; the patterns compile; time.precision.mode and
/// include.schema.changes are what nilus does; the batch options that select rows do not apply.
/// (Options a source does not take at all are refused where it registers them.)
Status CheckChangeOptions(const SourceOptions& o, const std::vector<std::string>& kinds);

}  // namespace nilus
