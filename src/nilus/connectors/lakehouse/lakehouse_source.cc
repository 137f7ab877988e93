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
#include "nilus/connectors/lakehouse/sort_key.h"
#include "nilus/connectors/lakehouse/warehouse.h"
#include "nilus/core/strings.h"
#include "nilus/formats/avro/avro_reader.h"
#include "nilus/formats/parquet/parquet_reader.h"
#include "nilus/storage/storage.h"

namespace nilus {

namespace {

using nlohmann::json;

/// A batch is cut at `page-size` rows or at this many bytes.
constexpr int64_t kMaxBatchBytes = 64 << 20;

/// A file of the table's current snapshot, as its manifest lists it.
struct TableFile {
  std::string path;
  iceberg::Content content = iceberg::Content::kData;
  int64_t sequence_number = 0;  // the data sequence number: which deletes apply to it
  int64_t snapshot_id = 0;      // the snapshot that added it
  /// Its partition (spec id and tuple) as text; "" for a file of an unpartitioned spec.
  std::string partition;
  std::vector<int32_t> equality_ids;
};

/// The live files of the snapshot whose manifest list is `list`.
Result<std::vector<TableFile>> ListFiles(Storage& storage, const std::string& list) {
  std::vector<TableFile> out;
  if (list.empty()) return out;  // a table without a snapshot
  NILUS_ASSIGN_OR_RAISE(std::string list_bytes, storage.Read(list));
  NILUS_ASSIGN_OR_RAISE(auto manifests, iceberg::ReadManifestList(list_bytes, list));
  for (const auto& m : manifests) {
    NILUS_ASSIGN_OR_RAISE(std::string bytes, storage.Read(m.path));
    NILUS_ASSIGN_OR_RAISE(avro::File file, avro::Decode(bytes, m.path));
    for (const json& r : file.records) {
      if (r.value("status", 0) == 2) continue;  // deleted by this snapshot
      const json& d = r.at("data_file");
      TableFile f;
      f.path = d.value("file_path", "");
      if (ToLower(d.value("file_format", "PARQUET")) != "parquet") {
        return Status::InvalidInput("{}: the table holds a {} file ({}); nilus reads Parquet data files", m.path,
                                    d.value("file_format", ""), f.path);
      }
      f.content = static_cast<iceberg::Content>(d.value("content", 0));
      // An added file inherits its snapshot and sequence number from the manifest.
      auto number = [&](const char* key, int64_t inherited) {
        auto it = r.find(key);
        return it == r.end() || it->is_null() ? inherited : it->get<int64_t>();
      };
      f.sequence_number = number("sequence_number", m.sequence_number);
      f.snapshot_id = number("snapshot_id", m.added_snapshot_id);
      auto partition = d.find("partition");
      if (partition != d.end() && partition->is_object() && !partition->empty()) {
        f.partition = std::to_string(m.spec_id) + partition->dump();
      }
      if (auto ids = d.find("equality_ids"); ids != d.end() && ids->is_array()) {
        for (const auto& id : *ids) f.equality_ids.push_back(id.get<int32_t>());
      }
      out.push_back(std::move(f));
    }
  }
  return out;
}

Result<std::unique_ptr<parquet::ParquetReader>> OpenFile(Storage& storage, const std::string& path) {
  NILUS_ASSIGN_OR_RAISE(int64_t size, storage.Size(path));
  auto read = [&storage, path](int64_t offset, int64_t length) { return storage.ReadRange(path, offset, length); };
  return parquet::ParquetReader::Open(path, size, read);
}

/// The reader's column of field `id` (or, in a file without field ids, named `name`); -1 when
/// the file has none.
int ColumnOf(const parquet::ParquetReader& reader, int32_t id, const std::string& name) {
  const auto& columns = reader.columns();
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].field_id == id) return static_cast<int>(i);
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].field_id < 0 && columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

/// The rows the snapshot's delete files take out of its data files. Memory: the deletes (a
/// table merged often without compaction holds many).
class Deletes {
 public:
  bool empty() const { return positions_.empty() && equality_.empty(); }

  Status Add(Storage& storage, const TableFile& file, std::stop_token stop) {
    NILUS_ASSIGN_OR_RAISE(auto reader, OpenFile(storage, file.path));
    std::vector<int> columns;
    if (file.content == iceberg::Content::kPositionDeletes) {
      columns = {ColumnOf(*reader, iceberg::kDeleteFilePathId, "file_path"),
                 ColumnOf(*reader, iceberg::kDeletePosId, "pos")};
    } else {
      for (int32_t id : file.equality_ids) columns.push_back(ColumnOf(*reader, id, ""));
    }
    if (columns.empty() || std::count(columns.begin(), columns.end(), -1) > 0) {
      return Status::InvalidInput("{}: a delete file without the columns its manifest says it has", file.path);
    }
    NILUS_RETURN_NOT_OK(reader->Select(columns));
    EqualityKeys* keys = nullptr;
    if (file.content == iceberg::Content::kEqualityDeletes) {
      auto it = std::find_if(equality_.begin(), equality_.end(),
                             [&](const EqualityKeys& e) { return e.ids == file.equality_ids; });
      if (it == equality_.end()) it = equality_.insert(equality_.end(), EqualityKeys{file.equality_ids, {}});
      keys = &*it;
    }
    std::string key;
    while (true) {
      if (stop.stop_requested()) return Status::Cancelled("interrupted");
      NILUS_ASSIGN_OR_RAISE(auto batch, reader->Next(65536, kMaxBatchBytes));
      if (!batch) break;
      for (int64_t r = 0; r < batch->num_rows(); ++r) {
        if (!keys) {
          auto& list = positions_[std::string(batch->column(0).View(r))];
          list.emplace_back(batch->column(1).Int64(r), file.sequence_number);
          continue;
        }
        key.assign(file.partition).push_back('\0');
        for (size_t c = 0; c < batch->num_columns(); ++c) iceberg::AppendSortKey(&batch->column(c), r, key);
        int64_t& seq = keys->sequence_by_key[key];
        seq = std::max(seq, file.sequence_number);
      }
    }
    return Status::OK();
  }

  /// Sorts what Add gathered; before Filter.
  void Finish() {
    for (auto& [path, list] : positions_) std::sort(list.begin(), list.end());
  }

  /// The ids of the columns equality deletes match on: a data file's batches must hold them.
  std::set<int32_t> EqualityIds() const {
    std::set<int32_t> out;
    for (const auto& e : equality_) out.insert(e.ids.begin(), e.ids.end());
    return out;
  }

  /// Whether any delete may take out a row of `file`.
  bool Touches(const TableFile& file) const { return !equality_.empty() || positions_.count(file.path) > 0; }

  /// Clears `keep[r]` for the rows of `batch` (rows `first` … of `file`) that a delete takes
  /// out. `column_of_id` gives the batch's column of a field id (-1: the file lacks it).
  void Filter(const TableFile& file, int64_t first, const RecordBatch& batch,
              const std::unordered_map<int32_t, int>& column_of_id, std::vector<bool>& keep) const {
    const int64_t n = batch.num_rows();
    // A position delete applies to data files of the same or an older sequence number.
    if (auto it = positions_.find(file.path); it != positions_.end()) {
      const auto& list = it->second;
      for (auto p = std::lower_bound(list.begin(), list.end(), std::pair<int64_t, int64_t>{first, INT64_MIN});
           p != list.end() && p->first < first + n; ++p) {
        if (p->second >= file.sequence_number) keep[p->first - first] = false;
      }
    }
    // An equality delete applies to data files of an older sequence number, in its partition
    // (every partition, for a delete of an unpartitioned spec).
    std::string key;
    for (const auto& e : equality_) {
      std::vector<const Column*> columns;
      for (int32_t id : e.ids) {
        auto c = column_of_id.find(id);
        columns.push_back(c == column_of_id.end() || c->second < 0 ? nullptr : &batch.column(c->second));
      }
      for (int64_t r = 0; r < n; ++r) {
        if (!keep[r]) continue;
        for (const std::string* scope : {&kEverywhere, &file.partition}) {
          if (scope == &file.partition && file.partition.empty()) break;
          key.assign(*scope).push_back('\0');
          for (const Column* c : columns) iceberg::AppendSortKey(c, r, key);
          auto hit = e.sequence_by_key.find(key);
          if (hit != e.sequence_by_key.end() && hit->second > file.sequence_number) keep[r] = false;
        }
      }
    }
  }

 private:
  struct EqualityKeys {
    std::vector<int32_t> ids;
    std::unordered_map<std::string, int64_t> sequence_by_key;  // the newest delete of each key
  };
  static inline const std::string kEverywhere;

  std::unordered_map<std::string, std::vector<std::pair<int64_t, int64_t>>> positions_;  // (pos, sequence)
  std::vector<EqualityKeys> equality_;
};

/// A column of the table the reader returns.
struct OutputColumn {
  int32_t id;
  Field field;
};

/// Reads the data files of a snapshot in order (by sequence number, then path), a batch at a
/// time. `state()`: the sequence number read up to and, in a snapshot read in part, the files
/// read whole and the rows of the one read in part.
class TableReader final : public BatchReader {
 public:
  TableReader(std::unique_ptr<Storage> storage, std::vector<TableFile> files, Deletes deletes,
              std::vector<OutputColumn> output, int64_t read_to, int64_t reading, json done, std::string partial,
              int64_t partial_rows, int64_t page_size, std::stop_token stop)
      : storage_(std::move(storage)),
        files_(std::move(files)),
        deletes_(std::move(deletes)),
        output_(std::move(output)),
        read_to_(read_to),
        reading_(reading),
        done_(std::move(done)),
        partial_(std::move(partial)),
        partial_rows_(partial_rows),
        page_size_(page_size),
        stop_(std::move(stop)) {
    for (const auto& o : output_) schema_.AddField(o.field);
  }

  Result<std::shared_ptr<const RecordBatch>> Next() override {
    while (true) {
      if (stop_.stop_requested()) return Status::Cancelled("interrupted");
      if (!reader_) {
        if (next_ >= files_.size()) return std::shared_ptr<const RecordBatch>();
        NILUS_RETURN_NOT_OK(OpenNext());
      }
      NILUS_ASSIGN_OR_RAISE(auto batch, reader_->Next(page_size_, kMaxBatchBytes));
      if (!batch) {
        done_.push_back(files_[next_].path);
        reader_.reset();
        ++next_;
        continue;
      }
      const int64_t first = row_;
      row_ += batch->num_rows();
      auto out = Project(*batch, first);
      if (out->num_rows() > 0) return out;
    }
  }

  json state() const override {
    if (next_ >= files_.size()) return {{"read_to", reading_}};
    json out = {{"read_to", read_to_}, {"reading", reading_}, {"files", done_}};
    if (reader_) out["partial"] = {{"file", files_[next_].path}, {"rows", row_}};
    return out;
  }

 private:
  Status OpenNext() {
    const TableFile& file = files_[next_];
    spdlog::debug("reading {}", file.path);
    NILUS_ASSIGN_OR_RAISE(reader_, OpenFile(*storage_, file.path));
    // The file's columns of the output, then those equality deletes match on.
    std::vector<int> selected;
    column_of_id_.clear();
    auto take = [&](int32_t id, const std::string& name) {
      if (column_of_id_.count(id)) return;
      int c = ColumnOf(*reader_, id, name);
      column_of_id_[id] = c < 0 ? -1 : static_cast<int>(selected.size());
      if (c >= 0) selected.push_back(c);
    };
    for (const auto& o : output_) take(o.id, o.field.name);
    if (deletes_.Touches(file)) {
      for (int32_t id : deletes_.EqualityIds()) take(id, "");
    }
    NILUS_RETURN_NOT_OK(reader_->Select(std::move(selected)));
    row_ = 0;
    if (file.path == partial_) {
      NILUS_RETURN_NOT_OK(reader_->Skip(partial_rows_));
      row_ = partial_rows_;
    }
    return Status::OK();
  }

  /// The output columns of `batch` (rows `first` … of the file), without the deleted rows; a
  /// column the file lacks (added to the table later) is NULL.
  std::shared_ptr<const RecordBatch> Project(const RecordBatch& batch, int64_t first) {
    const TableFile& file = files_[next_];
    const int64_t n = batch.num_rows();
    std::vector<bool> keep(n, true);
    bool filtered = false;
    if (deletes_.Touches(file)) {
      deletes_.Filter(file, first, batch, column_of_id_, keep);
      filtered = std::count(keep.begin(), keep.end(), false) > 0;
    }
    const int64_t rows = filtered ? std::count(keep.begin(), keep.end(), true) : n;
    std::vector<RecordBatch::ColumnPtr> columns;
    for (const auto& o : output_) {
      const int c = column_of_id_.at(o.id);
      if (c >= 0 && !filtered && batch.column(c).type() == o.field.type) {
        columns.push_back(batch.column_ptr(c));
        continue;
      }
      auto column = std::make_shared<Column>(o.field.type);
      column->Reserve(rows);
      for (int64_t r = 0; r < n; ++r) {
        if (!keep[r]) continue;
        if (c < 0) {
          column->AppendNull();
        } else {
          column->AppendFrom(batch.column(c), r);
        }
      }
      columns.push_back(std::move(column));
    }
    return std::make_shared<RecordBatch>(schema_, std::move(columns), rows);
  }

  std::unique_ptr<Storage> storage_;
  std::vector<TableFile> files_;
  Deletes deletes_;
  std::vector<OutputColumn> output_;
  Schema schema_;
  int64_t read_to_, reading_;
  json done_;
  std::string partial_;
  int64_t partial_rows_;
  int64_t page_size_;
  std::stop_token stop_;
  size_t next_ = 0;
  std::unique_ptr<parquet::ParquetReader> reader_;
  std::unordered_map<int32_t, int> column_of_id_;  // field id -> column of the reader's batches
  int64_t row_ = 0;                                // rows of the open file read (or skipped)
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

    NILUS_ASSIGN_OR_RAISE(auto files, ListFiles(*t.storage, meta.CurrentManifestList()));
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
    Deletes deletes;
    int64_t deletes_read = 0;
    for (const auto& f : delete_files) {
      if (f.sequence_number < oldest) continue;
      NILUS_RETURN_NOT_OK(deletes.Add(*t.storage, f, stop_));
      ++deletes_read;
    }
    spdlog::info("{}: snapshot {}: {} data files to read, {} delete files applied", options.table,
                 meta.current_snapshot_id(), data.size(), deletes_read);
    deletes.Finish();
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
