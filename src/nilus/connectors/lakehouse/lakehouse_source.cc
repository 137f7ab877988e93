// The lakehouse as a batch source: the current snapshot of an Iceberg table, read along the
// specification's read path (catalog -> metadata -> manifest list -> manifests -> data files),
// with its position and equality deletes applied, columns matched by field id.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

#include "nilus/connectors/files/files_source.h"
#include "nilus/connectors/lakehouse/iceberg.h"
#include "nilus/connectors/lakehouse/lakehouse_connector.h"
#include "nilus/connectors/lakehouse/table_scan.h"
#include "nilus/connectors/lakehouse/warehouse.h"
#include "nilus/core/strings.h"
#include "nilus/storage/storage.h"

namespace nilus {

namespace {

using iceberg::Deletes;
using iceberg::FileScan;
using iceberg::OutputColumn;
using iceberg::TableFile;
using nlohmann::json;

/// Reads the data files of a snapshot in order (by sequence number, then path), a batch at a
/// time. `state()`: the sequence number read up to and, in a snapshot read in part, the files
/// read whole and the rows of the one read in part.
class TableReader final : public BatchReader {
 public:
  TableReader(std::unique_ptr<Storage> storage, std::vector<TableFile> files, std::unique_ptr<Deletes> deletes,
              std::vector<OutputColumn> output, int64_t read_to, int64_t reading, json done, std::string partial,
              int64_t partial_rows, int64_t page_size, std::stop_token stop)
      : storage_(std::move(storage)),
        files_(std::move(files)),
        deletes_(std::move(deletes)),
        scan_(*storage_, *deletes_, std::move(output), std::move(stop)),
        read_to_(read_to),
        reading_(reading),
        done_(std::move(done)),
        partial_(std::move(partial)),
        partial_rows_(partial_rows),
        page_size_(page_size) {}

  Result<std::shared_ptr<const RecordBatch>> Next() override {
    while (true) {
      if (!open_) {
        if (next_ >= files_.size()) return std::shared_ptr<const RecordBatch>();
        const TableFile& file = files_[next_];
        NILUS_RETURN_NOT_OK(scan_.Open(file, file.path == partial_ ? partial_rows_ : 0));
        open_ = true;
      }
      NILUS_ASSIGN_OR_RAISE(auto batch, scan_.Next(page_size_));
      if (!batch) {
        done_.push_back(files_[next_].path);
        open_ = false;
        ++next_;
        continue;
      }
      if (batch->num_rows() > 0) return batch;
    }
  }

  json state() const override {
    if (next_ >= files_.size()) return {{"read_to", reading_}};
    json out = {{"read_to", read_to_}, {"reading", reading_}, {"files", done_}};
    if (open_) out["partial"] = {{"file", files_[next_].path}, {"rows", scan_.row()}};
    return out;
  }

 private:
  std::unique_ptr<Storage> storage_;
  std::vector<TableFile> files_;
  std::unique_ptr<Deletes> deletes_;
  FileScan scan_;
  int64_t read_to_, reading_;
  json done_;
  std::string partial_;
  int64_t partial_rows_;
  int64_t page_size_;
  size_t next_ = 0;
  bool open_ = false;
};

/// The tables of one warehouse.
class LakehouseSource final : public Source {
 public:
  LakehouseSource(Warehouse warehouse, std::stop_token stop) : warehouse_(std::move(warehouse)), stop_(stop) {}

  Result<std::unique_ptr<BatchReader>> Read(const SourceOptions& options, const ResumePoint& resume) override {
    NILUS_ASSIGN_OR_RAISE(Table t, OpenTable(options));
    const iceberg::TableMetadata& meta = t.metadata;

    // The columns: the current schema's, by field id (the load id column of the load that wrote
    // a row stays behind: the destination gives each row its own).
    std::vector<std::string> names;
    std::vector<OutputColumn> output;
    const auto fields = meta.Fields();
    size_t i = 0;
    for (const auto& f : meta.CurrentSchema()["fields"]) {
      if (!f["type"].is_string()) {
        return Status::InvalidInput("{}: column '{}' is nested, which nilus does not read yet", options.table,
                                    f.value("name", ""));
      }
      const Field& field = fields[i++];
      names.push_back(field.name);
      if (field.name == kLoadIdColumn || !options.Selects(field.name)) continue;
      output.push_back({f["id"].get<int32_t>(), field});
    }
    NILUS_RETURN_NOT_OK(options.CheckSelection(names, options.table));

    // Where the last run stopped: the data files up to sequence number `read_to` were loaded
    // (Iceberg files never change, so the next run reads those added since); within a snapshot
    // read in part, the files read whole and the rows of the one read in part.
    const json& state = resume.state;
    const int64_t read_to = state.value("read_to", int64_t{-1});
    const int64_t reading = meta.current_sequence_number();
    std::set<std::string> done;
    if (auto it = state.find("files"); it != state.end()) {
      for (const auto& f : *it) done.insert(f.get<std::string>());
    }
    std::string partial;
    int64_t partial_rows = 0;
    if (auto it = state.find("partial"); it != state.end()) {
      partial = it->value("file", "");
      partial_rows = it->value("rows", int64_t{0});
    }

    NILUS_ASSIGN_OR_RAISE(auto files, iceberg::ListFiles(*t.storage, meta.CurrentManifestList()));
    std::vector<TableFile> data, delete_files;
    int64_t compacted = 0;
    for (auto& f : files) {
      if (f.content != iceberg::Content::kData) {
        delete_files.push_back(std::move(f));
      } else if (f.sequence_number > read_to && !done.count(f.path)) {
        // A later run skips the files a compaction wrote (a `replace` snapshot changes no row).
        if (read_to >= 0 && meta.Operation(f.snapshot_id) == "replace") {
          ++compacted;
          continue;
        }
        data.push_back(std::move(f));
      }
    }
    // A delete applies only to data files of its sequence number or older: a run that reads the
    // files added since the last one loads only the deletes that can reach them.
    int64_t oldest = INT64_MAX;
    for (const auto& f : data) oldest = std::min(oldest, f.sequence_number);
    auto deletes = std::make_unique<Deletes>();
    int64_t deletes_read = 0;
    for (const auto& f : delete_files) {
      if (f.sequence_number < oldest) continue;
      NILUS_RETURN_NOT_OK(deletes->Add(*t.storage, f, stop_));
      ++deletes_read;
    }
    spdlog::info("{}: snapshot {}: {} data files to read, {} delete files applied", options.table,
                 meta.current_snapshot_id(), data.size(), deletes_read);
    deletes->Finish();
    std::sort(data.begin(), data.end(), [](const TableFile& a, const TableFile& b) {
      return std::tie(a.sequence_number, a.path) < std::tie(b.sequence_number, b.path);
    });
    if (read_to >= 0) {
      spdlog::info("{}: the data files added since sequence number {}{}", options.table, read_to,
                   compacted ? fmt::format(" ({} rewritten by compaction skipped)", compacted) : std::string());
    }
    json done_list = json::array();
    for (const auto& f : done) done_list.push_back(f);
    return std::unique_ptr<BatchReader>(new TableReader(std::move(t.storage), std::move(data), std::move(deletes),
                                                        std::move(output), read_to, reading, std::move(done_list),
                                                        std::move(partial), partial_rows, options.page_size, stop_));
  }

  Result<std::optional<std::vector<std::string>>> ColumnNames(const SourceOptions& options) override {
    NILUS_ASSIGN_OR_RAISE(Table t, OpenTable(options));
    std::vector<std::string> names;
    for (const auto& f : t.metadata.Fields()) {
      if (f.name != kLoadIdColumn) names.push_back(f.name);
    }
    return std::optional<std::vector<std::string>>(std::move(names));
  }

 private:
  struct Table {
    std::unique_ptr<Storage> storage;
    iceberg::TableMetadata metadata;
  };

  /// The table `source-table` names (namespace.table), at its current metadata.
  Result<Table> OpenTable(const SourceOptions& options) {
    const std::string& name = options.table;
    const size_t dot = name.find('.');
    if (name.empty() || dot == std::string::npos || dot == 0 || dot + 1 == name.size()) {
      return Status::InvalidInput("source-table must name a table of the warehouse as namespace.table, got '{}'", name);
    }
    const std::string ns = name.substr(0, dot), table = name.substr(dot + 1);
    if (!StartsWith(warehouse_.root, "s3://") && !std::filesystem::is_directory(warehouse_.root)) {
      return Status::InvalidInput("there is no lakehouse warehouse at {}; check the source address", warehouse_.root);
    }
    NILUS_ASSIGN_OR_RAISE(auto catalog, OpenCatalog(warehouse_, stop_));
    NILUS_ASSIGN_OR_RAISE(SqlRows rows, catalog->dialect().Query("SELECT metadata_location FROM iceberg_tables WHERE "
                                                                 "catalog_name = $1 AND table_namespace = $2 AND "
                                                                 "table_name = $3",
                                                                 {kCatalogName, ns, table}));
    if (rows.empty() || !rows[0][0]) {
      SqlRows known;
      auto listed = catalog->dialect().Query(
          "SELECT table_namespace || '.' || table_name FROM iceberg_tables WHERE catalog_name = $1 ORDER BY 1",
          {kCatalogName});
      std::vector<std::string> tables;
      if (listed.ok()) {
        for (const auto& r : *listed) tables.push_back(r[0].value_or(""));
      }
      return Status::InvalidInput("the warehouse {} has no table {}{}", warehouse_.root, name,
                                  tables.empty() ? std::string(" (it has none)") : "; it has: " + Join(tables, ", "));
    }
    Table t;
    NILUS_ASSIGN_OR_RAISE(t.storage, OpenStorage(warehouse_.root, ""));
    NILUS_ASSIGN_OR_RAISE(std::string text, t.storage->Read(*rows[0][0]));
    NILUS_ASSIGN_OR_RAISE(t.metadata, iceberg::TableMetadata::Parse(text, *rows[0][0]));
    return t;
  }

  Warehouse warehouse_;
  std::stop_token stop_;
};

/// Whether `source-table` names an Iceberg table (namespace.table) rather than an object (a key
/// with a folder, a glob or a file's extension).
bool NamesTable(const std::string& table) {
  if (table.find_first_of("/*?[") != std::string::npos || std::count(table.begin(), table.end(), '.') != 1) {
    return false;
  }
  static const std::set<std::string> kExtensions = {"parquet", "csv", "jsonl", "ndjson", "gz", "zst"};
  return !kExtensions.count(ToLower(table.substr(table.find('.') + 1)));
}

/// `s3://bucket/prefix`: with `source-table: namespace.table`, a table of the warehouse there;
/// otherwise objects of the bucket (the files source).
class BucketSource final : public Source {
 public:
  BucketSource(Uri uri, std::stop_token stop) : uri_(std::move(uri)), stop_(std::move(stop)) {}

  Result<std::unique_ptr<BatchReader>> Read(const SourceOptions& options, const ResumePoint& resume) override {
    NILUS_ASSIGN_OR_RAISE(Source * source, For(options));
    return source->Read(options, resume);
  }
  Result<std::optional<std::vector<std::string>>> ColumnNames(const SourceOptions& options) override {
    NILUS_ASSIGN_OR_RAISE(Source * source, For(options));
    return source->ColumnNames(options);
  }

 private:
  Result<Source*> For(const SourceOptions& options) {
    if (!NamesTable(options.table)) {
      if (!files_) {
        NILUS_ASSIGN_OR_RAISE(files_, OpenFilesSource(uri_, stop_));
      }
      return files_.get();
    }
    for (const auto& [option, where] : options.given) {
      if (option == "max-table-nesting" || option == "date-detection") {
        return Status::InvalidInput(
            "{}: {} is for files of a bucket; a lakehouse table's columns are typed and flat, so it does nothing here",
            where, option);
      }
    }
    if (!table_) {
      NILUS_RETURN_NOT_OK(CheckNoParameters(uri_));
      NILUS_ASSIGN_OR_RAISE(Warehouse warehouse, S3Warehouse(uri_));
      table_ = std::make_unique<LakehouseSource>(std::move(warehouse), stop_);
    }
    return table_.get();
  }

  Uri uri_;
  std::stop_token stop_;
  std::unique_ptr<Source> files_, table_;
};

}  // namespace

Status RegisterLakehouseSources(ConnectorRegistry& registry) {
  NILUS_RETURN_NOT_OK(
      registry.AddSource("lakehouse", [](const Uri& uri, std::stop_token stop) -> Result<std::unique_ptr<Source>> {
        NILUS_RETURN_NOT_OK(CheckNoParameters(uri));
        NILUS_ASSIGN_OR_RAISE(Warehouse warehouse, LocalWarehouse(uri));
        return std::unique_ptr<Source>(new LakehouseSource(std::move(warehouse), std::move(stop)));
      }));
  return registry.AddSource("s3",
                            [](const Uri& uri, std::stop_token stop) -> Result<std::unique_ptr<Source>> {
                              if (uri.host().empty()) {
                                return Status::InvalidInput("{}: an S3 address names its bucket: s3://bucket/key",
                                                            uri.Masked());
                              }
                              return std::unique_ptr<Source>(new BucketSource(uri, std::move(stop)));
                            },
                            {.options = {"max-table-nesting", "date-detection"}});
}

}  // namespace nilus
