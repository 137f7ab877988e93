#include "nilus/connectors/lakehouse/table_scan.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "nilus/connectors/lakehouse/sort_key.h"
#include "nilus/core/strings.h"
#include "nilus/formats/avro/avro_reader.h"

namespace nilus::iceberg {

namespace {

using nlohmann::json;

/// A batch is cut at the rows asked for or at this many bytes.
constexpr int64_t kMaxBatchBytes = 64 << 20;

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

/// The scope of an equality delete of an unpartitioned spec: every partition.
const std::string kEverywhere;

}  // namespace

Result<std::vector<TableFile>> ListFiles(Storage& storage, const std::string& list) {
  std::vector<TableFile> out;
  if (list.empty()) return out;
  NILUS_ASSIGN_OR_RAISE(std::string list_bytes, storage.Read(list));
  NILUS_ASSIGN_OR_RAISE(auto manifests, ReadManifestList(list_bytes, list));
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
      f.content = static_cast<Content>(d.value("content", 0));
      // An added file inherits its snapshot and sequence number from the manifest.
      auto number = [&](const char* key, int64_t inherited) {
        auto it = r.find(key);
        return it == r.end() || it->is_null() ? inherited : it->get<int64_t>();
      };
      f.sequence_number = number("sequence_number", m.sequence_number);
      f.snapshot_id = number("snapshot_id", m.added_snapshot_id);
      f.rows = d.value("record_count", int64_t{0});
      f.bytes = d.value("file_size_in_bytes", int64_t{0});
      f.spec_id = m.spec_id;
      f.manifest = m.path;
      auto partition = d.find("partition");
      if (partition != d.end() && partition->is_object() && !partition->empty()) {
        f.partition_value = *partition;
        f.partition = std::to_string(m.spec_id) + partition->dump();
      }
      if (auto ids = d.find("equality_ids"); ids != d.end() && ids->is_array()) {
        for (const auto& id : *ids) f.equality_ids.push_back(id.get<int32_t>());
      }
      if (auto order = d.find("sort_order_id"); order != d.end() && order->is_number()) {
        f.sort_order_id = order->get<int32_t>();
      }
      out.push_back(std::move(f));
    }
  }
  return out;
}

Result<std::unique_ptr<parquet::ParquetReader>> OpenParquet(Storage& storage, const std::string& path) {
  NILUS_ASSIGN_OR_RAISE(int64_t size, storage.Size(path));
  auto read = [&storage, path](int64_t offset, int64_t length) { return storage.ReadRange(path, offset, length); };
  return parquet::ParquetReader::Open(path, size, read);
}

Status Deletes::Add(Storage& storage, const TableFile& file, std::stop_token stop) {
  NILUS_ASSIGN_OR_RAISE(auto reader, OpenParquet(storage, file.path));
  std::vector<int> columns;
  if (file.content == Content::kPositionDeletes) {
    columns = {ColumnOf(*reader, kDeleteFilePathId, "file_path"), ColumnOf(*reader, kDeletePosId, "pos")};
  } else {
    for (int32_t id : file.equality_ids) columns.push_back(ColumnOf(*reader, id, ""));
  }
  if (columns.empty() || std::count(columns.begin(), columns.end(), -1) > 0) {
    return Status::InvalidInput("{}: a delete file without the columns its manifest says it has", file.path);
  }
  NILUS_RETURN_NOT_OK(reader->Select(columns));
  EqualityKeys* keys = nullptr;
  if (file.content == Content::kEqualityDeletes) {
    auto it = std::find_if(equality_.begin(), equality_.end(),
                           [&](const EqualityKeys& e) { return e.ids == file.equality_ids; });
    if (it == equality_.end()) it = equality_.insert(equality_.end(), EqualityKeys{file.equality_ids, {}, {}});
    keys = &*it;
  }
  std::string key;
  while (true) {
    if (stop.stop_requested()) return Status::Cancelled("interrupted");
    NILUS_ASSIGN_OR_RAISE(auto batch, reader->Next(65536, kMaxBatchBytes));
    if (!batch) break;
    const bool one_int = keys && file.partition.empty() && batch->num_columns() == 1 &&
                         batch->column(0).type().layout() == PhysicalLayout::kInt64;
    for (int64_t r = 0; r < batch->num_rows(); ++r) {
      if (!keys) {
        auto& list = positions_[std::string(batch->column(0).View(r))];
        list.emplace_back(batch->column(1).Int64(r), file.sequence_number);
        continue;
      }
      if (one_int && !batch->column(0).IsNull(r)) {
        int64_t& seq = keys->sequence_by_int[batch->column(0).Int64(r)];
        seq = std::max(seq, file.sequence_number);
        continue;
      }
      key.assign(file.partition).push_back('\0');
      for (size_t c = 0; c < batch->num_columns(); ++c) AppendSortKey(&batch->column(c), r, key);
      int64_t& seq = keys->sequence_by_key[key];
      seq = std::max(seq, file.sequence_number);
    }
  }
  return Status::OK();
}

void Deletes::Add(const TableFile& file, std::vector<int64_t> positions) {
  auto& list = positions_[file.path];
  for (int64_t pos : positions) list.emplace_back(pos, file.sequence_number);
  std::sort(list.begin(), list.end());
}

void Deletes::Finish() {
  for (auto& [path, list] : positions_) std::sort(list.begin(), list.end());
}

std::set<int32_t> Deletes::EqualityIds() const {
  std::set<int32_t> out;
  for (const auto& e : equality_) out.insert(e.ids.begin(), e.ids.end());
  return out;
}

void Deletes::Filter(const TableFile& file, int64_t first, const RecordBatch& batch,
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
    const bool one_int = !e.sequence_by_int.empty() && columns.size() == 1 && columns[0] &&
                         columns[0]->type().layout() == PhysicalLayout::kInt64;
    for (int64_t r = 0; r < n; ++r) {
      if (!keep[r]) continue;
      if (one_int && !columns[0]->IsNull(r)) {
        auto hit = e.sequence_by_int.find(columns[0]->Int64(r));
        if (hit != e.sequence_by_int.end() && hit->second > file.sequence_number) {
          keep[r] = false;
          continue;
        }
      }
      if (e.sequence_by_key.empty()) continue;
      for (const std::string* scope : {&kEverywhere, &file.partition}) {
        if (scope == &file.partition && file.partition.empty()) break;
        key.assign(*scope).push_back('\0');
        for (const Column* c : columns) AppendSortKey(c, r, key);
        auto hit = e.sequence_by_key.find(key);
        if (hit != e.sequence_by_key.end() && hit->second > file.sequence_number) keep[r] = false;
      }
    }
  }
}

FileScan::FileScan(Storage& storage, const Deletes& deletes, std::vector<OutputColumn> output, std::stop_token stop)
    : storage_(storage), deletes_(deletes), output_(std::move(output)), stop_(std::move(stop)) {
  for (const auto& o : output_) schema_.AddField(o.field);
}

Status FileScan::Open(const TableFile& file, int64_t skip) {
  spdlog::debug("reading {}", file.path);
  file_ = &file;
  NILUS_ASSIGN_OR_RAISE(reader_, OpenParquet(storage_, file.path));
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
  // A scan that needs none of the file's columns still counts its rows: it reads the first
  // column it can.
  for (size_t c = 0; selected.empty() && c < reader_->columns().size(); ++c) {
    if (reader_->columns()[c].unsupported.empty()) selected.push_back(static_cast<int>(c));
  }
  NILUS_RETURN_NOT_OK(reader_->Select(std::move(selected)));
  row_ = 0;
  deleted_.clear();
  if (skip > 0) {
    NILUS_RETURN_NOT_OK(reader_->Skip(skip));
    row_ = skip;
  }
  return Status::OK();
}

Result<std::shared_ptr<const RecordBatch>> FileScan::Next(int64_t rows) {
  if (stop_.stop_requested()) return Status::Cancelled("interrupted");
  NILUS_ASSIGN_OR_RAISE(auto batch, reader_->Next(rows, kMaxBatchBytes));
  if (!batch) return batch;
  const int64_t first = row_;
  row_ += batch->num_rows();
  return Project(*batch, first);
}

std::shared_ptr<const RecordBatch> FileScan::Project(const RecordBatch& batch, int64_t first) {
  const int64_t n = batch.num_rows();
  std::vector<bool> keep(n, true);
  bool filtered = false;
  if (deletes_.Touches(*file_)) {
    deletes_.Filter(*file_, first, batch, column_of_id_, keep);
    filtered = std::count(keep.begin(), keep.end(), false) > 0;
    for (int64_t r = 0; filtered && r < n; ++r) {
      if (!keep[r]) deleted_.push_back(first + r);
    }
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

}  // namespace nilus::iceberg
