#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "nilus/connectors/lakehouse/partition.h"
#include "nilus/core/options.h"
#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"
#include "nilus/formats/parquet/parquet_writer.h"

namespace nilus::iceberg {

/// The Iceberg type that holds a logical type ("long", "decimal(12,2)", …): the one the Parquet
/// writer's physical and logical type stand for (a decimal without a precision is a string).
std::string TypeName(const LogicalType& type);

/// How much history a table's metadata keeps (Iceberg's history.expire.min-snapshots-to-keep and
/// write.metadata.previous-versions-max, applied at every commit): a change data capture
/// pipeline commits every second or so, and each commit rewrites the metadata whole.
inline constexpr size_t kKeptSnapshots = 100;
inline constexpr size_t kKeptMetadataFiles = 100;

/// What a file of a table holds (the `content` of a manifest entry's data file).
enum class Content { kData = 0, kPositionDeletes = 1, kEqualityDeletes = 2 };

/// The reserved field ids of a position delete file's columns.
inline constexpr int32_t kDeleteFilePathId = 2147483546;
inline constexpr int32_t kDeletePosId = 2147483545;

/// A file a load wrote, as a manifest lists it.
struct DataFile {
  std::string path;  ///< its location
  parquet::FileSummary summary;
  Content content = Content::kData;
  std::vector<int32_t> ids;           ///< the field ids of its columns
  std::vector<LogicalType> types;     ///< and their types
  std::vector<int32_t> equality_ids;  ///< of an equality delete file: the columns it matches on
  int32_t spec_id = 0;                ///< the partition spec it was written for
  std::string partition;              ///< its partition tuple, Avro-encoded (PartitionTransform::Encode)
  int32_t sort_order_id = 0;          ///< the sort order of its rows (0: unsorted)
  /// Its data sequence number when it is not the snapshot's (a file compaction wrote keeps the
  /// newest of the files it replaces); -1: the snapshot's, inherited.
  int64_t sequence_number = -1;
};

/// What expiring snapshots leaves unreferenced (no kept snapshot refers to it). What a snapshot
/// takes out of the table goes when the snapshot before it expires: that one refers to it last.
struct Expired {
  /// The manifest lists of the expired snapshots, the manifests that the snapshots after them
  /// merged away (`nilus.replaced-manifests` in their summaries), the metadata files beyond the
  /// log.
  std::vector<std::string> files;
  /// The manifests of the files that the snapshots after them took out of the table (a replace:
  /// `nilus.removed-manifests`): they go with every file they list.
  std::vector<std::string> manifests_with_files;
  /// The manifests that list the files a snapshot after them took out by compaction (entries
  /// with status DELETED and its snapshot id: `nilus.compacted-manifests`), with that id: those
  /// files go.
  std::vector<std::pair<std::string, int64_t>> files_removed_by;
};

/// One table's metadata (format version 2): schemas with field ids, snapshots, and the log of
/// earlier metadata files. Written as a new JSON file at every commit.
class TableMetadata {
 public:
  /// A new, empty table at `location`.
  static TableMetadata Create(const std::string& location);
  /// The metadata file `text`, read from `path`.
  static Result<TableMetadata> Parse(std::string_view text, const std::string& path);

  const std::string& location() const { return location_; }
  /// The current schema's columns (their logical types, as far as Iceberg's types say).
  std::vector<Field> Fields() const;
  /// The field ids of `schema`'s columns, adding those the current schema lacks as a new
  /// schema; a column whose type differs from the table's is an error.
  Result<std::vector<int32_t>> ColumnIds(const Schema& schema);
  /// The current schema as JSON (what manifests carry).
  const nlohmann::json& CurrentSchema() const;
  /// Makes the spec of `fields` (`partition-by`; none: unpartitioned) the default, adding it
  /// when the table has no spec like it (Iceberg's partition evolution: earlier files keep
  /// theirs). Its columns must be the current schema's. Returns its id.
  Result<int32_t> Partition(const std::vector<PartitionField>& fields);
  /// The id of a spec without fields, added when the table has none: equality deletes of it
  /// apply to the rows of every partition.
  int32_t UnpartitionedSpec();
  /// Makes the sort order of `columns` (`cluster-by`: ascending, nulls first; none: unsorted)
  /// the default, adding it when the table has none like it. Returns its id.
  Result<int32_t> SortBy(const std::vector<std::string>& columns);
  /// The fields of the spec `id`, bound to the current schema's columns.
  Result<std::vector<PartitionTransform>> Spec(int32_t id) const;
  int64_t current_snapshot_id() const;
  /// The current snapshot's sequence number (0 when there is none).
  int64_t current_sequence_number() const;
  /// What the snapshot `id` did (its summary's operation: append, overwrite, replace, delete);
  /// "" when the metadata no longer lists it.
  std::string Operation(int64_t id) const;
  /// The summary of the snapshot `id` (empty when the metadata no longer lists it).
  nlohmann::json Summary(int64_t id) const;
  /// The manifest list of the current snapshot; empty when there is none.
  std::string CurrentManifestList() const;
  int64_t NextSequenceNumber() const { return json_.value("last-sequence-number", int64_t{0}) + 1; }
  /// Adds the snapshot `id` (its manifest list, operation and summary) and makes it current;
  /// `previous_file` is the metadata file this one replaces ("" for none). The history stays
  /// bounded: the newest kKeptSnapshots snapshots and kKeptMetadataFiles earlier metadata files
  /// are kept. Returns what fell out of it, to remove once this metadata is committed.
  Expired AddSnapshot(int64_t id, const std::string& manifest_list, const std::string& operation,
                      const nlohmann::json& summary, const std::string& previous_file);
  std::string Dump() const { return json_.dump(2); }

 private:
  /// The current schema's column `name` (as written or in its normal form), for `option`.
  Result<const nlohmann::json*> ColumnNamed(const std::string& name, std::string_view option) const;

  nlohmann::json json_;
  std::string location_;
};

/// Writes the manifest at `path` listing `files` (all data, or all deletes, all of one partition
/// spec) as added by snapshot `snapshot_id` (their sequence number is the snapshot's,
/// inherited); returns its size in bytes.
Result<int64_t> WriteManifest(const std::string& path, const TableMetadata& table, int64_t snapshot_id,
                              const std::vector<DataFile>& files);

/// A manifest as a manifest list lists it.
struct ManifestEntry {
  std::string path;
  int64_t length = 0;
  int32_t content = 0;  ///< 0: data files, 1: delete files
  int32_t spec_id = 0;  ///< the partition spec of its files
  int64_t sequence_number = 0, min_sequence_number = 0, added_snapshot_id = 0;
  int32_t added_files = 0, existing_files = 0, deleted_files = 0;
  int64_t added_rows = 0, existing_rows = 0, deleted_rows = 0;
};

/// Writes the manifest at `path` with the live files of `manifests` (each a manifest list's
/// entry and the manifest's bytes; all of one content and partition spec, any writer's) as
/// existing files, their snapshot ids and sequence numbers kept; returns its entry for the
/// manifest list of snapshot `snapshot_id` (sequence number `sequence_number`). Iceberg's
/// manifest merging: a table committed every second keeps a short manifest list. The files
/// whose paths are in `removed` are listed as deleted by the snapshot instead (compaction).
Result<ManifestEntry> MergeManifests(const std::string& path, const TableMetadata& table, int64_t snapshot_id,
                                     int64_t sequence_number,
                                     const std::vector<std::pair<ManifestEntry, std::string>>& manifests,
                                     const std::set<std::string>& removed = {});

/// The manifests of the manifest list `bytes`, read from `path` (one another engine may
/// have written).
Result<std::vector<ManifestEntry>> ReadManifestList(std::string_view bytes, const std::string& path);
Status WriteManifestList(const std::string& path, int64_t snapshot_id, int64_t parent_id, int64_t sequence_number,
                         const std::vector<ManifestEntry>& manifests);

}  // namespace nilus::iceberg
