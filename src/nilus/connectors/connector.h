#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nilus/core/options.h"
#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"
#include "nilus/core/uri.h"

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
  /// The source's own state to commit with the data once every batch is loaded (e.g. the files
  /// of a glob that were read). Called after `Next()` returned nullptr.
  virtual nlohmann::json state() const { return nlohmann::json::object(); }
};

/// Where the last committed load of a table left off.
struct ResumePoint {
  /// What this source's reader returned from `state()` ({} on the first run, a full refresh or
  /// a replace).
  nlohmann::json state = nlohmann::json::object();
  /// The largest `incremental-key` committed so far, as text ("" when none or in a backfill).
  /// A source may skip rows whose key is not above it; the runner filters them anyway.
  std::string cursor;
};

/// A batch source: reads tables (DESIGN §2, Extract).
class Source {
 public:
  virtual ~Source() = default;
  /// Starts reading `options.table` from where `resume` says.
  virtual Result<std::unique_ptr<BatchReader>> Read(const SourceOptions& options, const ResumePoint& resume) = 0;
  /// The table's primary key as the source declares it; empty when it has none or the source
  /// cannot tell. Sources registered with `discovers_primary_key` answer it.
  virtual Result<std::vector<std::string>> PrimaryKey(const SourceOptions&) { return std::vector<std::string>{}; }
  /// The names of the columns `options.table` has, when the source can tell without reading its
  /// data (a CSV header, a catalog); nullopt otherwise (JSON documents). For `nilus validate`.
  virtual Result<std::optional<std::vector<std::string>>> ColumnNames(const SourceOptions&) {
    return std::optional<std::vector<std::string>>();
  }
};

/// What one load writes: a destination table, how, and under which load id.
struct LoadRequest {
  std::string pipeline;
  std::string dest_schema;
  std::string dest_table;
  WriteDisposition strategy = WriteDisposition::kAppend;
  std::vector<std::string> primary_key;
  std::string load_id;
};

/// The request's primary-key columns, quoted for SQL; fails naming a key column that `schema`
/// (the data's) does not have.
Result<std::vector<std::string>> QuotedPrimaryKey(const LoadRequest& request, const Schema& schema);

/// A batch of one destination table: the load's table or one of its child tables (nested arrays
/// unnested by Normalize, named `<table>__<field>`, in the same destination schema).
struct TableBatch {
  std::string table;  ///< without the destination schema
  std::shared_ptr<const RecordBatch> batch;
};

/// The `_nilus_loads` row committed with the data, and what the commit needs to know.
struct LoadRecord {
  std::string load_id;
  std::string pipeline;
  std::string table;  ///< schema.table
  std::string strategy;
  int64_t rows = 0;
  int64_t bytes = 0;
  std::string started_at;  ///< ISO-8601 UTC
  /// Every child table of the load's table, written by this load or an earlier one: a replace
  /// empties those it did not write, a merge replaces the children of the rows it replaces.
  std::vector<std::string> child_tables;
};

/// One destination transaction over a table and its child tables: the batches of a load, then
/// data, load record and state committed together (DESIGN §2.2). Destroying it without `Commit`
/// rolls everything back.
class TableLoad {
 public:
  virtual ~TableLoad() = default;
  /// Writes a batch of `table` (the request's table or a child table); the table and columns it
  /// does not have yet are added. Every row gets `_nilus_load_id`. Child tables take the load's
  /// strategy: appended, replaced, or, with merge, their rows replace those of the same root row
  /// (`_nilus_root_id`).
  virtual Status Write(const std::string& table, const RecordBatch& batch) = 0;
  /// Commits the data, `record` into `_nilus_loads` and `state` into `_nilus_state` atomically.
  virtual Status Commit(const LoadRecord& record, const nlohmann::json& state) = 0;
};

/// A destination: holds loaded tables and, beside them, the state of the pipelines that wrote them.
class Destination {
 public:
  virtual ~Destination() = default;
  /// The state committed with the last load of `table` by `pipeline`, or {} when there is none.
  virtual Result<nlohmann::json> ReadState(const std::string& pipeline, const std::string& table) = 0;
  /// Removes every state row of `pipeline`, so its next run starts from the beginning.
  virtual Status ResetState(const std::string& pipeline) = 0;
  /// The columns table `schema.table` has now (without `_nilus_load_id`), with their logical
  /// types; empty when there is no such table. Normalize adopts them for a table its stored schema
  /// does not know (made by hand, by another pipeline, or before a state reset), so that values
  /// of another type go to variant columns there too.
  virtual Result<std::vector<Field>> TableColumns(const std::string& schema, const std::string& table) = 0;
  virtual Result<std::unique_ptr<TableLoad>> Begin(const LoadRequest& request) = 0;
};

}  // namespace nilus
