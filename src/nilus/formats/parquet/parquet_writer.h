#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"
#include "nilus/formats/output_file.h"

typedef struct ZSTD_CCtx_s ZSTD_CCtx;

namespace nilus::parquet {

enum class Codec { kNone, kZstd, kSnappy };

struct WriterOptions {
  Codec codec = Codec::kZstd;
  int zstd_level = 3;
  /// A data page is cut when its values reach this many bytes (before compression).
  int64_t page_bytes = 1 << 20;
  /// A row group is cut when its columns' values reach this many bytes (before compression):
  /// the writer holds one row group, compressed, in memory.
  int64_t row_group_bytes = 64 << 20;
  /// A column's dictionary is given up (later pages plain) beyond this many bytes.
  int64_t dictionary_bytes = 1 << 20;
  /// Each column's field id (Iceberg's), in schema order; empty for none.
  std::vector<int32_t> field_ids;
  /// Key-value metadata of the file.
  std::vector<std::pair<std::string, std::string>> metadata;
  /// A zstd context to compress with, shared by the writers of one thread (a load writing many
  /// partitions' files at once); nullptr: the writer has its own.
  ZSTD_CCtx* zstd = nullptr;
};

/// What the file holds of one column, for a table format's manifest: counts and the bounds of
/// its values (Parquet's plain encoding, without a length prefix; absent when every value is
/// NULL or NaN).
struct ColumnSummary {
  int64_t values = 0;  ///< NULLs included
  int64_t nulls = 0;
  int64_t nans = 0;
  int64_t compressed_bytes = 0;
  std::optional<std::string> min, max;
};

struct FileSummary {
  int64_t rows = 0;
  int64_t bytes = 0;  ///< the file's size
  std::vector<ColumnSummary> columns;
  std::vector<int64_t> row_group_offsets;
};

/// The bytes of the fixed-length form of a decimal of `precision` digits (Parquet's and
/// Iceberg's).
int32_t DecimalBytes(int precision);

/// The Parquet type of a column of a record batch: its physical type, its logical type, and
/// how its values are held (see docs/connectors/lakehouse.md for the mapping).
enum class Physical : uint8_t { kBoolean = 0, kInt32 = 1, kInt64 = 2, kDouble = 5, kByteArray = 6, kFixed = 7 };

/// Writes record batches of one schema into a Parquet file: one flat column per field (OPTIONAL
/// unless the field is not nullable), dictionary-encoded until a column's dictionary grows too
/// large or does not pay, plain otherwise; v1 data pages compressed with zstd (or not at all);
/// statistics per column chunk; row groups cut by size. Memory: one row group's compressed pages.
class ParquetWriter {
 public:
  ~ParquetWriter();
  /// Creates `path` (truncating it) for rows of `schema`.
  static Result<std::unique_ptr<ParquetWriter>> Open(const std::string& path, const Schema& schema,
                                                     WriterOptions options = {});

  Status Write(const RecordBatch& batch);
  /// The file's size if it were closed now (an estimate of what is not yet compressed).
  int64_t EstimatedSize() const;
  /// The memory the row group being written holds (compressed pages, the page being filled,
  /// the dictionaries, and the capacity of their buffers); FlushRowGroup gives it back.
  int64_t BufferedBytes() const;
  /// Writes the rows held in memory to the file as a row group (none: nothing).
  Status FlushRowGroup();
  /// Writes the last row group and the footer, and closes the file.
  Result<FileSummary> Close();

 private:
  class ColumnWriter;
  /// A batch of this many rows or more is encoded on two threads (see AppendOnTwoLanes); the
  /// small slices of a partitioned load's files are not worth a thread.
  static constexpr int64_t kTwoLaneRows = 8192;
  ParquetWriter(std::unique_ptr<OutputFile> file, Schema schema, WriterOptions options);

  std::unique_ptr<OutputFile> file_;
  /// Encodes and compresses the columns of `batch` on two threads, the second compressing with
  /// `lane_zstd_` (made at the first such batch).
  Status AppendOnTwoLanes(const RecordBatch& batch);

  ZSTD_CCtx* zstd_ = nullptr;
  bool owns_zstd_ = false;
  ZSTD_CCtx* lane_zstd_ = nullptr;
  Schema schema_;
  WriterOptions options_;
  std::vector<std::unique_ptr<ColumnWriter>> columns_;
  int64_t rows_ = 0, group_rows_ = 0;
  std::string footer_groups_;  // the row groups' thrift, for the footer
  int groups_ = 0;
  std::vector<int64_t> group_offsets_;
  std::vector<ColumnSummary> summaries_;
};

}  // namespace nilus::parquet
