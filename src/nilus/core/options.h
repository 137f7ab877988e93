#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "nilus/core/status.h"
#include "nilus/core/types.h"
#include "nilus/core/uri.h"

namespace nilus {

/// An option as written, before validation: a scalar, a list or a map, and where it came from
/// ("pipeline.yaml:12:7" or "flag --page-size") so errors can point at it.
struct RawOption {
  using Map = std::vector<std::pair<std::string, std::string>>;
  using MapList = std::vector<Map>;
  using Value = std::variant<std::string, std::vector<std::string>, Map, MapList>;
  std::string name;
  Value value;
  std::string where;
};

/// One field of `partition-by`: how a lakehouse table is partitioned by a column.
struct PartitionField {
  std::string column;
  std::string transform = "identity";  ///< identity, year, month, day, hour, bucket, truncate
  std::string name;                    ///< the partition field's name (default: column, or column_transform)
  int index = 0;                       ///< its place among the fields
  int64_t bucket_count = 0;            ///< for bucket
  int64_t width = 0;                   ///< for truncate
};

enum class WriteDisposition { kAppend, kReplace, kMerge };
std::string_view WriteDispositionName(WriteDisposition d);

/// The source options of DESIGN §1.2, validated. Empty strings and -1 mean "not given".
struct SourceOptions {
  std::string table;
  std::vector<std::string> primary_key;
  std::string incremental_key;
  std::string interval_start;
  std::string interval_end;
  std::vector<std::pair<std::string, LogicalType>> type_hints;
  int64_t page_size = 50000;
  /// Parallel readers of one table; 0 (not given): DefaultExtractParallelism().
  int extract_parallelism = 0;
  std::string sql_reflection_level = "full";
  int64_t sql_limit = -1;
  std::vector<std::string> sql_exclude_columns;
  int64_t yield_limit = -1;
  std::vector<std::pair<std::string, std::string>> mask;
  int max_table_nesting = 0;
  /// Strings (JSON strings, CSV fields) that are ISO-8601 dates or timestamps make date and
  /// timestamp columns; when false they stay text.
  bool date_detection = true;
  std::vector<std::string> columns;
  /// CDC options (Debezium names) as given, validated; read by change sources.
  std::map<std::string, std::string> cdc;
  /// The options given explicitly, and where, so that one the connector does not honour is
  /// refused.
  std::vector<std::pair<std::string, std::string>> given;

  /// The `type-hints` entry for the column a source calls `column` (names compared in their
  /// normal form, so either spelling works), or nullptr.
  const LogicalType* HintFor(std::string_view column) const;
  /// Whether `mask` has a rule for the column a source calls `column` (normal forms compared).
  /// Messages leave out the values of masked columns.
  bool Masks(std::string_view column) const;
  /// Whether a source column called `column` is read: named by `columns` (when given) and not
  /// by `sql-exclude-columns`. Names compare as written or in their normal form.
  bool Selects(std::string_view column) const;
  /// Fails naming an entry of `columns` or `sql-exclude-columns` that is none of `available`
  /// (the columns `what` has): a misspelt exclusion must not let the column through.
  Status CheckSelection(const std::vector<std::string>& available, std::string_view what) const;
  /// Whether the run stops part-way (`sql-limit`, `yield-limit`) with an `incremental-key`: the
  /// source must then yield rows in key order, so that the saved cursor is exact.
  bool ReadsInKeyOrder() const { return !incremental_key.empty() && (sql_limit > 0 || yield_limit > 0); }
  /// Whether the pipeline captures changes (DESIGN §2.3): its source gives change-data-capture
  /// options (Debezium's names: `engine`, `slot.name`, `table.include.list` …).
  bool IsChangeCapture() const { return !cdc.empty(); }
};

/// The sink options of DESIGN §1.2, validated.
struct SinkOptions {
  std::string dest_table;
  WriteDisposition strategy = WriteDisposition::kAppend;
  std::vector<std::string> primary_key;
  std::vector<PartitionField> partition_by;
  std::vector<std::string> cluster_by;
  bool full_refresh = false;
  int64_t loader_file_size = -1;
  /// Rows handed to a Python destination at once (-1: not given).
  int64_t batch_size = -1;
  /// When the lakehouse compacts a merged table: at this many delete files, or when its deletes
  /// reach this percentage of its rows (0: never by that measure).
  int64_t compact_delete_files = 64;
  int64_t compact_delete_percent = 20;
  std::string staging_bucket;
  std::string aws_region;
  /// The options given explicitly, and where.
  std::vector<std::pair<std::string, std::string>> given;
};

/// Where the Python code of custom connectors comes from: the stackSpec's `repo:` block.
struct CodeRepo {
  std::string url;       ///< a git URL, a file:// URL or a local folder
  std::string ref;       ///< syncFlags' --ref (branch, tag or commit); "" for the default branch
  std::string base_dir;  ///< the folder of the connector code inside the repository
  std::string where;     ///< where the block was written, for errors
};

/// One pipeline, resolved and validated: a source table, a destination table and how to move it.
struct Pipeline {
  std::string name;  ///< keys the state: the workflow and node name, the file name, or the dest table
  Uri source;
  Uri destination;
  /// The destination address as written (placeholders kept), remembered by the local state store.
  std::string destination_as_written;
  SourceOptions source_options;
  SinkOptions sink_options;
  /// The code of custom:// connectors, when the manifest gives a repo block.
  std::optional<CodeRepo> repo;
};

/// Validates the options of a source; unknown names are warned about with the closest known one.
Result<SourceOptions> ParseSourceOptions(const std::vector<RawOption>& raw);
/// Validates the options of a sink; `dest-table` and `incremental-strategy` are required.
/// `source_primary_key` is the source's `primary-key`, which `merge` may use instead; with
/// `key_discoverable`, a `merge` may have neither (the source's catalog gives the key). For a
/// change-data-capture pipeline (`change_capture`), `dest-table` names a schema: each captured
/// table lands in a table of its own there. For a source that names its tables
/// (`names_tables`: a Python source's resources), it may name a schema or a table.
Result<SinkOptions> ParseSinkOptions(const std::vector<RawOption>& raw, const std::string& where,
                                     const std::vector<std::string>& source_primary_key, bool key_discoverable,
                                     bool change_capture = false, bool names_tables = false);

/// The `extract-parallelism` of a source that gives none: half the machine's cores, at least 1 and
/// at most 5. Each part keeps a reader thread and a server backend busy beside the load; more
/// parts than that on a small machine are slower than one.
int DefaultExtractParallelism();

/// Whether nilus honours source (or sink) option `name` whatever the connector; the others
/// only where a connector declares them (SourceTraits, DestinationTraits).
bool HonouredByEverySource(std::string_view name);
bool HonouredByEverySink(std::string_view name);

/// Splits "schema.table"; an error names `where` when there is no schema part.
Result<std::pair<std::string, std::string>> SplitDestTable(const std::string& dest_table, const std::string& where);

}  // namespace nilus
