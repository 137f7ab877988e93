#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"
#include "nilus/formats/parquet/parquet_writer.h"

namespace nilus::iceberg {

/// The Iceberg type that holds a logical type ("long", "decimal(12,2)", …): the one the Parquet
/// writer's physical and logical type stand for (a decimal without a precision is a string).
std::string TypeName(const LogicalType& type);

/// A data file a load wrote, as a manifest lists it.
struct DataFile {
  std::string path;  ///< its location
  parquet::FileSummary summary;
};

/// One table's metadata (format version 2): schemas with field ids, snapshots, and the log of
/// earlier metadata files. Written as a new JSON file at every commit.
class TableMetadata {
 public:
  /// A new, empty table at `location`.
  static TableMetadata Create(const std::string& location);
  static Result<TableMetadata> Read(const std::string& path);

  const std::string& location() const { return location_; }
  /// The current schema's columns (their logical types, as far as Iceberg's types say).
  std::vector<Field> Fields() const;
  /// The field ids of `schema`'s columns, adding those the current schema lacks as a new
  /// schema; a column whose type differs from the table's is an error.
  Result<std::vector<int32_t>> ColumnIds(const Schema& schema);
  /// The current schema as JSON (what manifests carry).
  const nlohmann::json& CurrentSchema() const;
  int64_t current_snapshot_id() const;
  /// The manifest list of the current snapshot; empty when there is none.
  std::string CurrentManifestList() const;
  int64_t NextSequenceNumber() const { return json_.value("last-sequence-number", int64_t{0}) + 1; }
  /// Adds the snapshot `id` (its manifest list, operation and summary) and makes it current;
  /// `previous_file` is the metadata file this one replaces ("" for none).
  void AddSnapshot(int64_t id, const std::string& manifest_list, const std::string& operation,
                   const nlohmann::json& summary, const std::string& previous_file);
  std::string Dump() const { return json_.dump(2); }

 private:
  nlohmann::json json_;
  std::string location_;
};

/// Writes the manifest at `path` listing `files` as added by snapshot `snapshot_id` with
/// `sequence_number`; returns its size in bytes.
Result<int64_t> WriteManifest(const std::string& path, const TableMetadata& table, const Schema& columns,
                              const std::vector<int32_t>& ids, int64_t snapshot_id, int64_t sequence_number,
                              const std::vector<DataFile>& files);

/// A manifest as a manifest list lists it.
struct ManifestEntry {
  std::string path;
  int64_t length = 0;
  int64_t sequence_number = 0, min_sequence_number = 0, added_snapshot_id = 0;
  int32_t added_files = 0, existing_files = 0, deleted_files = 0;
  int64_t added_rows = 0, existing_rows = 0, deleted_rows = 0;
};

/// The data manifests of the manifest list at `path` (one another engine may have written).
Result<std::vector<ManifestEntry>> ReadManifestList(const std::string& path);
Status WriteManifestList(const std::string& path, int64_t snapshot_id, int64_t parent_id, int64_t sequence_number,
                         const std::vector<ManifestEntry>& manifests);

}  // namespace nilus::iceberg
