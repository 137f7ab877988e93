#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "nilus/connectors/lakehouse/iceberg.h"
#include "nilus/connectors/lakehouse/lakehouse_connector.h"
#include "nilus/connectors/sqlite/sqlite_internal.h"
#include "nilus/core/strings.h"
#include "nilus/formats/parquet/parquet_writer.h"

namespace nilus {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// The catalog's name in the Iceberg SQL catalog tables (what PyIceberg's SqlCatalog and the
/// JDBC catalog are opened with).
constexpr char kCatalogName[] = "nilus";

/// The Iceberg SQL catalog's tables, as the JDBC catalog and PyIceberg's SqlCatalog make them.
constexpr char kCreateCatalog[] = R"sql(
CREATE TABLE IF NOT EXISTS iceberg_tables (
  catalog_name VARCHAR(255) NOT NULL,
  table_namespace VARCHAR(255) NOT NULL,
  table_name VARCHAR(255) NOT NULL,
  metadata_location VARCHAR(1000),
  previous_metadata_location VARCHAR(1000),
  PRIMARY KEY (catalog_name, table_namespace, table_name)
);
CREATE TABLE IF NOT EXISTS iceberg_namespace_properties (
  catalog_name VARCHAR(255) NOT NULL,
  namespace VARCHAR(255) NOT NULL,
  property_key VARCHAR(255) NOT NULL,
  property_value VARCHAR(1000),
  PRIMARY KEY (catalog_name, namespace, property_key)
);
)sql";

/// A data file is cut when it reaches this size.
constexpr int64_t kFileBytes = 128 << 20;

/// The files a load writes in a table's folders start with its id; while it runs, a marker named
/// after it stands in the table's `pending/` folder, so that what a killed load left is found
/// without listing the table's files.
fs::path PendingMarker(const std::string& location, const std::string& load_id) {
  return fs::path(location) / "pending" / load_id;
}

int64_t NewSnapshotId() {
  std::mt19937_64 rng(std::random_device{}());
  return static_cast<int64_t>(rng() >> 1);
}

Status WriteWholeFile(const std::string& path, std::string_view text) {
  NILUS_ASSIGN_OR_RAISE(auto file, OutputFile::Open(path));
  NILUS_RETURN_NOT_OK(file->Write(text));
  return file->Close();
}

/// One Iceberg table a load writes: its metadata as the load found it, the data files written
/// so far, and the one being written.
struct TableWrite {
  std::string ns, name;
  std::string previous;  ///< the metadata file the catalog points at ("" for a new table)
  iceberg::TableMetadata metadata;
  bool replace = false;  ///< the snapshot holds this load's files only
  Schema schema;         ///< of the file being written (the batches' columns and the load id)
  std::vector<int32_t> ids;
  std::unique_ptr<parquet::ParquetWriter> writer;
  std::string writing;    ///< its path
  int64_t file_rows = 0;  ///< the rows written to it
  std::vector<iceberg::DataFile> files;
  std::string new_metadata;  ///< written at commit
};

class LakehouseLoad final : public Load {
 public:
  LakehouseLoad(std::string warehouse, LoadSpec spec, std::stop_token stop)
      : warehouse_(std::move(warehouse)), spec_(std::move(spec)), stop_(std::move(stop)) {}

  ~LakehouseLoad() override {
    // Not committed: what this load wrote is referenced by nothing; take it away now (a killed
    // run's files are taken away by the next load of the table).
    std::error_code ec;
    for (auto& [key, t] : tables_) {
      if (!committed_) {
        t.writer.reset();
        for (const auto& f : t.files) fs::remove(f.path, ec);
        if (!t.new_metadata.empty()) fs::remove(t.new_metadata, ec);
      }
      fs::remove(PendingMarker(t.metadata.location(), spec_.load_id), ec);
    }
  }

  /// Opens the catalog load whose commit swaps this load's tables in.
  Status Begin(SqlDestination& catalog) {
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
    if (spec.keyed()) {
      return Status::InvalidInput(
          "the lakehouse destination does not merge yet: {} asks for incremental-strategy merge; use append or "
          "replace",
          spec.qualified());
    }
    NILUS_ASSIGN_OR_RAISE(TableWrite * t, Table(spec.schema, spec.name));
    if (spec.rebuild && !t->replace) {
      t->replace = true;
      NILUS_RETURN_NOT_OK(Discard(*t));
    }
    // Every row carries the load's id.
    Schema schema = batch.schema();
    schema.AddField({kLoadIdColumn, LogicalType::Text(), false});
    auto ids = std::make_shared<Column>(LogicalType::Text());
    ids->Reserve(batch.num_rows());
    for (int64_t r = 0; r < batch.num_rows(); ++r) ids->AppendBytes(spec_.load_id);
    std::vector<RecordBatch::ColumnPtr> columns;
    for (size_t c = 0; c < batch.num_columns(); ++c) columns.push_back(batch.column_ptr(c));
    columns.push_back(ids);
    RecordBatch rows(schema, std::move(columns), batch.num_rows());

    if (t->writer && !(t->schema == schema)) NILUS_RETURN_NOT_OK(CloseFile(*t));
    // A file ends at loader-file-size rows (the batch split where it must), or at kFileBytes.
    for (int64_t start = 0; start < rows.num_rows();) {
      if (!t->writer) NILUS_RETURN_NOT_OK(OpenFile(*t, schema));
      int64_t n = rows.num_rows() - start;
      if (spec_.file_rows > 0) n = std::min(n, spec_.file_rows - t->file_rows);
      std::shared_ptr<const RecordBatch> part;
      if (n < rows.num_rows()) {
        std::vector<int64_t> take(static_cast<size_t>(n));
        for (int64_t r = 0; r < n; ++r) take[static_cast<size_t>(r)] = start + r;
        part = TakeRows(rows, take);
      }
      NILUS_RETURN_NOT_OK(t->writer->Write(part ? *part : rows).WithContext("writing " + spec.qualified()));
      t->file_rows += n;
      start += n;
      if ((spec_.file_rows > 0 && t->file_rows >= spec_.file_rows) || t->writer->EstimatedSize() >= kFileBytes) {
        NILUS_RETURN_NOT_OK(CloseFile(*t));
      }
    }
    return Status::OK();
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
    NILUS_RETURN_NOT_OK(catalog_load_->Commit(records, state));
    committed_ = true;
    for (auto& [key, t] : tables_) WriteVersionHint(t);
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
    TableWrite t{ns, name, "", iceberg::TableMetadata::Create(""), false, {}, {}, nullptr, "", 0, {}, ""};
    if (!rows.empty() && rows[0][0]) {
      t.previous = *rows[0][0];
      NILUS_ASSIGN_OR_RAISE(t.metadata, iceberg::TableMetadata::Read(t.previous));
    } else {
      t.metadata = iceberg::TableMetadata::Create((fs::path(warehouse_) / ns / name).string());
    }
    NILUS_RETURN_NOT_OK(RemoveUncommitted(t.metadata.location()));
    fs::path marker = PendingMarker(t.metadata.location(), spec_.load_id);
    std::error_code ec;
    fs::create_directories(marker.parent_path(), ec);
    if (ec) return Status::IOError("cannot create {}: {}", marker.parent_path().string(), ec.message());
    NILUS_RETURN_NOT_OK(WriteWholeFile(marker.string(), ""));
    return &tables_.emplace(key, std::move(t)).first->second;
  }

  /// Removes what loads that never committed left in a table's folders: the loads whose markers
  /// stand in `pending/` (the table's files are listed only when there is one).
  Status RemoveUncommitted(const std::string& location) {
    std::error_code ec;
    const fs::path pending = fs::path(location) / "pending";
    if (!fs::is_directory(pending, ec)) return Status::OK();
    for (const auto& marker : fs::directory_iterator(pending, ec)) {
      const std::string load_id = marker.path().filename().string();
      NILUS_ASSIGN_OR_RAISE(SqlRows done,
                            db_->Query("SELECT 1 FROM _nilus_loads WHERE load_id = $1 LIMIT 1", {load_id}));
      if (done.empty()) {
        for (const char* folder : {"data", "metadata"}) {
          for (const auto& entry : fs::directory_iterator(fs::path(location) / folder, ec)) {
            if (!StartsWith(entry.path().filename().string(), load_id + "-")) continue;
            spdlog::info("removing {}, left by load {} that did not commit", entry.path().string(), load_id);
            fs::remove(entry.path(), ec);
          }
        }
      }
      fs::remove(marker.path(), ec);  // a committed load's marker, left by a run killed just after its commit
    }
    return Status::OK();
  }

  /// Forgets (and deletes) the files this load wrote to `t` so far.
  Status Discard(TableWrite& t) {
    t.writer.reset();
    for (const auto& f : t.files) fs::remove(f.path);
    t.files.clear();
    return Status::OK();
  }

  Status OpenFile(TableWrite& t, const Schema& schema) {
    NILUS_ASSIGN_OR_RAISE(t.ids, t.metadata.ColumnIds(schema));
    fs::path dir = fs::path(t.metadata.location()) / "data";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError("cannot create {}: {}", dir.string(), ec.message());
    t.writing = (dir / fmt::format("{}-{:05d}.parquet", spec_.load_id, files_++)).string();
    parquet::WriterOptions options;
    options.field_ids = t.ids;
    NILUS_ASSIGN_OR_RAISE(t.writer, parquet::ParquetWriter::Open(t.writing, schema, options));
    t.schema = schema;
    t.file_rows = 0;
    return Status::OK();
  }

  Status CloseFile(TableWrite& t) {
    NILUS_ASSIGN_OR_RAISE(parquet::FileSummary summary, t.writer->Close());
    t.writer.reset();
    t.files.push_back({t.writing, std::move(summary)});
    return Status::OK();
  }

  /// Writes the table's new snapshot: the manifest of this load's files, the manifest list
  /// (the earlier manifests too, unless the load replaces the table) and the metadata file.
  Status Snapshot(TableWrite& t, const json& state) {
    if (t.writer) NILUS_RETURN_NOT_OK(CloseFile(t));
    if (t.files.empty() && !t.replace) return Status::OK();
    const int64_t snapshot = NewSnapshotId(), seq = t.metadata.NextSequenceNumber();
    fs::path meta = fs::path(t.metadata.location()) / "metadata";
    std::error_code ec;
    fs::create_directories(meta, ec);
    if (ec) return Status::IOError("cannot create {}: {}", meta.string(), ec.message());

    std::vector<iceberg::ManifestEntry> manifests;
    if (!t.replace && !t.metadata.CurrentManifestList().empty()) {
      NILUS_ASSIGN_OR_RAISE(manifests, iceberg::ReadManifestList(t.metadata.CurrentManifestList()));
    }
    int64_t rows = 0, bytes = 0;
    for (const auto& f : t.files) {
      rows += f.summary.rows;
      bytes += f.summary.bytes;
    }
    if (!t.files.empty()) {
      std::string path = (meta / fmt::format("{}-m0.avro", spec_.load_id)).string();
      NILUS_ASSIGN_OR_RAISE(int64_t length,
                            iceberg::WriteManifest(path, t.metadata, t.schema, t.ids, snapshot, seq, t.files));
      manifests.insert(manifests.begin(),
                       {path, length, seq, seq, snapshot, static_cast<int32_t>(t.files.size()), 0, 0, rows, 0, 0});
    }
    std::string list = (meta / fmt::format("{}-snap-{}.avro", spec_.load_id, snapshot)).string();
    NILUS_RETURN_NOT_OK(iceberg::WriteManifestList(list, snapshot, t.metadata.current_snapshot_id(), seq, manifests));
    json summary = {{"added-data-files", std::to_string(t.files.size())},
                    {"added-records", std::to_string(rows)},
                    {"added-files-size", std::to_string(bytes)},
                    {"nilus.load-id", spec_.load_id},
                    {"nilus.pipeline", spec_.pipeline},
                    {"nilus.state", state.dump()}};
    t.metadata.AddSnapshot(snapshot, list, t.replace ? "overwrite" : "append", summary, t.previous);
    t.new_metadata = (meta / fmt::format("{}-{:05d}.metadata.json", spec_.load_id, seq)).string();
    return WriteWholeFile(t.new_metadata, t.metadata.Dump());
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
    fs::path meta = fs::path(t.new_metadata).parent_path();
    std::error_code ec;
    fs::copy_file(t.new_metadata, meta / fmt::format("v{}.metadata.json", version),
                  fs::copy_options::overwrite_existing, ec);
    Status st = ec ? Status::IOError("{}", ec.message())
                   : WriteWholeFile((meta / "version-hint.text").string(), std::to_string(version));
    if (!st.ok()) spdlog::warn("{}.{}: the version hint was not written ({})", t.ns, t.name, st.ToString());
  }

  std::string warehouse_;
  LoadSpec spec_;
  std::stop_token stop_;
  std::unique_ptr<Load> catalog_load_;
  SqlDialect* db_ = nullptr;
  std::map<std::string, TableWrite> tables_;
  int files_ = 0;
  bool committed_ = false;
};

class LakehouseDestination final : public Destination {
 public:
  LakehouseDestination(std::string warehouse, std::unique_ptr<SqlDestination> catalog, std::stop_token stop)
      : warehouse_(std::move(warehouse)), catalog_(std::move(catalog)), stop_(std::move(stop)) {}

  Result<std::unique_ptr<Load>> Begin(const LoadSpec& spec) override {
    auto load = std::make_unique<LakehouseLoad>(warehouse_, spec, stop_);
    NILUS_RETURN_NOT_OK(load->Begin(*catalog_));
    return std::unique_ptr<Load>(std::move(load));
  }
  Status ResetState(const std::string& pipeline) override { return catalog_->ResetState(pipeline); }

 private:
  std::string warehouse_;
  std::unique_ptr<SqlDestination> catalog_;
  std::stop_token stop_;
};

/// The warehouse folder of `lakehouse:///absolute/path` or `lakehouse://relative/path`.
Result<std::string> WarehousePath(const Uri& uri) {
  std::string path = uri.host().empty() ? uri.path() : uri.host() + uri.path();
  if (path.empty() || path == "/") {
    return Status::InvalidInput(
        "{}: a lakehouse address names its warehouse folder: lakehouse:///absolute/path or lakehouse://relative/path",
        uri.Masked());
  }
  return fs::absolute(path).lexically_normal().string();
}

Result<std::unique_ptr<Destination>> OpenLakehouse(const Uri& uri, std::stop_token stop) {
  NILUS_ASSIGN_OR_RAISE(std::string warehouse, WarehousePath(uri));
  std::error_code ec;
  fs::create_directories(warehouse, ec);
  if (ec) return Status::IOError("cannot create the warehouse folder {}: {}", warehouse, ec.message());
  NILUS_ASSIGN_OR_RAISE(auto catalog, OpenSqliteFile((fs::path(warehouse) / "catalog.db").string(), stop));
  NILUS_RETURN_NOT_OK(catalog->dialect().Exec(kCreateCatalog));
  return std::unique_ptr<Destination>(new LakehouseDestination(warehouse, std::move(catalog), std::move(stop)));
}

}  // namespace

Status RegisterLakehouse(ConnectorRegistry& registry) {
  return registry.AddDestination(
      "lakehouse", OpenLakehouse,
      {.options = {"loader-file-size"}, .not_yet = {"partition-by", "cluster-by", "staging_bucket", "aws_region"}});
}

}  // namespace nilus
