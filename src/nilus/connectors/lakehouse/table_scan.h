// Reading an Iceberg table's snapshot along the specification's read path (manifest list ->
// manifests -> data files), with its position and equality deletes applied and columns matched
// by field id: what the lakehouse source reads, and what compaction rewrites.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "nilus/connectors/lakehouse/iceberg.h"
#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"
#include "nilus/formats/parquet/parquet_reader.h"
#include "nilus/storage/storage.h"

namespace nilus::iceberg {

/// A file of a snapshot, as its manifest lists it.
struct TableFile {
  std::string path;
  Content content = Content::kData;
  int64_t sequence_number = 0;  ///< the data sequence number: which deletes apply to it
  int64_t snapshot_id = 0;      ///< the snapshot that added it
  int64_t rows = 0, bytes = 0;
  int32_t spec_id = 0;
  nlohmann::json partition_value = nlohmann::json::object();  ///< its partition tuple, field by field
  /// Its partition (spec id and tuple) as text; "" for a file of an unpartitioned spec.
  std::string partition;
  std::vector<int32_t> equality_ids;
  int32_t sort_order_id = 0;
  std::string manifest;  ///< the manifest that lists it
};

/// The live files of the snapshot whose manifest list is `list` ("": a table without one).
Result<std::vector<TableFile>> ListFiles(Storage& storage, const std::string& list);

/// A reader of the Parquet file at `path`, by byte ranges.
Result<std::unique_ptr<parquet::ParquetReader>> OpenParquet(Storage& storage, const std::string& path);

/// The rows a snapshot's delete files take out of its data files. Memory: the deletes (every
/// key of the equality deletes, every position of the position deletes).
class Deletes {
 public:
  bool empty() const { return positions_.empty() && equality_.empty(); }

  /// Reads the delete file `file`.
  Status Add(Storage& storage, const TableFile& file, std::stop_token stop);
  /// Takes out the rows at `positions` (ascending) of the data file `file`.
  void Add(const TableFile& file, std::vector<int64_t> positions);
  /// Sorts what Add gathered; before Filter.
  void Finish();

  /// The ids of the columns equality deletes match on: a data file's batches must hold them.
  std::set<int32_t> EqualityIds() const;
  /// Whether position deletes name `file`.
  bool HasPositions(const TableFile& file) const { return positions_.count(file.path) > 0; }
  /// Whether any delete may take out a row of `file`.
  bool Touches(const TableFile& file) const { return !equality_.empty() || positions_.count(file.path) > 0; }
  /// Clears `keep[r]` for the rows of `batch` (rows `first` … of `file`) that a delete takes
  /// out. `column_of_id` gives the batch's column of a field id (-1: the file lacks it).
  void Filter(const TableFile& file, int64_t first, const RecordBatch& batch,
              const std::unordered_map<int32_t, int>& column_of_id, std::vector<bool>& keep) const;

 private:
  struct EqualityKeys {
    std::vector<int32_t> ids;
    /// The newest delete of each key: as AppendSortKey's bytes after its scope (partition),
    /// or, for a key of one integer column deleted everywhere (what nilus writes), the integer.
    std::unordered_map<std::string, int64_t> sequence_by_key;
    std::unordered_map<int64_t, int64_t> sequence_by_int;
  };

  std::unordered_map<std::string, std::vector<std::pair<int64_t, int64_t>>> positions_;  // (pos, sequence)
  std::vector<EqualityKeys> equality_;
};

/// A column of the table a scan returns.
struct OutputColumn {
  int32_t id;
  Field field;
};

/// Reads data files, one at a time, a batch at a time: the output columns (a column the file
/// lacks, added to the table later, is NULL) of the rows no delete takes out.
class FileScan {
 public:
  FileScan(Storage& storage, const Deletes& deletes, std::vector<OutputColumn> output, std::stop_token stop);

  const Schema& schema() const { return schema_; }
  /// Starts reading `file` (which must outlive the reading), passing over its first `skip` rows.
  Status Open(const TableFile& file, int64_t skip = 0);
  /// The next batch of at most `rows` rows read from the open file (fewer come out when deletes
  /// take rows out); null at its end.
  Result<std::shared_ptr<const RecordBatch>> Next(int64_t rows);
  /// The rows of the open file read (or passed over) so far.
  int64_t row() const { return row_; }
  /// The positions of the rows of the open file that deletes took out, so far.
  const std::vector<int64_t>& deleted() const { return deleted_; }

 private:
  std::shared_ptr<const RecordBatch> Project(const RecordBatch& batch, int64_t first);

  Storage& storage_;
  const Deletes& deletes_;
  std::vector<OutputColumn> output_;
  Schema schema_;
  std::stop_token stop_;
  const TableFile* file_ = nullptr;
  std::unique_ptr<parquet::ParquetReader> reader_;
  std::unordered_map<int32_t, int> column_of_id_;  // field id -> column of the reader's batches
  int64_t row_ = 0;
  std::vector<int64_t> deleted_;
};

}  // namespace nilus::iceberg
