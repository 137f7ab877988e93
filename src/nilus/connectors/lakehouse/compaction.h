// Compaction: a merge leaves the rows it replaced in the table's data files and adds delete
// files that every reader applies; equality deletes the most dearly (a reader holds every key
// and matches every older row). Compaction applies them once: it rewrites the data files that
// lose many rows, and turns the rest of the deletes into position deletes, so that no equality
// delete is left. A load does it in its own commit when the table's deletes reach the
// pipeline's limits (`compact-delete-files`, `compact-delete-percent`).
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "nilus/connectors/lakehouse/iceberg.h"
#include "nilus/connectors/lakehouse/table_scan.h"
#include "nilus/formats/parquet/parquet_writer.h"
#include "nilus/storage/storage.h"

namespace nilus::iceberg {

/// When a load compacts a table it merged into: once the table has `equality_files` equality
/// delete files, or the rows its delete files delete reach `delete_ratio` of its rows (0: never
/// by that measure).
struct CompactionPolicy {
  int64_t equality_files = 0;
  double delete_ratio = 0;

  bool Due(int64_t data_rows, int64_t equality_files, int64_t delete_rows) const;
};

/// How compaction writes its files: at the paths `path()` gives (named after the load, so that
/// a killed load's files are found), with these Parquet options (field ids aside), data files
/// cut at `file_bytes`. The data files smaller than `small_bytes` of a partition that has
/// several are merged into one.
struct CompactionOutput {
  std::function<std::string()> path;
  parquet::WriterOptions options;
  int64_t file_bytes = 0;
  int64_t small_bytes = 0;
};

/// A data file that loses at least this share of its rows is rewritten without them; one that
/// loses fewer keeps them, named by position deletes.
inline constexpr double kRewriteShare = 0.3;

/// What a compaction did.
struct Compaction {
  std::vector<DataFile> added;                      ///< the data files and position delete files it wrote
  std::set<std::string> removed;                    ///< the data files they replace, and every delete file
  int64_t rewritten_files = 0, rewritten_rows = 0;  ///< the data files replaced, their rows
  int64_t deleted_rows = 0;                         ///< of those, the rows the deletes took out
  int64_t delete_files = 0;                         ///< the delete files applied
  int64_t position_deletes = 0;                     ///< the rows named by the new position deletes
};

/// Compacts the snapshot whose live files are `files` (those of the current snapshot and the
/// equality deletes of the load about to commit, at its sequence number). Reads the key columns
/// of each data file a delete may reach to find the rows it loses; rewrites those that lose
/// kRewriteShare of their rows or more, and the small ones, those of one partition together (in
/// files of up to `file_bytes`), keeping each row's `_nilus_load_id`; the rows the others lose
/// get position deletes (one file per partition). Then every delete file of `files` goes.
/// A rewritten file keeps the newest data sequence number of the files it replaces, so that a
/// reader that read up to a sequence number does not read its rows again. Memory: the deletes,
/// one file's window of each column, one row group being written.
Result<Compaction> Compact(Storage& storage, const TableMetadata& table, const std::vector<TableFile>& files,
                           const CompactionOutput& output, std::stop_token stop);

}  // namespace nilus::iceberg
