#include "nilus/connectors/lakehouse/compaction.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "nilus/formats/avro/avro_writer.h"

namespace nilus::iceberg {

namespace {

using nlohmann::json;

/// Rows are read and written this many at a time.
constexpr int64_t kBatchRows = 65536;

/// The Avro encoding of `file`'s partition tuple, as manifests hold it.
Result<std::string> PartitionBytes(const TableMetadata& table, const TableFile& file) {
  NILUS_ASSIGN_OR_RAISE(std::vector<PartitionTransform> spec, table.Spec(file.spec_id));
  json fields = json::array();
  for (const auto& f : spec) fields.push_back(f.AvroField());
  std::string out;
  if (fields.empty()) return out;
  std::map<std::string, json> names;
  NILUS_RETURN_NOT_OK(
      avro::EncodeJson({{"type", "record"}, {"name", "r102"}, {"fields", fields}}, file.partition_value, out, names)
          .WithContext("the partition of " + file.path));
  return out;
}

/// The positions of the rows of `file` that the deletes take out (its key columns are read).
Result<std::vector<int64_t>> DeletedRows(Storage& storage, const Deletes& deletes, const TableFile& file,
                                         std::stop_token stop) {
  FileScan scan(storage, deletes, {}, stop);
  NILUS_RETURN_NOT_OK(scan.Open(file));
  while (true) {
    NILUS_ASSIGN_OR_RAISE(auto batch, scan.Next(kBatchRows));
    if (!batch) return scan.deleted();
  }
}

/// Writes one Parquet file of `batches`' rows at a path `output` gives; returns it as a
/// manifest lists it (content, partition and sequence number to be set by the caller).
class FileOut {
 public:
  FileOut(Storage& storage, const CompactionOutput& output, const Schema& schema, std::vector<int32_t> ids)
      : storage_(storage), output_(output), schema_(schema), ids_(std::move(ids)) {}

  bool open() const { return writer_ != nullptr; }
  int64_t EstimatedSize() const { return writer_->EstimatedSize(); }

  Status Write(const RecordBatch& batch) {
    if (!writer_) {
      path_ = output_.path();
      parquet::WriterOptions options = output_.options;
      options.field_ids = ids_;
      NILUS_ASSIGN_OR_RAISE(std::string staging, storage_.StagingPath(path_));
      NILUS_ASSIGN_OR_RAISE(writer_, parquet::ParquetWriter::Open(staging, schema_, options));
    }
    return writer_->Write(batch);
  }

  Result<DataFile> Close() {
    DataFile file;
    NILUS_ASSIGN_OR_RAISE(file.summary, writer_->Close());
    writer_.reset();
    NILUS_RETURN_NOT_OK(storage_.Publish(path_));
    file.path = path_;
    file.ids = ids_;
    for (const auto& f : schema_.fields()) file.types.push_back(f.type);
    return file;
  }

 private:
  Storage& storage_;
  const CompactionOutput& output_;
  Schema schema_;
  std::vector<int32_t> ids_;
  std::string path_;
  std::unique_ptr<parquet::ParquetWriter> writer_;
};

}  // namespace

bool CompactionPolicy::Due(int64_t data_rows, int64_t equality, int64_t delete_rows) const {
  if (equality_files > 0 && equality >= equality_files) return true;
  return delete_ratio > 0 && delete_rows > 0 &&
         static_cast<double>(delete_rows) >= delete_ratio * static_cast<double>(data_rows);
}

Result<Compaction> Compact(Storage& storage, const TableMetadata& table, const std::vector<TableFile>& files,
                           const CompactionOutput& output, std::stop_token stop) {
  // Every column of the table, the load id of each row's load too.
  std::vector<OutputColumn> columns;
  const std::vector<Field> fields = table.Fields();
  size_t i = 0;
  for (const auto& f : table.CurrentSchema()["fields"]) {
    if (!f["type"].is_string()) {
      return Status::FailedPrecondition("column '{}' is nested, which nilus does not rewrite", f.value("name", ""));
    }
    columns.push_back({f["id"].get<int32_t>(), fields[i++]});
  }

  Compaction out;
  Deletes deletes;
  int64_t newest_equality = -1;
  std::vector<const TableFile*> data;
  for (const auto& f : files) {
    if (f.content == Content::kData) {
      data.push_back(&f);
      continue;
    }
    NILUS_RETURN_NOT_OK(deletes.Add(storage, f, stop));
    out.removed.insert(f.path);
    ++out.delete_files;
    if (f.content == Content::kEqualityDeletes) newest_equality = std::max(newest_equality, f.sequence_number);
  }
  deletes.Finish();

  // Each data file that loses rows, or is small: rewritten with the others of its partition, or
  // its lost rows named by position.
  using Partition = std::pair<int32_t, std::string>;
  std::map<Partition, std::vector<const TableFile*>> rewrite;
  std::map<Partition, std::vector<std::pair<const TableFile*, std::vector<int64_t>>>> positions;
  std::map<Partition, int> small_files;
  Deletes found;
  for (const TableFile* f : data) small_files[{f->spec_id, f->partition}] += f->bytes < output.small_bytes;
  for (const TableFile* f : data) {
    // A small file is merged with the other small ones of its partition.
    const bool small = f->bytes < output.small_bytes && small_files[{f->spec_id, f->partition}] > 1;
    std::vector<int64_t> lost;
    if (deletes.HasPositions(*f) || newest_equality > f->sequence_number) {
      NILUS_ASSIGN_OR_RAISE(lost, DeletedRows(storage, deletes, *f, stop));
    }
    const Partition partition{f->spec_id, f->partition};
    if (small || static_cast<double>(lost.size()) >= kRewriteShare * static_cast<double>(f->rows)) {
      if (small || !lost.empty()) rewrite[partition].push_back(f);
      // The rewrite takes out the rows found here, by position (no key is matched again).
      if (!lost.empty()) found.Add(*f, std::move(lost));
    } else if (!lost.empty()) {
      positions[partition].emplace_back(f, std::move(lost));
    }
  }

  Schema schema;
  std::vector<int32_t> ids;
  for (const auto& c : columns) {
    schema.AddField(c.field);
    ids.push_back(c.id);
  }
  for (auto& [partition, group] : rewrite) {
    std::sort(group.begin(), group.end(), [](const TableFile* a, const TableFile* b) {
      return std::tie(a->sequence_number, a->path) < std::tie(b->sequence_number, b->path);
    });
    NILUS_ASSIGN_OR_RAISE(std::string tuple, PartitionBytes(table, *group[0]));
    FileOut file(storage, output, schema, ids);
    auto close = [&]() -> Status {
      NILUS_ASSIGN_OR_RAISE(DataFile done, file.Close());
      done.spec_id = partition.first;
      done.partition = tuple;
      // The rows keep their order when one file is rewritten: its sort order too.
      done.sort_order_id = group.size() == 1 ? group[0]->sort_order_id : 0;
      done.sequence_number = group.back()->sequence_number;
      out.added.push_back(std::move(done));
      return Status::OK();
    };
    FileScan scan(storage, found, columns, stop);
    for (const TableFile* f : group) {
      NILUS_RETURN_NOT_OK(scan.Open(*f));
      while (true) {
        NILUS_ASSIGN_OR_RAISE(auto batch, scan.Next(kBatchRows));
        if (!batch) break;
        if (batch->num_rows() == 0) continue;
        NILUS_RETURN_NOT_OK(file.Write(*batch));
        if (file.EstimatedSize() >= output.file_bytes) NILUS_RETURN_NOT_OK(close());
      }
      out.removed.insert(f->path);
      ++out.rewritten_files;
      out.rewritten_rows += scan.row();
      out.deleted_rows += static_cast<int64_t>(scan.deleted().size());
    }
    if (file.open()) NILUS_RETURN_NOT_OK(close());
  }

  // The position deletes of each partition's files that keep the rows they lose, in (file,
  // position) order, as the specification asks.
  Schema delete_schema;
  delete_schema.AddField({"file_path", LogicalType::Text(), false});
  delete_schema.AddField({"pos", LogicalType::Bigint(), false});
  for (auto& [partition, lost] : positions) {
    std::sort(lost.begin(), lost.end(), [](const auto& a, const auto& b) { return a.first->path < b.first->path; });
    FileOut file(storage, output, delete_schema, {kDeleteFilePathId, kDeletePosId});
    for (const auto& [f, rows] : lost) {
      for (size_t first = 0; first < rows.size(); first += kBatchRows) {
        const size_t end = std::min(rows.size(), first + kBatchRows);
        auto paths = std::make_shared<Column>(LogicalType::Text());
        auto pos = std::make_shared<Column>(LogicalType::Bigint());
        for (size_t r = first; r < end; ++r) {
          paths->AppendBytes(f->path);
          pos->AppendInt64(rows[r]);
        }
        NILUS_RETURN_NOT_OK(file.Write(RecordBatch(delete_schema, {paths, pos}, static_cast<int64_t>(end - first))));
      }
      out.position_deletes += static_cast<int64_t>(rows.size());
    }
    NILUS_ASSIGN_OR_RAISE(DataFile done, file.Close());
    done.content = Content::kPositionDeletes;
    done.spec_id = partition.first;
    NILUS_ASSIGN_OR_RAISE(done.partition, PartitionBytes(table, *lost[0].first));
    out.added.push_back(std::move(done));
  }
  return out;
}

}  // namespace nilus::iceberg
