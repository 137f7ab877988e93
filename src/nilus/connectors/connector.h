#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nilus/core/identifiers.h"
#include "nilus/core/options.h"
#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"
#include "nilus/core/uri.h"
#include "nilus/normalize/documents.h"

namespace nilus {

/// The column every loaded row carries: the id of the load that wrote it.
inline constexpr char kLoadIdColumn[] = "_nilus_load_id";
/// A stream of record batches of one source table, in the order the source yields them.
class BatchReader {
 public:
  virtual ~BatchReader() = default;
  /// The next batch, or nullptr when the table is exhausted. Batches hold at most `page-size`
  /// rows and a bounded number of bytes. The schema may grow between batches (new columns).
  virtual Result<std::shared_ptr<const RecordBatch>> Next() = 0;
  /// The source's own state to commit with the data: where the next run continues (e.g. the
  /// files read, and the position inside a file read in part). Describes exactly the rows of
  /// the batches returned so far, so it may be called after any `Next()`: at the end, or when
  /// the run stops early at a limit.
  virtual nlohmann::json state() const { return nlohmann::json::object(); }
  /// Whether the reader yields documents it flattened itself (Python objects, which have no
  /// text form to hand over) through NextFlattened rather than batches through Next.
  virtual bool flattens() const { return false; }
  /// The next documents as flattened tables (the root table first: one row per document), or
  /// nullopt when the table is exhausted. Only for readers that `flatten()`.
  virtual Result<std::optional<std::vector<FlatTable>>> NextFlattened() {
    return Status::Internal("this reader yields record batches, not flattened documents");
  }
};

/// A table a source yields. Sources yield one: the table of `source-table`, landing in
/// `dest-table`. A Python source yields one per resource, each landing in a table of its own
/// name with, when the resource says so, its own strategy and key.
struct SourceStream {
  /// The destination table ("" for the one table of a single-table source: `dest-table`'s).
  std::string name;
  std::optional<WriteDisposition> strategy;  ///< nullopt: the sink's `incremental-strategy`
  std::vector<std::string> primary_key;      ///< empty: the pipeline's `primary-key`
  /// The source keeps its own position (a Python source that `handles_incrementality`):
  /// nilus's `incremental-key` cursor does not filter its rows.
  bool own_incremental = false;
};

/// The column of `incremental-key` among `columns` (anything with a `name`): by its name, or by
/// its normal form as Normalize names it; nullptr when there is none (the runner reports it).
template <typename ColumnT>
const ColumnT* IncrementalKeyColumn(const SourceOptions& o, const std::vector<ColumnT>& columns) {
  if (o.incremental_key.empty()) return nullptr;
  for (const auto& c : columns) {
    if (c.name == o.incremental_key) return &c;
  }
  for (const auto& c : columns) {
    if (NormalizeColumnName(c.name) == NormalizeColumnName(o.incremental_key)) return &c;
  }
  return nullptr;
}

/// Where the last committed load of a table left off.
struct ResumePoint {
  /// The stream to read: one of Source::Streams() ("" for a source of one table).
  std::string stream;
  /// What this source's reader returned from `state()` ({} on the first run, a full refresh or
  /// a replace).
  nlohmann::json state = nlohmann::json::object();
  /// The saved incremental cursor as text ("" when none or in a backfill): every row whose
  /// `incremental-key` is below it was loaded. The cursor is inclusive: rows equal to it may be
  /// new, so a source may skip rows below it but must read those equal to it. The runner filters
  /// again, so a source that ignores the cursor is still correct.
  std::string cursor;
  /// How many rows equal to the cursor were loaded already: a source that cuts its read with a
  /// LIMIT reads this many more rows than the limit, as the runner drops them.
  int64_t rows_at_cursor = 0;
};

/// A batch source: reads tables (DESIGN §2, Extract). A source is opened for one run and stops
/// when the run's stop token says so.
class Source {
 public:
  virtual ~Source() = default;
  /// Starts reading `options.table` from where `resume` says. With `incremental-key` and a
  /// limit (`sql-limit`, `yield-limit`), rows come in key order (SourceOptions::ReadsInKeyOrder).
  virtual Result<std::unique_ptr<BatchReader>> Read(const SourceOptions& options, const ResumePoint& resume) = 0;
  /// The tables a read of `options` yields, read one after the other in one load: one unnamed
  /// stream, unless the source yields several tables (SourceTraits::names_tables).
  virtual Result<std::vector<SourceStream>> Streams(const SourceOptions&) {
    return std::vector<SourceStream>{SourceStream{}};
  }
  /// The table's primary key as the source declares it; empty when it has none or the source
  /// cannot tell. Sources registered with `discovers_primary_key` answer it.
  virtual Result<std::vector<std::string>> PrimaryKey(const SourceOptions&) { return std::vector<std::string>{}; }
  /// The names of the columns `options.table` has, when the source can tell without reading its
  /// data (a CSV header, a catalog); nullopt otherwise (JSON documents). For `nilus validate`.
  virtual Result<std::optional<std::vector<std::string>>> ColumnNames(const SourceOptions&) {
    return std::optional<std::vector<std::string>>();
  }
};

/// The changes of one source table in a stretch of a change stream (DESIGN §2.3), in commit
/// order: a batch whose columns are the table's own (the row after the change; before it, for a
/// delete) followed by the change-record columns (kChangeColumns). A truncate is one row with op
/// "t" and only the change-record columns set.
struct TableChanges {
  std::string schema;  ///< the source schema
  std::string table;   ///< the source table
  /// The columns that identify a row (the primary key, or the replica identity index); empty
  /// when the table has none.
  std::vector<std::string> key;
  std::shared_ptr<const RecordBatch> batch;
  /// Whether the batch is one truncate of the table.
  bool truncate = false;
};

/// The change-record columns every row of a change stream carries (Debezium's envelope,
/// flattened): the operation (c insert, u update, d delete, r snapshot read, t truncate), the
/// change's own log position, the source transaction's commit position and id, the row's place
/// in it, the commit time, when
/// nilus read it, whether it came from the snapshot, where it lives, the row before an update or
/// delete (JSON, when the source logs whole old rows) and the columns whose value the source
/// left out because it did not change (JSON list).
inline constexpr char kCdcOp[] = "_cdc_op";
inline constexpr char kCdcLsn[] = "_cdc_lsn";
inline constexpr char kCdcCommitLsn[] = "_cdc_commit_lsn";
inline constexpr char kCdcSeq[] = "_cdc_seq";
inline constexpr char kCdcTxId[] = "_cdc_tx_id";
inline constexpr char kCdcSourceTs[] = "_cdc_source_ts_ms";
inline constexpr char kCdcTs[] = "_cdc_ts_ms";
inline constexpr char kCdcSnapshot[] = "_cdc_snapshot";
inline constexpr char kCdcDb[] = "_cdc_db";
inline constexpr char kCdcSchema[] = "_cdc_schema";
inline constexpr char kCdcTable[] = "_cdc_table";
inline constexpr char kCdcBefore[] = "_cdc_before";
inline constexpr char kCdcUnchanged[] = "_cdc_unchanged";
/// Whether `name` is a change-record column (`_cdc_…`).
inline bool IsChangeRecordColumn(std::string_view name) { return name.substr(0, 5) == "_cdc_"; }

/// A stretch of a change stream: changes of one or more tables, and where the stream stands
/// after them.
struct ChangeChunk {
  std::vector<TableChanges> changes;
  /// The source's position after these changes (its state to commit with them).
  nlohmann::json position;
  /// Whether the chunk ends at the end of a source transaction (or of the snapshot): only then
  /// may the position be committed.
  bool at_boundary = false;
};

/// A table a change stream captures.
struct CapturedTable {
  std::string schema, table;
  std::vector<std::string> key;  ///< its primary key; empty when it has none
  /// Whether its updates and deletes carry the whole old row (PostgreSQL's REPLICA IDENTITY
  /// FULL): what finds the row of a keyless table.
  bool whole_old_row = false;
};

/// A stream of changes: first the snapshot of the included tables, then their changes from
/// the log, with no gap and no overlap between the two.
class ChangeStream {
 public:
  virtual ~ChangeStream() = default;
  /// The tables the stream captures, as they were when it opened.
  virtual const std::vector<CapturedTable>& tables() const = 0;
  /// The next chunk; nullopt when nothing arrived for a while (up to about a second), so that
  /// the caller may commit what it holds. Fails when the stream breaks.
  virtual Result<std::optional<ChangeChunk>> Next() = 0;
  /// Tells the source that everything up to `position` (a chunk's) is committed in the
  /// destination, so it may release the log before it. Safe from any thread.
  virtual void Confirm(const nlohmann::json& position) = 0;
  /// Whether the stream ends after the snapshot (`snapshot.mode: initial_only`) and has ended.
  virtual bool finished() const { return false; }
  /// How far the source's log reaches beyond `position` (a chunk's), in bytes: the lag; -1 when
  /// the source cannot tell (yet).
  virtual int64_t BytesBehind(const nlohmann::json& position) const {
    (void)position;
    return -1;
  }
};

/// A source of change data capture (`source.options` with Debezium's options).
class ChangeSource {
 public:
  virtual ~ChangeSource() = default;
  /// Checks the source (server settings, privileges, slot, publication), takes the snapshot
  /// when `position` says none was committed, and starts streaming from `position` ({} on the
  /// first run). For a `mirror`, an update of a keyless table whose changes carry the whole old
  /// row comes as the delete of the old row and the create of the new one: the whole row is
  /// what finds it.
  virtual Result<std::unique_ptr<ChangeStream>> Open(const SourceOptions& options, const nlohmann::json& position,
                                                     bool mirror) = 0;
};

/// A destination table of a load and how it is written.
struct TableSpec {
  std::string schema;  ///< the destination schema
  std::string name;    ///< the table, without the schema
  /// For a child table (nested arrays unnested by Normalize, named `<root>__<field>`): its root
  /// table, in the same schema. Empty for a root table. Child tables follow their root's strategy.
  std::string root;
  WriteDisposition strategy = WriteDisposition::kAppend;
  /// Rebuild the table from this load's rows alone, swapped in at commit (readers see the old
  /// table until then). True for `replace` and for a full refresh of any strategy.
  bool rebuild = false;
  /// The key of a merge: rows replace the table's rows with the same key, the last row of a key
  /// in the load wins, and rows whose `_nilus_op` is "d" delete their key.
  std::vector<std::string> primary_key;

  bool keyed() const { return strategy == WriteDisposition::kMerge; }
  std::string qualified() const { return schema + "." + name; }
};

/// Checks the key of a merge batch: every `primary_key` column is in `batch`, and none is NULL
/// (a NULL key would never match). The same rule in every destination.
Status CheckMergeKeys(const TableSpec& spec, const RecordBatch& batch);

/// The `_nilus_loads` row of one root table of a load, and what the commit needs to know of it.
struct LoadRecord {
  TableSpec table;
  int64_t rows = 0;
  int64_t bytes = 0;
  /// Every child table of the table, written by this load or an earlier one: a rebuild empties
  /// those it did not write, a merge replaces the children of the rows it replaces.
  std::vector<std::string> child_tables;
};

/// What opens a load.
struct LoadSpec {
  std::string pipeline;
  /// The key of the pipeline's state row: its `dest-table` (schema.table). The bookkeeping
  /// tables live beside it (in its schema, where the database has schemas).
  std::string state_table;
  std::string load_id;
  std::string started_at;  ///< ISO-8601 UTC
  /// How long to wait for another load of the same pipeline to finish before giving up.
  std::chrono::seconds lock_timeout{600};
  /// The commit must survive a power failure, whatever the database's own setting: change data
  /// capture tells the source to release its log once the commit returns.
  bool durable = false;
  /// `loader-file-size`: the rows of one data file, where the destination writes files (the
  /// lakehouse); 0 leaves it to the destination.
  int64_t file_rows = 0;
  /// `aws_region`: the region of a destination on S3 ("" for the environment's).
  std::string aws_region = {};
  /// `partition-by`: how the tables the pipeline lands (not their child tables) are partitioned,
  /// where the destination partitions (the lakehouse).
  std::vector<PartitionField> partition_by = {};
  /// `cluster-by`: the columns the rows of each data file are sorted by, likewise.
  std::vector<std::string> cluster_by = {};
  /// `compact-delete-files`, `compact-delete-percent`: when a load compacts a table it merges
  /// into, where the destination compacts (the lakehouse).
  int64_t compact_delete_files = 0;
  int64_t compact_delete_percent = 0;
  /// `batch-size`: the rows a destination hands over at once, where it hands rows to code (a
  /// Python destination); 0 leaves it to the destination.
  int64_t batch_rows = 0;
  /// For a destination that cannot hold state (DestinationTraits::holds_state false): the state
  /// of the pipeline's last load from the local state store, which the runner reads after Begin
  /// took the pipeline's lock.
  std::function<Result<nlohmann::json>()> local_state = nullptr;
};

/// One destination transaction over any number of tables: batches of rows for each, then data,
/// load records and one state row committed together (DESIGN §2.2, §2.8). Destroying it
/// without `Commit` rolls everything back.
class Load {
 public:
  virtual ~Load() = default;
  /// The state committed with the pipeline's last load ({} when none), read inside this
  /// transaction after taking the pipeline's lock: a concurrent run of the same pipeline waits
  /// for this one and then sees what it committed.
  virtual const nlohmann::json& prior_state() const = 0;
  /// The columns table `schema.table` has now (without `_nilus_load_id`), with their logical
  /// types; empty when there is no such table. Normalize adopts them for a table its stored schema
  /// does not know, so that values of another type go to variant columns there too.
  virtual Result<std::vector<Field>> TableColumns(const std::string& schema, const std::string& table) = 0;
  /// Writes a batch of `table`; the table and the columns it does not have yet are added. Every
  /// row gets `_nilus_load_id`. A batch of a keyed table may carry `_nilus_op`.
  virtual Status Write(const TableSpec& table, const RecordBatch& batch) = 0;
  /// Empties `table` and its child tables, dropping what this load wrote to them so far: rows
  /// written afterwards stay (a source's TRUNCATE in a change stream).
  virtual Status Truncate(const TableSpec& table, const std::vector<std::string>& child_tables) = 0;
  /// Finishes every table (swap-ins, merges), records `tables` in `_nilus_loads` and `state` in
  /// `_nilus_state`, and commits. Once the final COMMIT is sent, a stop request no longer
  /// interrupts it.
  virtual Status Commit(const std::vector<LoadRecord>& tables, const nlohmann::json& state) = 0;
};

/// A destination: holds loaded tables and, beside them, the state of the pipelines that wrote
/// them. Opened for one run; its statements stop when the run's stop token says so.
class Destination {
 public:
  virtual ~Destination() = default;
  /// Opens the transaction of a load and takes the pipeline's lock, waiting (and saying so)
  /// while another load of the same pipeline holds it, for at most `spec.lock_timeout`.
  virtual Result<std::unique_ptr<Load>> Begin(const LoadSpec& spec) = 0;
  /// Removes every state row of `pipeline`, so its next run starts from the beginning.
  virtual Status ResetState(const std::string& pipeline) = 0;
};

}  // namespace nilus
