#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"

namespace nilus::parquet {

/// Reads `length` bytes of a file from `offset` (a local file, or a ranged GET of an object).
using ReadAt = std::function<Result<std::string>(int64_t offset, int64_t length)>;

/// A top-level column of a Parquet file, as a column of record batches.
struct FileColumn {
  std::string name;
  LogicalType type;
  bool nullable = true;
  int32_t field_id = -1;  ///< its field id (Iceberg's); -1 when the file gives none
  /// Why it cannot be read ("" when it can): nested columns (lists, maps, structs) are not.
  std::string unsupported;
};

/// Reads Parquet files of any writer into record batches, row group by row group, a few pages of
/// each column at a time: flat columns of every physical and logical type (see
/// docs/connectors/files.md), v1 and v2 data pages, the plain, dictionary, RLE, delta and
/// byte-stream-split encodings, uncompressed, snappy, gzip, zstd and lz4 pages. Memory: a window
/// of each selected column's chunk and one decoded page per column.
class ParquetReader {
 public:
  ~ParquetReader();
  /// Reads the footer of the file `name` of `size` bytes.
  static Result<std::unique_ptr<ParquetReader>> Open(std::string name, int64_t size, ReadAt read);

  const std::vector<FileColumn>& columns() const { return columns_; }
  int64_t num_rows() const { return num_rows_; }

  /// Reads only these columns (indexes into columns(), in the order the batches hold them);
  /// every readable column until called. Before the first Next.
  Status Select(std::vector<int> columns);
  /// Passes over the next `rows` rows (where an earlier run stopped).
  Status Skip(int64_t rows);
  /// The next rows, at most `max_rows` of them and about `max_bytes`; nullptr after the last.
  Result<std::shared_ptr<const RecordBatch>> Next(int64_t max_rows, int64_t max_bytes);

 private:
  class ColumnChunk;
  struct Meta;
  ParquetReader(std::string name, ReadAt read, std::unique_ptr<Meta> meta);
  /// Opens the selected columns' chunks of the next row group; false when none is left.
  Result<bool> NextRowGroup();
  Status ReadRows(int64_t rows, BatchBuilder& out);

  std::string name_;
  ReadAt read_;
  std::unique_ptr<Meta> meta_;
  std::vector<FileColumn> columns_;
  int64_t num_rows_ = 0;
  std::vector<int> selected_;
  Schema schema_;
  int next_group_ = 0;
  int64_t group_left_ = 0;  // rows of the current row group not yet read
  std::vector<std::unique_ptr<ColumnChunk>> chunks_;
};

}  // namespace nilus::parquet
