#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <zstd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <tuple>
#include <unordered_map>

#include "nilus/connectors/lakehouse/compaction.h"
#include "nilus/connectors/lakehouse/iceberg.h"
#include "nilus/connectors/lakehouse/lakehouse_connector.h"
#include "nilus/connectors/lakehouse/sort_key.h"
#include "nilus/connectors/lakehouse/warehouse.h"
#include "nilus/core/failpoint.h"
#include "nilus/core/strings.h"
#include "nilus/formats/avro/avro_reader.h"
#include "nilus/formats/parquet/parquet_writer.h"
#include "nilus/storage/storage.h"

namespace nilus {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// A data file is cut when it reaches this size.
constexpr int64_t kFileBytes = 128 << 20;

/// A load of a partitioned table writes one file per partition it meets, and holds at most
/// kPartitionBufferBytes of their row groups in memory (the largest is written out as a row
/// group first): memory stays bounded however many partitions the rows fall in, and each
/// partition's rows make one file per load.
constexpr int64_t kPartitionBufferBytes = 64 << 20;
constexpr int64_t kPartitionPageBytes = 256 << 10;

/// A table with `cluster-by` sorts the rows of each data file: they are held in memory until
/// the file is written whole, at most this many bytes of them for all its files (a file is cut
/// when it would hold more).
constexpr int64_t kSortBufferBytes = 128 << 20;
/// A sorted file is written this many rows at a time.
constexpr int64_t kSortedChunkRows = 65536;

/// Compaction (see LakehouseLoad::Compact) merges the data files smaller than this of a
/// partition, and the summary key that counts a table's equality delete files.
constexpr int64_t kSmallFileBytes = 16 << 20;
constexpr const char* kEqualityFilesKey = "nilus.equality-delete-files";

/// Manifest merging (see MergeSmallManifests): how many small manifests of one kind start a
/// merge, and what is small.
constexpr size_t kMergeManifestsAt = 100;
constexpr int64_t kManifestTargetBytes = 8 << 20;

/// How many partitions' files a load keeps open at once (the least recently written is closed
/// to make room): half the descriptors the process may open (the rest are for its connections
/// and other files), at most 4,096.
size_t OpenPartitionFiles() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return 256;
  return static_cast<size_t>(std::clamp<rlim_t>(files.rlim_cur / 2, 64, 4096));
}

/// The files a load writes in a table's folders start with its id; while it runs, a marker named
/// after it stands in the table's `pending/` folder, so that what a killed load left is found
/// without listing the table's files.
std::string PendingMarker(const std::string& location, const std::string& load_id) {
  return location + "/pending/" + load_id;
}

int64_t NewSnapshotId() {
  std::mt19937_64 rng(std::random_device{}());
  return static_cast<int64_t>(rng() >> 1);
}

struct RowAt;

/// A Parquet file being written.
struct FileInProgress {
  std::unique_ptr<parquet::ParquetWriter> writer;
  std::string path;
  Schema schema;
  std::vector<int32_t> ids;  ///< the Iceberg field ids of its columns
  int64_t rows = 0;
  int32_t index = -1;     ///< a data file's place in TableWrite::data_paths
  int32_t spec_id = 0;    ///< the partition spec it is written for
  std::string partition;  ///< and its partition tuple (Avro-encoded)
  uint64_t used = 0;      ///< when it was last written to (TableWrite::clock)
  /// A sorted table's file: its rows, held until it is written whole in sort order; their
  /// places in RowAt are their places among the held rows until then.
  std::vector<RecordBatch> held;
  int64_t held_bytes = 0;
  std::vector<RowAt*> held_keys;  ///< the TableWrite::live entries of merge keys written to it
};

/// A row this load wrote: its data file (an index into TableWrite::data_paths) and position.
struct RowAt {
  int32_t file = -1;  ///< -1: none (the key's last change in this load deletes it)
  int64_t pos = -1;
};

/// One Iceberg table a load writes: its metadata as the load found it, the files written so far
/// (data files and, for a merge, delete files), and those being written.
struct TableWrite {
  std::string ns, name;
  std::string previous = {};  ///< the metadata file the catalog points at ("" for a new table)
  iceberg::TableMetadata metadata = {};
  bool replace = false;  ///< the snapshot holds this load's files only
  /// The partition spec this load writes data files for (chosen at its first batch), and its
  /// fields (none: unpartitioned).
  std::optional<int32_t> spec_id = {};
  std::vector<iceberg::PartitionTransform> partitioning = {};
  /// The columns (cluster-by) and sort order its data files are sorted by (none, 0: unsorted).
  std::vector<std::string> cluster_by = {};
  int32_t sort_order_id = 0;
  std::map<std::string, FileInProgress> data = {};  ///< the data files being written, by partition tuple
  uint64_t clock = 0;                               ///< counts writes, for FileInProgress::used
  std::vector<std::string> data_paths = {};         ///< this load's data files, in the order they were opened
  std::vector<std::string> data_partitions = {};    ///< and their partition tuples
  std::vector<iceberg::DataFile> files = {};        ///< closed files: data, equality deletes, position deletes
  std::vector<std::string> compacted_paths = {};    ///< the files compaction wrote (or began)
  std::string new_metadata = {};                    ///< written at commit
  iceberg::Expired dropped = {};                    ///< what the new metadata no longer refers to

  // A merge: the load's rows replace the table's rows of the same key (see Upserts).
  FileInProgress equality_deletes = {};              ///< the keys whose older rows go
  std::unordered_map<std::string, RowAt> live = {};  ///< each key of the load: the row that holds it now
  std::vector<RowAt> superseded = {};                ///< rows of this load that a later row of their key replaced
  /// Of a sorted table: for each data file whose rows are held, the superseded rows in it (their
  /// places in `superseded`), whose positions are known once it is written.
  std::unordered_map<int32_t, std::vector<size_t>> held_superseded = {};

  /// Whether snapshots before this load may hold rows (that a merge must delete by key).
  bool older_rows() const { return !replace && !metadata.CurrentManifestList().empty(); }
};

/// Appends the bytes of row `r`'s value in `column` to a merge key: NULL and each value distinct.
void AppendKey(const Column& column, int64_t r, std::string& key) {
  if (column.IsNull(r)) {
    key.push_back('\0');
    return;
  }
  key.push_back('\1');
  switch (column.type().layout()) {
    case PhysicalLayout::kBool:
      key.push_back(column.Bool(r) ? '\1' : '\0');
      return;
    case PhysicalLayout::kInt64: {
      const int64_t v = column.Int64(r);
      key.append(reinterpret_cast<const char*>(&v), sizeof v);
      return;
    }
    case PhysicalLayout::kDouble: {
      const double v = column.Double(r);
      key.append(reinterpret_cast<const char*>(&v), sizeof v);
      return;
    }
    case PhysicalLayout::kVarLen: {
      const std::string_view v = column.View(r);
      const auto n = static_cast<uint32_t>(v.size());
      key.append(reinterpret_cast<const char*>(&n), sizeof n);
      key.append(v);
      return;
    }
  }
}

/// `batch` with only the columns at `indexes`, in that order.
RecordBatch SelectColumns(const RecordBatch& batch, const std::vector<int>& indexes) {
  Schema schema;
  std::vector<RecordBatch::ColumnPtr> columns;
  for (int i : indexes) {
    schema.AddField(batch.schema().field(static_cast<size_t>(i)));
    columns.push_back(batch.column_ptr(static_cast<size_t>(i)));
  }
  return RecordBatch(std::move(schema), std::move(columns), batch.num_rows());
}

class LakehouseLoad final : public Load {
 public:
  LakehouseLoad(Warehouse warehouse, LoadSpec spec, std::stop_token stop)
      : warehouse_(std::move(warehouse)), spec_(std::move(spec)), stop_(std::move(stop)) {}

  ~LakehouseLoad() override {
    // Not committed: what this load wrote is referenced by nothing; take it away now (a killed
    // run's files are taken away by the next load of the table).
    for (auto& [key, t] : tables_) {
      if (!committed_) {
        (void)Discard(t);
        if (!t.new_metadata.empty()) (void)storage_->Remove(t.new_metadata);
      }
      (void)storage_->Remove(PendingMarker(t.metadata.location(), spec_.load_id));
    }
  }

  /// Opens the warehouse's storage and the catalog load whose commit swaps this load's tables in.
  Status Begin(SqlDestination& catalog) {
    NILUS_ASSIGN_OR_RAISE(storage_, OpenStorage(warehouse_.root, spec_.aws_region));
    NILUS_ASSIGN_OR_RAISE(catalog_load_, catalog.Begin(spec_, [this](SqlDialect& db) { return SwapTables(db); }));
    db_ = &catalog.dialect();
    return Status::OK();
  }

  const json& prior_state() const override { return catalog_load_->prior_state(); }

  Result<std::vector<Field>> TableColumns(const std::string& schema, const std::string& table) override {
    NILUS_ASSIGN_OR_RAISE(TableWrite * t, Table(schema, table));
    std::vector<Field> out;
    for (auto& f : t->metadata.Fields()) {
      if (f.name != kLoadIdColumn) out.push_back(std::move(f));
    }
    return out;
  }

  Status Write(const TableSpec& spec, const RecordBatch& batch) override {
    NILUS_ASSIGN_OR_RAISE(TableWrite * t, Table(spec.schema, spec.name));
    if (spec.rebuild && !t->replace) {
      t->replace = true;
      NILUS_RETURN_NOT_OK(Discard(*t));
    }
    RecordBatch rows = batch;
    std::vector<std::string> keys;
    if (spec.keyed()) {
      NILUS_ASSIGN_OR_RAISE(rows, Upserts(*t, spec, batch, keys));
    } else if (batch.schema().FieldIndex(kOperationColumn) >= 0) {
      return Status::Internal("rows with an operation ({}) written to {}, which is not merged", kOperationColumn,
                              spec.qualified());
    }
    // Every row carries the load's id.
    Schema schema = rows.schema();
    schema.AddField({kLoadIdColumn, LogicalType::Text(), false});
    auto ids = std::make_shared<Column>(LogicalType::Text());
    ids->Reserve(rows.num_rows());
    for (int64_t r = 0; r < rows.num_rows(); ++r) ids->AppendBytes(spec_.load_id);
    std::vector<RecordBatch::ColumnPtr> columns;
    for (size_t c = 0; c < rows.num_columns(); ++c) columns.push_back(rows.column_ptr(c));
    columns.push_back(ids);
    return WriteData(*t, spec, RecordBatch(schema, std::move(columns), rows.num_rows()), keys)
        .WithContext("writing " + spec.qualified());
  }

  Status Truncate(const TableSpec& spec, const std::vector<std::string>& child_tables) override {
    std::vector<std::string> names = {spec.name};
    names.insert(names.end(), child_tables.begin(), child_tables.end());
    for (const auto& name : names) {
      NILUS_ASSIGN_OR_RAISE(TableWrite * t, Table(spec.schema, name));
      t->replace = true;
      NILUS_RETURN_NOT_OK(Discard(*t));
    }
    return Status::OK();
  }

  Status Commit(const std::vector<LoadRecord>& records, const json& state) override {
    for (auto& [key, t] : tables_) NILUS_RETURN_NOT_OK(Snapshot(t, state));
    if (stop_.stop_requested()) return Status::Cancelled("interrupted");
    Failpoint("lakehouse-before-swap");  // every file written, the catalog not yet swapped
    NILUS_RETURN_NOT_OK(catalog_load_->Commit(records, state));
    committed_ = true;
    Failpoint("lakehouse-after-swap");  // committed; markers, hints and old files still there
    for (auto& [key, t] : tables_) {
      WriteVersionHint(t);
      RemoveExpired(t);
    }
    return Status::OK();
  }

 private:
  /// The table `ns.name` as this load writes it; on first use, its metadata from the catalog
  /// (or a new table), and the files earlier loads that never committed left in its folder go.
  Result<TableWrite*> Table(const std::string& ns, const std::string& name) {
    const std::string key = ns + "." + name;
    if (auto it = tables_.find(key); it != tables_.end()) return &it->second;
    NILUS_ASSIGN_OR_RAISE(SqlRows rows, db_->Query("SELECT metadata_location FROM iceberg_tables WHERE catalog_name "
                                                   "= $1 AND table_namespace = $2 AND table_name = $3",
                                                   {kCatalogName, ns, name}));
    TableWrite t{.ns = ns, .name = name, .metadata = iceberg::TableMetadata::Create("")};
    if (!rows.empty() && rows[0][0]) {
      t.previous = *rows[0][0];
      NILUS_ASSIGN_OR_RAISE(std::string text, storage_->Read(t.previous));
      NILUS_ASSIGN_OR_RAISE(t.metadata, iceberg::TableMetadata::Parse(text, t.previous));
    } else {
      t.metadata = iceberg::TableMetadata::Create(warehouse_.root + "/" + ns + "/" + name);
    }
    NILUS_RETURN_NOT_OK(RemoveUncommitted(ns, t.metadata.location()));
    NILUS_RETURN_NOT_OK(storage_->Write(PendingMarker(t.metadata.location(), spec_.load_id), ""));
    return &tables_.emplace(key, std::move(t)).first->second;
  }

  /// Removes what loads that never committed left in a table's folders: the loads whose markers
  /// stand in `pending/` (only their own files are listed, by the load id they start with).
  Status RemoveUncommitted(const std::string& ns, const std::string& location) {
    NILUS_ASSIGN_OR_RAISE(std::vector<std::string> markers, storage_->List(location + "/pending/"));
    if (markers.empty()) return Status::OK();
    // The loads of a namespace's tables are recorded in its bookkeeping (one per schema where the
    // catalog database has schemas).
    NILUS_RETURN_NOT_OK(db_->EnsureBookkeeping(ns));
    const std::string loads = db_->Ref(db_->Bookkeeping(ns, "_nilus_loads"));
    for (const auto& marker : markers) {
      const std::string load_id = marker.substr(marker.rfind('/') + 1);
      NILUS_ASSIGN_OR_RAISE(SqlRows done,
                            db_->Query(fmt::format("SELECT 1 FROM {} WHERE load_id = $1 LIMIT 1", loads), {load_id}));
      if (done.empty()) {
        for (const char* folder : {"/data/", "/metadata/"}) {
          NILUS_ASSIGN_OR_RAISE(std::vector<std::string> left, storage_->List(location + folder + load_id + "-"));
          for (const auto& file : left) {
            spdlog::info("removing {}, left by load {} that did not commit", file, load_id);
            NILUS_RETURN_NOT_OK(storage_->Remove(file));
          }
        }
      }
      // Also a committed load's marker, left by a run killed just after its commit.
      NILUS_RETURN_NOT_OK(storage_->Remove(marker));
    }
    return Status::OK();
  }

  /// Forgets (and deletes) the files this load wrote to `t` so far, and what it knew of its keys.
  Status Discard(TableWrite& t) {
    for (FileInProgress* f : OpenFiles(t)) {
      if (f->writer) {
        f->writer.reset();  // the unfinished file goes with it
        NILUS_RETURN_NOT_OK(storage_->Remove(f->path));
      }
    }
    t.data.clear();
    for (const auto& f : t.files) NILUS_RETURN_NOT_OK(storage_->Remove(f.path));
    for (const auto& path : t.compacted_paths) NILUS_RETURN_NOT_OK(storage_->Remove(path));
    t.files.clear();
    t.compacted_paths.clear();
    t.data_paths.clear();
    t.data_partitions.clear();
    t.live.clear();
    t.superseded.clear();
    t.held_superseded.clear();
    return Status::OK();
  }

  /// The rows of a merge batch to write as data: the last row of each key, unless it deletes the
  /// key, without the merge's control columns; `keys` gets their keys. The table's older rows of
  /// every key the load brings are deleted by an equality delete (written here, once per key),
  /// and this load's own earlier row of a key by a position delete (at commit). Equality deletes
  /// apply to files of earlier snapshots only, position deletes to this load's files too, so the
  /// rows written here survive both.
  Result<RecordBatch> Upserts(TableWrite& t, const TableSpec& spec, const RecordBatch& batch,
                              std::vector<std::string>& keys) {
    if (spec.primary_key.empty()) {
      return Status::InvalidInput(
          "{}: the lakehouse merges by a primary key, and {} has none{}; give it one (primary-key), or load it "
          "with append or replace",
          spec.qualified(), spec.qualified(),
          spec.root.empty()
              ? ""
              : fmt::format(" (it is a child table of {}: max-table-nesting 0 keeps it in one)", spec.root));
    }
    NILUS_RETURN_NOT_OK(CheckMergeKeys(spec, batch));
    std::vector<int> key_columns, data_columns;
    for (const auto& k : spec.primary_key) key_columns.push_back(batch.schema().FieldIndex(k));
    const int op = batch.schema().FieldIndex(kOperationColumn), unchanged = batch.schema().FieldIndex(kUnchangedColumn);
    for (int c = 0; c < static_cast<int>(batch.num_columns()); ++c) {
      if (c != op && c != unchanged) data_columns.push_back(c);
    }
    if (unchanged >= 0 && batch.column(static_cast<size_t>(unchanged)).null_count() < batch.num_rows()) {
      return Status::FailedPrecondition(
          "{}: an update left large column values out (PostgreSQL's unchanged TOAST values), which the lakehouse "
          "would have to read back from the table; it does not yet: set REPLICA IDENTITY FULL on the source table "
          "or mirror it into a SQL destination",
          spec.qualified());
    }
    std::vector<std::string> row_keys(static_cast<size_t>(batch.num_rows()));
    std::unordered_map<std::string_view, int64_t> last;
    for (int64_t r = 0; r < batch.num_rows(); ++r) {
      std::string& key = row_keys[static_cast<size_t>(r)];
      for (int c : key_columns) AppendKey(batch.column(static_cast<size_t>(c)), r, key);
      last[key] = r;
    }
    const bool older = t.older_rows();
    std::vector<int64_t> write, delete_keys;
    for (int64_t r = 0; r < batch.num_rows(); ++r) {
      const std::string& key = row_keys[static_cast<size_t>(r)];
      if (last[key] != r) continue;  // a later row of the batch replaces it
      auto [it, first] = t.live.try_emplace(key);
      if (first && older) delete_keys.push_back(r);
      if (it->second.file >= 0) {
        t.superseded.push_back(it->second);
        if (auto held = t.held_superseded.find(it->second.file); held != t.held_superseded.end()) {
          held->second.push_back(t.superseded.size() - 1);
        }
      }
      it->second = {};
      if (op >= 0 && batch.column(static_cast<size_t>(op)).View(r) == kDeleteOperation) continue;
      write.push_back(r);
      keys.push_back(key);
    }
    if (!delete_keys.empty()) {
      NILUS_RETURN_NOT_OK(
          WriteRows(t, t.equality_deletes, *TakeRows(SelectColumns(batch, key_columns), delete_keys), 0, nullptr));
    }
    RecordBatch data = SelectColumns(batch, data_columns);
    // Most batches keep every row: no copy then.
    return static_cast<int64_t>(write.size()) == batch.num_rows() ? data : *TakeRows(data, write);
  }

  /// The files of `t` being written: data files and the equality delete file.
  static std::vector<FileInProgress*> OpenFiles(TableWrite& t) {
    std::vector<FileInProgress*> out;
    for (auto& [partition, f] : t.data) out.push_back(&f);
    out.push_back(&t.equality_deletes);
    return out;
  }

  /// Writes a batch of `t`'s rows (with the load id column) as data: to one file, or, for a
  /// partitioned table, each row to the file of its partition. `keys` (a merge) are the rows'
  /// keys, whose rows' places go to TableWrite::live.
  Status WriteData(TableWrite& t, const TableSpec& spec, const RecordBatch& rows,
                   const std::vector<std::string>& keys) {
    if (!t.spec_id) {
      // The first batch: its columns join the table, whose partition spec follows partition-by
      // (for the tables the pipeline lands; their child tables are not partitioned).
      NILUS_RETURN_NOT_OK(t.metadata.ColumnIds(rows.schema()).status());
      NILUS_ASSIGN_OR_RAISE(
          t.spec_id, t.metadata.Partition(spec.root.empty() ? spec_.partition_by : std::vector<PartitionField>{}));
      NILUS_ASSIGN_OR_RAISE(t.partitioning, t.metadata.Spec(*t.spec_id));
      if (spec.root.empty()) t.cluster_by = spec_.cluster_by;
      NILUS_ASSIGN_OR_RAISE(t.sort_order_id, t.metadata.SortBy(t.cluster_by));
    }
    // Where each upserted key's row now is: the place in `rows` of each row written.
    auto write = [&](FileInProgress& file, const RecordBatch& part, const std::vector<int64_t>* places) {
      return WriteRows(t, file, part, spec_.file_rows, [&](int64_t first, int64_t n) {
        for (int64_t r = first; r < first + n && !keys.empty(); ++r) {
          const int64_t row = places ? (*places)[static_cast<size_t>(r)] : r;
          RowAt& at = t.live[keys[static_cast<size_t>(row)]];
          at = {file.index, file.rows - n + (r - first)};
          if (!file.held.empty()) file.held_keys.push_back(&at);
        }
      });
    };
    if (t.partitioning.empty()) {
      NILUS_ASSIGN_OR_RAISE(FileInProgress * file, DataFileFor(t, ""));
      return write(*file, rows, nullptr);
    }
    std::vector<const Column*> sources;
    for (const auto& field : t.partitioning) {
      const int c = rows.schema().FieldIndex(field.column());
      sources.push_back(c < 0 ? nullptr : &rows.column(static_cast<size_t>(c)));
    }
    // The rows of each partition, in the order the partitions first appear.
    std::unordered_map<std::string, std::vector<int64_t>> groups;
    std::vector<const std::string*> order;
    std::string tuple;
    for (int64_t r = 0; r < rows.num_rows(); ++r) {
      tuple.clear();
      for (size_t f = 0; f < sources.size(); ++f) NILUS_RETURN_NOT_OK(t.partitioning[f].Encode(sources[f], r, tuple));
      auto [it, fresh] = groups.try_emplace(tuple);
      if (fresh) order.push_back(&it->first);
      it->second.push_back(r);
    }
    for (const std::string* partition : order) {
      const std::vector<int64_t>& places = groups[*partition];
      const bool all = static_cast<int64_t>(places.size()) == rows.num_rows();
      NILUS_ASSIGN_OR_RAISE(FileInProgress * file, DataFileFor(t, *partition));
      NILUS_RETURN_NOT_OK(write(*file, all ? rows : *TakeRows(rows, places), &places));
    }
    return BoundBuffers(t);
  }

  /// Writes out the largest row groups that partitioned files hold in memory until they hold
  /// at most kPartitionBufferBytes, and the sorted files that hold the most rows until they
  /// hold at most kSortBufferBytes.
  Status BoundBuffers(TableWrite& t) {
    for (;;) {
      int64_t total = 0;
      FileInProgress* largest = nullptr;
      for (auto& [partition, f] : t.data) {
        total += f.held_bytes;
        if (!largest || f.held_bytes > largest->held_bytes) largest = &f;
      }
      if (total <= kSortBufferBytes) break;
      NILUS_RETURN_NOT_OK(CloseFile(t, *largest));
    }
    for (;;) {
      int64_t total = 0;
      parquet::ParquetWriter* largest = nullptr;
      for (auto& [partition, f] : t.data) {
        if (!f.writer) continue;
        const int64_t held = f.writer->BufferedBytes();
        total += held;
        if (!largest || held > largest->BufferedBytes()) largest = f.writer.get();
      }
      if (total <= kPartitionBufferBytes) return Status::OK();
      NILUS_RETURN_NOT_OK(largest->FlushRowGroup());
    }
  }

  /// The data file that rows of `partition` go to; at most OpenPartitionFiles() are open, the
  /// one written to least recently closed to make room.
  Result<FileInProgress*> DataFileFor(TableWrite& t, const std::string& partition) {
    auto [it, fresh] = t.data.try_emplace(partition);
    it->second.spec_id = *t.spec_id;
    it->second.partition = partition;
    it->second.used = ++t.clock;
    if (fresh && t.data.size() > OpenPartitionFiles()) {
      auto oldest = t.data.end();
      for (auto f = t.data.begin(); f != t.data.end(); ++f) {
        if (f != it && (oldest == t.data.end() || f->second.used < oldest->second.used)) oldest = f;
      }
      if (oldest->second.writer) NILUS_RETURN_NOT_OK(CloseFile(t, oldest->second));
      t.data.erase(oldest);
    }
    return &it->second;
  }

  /// Writes `rows` to `file` (opened for their columns when needed), cut into files at
  /// `file_rows` rows (0: no limit) or kFileBytes; `written(first, n)` is told of each part
  /// written to one file (the rows first … first+n-1 of `rows`, now the last n of the file).
  Status WriteRows(TableWrite& t, FileInProgress& file, const RecordBatch& rows, int64_t file_rows,
                   const std::function<void(int64_t, int64_t)>& written) {
    if (file.writer && !(file.schema == rows.schema())) NILUS_RETURN_NOT_OK(CloseFile(t, file));
    for (int64_t start = 0; start < rows.num_rows();) {
      if (!file.writer) NILUS_RETURN_NOT_OK(OpenFile(t, file, rows.schema()));
      int64_t n = rows.num_rows() - start;
      if (file_rows > 0) n = std::min(n, file_rows - file.rows);
      std::shared_ptr<const RecordBatch> part;
      if (n < rows.num_rows()) {
        std::vector<int64_t> take(static_cast<size_t>(n));
        for (int64_t r = 0; r < n; ++r) take[static_cast<size_t>(r)] = start + r;
        part = TakeRows(rows, take);
      }
      if (!t.cluster_by.empty() && &file != &t.equality_deletes) {
        file.held.push_back(part ? *part : rows);
        file.held_bytes += file.held.back().byte_size();
      } else {
        NILUS_RETURN_NOT_OK(file.writer->Write(part ? *part : rows));
      }
      file.rows += n;
      if (written) written(start, n);
      start += n;
      const bool full =
          file.held.empty() ? file.writer->EstimatedSize() >= kFileBytes : file.held_bytes >= kSortBufferBytes;
      if ((file_rows > 0 && file.rows >= file_rows) || full) NILUS_RETURN_NOT_OK(CloseFile(t, file));
    }
    return Status::OK();
  }

  Status OpenFile(TableWrite& t, FileInProgress& file, const Schema& schema) {
    NILUS_ASSIGN_OR_RAISE(file.ids, t.metadata.ColumnIds(schema));
    file.path = fmt::format("{}/data/{}-{:05d}.parquet", t.metadata.location(), spec_.load_id, files_++);
    NILUS_ASSIGN_OR_RAISE(std::string staging, storage_->StagingPath(file.path));
    parquet::WriterOptions options;
    options.codec = warehouse_.codec;
    options.field_ids = file.ids;
    options.zstd = zstd_.get();
    // Pages of one partition's file are smaller: many are filled at once.
    if (!t.partitioning.empty()) options.page_bytes = kPartitionPageBytes;
    NILUS_ASSIGN_OR_RAISE(file.writer, parquet::ParquetWriter::Open(staging, schema, options));
    file.schema = schema;
    file.rows = 0;
    if (&file == &t.equality_deletes) {
      // The keys' older rows may be in any partition.
      file.spec_id = t.metadata.UnpartitionedSpec();
    } else {
      file.index = static_cast<int32_t>(t.data_paths.size());
      t.data_paths.push_back(file.path);
      t.data_partitions.push_back(file.partition);
      if (!t.cluster_by.empty()) t.held_superseded[file.index];
    }
    return Status::OK();
  }

  Status CloseFile(TableWrite& t, FileInProgress& file) {
    if (!file.held.empty()) NILUS_RETURN_NOT_OK(WriteSorted(t, file));
    NILUS_ASSIGN_OR_RAISE(parquet::FileSummary summary, file.writer->Close());
    file.writer.reset();
    NILUS_RETURN_NOT_OK(storage_->Publish(file.path).WithContext("writing " + t.ns + "." + t.name));
    iceberg::DataFile done{file.path, std::move(summary), iceberg::Content::kData, file.ids, {},
                           {},        file.spec_id,       file.partition};
    for (const auto& f : file.schema.fields()) done.types.push_back(f.type);
    if (&file == &t.equality_deletes) {
      done.content = iceberg::Content::kEqualityDeletes;
      done.equality_ids = file.ids;
    } else {
      done.sort_order_id = t.sort_order_id;
    }
    t.files.push_back(std::move(done));
    return Status::OK();
  }

  /// Writes the rows `file` holds in the table's sort order, and gives the places of its merge
  /// keys' rows and of its superseded rows (places among the held rows until now) their
  /// positions in the file.
  Status WriteSorted(TableWrite& t, FileInProgress& file) {
    // Each held row's sort key (one after the other in `keys`, the i-th ending at ends[i]), and
    // where the row is: (batch, row).
    std::string keys;
    std::vector<size_t> ends;
    std::vector<std::pair<uint32_t, int64_t>> rows;
    ends.reserve(static_cast<size_t>(file.rows));
    rows.reserve(static_cast<size_t>(file.rows));
    for (uint32_t b = 0; b < file.held.size(); ++b) {
      const RecordBatch& batch = file.held[b];
      std::vector<const Column*> columns;
      for (const auto& name : t.cluster_by) {
        const int c = batch.schema().FieldIndex(name);
        columns.push_back(c < 0 ? nullptr : &batch.column(static_cast<size_t>(c)));
      }
      for (int64_t r = 0; r < batch.num_rows(); ++r) {
        for (const Column* c : columns) iceberg::AppendSortKey(c, r, keys);
        ends.push_back(keys.size());
        rows.emplace_back(b, r);
      }
    }
    auto key = [&](int64_t i) {
      const size_t start = i == 0 ? 0 : ends[static_cast<size_t>(i - 1)];
      return std::string_view(keys).substr(start, ends[static_cast<size_t>(i)] - start);
    };
    std::vector<int64_t> order(ends.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return key(a) < key(b); });
    std::string().swap(keys);
    std::vector<size_t>().swap(ends);
    for (size_t start = 0; start < order.size(); start += kSortedChunkRows) {
      const size_t end = std::min(order.size(), start + kSortedChunkRows);
      std::vector<Column> columns;
      for (const auto& f : file.schema.fields()) columns.emplace_back(f.type);
      for (size_t p = start; p < end; ++p) {
        const auto [b, r] = rows[static_cast<size_t>(order[p])];
        for (size_t c = 0; c < columns.size(); ++c) columns[c].AppendFrom(file.held[b].column(c), r);
      }
      NILUS_RETURN_NOT_OK(
          file.writer->Write(RecordBatch(file.schema, std::move(columns), static_cast<int64_t>(end - start))));
    }
    // The held row at place i is now at position place[i] of the file.
    std::vector<int64_t> place(order.size());
    for (size_t p = 0; p < order.size(); ++p) place[static_cast<size_t>(order[p])] = static_cast<int64_t>(p);
    std::sort(file.held_keys.begin(), file.held_keys.end());
    file.held_keys.erase(std::unique(file.held_keys.begin(), file.held_keys.end()), file.held_keys.end());
    for (RowAt* at : file.held_keys) {
      if (at->file == file.index) at->pos = place[static_cast<size_t>(at->pos)];
    }
    if (auto held = t.held_superseded.find(file.index); held != t.held_superseded.end()) {
      for (size_t i : held->second) t.superseded[i].pos = place[static_cast<size_t>(t.superseded[i].pos)];
      t.held_superseded.erase(held);
    }
    file.held.clear();
    file.held_keys.clear();
    file.held_bytes = 0;
    return Status::OK();
  }

  /// The position delete files of the rows of this load that later rows of their key replaced,
  /// one per partition (a position delete applies to the data files of its own): (data file,
  /// position) pairs in that order, as the specification asks.
  Status WritePositionDeletes(TableWrite& t) {
    auto partition = [&](const RowAt& row) -> const std::string& {
      return t.data_partitions[static_cast<size_t>(row.file)];
    };
    auto path = [&](const RowAt& row) -> const std::string& { return t.data_paths[static_cast<size_t>(row.file)]; };
    std::sort(t.superseded.begin(), t.superseded.end(), [&](const RowAt& a, const RowAt& b) {
      return std::tie(partition(a), path(a), a.pos) < std::tie(partition(b), path(b), b.pos);
    });
    Schema schema;
    schema.AddField({"file_path", LogicalType::Text(), false});
    schema.AddField({"pos", LogicalType::Bigint(), false});
    for (size_t first = 0, end = 0; first < t.superseded.size(); first = end) {
      auto paths = std::make_shared<Column>(LogicalType::Text());
      auto positions = std::make_shared<Column>(LogicalType::Bigint());
      for (end = first; end < t.superseded.size() && partition(t.superseded[end]) == partition(t.superseded[first]);
           ++end) {
        paths->AppendBytes(path(t.superseded[end]));
        positions->AppendInt64(t.superseded[end].pos);
      }
      FileInProgress file;
      file.path = fmt::format("{}/data/{}-{:05d}-deletes.parquet", t.metadata.location(), spec_.load_id, files_++);
      file.ids = {iceberg::kDeleteFilePathId, iceberg::kDeletePosId};
      NILUS_ASSIGN_OR_RAISE(std::string staging, storage_->StagingPath(file.path));
      parquet::WriterOptions options;
      options.codec = warehouse_.codec;
      options.field_ids = file.ids;
      options.zstd = zstd_.get();
      NILUS_ASSIGN_OR_RAISE(file.writer, parquet::ParquetWriter::Open(staging, schema, options));
      NILUS_RETURN_NOT_OK(file.writer->Write(RecordBatch(schema, {paths, positions}, paths->length())));
      NILUS_ASSIGN_OR_RAISE(parquet::FileSummary summary, file.writer->Close());
      file.writer.reset();
      NILUS_RETURN_NOT_OK(storage_->Publish(file.path));
      t.files.push_back({file.path,
                         std::move(summary),
                         iceberg::Content::kPositionDeletes,
                         file.ids,
                         {LogicalType::Text(), LogicalType::Bigint()},
                         {},
                         *t.spec_id,
                         partition(t.superseded[first])});
    }
    return Status::OK();
  }

  /// After the commit: removes what the snapshots and metadata files that expired left
  /// unreferenced, with the files that the manifests of a replaced table list. Advisory: what
  /// is not removed is only storage.
  void RemoveExpired(const TableWrite& t) {
    auto remove = [&](const std::string& file) {
      if (Status st = storage_->Remove(file); !st.ok()) spdlog::warn("{}.{}: {}", t.ns, t.name, st.ToString());
    };
    auto entries = [&](const std::string& manifest) {
      auto bytes = storage_->Read(manifest);
      auto decoded = bytes.ok() ? avro::Decode(*bytes, manifest) : Result<avro::File>(bytes.status());
      if (!decoded.ok()) {
        spdlog::warn("{}.{}: the files of {} are left: {}", t.ns, t.name, manifest, decoded.status().ToString());
        return std::vector<json>();
      }
      return std::move(decoded->records);
    };
    // The files compactions took out (their manifests may go below, as replaced ones).
    for (const auto& [manifest, snapshot] : t.dropped.files_removed_by) {
      for (const auto& entry : entries(manifest)) {
        if (entry.value("status", 0) == 2 && entry.value("snapshot_id", int64_t{-1}) == snapshot) {
          remove(entry["data_file"].value("file_path", ""));
        }
      }
    }
    for (const auto& manifest : t.dropped.manifests_with_files) {
      for (const auto& entry : entries(manifest)) {
        if (entry.value("status", 0) != 2) remove(entry["data_file"].value("file_path", ""));
      }
      remove(manifest);
    }
    for (const auto& file : t.dropped.files) remove(file);
  }

  /// Writes the table's new snapshot: a manifest of this load's data files and one of its delete
  /// files, the manifest list (with the earlier manifests too, unless the load replaces the
  /// table) and the metadata file.
  Status Snapshot(TableWrite& t, const json& state) {
    for (FileInProgress* f : OpenFiles(t)) {
      if (f->writer) NILUS_RETURN_NOT_OK(CloseFile(t, *f));
    }
    NILUS_RETURN_NOT_OK(WritePositionDeletes(t));
    if (t.files.empty() && !t.replace) return Status::OK();
    const int64_t snapshot = NewSnapshotId(), seq = t.metadata.NextSequenceNumber();
    const std::string meta = t.metadata.location() + "/metadata/";

    std::vector<iceberg::ManifestEntry> manifests;
    if (const std::string current = t.metadata.CurrentManifestList(); !current.empty()) {
      NILUS_ASSIGN_OR_RAISE(std::string bytes, storage_->Read(current));
      NILUS_ASSIGN_OR_RAISE(manifests, iceberg::ReadManifestList(bytes, current));
    }
    // A replace takes every file of the table out of it: when its snapshot expires, the
    // manifests that list them go, and those files with them.
    std::vector<std::string> removed;
    if (t.replace) {
      for (const auto& m : manifests) removed.push_back(m.path);
      manifests.clear();
    }
    // A manifest that lists no live file (an earlier compaction's, of the files it took out)
    // stays with the snapshot that wrote it, and goes when this one expires.
    std::vector<std::string> replaced;
    std::erase_if(manifests, [&](const iceberg::ManifestEntry& m) {
      const bool empty = m.added_files + m.existing_files == 0;
      if (empty) replaced.push_back(m.path);
      return empty;
    });
    int written = 0;  // the manifests this load wrote
    const int64_t equality = EqualityDeleteFiles(t, manifests);
    NILUS_ASSIGN_OR_RAISE(std::optional<Compacted> compaction, Compact(t, snapshot, seq, equality, manifests, written));
    if (compaction) replaced.insert(replaced.end(), compaction->replaced.begin(), compaction->replaced.end());
    // Counts of the files of each content, and of their rows.
    std::map<iceberg::Content, std::pair<int64_t, int64_t>> added;
    int64_t bytes = 0;
    for (const auto& f : t.files) {
      added[f.content].first += 1;
      added[f.content].second += f.summary.rows;
      bytes += f.summary.bytes;
    }
    NILUS_ASSIGN_OR_RAISE(std::vector<std::string> merged, MergeSmallManifests(t, snapshot, seq, manifests, written));
    replaced.insert(replaced.end(), merged.begin(), merged.end());
    // One manifest for each kind of content (data, deletes) and partition spec, the data
    // manifest first in the list.
    std::map<std::pair<bool, int32_t>, std::vector<iceberg::DataFile>> kinds;
    for (const auto& f : t.files) kinds[{f.content == iceberg::Content::kData, f.spec_id}].push_back(f);
    for (const auto& [kind, files] : kinds) {
      const std::string path = meta + fmt::format("{}-m{}.avro", spec_.load_id, written++);
      NILUS_ASSIGN_OR_RAISE(std::string staging, storage_->StagingPath(path));
      NILUS_ASSIGN_OR_RAISE(int64_t length, iceberg::WriteManifest(staging, t.metadata, snapshot, files));
      NILUS_RETURN_NOT_OK(storage_->Publish(path));
      int64_t rows = 0, oldest = seq;
      for (const auto& f : files) {
        rows += f.summary.rows;
        if (f.sequence_number >= 0) oldest = std::min(oldest, f.sequence_number);
      }
      manifests.insert(manifests.begin(), {path, length, kind.first ? 0 : 1, kind.second, seq, oldest, snapshot,
                                           static_cast<int32_t>(files.size()), 0, 0, rows, 0, 0});
    }
    const std::string list = meta + fmt::format("{}-snap-{}.avro", spec_.load_id, snapshot);
    NILUS_ASSIGN_OR_RAISE(std::string staging, storage_->StagingPath(list));
    NILUS_RETURN_NOT_OK(
        iceberg::WriteManifestList(staging, snapshot, t.metadata.current_snapshot_id(), seq, manifests));
    NILUS_RETURN_NOT_OK(storage_->Publish(list));
    auto count = [&](iceberg::Content c, bool rows) {
      auto it = added.find(c);
      return std::to_string(it == added.end() ? 0 : rows ? it->second.second : it->second.first);
    };
    json summary = {{"added-data-files", count(iceberg::Content::kData, false)},
                    {"added-records", count(iceberg::Content::kData, true)},
                    {"added-files-size", std::to_string(bytes)},
                    {"nilus.load-id", spec_.load_id},
                    {"nilus.pipeline", spec_.pipeline},
                    {"nilus.state", state.dump()}};
    if (!replaced.empty()) summary["nilus.replaced-manifests"] = json(replaced).dump();
    if (!removed.empty()) summary["nilus.removed-manifests"] = json(removed).dump();
    summary[kEqualityFilesKey] = std::to_string(compaction ? 0 : equality);
    if (compaction) {
      summary["deleted-data-files"] = std::to_string(compaction->done.rewritten_files);
      summary["deleted-records"] = std::to_string(compaction->done.rewritten_rows);
      summary["removed-delete-files"] = std::to_string(compaction->done.delete_files);
      summary["nilus.compacted-manifests"] = json(compaction->manifests).dump();
    }
    const bool deletes =
        added.count(iceberg::Content::kEqualityDeletes) || added.count(iceberg::Content::kPositionDeletes);
    if (deletes) {
      const int64_t files =
          added[iceberg::Content::kEqualityDeletes].first + added[iceberg::Content::kPositionDeletes].first;
      summary["added-delete-files"] = std::to_string(files);
      summary["added-equality-delete-files"] = count(iceberg::Content::kEqualityDeletes, false);
      summary["added-equality-deletes"] = count(iceberg::Content::kEqualityDeletes, true);
      summary["added-position-delete-files"] = count(iceberg::Content::kPositionDeletes, false);
      summary["added-position-deletes"] = count(iceberg::Content::kPositionDeletes, true);
    }
    t.dropped =
        t.metadata.AddSnapshot(snapshot, list, t.replace || deletes ? "overwrite" : "append", summary, t.previous);
    t.new_metadata = meta + fmt::format("{}-{:05d}.metadata.json", spec_.load_id, seq);
    return storage_->Write(t.new_metadata, t.metadata.Dump());
  }

  /// The equality delete files of `t` with this load's: nilus's snapshots count them in their
  /// summaries (a compaction leaves none); after another writer's, its delete files are taken
  /// for them.
  int64_t EqualityDeleteFiles(const TableWrite& t, const std::vector<iceberg::ManifestEntry>& manifests) const {
    int64_t out = 0;
    const json summary = t.metadata.Summary(t.metadata.current_snapshot_id());
    if (t.replace) {
      out = 0;
    } else if (auto it = summary.find(kEqualityFilesKey); it != summary.end() && it->is_string()) {
      out = std::strtoll(it->get<std::string>().c_str(), nullptr, 10);
    } else {
      for (const auto& m : manifests) {
        if (m.content != 0) out += m.added_files + m.existing_files;
      }
    }
    for (const auto& f : t.files) out += f.content == iceberg::Content::kEqualityDeletes;
    return out;
  }

  /// What a load's compaction did, and the manifests that list the files it took out.
  struct Compacted {
    iceberg::Compaction done;
    std::vector<std::string> manifests;  ///< the new ones
    std::vector<std::string> replaced;   ///< the ones they replace
  };

  /// Compacts `t` when its deletes (those of the current snapshot, whose manifests are
  /// `manifests`, and this load's; `equality` equality delete files) reach the pipeline's
  /// limits, in the snapshot `snapshot` that this load commits (see iceberg::Compact). The
  /// manifests that list the files taken out are rewritten to list them as deleted (`manifests`
  /// gets the new ones); this load's equality deletes, applied, are not committed. Its position
  /// deletes apply to its own files, which are not rewritten.
  Result<std::optional<Compacted>> Compact(TableWrite& t, int64_t snapshot, int64_t seq, int64_t equality,
                                           std::vector<iceberg::ManifestEntry>& manifests, int& written) {
    if (t.replace) return std::optional<Compacted>();
    int64_t data_rows = 0, delete_rows = 0;
    for (const auto& m : manifests) (m.content == 0 ? data_rows : delete_rows) += m.added_rows + m.existing_rows;
    for (const auto& f : t.files) (f.content == iceberg::Content::kData ? data_rows : delete_rows) += f.summary.rows;
    const iceberg::CompactionPolicy policy{spec_.compact_delete_files,
                                           static_cast<double>(spec_.compact_delete_percent) / 100};
    if (!policy.Due(data_rows, equality, delete_rows)) return std::optional<Compacted>();

    NILUS_ASSIGN_OR_RAISE(std::vector<iceberg::TableFile> files,
                          iceberg::ListFiles(*storage_, t.metadata.CurrentManifestList()));
    for (const auto& f : t.files) {
      if (f.content != iceberg::Content::kEqualityDeletes) continue;
      files.push_back({.path = f.path,
                       .content = f.content,
                       .sequence_number = seq,
                       .snapshot_id = snapshot,
                       .rows = f.summary.rows,
                       .bytes = f.summary.bytes,
                       .spec_id = f.spec_id,
                       .partition = "",
                       .equality_ids = f.equality_ids,
                       .manifest = ""});
    }
    iceberg::CompactionOutput output{
        [&] {
          t.compacted_paths.push_back(
              fmt::format("{}/data/{}-{:05d}.parquet", t.metadata.location(), spec_.load_id, files_++));
          return t.compacted_paths.back();
        },
        {},
        kFileBytes};
    output.small_bytes = kSmallFileBytes;
    output.options.codec = warehouse_.codec;
    output.options.zstd = zstd_.get();
    spdlog::info("{}.{}: compacting: {} equality delete files; the deletes are {} rows of {}", t.ns, t.name, equality,
                 delete_rows, data_rows);
    auto done = iceberg::Compact(*storage_, t.metadata, files, output, stop_);
    if (done.status().code() == StatusCode::kFailedPrecondition) {
      spdlog::warn("{}.{}: not compacted: {}", t.ns, t.name, done.status().message());
      return std::optional<Compacted>();
    }
    NILUS_RETURN_NOT_OK(done.status().WithContext(fmt::format("compacting {}.{}", t.ns, t.name)));
    Compacted out{std::move(*done), {}, {}};

    // This load's equality deletes are applied: they go (and are not counted as taken out).
    std::erase_if(t.files, [&](const iceberg::DataFile& f) {
      if (!out.done.removed.count(f.path)) return false;
      (void)storage_->Remove(f.path);
      --out.done.delete_files;
      return true;
    });
    t.files.insert(t.files.end(), out.done.added.begin(), out.done.added.end());
    // The manifests that list a file taken out.
    std::set<std::string> touched;
    for (const auto& f : files) {
      if (!f.manifest.empty() && out.done.removed.count(f.path)) touched.insert(f.manifest);
    }
    for (auto& m : manifests) {
      if (!touched.count(m.path)) continue;
      NILUS_ASSIGN_OR_RAISE(std::string bytes, storage_->Read(m.path));
      const std::string path =
          t.metadata.location() + "/metadata/" + fmt::format("{}-m{}.avro", spec_.load_id, written++);
      NILUS_ASSIGN_OR_RAISE(std::string staging, storage_->StagingPath(path));
      NILUS_ASSIGN_OR_RAISE(iceberg::ManifestEntry entry, iceberg::MergeManifests(staging, t.metadata, snapshot, seq,
                                                                                  {{m, bytes}}, out.done.removed));
      NILUS_RETURN_NOT_OK(storage_->Publish(path));
      entry.path = path;
      out.manifests.push_back(path);
      out.replaced.push_back(m.path);
      m = std::move(entry);
    }
    spdlog::info(
        "{}.{}: compacted: {} data files of {} rows rewritten without the {} rows deleted, {} rows deleted "
        "by position; {} delete files gone, {} files written",
        t.ns, t.name, out.done.rewritten_files, out.done.rewritten_rows, out.done.deleted_rows,
        out.done.position_deletes, out.done.delete_files, out.done.added.size());
    return std::optional<Compacted>(std::move(out));
  }

  /// Merges the small manifests of `manifests` (the current snapshot's) that share a content and
  /// a partition spec into one, once there are kMergeManifestsAt of them (Iceberg's
  /// commit.manifest.min-count-to-merge), so that a table committed every second keeps a short
  /// manifest list; a manifest of kManifestTargetBytes or more is left as it is. Returns the
  /// manifests it replaced (removed once the snapshot that replaced them expires).
  Result<std::vector<std::string>> MergeSmallManifests(TableWrite& t, int64_t snapshot, int64_t seq,
                                                       std::vector<iceberg::ManifestEntry>& manifests, int& written) {
    std::map<std::pair<int32_t, int32_t>, std::vector<size_t>> groups;
    for (size_t i = 0; i < manifests.size(); ++i) {
      // (The manifests this snapshot's compaction rewrote stay as they are.)
      if (manifests[i].length < kManifestTargetBytes && manifests[i].added_snapshot_id != snapshot) {
        groups[{manifests[i].content, manifests[i].spec_id}].push_back(i);
      }
    }
    std::vector<std::string> replaced;
    std::vector<bool> gone(manifests.size(), false);
    std::vector<iceberg::ManifestEntry> merged;
    for (const auto& [kind, members] : groups) {
      if (members.size() < kMergeManifestsAt) continue;
      std::vector<std::pair<iceberg::ManifestEntry, std::string>> inputs;
      for (size_t i : members) {
        NILUS_ASSIGN_OR_RAISE(std::string bytes, storage_->Read(manifests[i].path));
        inputs.emplace_back(manifests[i], std::move(bytes));
        replaced.push_back(manifests[i].path);
        gone[i] = true;
      }
      const std::string path =
          t.metadata.location() + "/metadata/" + fmt::format("{}-m{}.avro", spec_.load_id, written++);
      NILUS_ASSIGN_OR_RAISE(std::string staging, storage_->StagingPath(path));
      NILUS_ASSIGN_OR_RAISE(iceberg::ManifestEntry entry,
                            iceberg::MergeManifests(staging, t.metadata, snapshot, seq, inputs));
      entry.path = path;
      NILUS_RETURN_NOT_OK(storage_->Publish(path));
      merged.push_back(std::move(entry));
    }
    std::vector<iceberg::ManifestEntry> kept;
    for (size_t i = 0; i < manifests.size(); ++i) {
      if (!gone[i]) kept.push_back(std::move(manifests[i]));
    }
    kept.insert(kept.end(), merged.begin(), merged.end());
    manifests = std::move(kept);
    return replaced;
  }

  /// In the catalog's transaction: each table's pointer moves from the metadata file the load
  /// started from to its new one, only if no other writer moved it meanwhile.
  Status SwapTables(SqlDialect& db) {
    for (auto& [key, t] : tables_) {
      if (t.new_metadata.empty()) continue;
      NILUS_RETURN_NOT_OK(db.Query("INSERT INTO iceberg_namespace_properties VALUES ($1, $2, 'exists', 'true') ON "
                                   "CONFLICT DO NOTHING",
                                   {kCatalogName, t.ns})
                              .status());
      SqlRows swapped;
      if (t.previous.empty()) {
        NILUS_ASSIGN_OR_RAISE(swapped, db.Query("INSERT INTO iceberg_tables VALUES ($1, $2, $3, $4, NULL) ON "
                                                "CONFLICT DO NOTHING RETURNING table_name",
                                                {kCatalogName, t.ns, t.name, t.new_metadata}));
      } else {
        NILUS_ASSIGN_OR_RAISE(
            swapped, db.Query("UPDATE iceberg_tables SET metadata_location = $4, previous_metadata_location = $5 "
                              "WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3 AND "
                              "metadata_location = $5 RETURNING table_name",
                              {kCatalogName, t.ns, t.name, t.new_metadata, t.previous}));
      }
      if (swapped.empty()) {
        return Status::Aborted(
            "table {}.{} was committed by another writer while this load wrote it; this load is rolled back, and "
            "the next run loads its rows on top of the other writer's",
            t.ns, t.name);
      }
    }
    return Status::OK();
  }

  /// Beside the catalog, the version-hint layout of a table folder (readers without a catalog
  /// find the current metadata through it). Advisory: the catalog says what is committed.
  void WriteVersionHint(const TableWrite& t) {
    if (t.new_metadata.empty()) return;
    const int64_t version = t.metadata.NextSequenceNumber() - 1;
    const std::string meta = t.metadata.location() + "/metadata/";
    Status st = storage_->Write(meta + fmt::format("v{}.metadata.json", version), t.metadata.Dump());
    if (st.ok()) st = storage_->Write(meta + "version-hint.text", std::to_string(version));
    // The copies as far back as the metadata log reaches are kept.
    const auto oldest = version - static_cast<int64_t>(iceberg::kKeptMetadataFiles) - 1;
    if (st.ok() && oldest >= 1) st = storage_->Remove(meta + fmt::format("v{}.metadata.json", oldest));
    if (!st.ok()) spdlog::warn("{}.{}: the version hint was not written ({})", t.ns, t.name, st.ToString());
  }

  Warehouse warehouse_;
  LoadSpec spec_;
  std::stop_token stop_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<Load> catalog_load_;
  SqlDialect* db_ = nullptr;
  /// One compression context for every file the load writes (it outlives them).
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> zstd_{ZSTD_createCCtx(), ZSTD_freeCCtx};
  std::map<std::string, TableWrite> tables_;
  int files_ = 0;
  bool committed_ = false;
};

class LakehouseDestination final : public Destination {
 public:
  LakehouseDestination(Warehouse warehouse, std::unique_ptr<SqlDestination> catalog, std::stop_token stop)
      : warehouse_(std::move(warehouse)), catalog_(std::move(catalog)), stop_(std::move(stop)) {}

  Result<std::unique_ptr<Load>> Begin(const LoadSpec& spec) override {
    auto load = std::make_unique<LakehouseLoad>(warehouse_, spec, stop_);
    NILUS_RETURN_NOT_OK(load->Begin(*catalog_));
    return std::unique_ptr<Load>(std::move(load));
  }
  Status ResetState(const std::string& pipeline) override { return catalog_->ResetState(pipeline); }

 private:
  Warehouse warehouse_;
  std::unique_ptr<SqlDestination> catalog_;
  std::stop_token stop_;
};

/// The warehouse with its catalog.
Result<std::unique_ptr<Destination>> OpenWarehouse(Result<Warehouse> warehouse, std::stop_token stop) {
  NILUS_RETURN_NOT_OK(warehouse.status());
  NILUS_ASSIGN_OR_RAISE(auto catalog, OpenCatalog(*warehouse, stop));
  return std::unique_ptr<Destination>(new LakehouseDestination(*warehouse, std::move(catalog), std::move(stop)));
}

}  // namespace

Status RegisterLakehouse(ConnectorRegistry& registry) {
  NILUS_RETURN_NOT_OK(RegisterLakehouseSources(registry));
  NILUS_RETURN_NOT_OK(registry.AddDestination(
      "lakehouse", [](const Uri& uri, std::stop_token stop) { return OpenWarehouse(LocalWarehouse(uri), stop); },
      {.options = {"loader-file-size", "partition-by", "cluster-by", "compact-delete-files", "compact-delete-percent"},
       .not_yet = {"staging_bucket"}}));
  return registry.AddDestination(
      "s3", [](const Uri& uri, std::stop_token stop) { return OpenWarehouse(S3Warehouse(uri), stop); },
      {.options = {"loader-file-size", "aws_region", "partition-by", "cluster-by", "compact-delete-files",
                   "compact-delete-percent"},
       .not_yet = {"staging_bucket"}});
}

}  // namespace nilus
