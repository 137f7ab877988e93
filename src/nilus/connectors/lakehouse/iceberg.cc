#include "nilus/connectors/lakehouse/iceberg.h"

#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "nilus/connectors/lakehouse/partition.h"
#include "nilus/core/identifiers.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"
#include "nilus/formats/avro/avro_reader.h"
#include "nilus/formats/avro/avro_writer.h"

namespace nilus::iceberg {

namespace {

using nlohmann::json;

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string RandomUuid() {
  std::random_device random;
  std::string bytes;
  for (int i = 0; i < 4; ++i) {
    uint32_t r = random();
    bytes.append(reinterpret_cast<const char*>(&r), 4);
  }
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);  // the RFC 4122 variant
  return FormatUuid(bytes);
}

LogicalType LogicalOf(const std::string& type) {
  if (type == "boolean") return LogicalType::Bool();
  if (type == "int" || type == "long") return LogicalType::Bigint();
  if (type == "float" || type == "double") return LogicalType::Double();
  if (type == "date") return LogicalType::Date();
  if (type == "time") return LogicalType::Time();
  if (type == "timestamp") return LogicalType::Timestamp();
  if (type == "timestamptz") return LogicalType::TimestampTz();
  if (type == "uuid") return LogicalType::Uuid();
  if (type == "binary" || type.rfind("fixed", 0) == 0) return LogicalType::Binary();
  int p = 0, s = 0;
  if (std::sscanf(type.c_str(), "decimal(%d,%d)", &p, &s) == 2 ||
      std::sscanf(type.c_str(), "decimal(%d, %d)", &p, &s) == 2) {
    return LogicalType::Decimal(p, s);
  }
  return LogicalType::Text();
}

/// The unscaled value of a Parquet decimal statistic, as a big-endian two's complement of the
/// fewest bytes (Iceberg's single-value form of a decimal).
std::string DecimalBound(std::string_view plain, parquet::Physical physical) {
  __int128 v = 0;
  if (physical == parquet::Physical::kInt32) {
    int32_t x;
    std::memcpy(&x, plain.data(), 4);
    v = x;
  } else if (physical == parquet::Physical::kInt64) {
    int64_t x;
    std::memcpy(&x, plain.data(), 8);
    v = x;
  } else {
    v = static_cast<int8_t>(plain[0]) < 0 ? -1 : 0;
    for (char c : plain) v = (v << 8) | static_cast<uint8_t>(c);
  }
  return UnscaledBytes(v);
}

parquet::Physical PhysicalOfDecimal(const LogicalType& t) {
  if (t.precision <= 9) return parquet::Physical::kInt32;
  if (t.precision <= 18) return parquet::Physical::kInt64;
  return parquet::Physical::kFixed;
}

/// Iceberg's single-value form of a Parquet statistic of a column of `type`; nullopt when it
/// is not kept (long strings: a bound must not cost more than the data it summarises).
std::optional<std::string> Bound(const LogicalType& type, const std::string& plain) {
  if (type.id == TypeId::kDecimal && type.precision >= 1 && type.precision <= 38) {
    return DecimalBound(plain, PhysicalOfDecimal(type));
  }
  if (plain.size() > 64) return std::nullopt;
  return plain;
}

json MapSchema(const std::string& name, int key_id, int value_id, const json& value_type) {
  return {{"type", "array"},
          {"logicalType", "map"},
          {"items",
           {{"type", "record"},
            {"name", name},
            {"fields",
             {{{"name", "key"}, {"type", "int"}, {"field-id", key_id}},
              {{"name", "value"}, {"type", value_type}, {"field-id", value_id}}}}}}};
}

json Optional(const std::string& name, int id, const json& type) {
  return {{"name", name}, {"type", {"null", type}}, {"default", nullptr}, {"field-id", id}};
}

json Required(const std::string& name, int id, const json& type) {
  return {{"name", name}, {"type", type}, {"field-id", id}};
}

/// The Avro schema of a (format version 2) manifest entry whose partition record has `partition`
/// fields.
json ManifestEntrySchema(const json& partition) {
  json data_file = {
      {"type", "record"},
      {"name", "r2"},
      {"fields",
       {Required("content", 134, "int"), Required("file_path", 100, "string"), Required("file_format", 101, "string"),
        Required("partition", 102, {{"type", "record"}, {"name", "r102"}, {"fields", partition}}),
        Required("record_count", 103, "long"), Required("file_size_in_bytes", 104, "long"),
        Optional("column_sizes", 108, MapSchema("k117_v118", 117, 118, "long")),
        Optional("value_counts", 109, MapSchema("k119_v120", 119, 120, "long")),
        Optional("null_value_counts", 110, MapSchema("k121_v122", 121, 122, "long")),
        Optional("nan_value_counts", 137, MapSchema("k138_v139", 138, 139, "long")),
        Optional("lower_bounds", 125, MapSchema("k126_v127", 126, 127, "bytes")),
        Optional("upper_bounds", 128, MapSchema("k129_v130", 129, 130, "bytes")),
        Optional("key_metadata", 131, "bytes"),
        Optional("split_offsets", 132, {{"type", "array"}, {"items", "long"}, {"element-id", 133}}),
        Optional("equality_ids", 135, {{"type", "array"}, {"items", "int"}, {"element-id", 136}}),
        Optional("sort_order_id", 140, "int")}}};
  return {{"type", "record"},
          {"name", "manifest_entry"},
          {"fields",
           {Required("status", 0, "int"), Optional("snapshot_id", 1, "long"), Optional("sequence_number", 3, "long"),
            Optional("file_sequence_number", 4, "long"), Required("data_file", 2, data_file)}}};
}

/// The Avro schema of a (format version 2) manifest list entry.
json ManifestFileSchema() {
  json summary = {{"type", "record"},
                  {"name", "r508"},
                  {"fields",
                   {Required("contains_null", 509, "boolean"), Optional("contains_nan", 518, "boolean"),
                    Optional("lower_bound", 510, "bytes"), Optional("upper_bound", 511, "bytes")}}};
  json partitions = {{"type", "array"}, {"element-id", 508}, {"items", summary}};
  return {{"type", "record"},
          {"name", "manifest_file"},
          {"fields",
           {Required("manifest_path", 500, "string"), Required("manifest_length", 501, "long"),
            Required("partition_spec_id", 502, "int"), Required("content", 517, "int"),
            Required("sequence_number", 515, "long"), Required("min_sequence_number", 516, "long"),
            Required("added_snapshot_id", 503, "long"), Required("added_files_count", 504, "int"),
            Required("existing_files_count", 505, "int"), Required("deleted_files_count", 506, "int"),
            Required("added_rows_count", 512, "long"), Required("existing_rows_count", 513, "long"),
            Required("deleted_rows_count", 514, "long"), Optional("partitions", 507, partitions),
            Optional("key_metadata", 519, "bytes")}}};
}

/// Writes an optional map of field id to value (a union's second branch), or null when empty.
template <typename F>
void IdMap(avro::Encoder& e, const std::vector<std::pair<int32_t, int64_t>>& items, F value) {
  if (items.empty()) {
    e.Union(0);
    return;
  }
  e.Union(1);
  e.BeginBlock(static_cast<int64_t>(items.size()));
  for (const auto& [id, v] : items) {
    e.Int(id);
    value(v);
  }
  e.EndBlocks();
}

}  // namespace

std::string TypeName(const LogicalType& t) {
  switch (t.id) {
    case TypeId::kBool:
      return "boolean";
    case TypeId::kBigint:
      return "long";
    case TypeId::kDouble:
      return "double";
    case TypeId::kDecimal:
      if (t.precision < 1 || t.precision > 38) return "string";
      return fmt::format("decimal({}, {})", t.precision, t.scale);
    case TypeId::kText:
    case TypeId::kJson:
      return "string";
    case TypeId::kBinary:
      return "binary";
    case TypeId::kDate:
      return "date";
    case TypeId::kTime:
      return "time";
    case TypeId::kTimestamp:
      return "timestamp";
    case TypeId::kTimestampTz:
      return "timestamptz";
    case TypeId::kUuid:
      return "uuid";
  }
  return "string";
}

TableMetadata TableMetadata::Create(const std::string& location) {
  TableMetadata t;
  t.location_ = location;
  t.json_ = {{"format-version", 2},
             {"table-uuid", RandomUuid()},
             {"location", location},
             {"last-sequence-number", 0},
             {"last-updated-ms", NowMillis()},
             {"last-column-id", 0},
             {"current-schema-id", 0},
             {"schemas", {{{"type", "struct"}, {"schema-id", 0}, {"fields", json::array()}}}},
             {"default-spec-id", 0},
             {"partition-specs", {{{"spec-id", 0}, {"fields", json::array()}}}},
             {"last-partition-id", 999},
             {"default-sort-order-id", 0},
             {"sort-orders", {{{"order-id", 0}, {"fields", json::array()}}}},
             {"properties", {{"write.format.default", "parquet"}}},
             {"refs", json::object()},
             {"snapshots", json::array()},
             {"snapshot-log", json::array()},
             {"metadata-log", json::array()}};
  return t;
}

Result<TableMetadata> TableMetadata::Parse(std::string_view text, const std::string& path) {
  TableMetadata t;
  t.json_ = json::parse(text, nullptr, false);
  if (t.json_.is_discarded() || !t.json_.is_object()) return Status::IOError("{} is not table metadata JSON", path);
  if (t.json_.value("format-version", 0) != 2) {
    return Status::FailedPrecondition("{}: nilus writes Iceberg tables of format version 2; this one is version {}",
                                      path, t.json_.value("format-version", 0));
  }
  t.location_ = t.json_.value("location", "");
  return t;
}

const json& TableMetadata::CurrentSchema() const {
  const int id = json_.value("current-schema-id", 0);
  for (const auto& s : json_["schemas"]) {
    if (s.value("schema-id", -1) == id) return s;
  }
  return json_["schemas"].back();
}

std::vector<Field> TableMetadata::Fields() const {
  std::vector<Field> out;
  for (const auto& f : CurrentSchema()["fields"]) {
    if (!f["type"].is_string()) continue;  // nested types are not written by nilus
    out.push_back({f["name"].get<std::string>(), LogicalOf(f["type"].get<std::string>()), !f.value("required", false)});
  }
  return out;
}

Result<std::vector<int32_t>> TableMetadata::ColumnIds(const Schema& schema) {
  json fields = CurrentSchema()["fields"];
  std::vector<int32_t> ids;
  bool added = false;
  int last = json_.value("last-column-id", 0);
  for (const auto& column : schema.fields()) {
    const std::string type = TypeName(column.type);
    auto it = std::find_if(fields.begin(), fields.end(), [&](const json& f) { return f["name"] == column.name; });
    if (it != fields.end()) {
      if ((*it)["type"] != type) {
        return Status::FailedPrecondition(
            "column '{}' of the table at {} is {} in the table and {} in this load; Iceberg cannot change it so (a "
            "new name, or a variant column, can hold the new type)",
            column.name, location_, (*it)["type"].dump(), type);
      }
      ids.push_back((*it)["id"].get<int32_t>());
      continue;
    }
    fields.push_back({{"id", ++last}, {"name", column.name}, {"required", false}, {"type", type}});
    ids.push_back(last);
    added = true;
  }
  if (added) {
    int schema_id = 0;
    for (const auto& s : json_["schemas"]) schema_id = std::max(schema_id, s.value("schema-id", 0) + 1);
    if (json_["snapshots"].empty()) {
      json_["schemas"] = json::array();  // the first columns of a new table: schema 0
      schema_id = 0;
    }
    json_["schemas"].push_back({{"type", "struct"}, {"schema-id", schema_id}, {"fields", fields}});
    json_["current-schema-id"] = schema_id;
    json_["last-column-id"] = last;
  }
  return ids;
}

Result<const json*> TableMetadata::ColumnNamed(const std::string& name, std::string_view option) const {
  const json& columns = CurrentSchema()["fields"];
  for (const auto& c : columns) {
    const std::string column = c.value("name", "");
    if (column == name || column == NormalizeColumnName(name)) return &c;
  }
  std::vector<std::string> names;
  for (const auto& c : columns) {
    if (c.value("name", "") != "_nilus_load_id") names.push_back(c.value("name", ""));
  }
  return Status::InvalidInput("{} names the column '{}', which the table at {} does not have; its columns are: {}",
                              option, name, location_, Join(names, ", "));
}

Result<int32_t> TableMetadata::Partition(const std::vector<PartitionField>& fields) {
  // The fields as a spec lists them; each is checked against its column's type.
  json wanted = json::array();
  for (const auto& f : fields) {
    NILUS_ASSIGN_OR_RAISE(const json* column, ColumnNamed(f.column, "partition-by"));
    const std::string transform = f.transform == "bucket"     ? fmt::format("bucket[{}]", f.bucket_count)
                                  : f.transform == "truncate" ? fmt::format("truncate[{}]", f.width)
                                                              : f.transform;
    const int32_t source = (*column)["id"].get<int32_t>();
    NILUS_RETURN_NOT_OK(
        PartitionTransform::Make(f.name, transform, source, 0, (*column)["name"].get<std::string>(),
                                 (*column)["type"].is_string() ? (*column)["type"].get<std::string>() : "struct")
            .status());
    wanted.push_back({{"name", f.name}, {"transform", transform}, {"source-id", source}});
  }
  auto same = [](const json& spec_fields, const json& want) {
    if (spec_fields.size() != want.size()) return false;
    for (size_t i = 0; i < want.size(); ++i) {
      for (const char* key : {"name", "transform", "source-id"}) {
        if (spec_fields[i][key] != want[i][key]) return false;
      }
    }
    return true;
  };
  int32_t id = -1;
  for (const auto& spec : json_["partition-specs"]) {
    if (same(spec["fields"], wanted)) id = spec["spec-id"].get<int32_t>();
  }
  if (id < 0) {
    // A field that an earlier spec had keeps its id; a new one gets the next.
    int32_t last = json_.value("last-partition-id", 999);
    for (auto& field : wanted) {
      for (const auto& spec : json_["partition-specs"]) {
        for (const auto& old : spec["fields"]) {
          if (old["transform"] == field["transform"] && old["source-id"] == field["source-id"]) {
            field["field-id"] = old["field-id"];
          }
        }
      }
      if (!field.contains("field-id")) field["field-id"] = ++last;
    }
    for (const auto& spec : json_["partition-specs"]) id = std::max(id, spec["spec-id"].get<int32_t>());
    ++id;
    json_["partition-specs"].push_back({{"spec-id", id}, {"fields", wanted}});
    json_["last-partition-id"] = last;
  }
  json_["default-spec-id"] = id;
  return id;
}

Result<int32_t> TableMetadata::SortBy(const std::vector<std::string>& columns) {
  json wanted = json::array();
  for (const auto& name : columns) {
    NILUS_ASSIGN_OR_RAISE(const json* column, ColumnNamed(name, "cluster-by"));
    wanted.push_back({{"transform", "identity"},
                      {"source-id", (*column)["id"]},
                      {"direction", "asc"},
                      {"null-order", "nulls-first"}});
  }
  int32_t id = -1, last = 0;
  for (const auto& order : json_["sort-orders"]) {
    if (order["fields"] == wanted) id = order["order-id"].get<int32_t>();
    last = std::max(last, order["order-id"].get<int32_t>());
  }
  if (id < 0) {
    id = last + 1;
    json_["sort-orders"].push_back({{"order-id", id}, {"fields", wanted}});
  }
  json_["default-sort-order-id"] = id;
  return id;
}

int32_t TableMetadata::UnpartitionedSpec() {
  int32_t id = -1;
  for (const auto& spec : json_["partition-specs"]) {
    if (spec["fields"].empty()) return spec["spec-id"].get<int32_t>();
    id = std::max(id, spec["spec-id"].get<int32_t>());
  }
  json_["partition-specs"].push_back({{"spec-id", id + 1}, {"fields", json::array()}});
  return id + 1;
}

Result<std::vector<PartitionTransform>> TableMetadata::Spec(int32_t id) const {
  const json* spec = nullptr;
  for (const auto& s : json_["partition-specs"]) {
    if (s.value("spec-id", -1) == id) spec = &s;
  }
  if (spec == nullptr) return Status::Internal("the table at {} has no partition spec {}", location_, id);
  std::vector<PartitionTransform> out;
  const json& columns = CurrentSchema()["fields"];
  for (const auto& f : (*spec)["fields"]) {
    const int32_t source = f.value("source-id", -1);
    auto column = std::find_if(columns.begin(), columns.end(), [&](const json& c) { return c["id"] == source; });
    if (column == columns.end() || !(*column)["type"].is_string()) {
      return Status::FailedPrecondition("the table at {}: partition field '{}' has no source column {}", location_,
                                        f.value("name", ""), source);
    }
    NILUS_ASSIGN_OR_RAISE(
        PartitionTransform t,
        PartitionTransform::Make(f.value("name", ""), f.value("transform", ""), source, f.value("field-id", 0),
                                 (*column)["name"].get<std::string>(), (*column)["type"].get<std::string>()));
    out.push_back(std::move(t));
  }
  return out;
}

int64_t TableMetadata::current_snapshot_id() const {
  auto it = json_.find("current-snapshot-id");
  return it == json_.end() || it->is_null() ? -1 : it->get<int64_t>();
}

int64_t TableMetadata::current_sequence_number() const {
  const int64_t id = current_snapshot_id();
  for (const auto& s : json_["snapshots"]) {
    if (s.value("snapshot-id", int64_t{-2}) == id) return s.value("sequence-number", int64_t{0});
  }
  return 0;
}

std::string TableMetadata::Operation(int64_t id) const { return Summary(id).value("operation", ""); }

json TableMetadata::Summary(int64_t id) const {
  for (const auto& s : json_["snapshots"]) {
    if (s.value("snapshot-id", int64_t{-2}) == id && s.contains("summary")) return s["summary"];
  }
  return json::object();
}

std::string TableMetadata::CurrentManifestList() const {
  const int64_t id = current_snapshot_id();
  for (const auto& s : json_["snapshots"]) {
    if (s.value("snapshot-id", int64_t{-2}) == id) return s.value("manifest-list", "");
  }
  return "";
}

Expired TableMetadata::AddSnapshot(int64_t id, const std::string& manifest_list, const std::string& operation,
                                   const json& summary, const std::string& previous_file) {
  const int64_t now = NowMillis(), seq = NextSequenceNumber(), parent = current_snapshot_id();
  json s_summary = summary;
  s_summary["operation"] = operation;
  json snapshot = {{"snapshot-id", id},    {"sequence-number", seq},
                   {"timestamp-ms", now},  {"manifest-list", manifest_list},
                   {"summary", s_summary}, {"schema-id", json_.value("current-schema-id", 0)}};
  if (parent >= 0) snapshot["parent-snapshot-id"] = parent;
  json_["snapshots"].push_back(snapshot);
  json_["current-snapshot-id"] = id;
  json_["last-sequence-number"] = seq;
  json_["last-updated-ms"] = now;
  json_["refs"]["main"] = {{"snapshot-id", id}, {"type", "branch"}};
  json_["snapshot-log"].push_back({{"timestamp-ms", now}, {"snapshot-id", id}});
  if (!previous_file.empty())
    json_["metadata-log"].push_back({{"timestamp-ms", now}, {"metadata-file", previous_file}});

  Expired dropped;
  json& snapshots = json_["snapshots"];
  if (snapshots.size() > kKeptSnapshots) {
    const size_t expire = snapshots.size() - kKeptSnapshots;
    std::set<int64_t> expired;
    for (size_t i = 0; i < expire; ++i) {
      expired.insert(snapshots[i].value("snapshot-id", int64_t{0}));
      dropped.files.push_back(snapshots[i].value("manifest-list", ""));
      // What the next snapshot took out of the table is referenced by this one last (the next
      // one is kept, or expires now too).
      const json& next = snapshots[i + 1];
      const json& s_summary = next.value("summary", json::object());
      for (auto [key, into] :
           {std::pair{"nilus.replaced-manifests", &dropped.files},
            std::pair{"nilus.removed-manifests", &dropped.manifests_with_files},
            std::pair{"nilus.compacted-manifests", static_cast<std::vector<std::string>*>(nullptr)}}) {
        if (auto listed = s_summary.find(key); listed != s_summary.end() && listed->is_string()) {
          json paths = json::parse(listed->get<std::string>(), nullptr, false);
          for (const auto& path : paths.is_array() ? paths : json::array()) {
            if (into) {
              into->push_back(path.get<std::string>());
            } else {
              dropped.files_removed_by.emplace_back(path.get<std::string>(), next.value("snapshot-id", int64_t{0}));
            }
          }
        }
      }
    }
    snapshots.erase(snapshots.begin(), snapshots.begin() + static_cast<std::ptrdiff_t>(expire));
    json kept = json::array();
    for (auto& entry : json_["snapshot-log"]) {
      if (!expired.count(entry.value("snapshot-id", int64_t{0}))) kept.push_back(std::move(entry));
    }
    json_["snapshot-log"] = std::move(kept);
  }
  json& log = json_["metadata-log"];
  if (log.size() > kKeptMetadataFiles) {
    const size_t expire = log.size() - kKeptMetadataFiles;
    for (size_t i = 0; i < expire; ++i) dropped.files.push_back(log[i].value("metadata-file", ""));
    log.erase(log.begin(), log.begin() + static_cast<std::ptrdiff_t>(expire));
  }
  return dropped;
}

namespace {

/// A manifest being written: its Avro file and the schema of its entries.
struct ManifestWriter {
  std::unique_ptr<avro::FileWriter> file;
  json entry_schema;
};

/// Opens the manifest at `path` for files of partition spec `spec_id`, data or `deletes`.
Result<ManifestWriter> OpenManifest(const std::string& path, const TableMetadata& table, int32_t spec_id,
                                    bool deletes) {
  NILUS_ASSIGN_OR_RAISE(std::vector<PartitionTransform> spec, table.Spec(spec_id));
  json partition = json::array(), spec_fields = json::array();
  for (const auto& f : spec) {
    partition.push_back(f.AvroField());
    spec_fields.push_back(
        {{"name", f.name()}, {"transform", f.transform()}, {"source-id", f.source_id()}, {"field-id", f.field_id()}});
  }
  ManifestWriter m{nullptr, ManifestEntrySchema(partition)};
  NILUS_ASSIGN_OR_RAISE(
      m.file, avro::FileWriter::Open(path, m.entry_schema.dump(),
                                     {{"schema", table.CurrentSchema().dump()},
                                      {"schema-id", std::to_string(table.CurrentSchema().value("schema-id", 0))},
                                      {"partition-spec", spec_fields.dump()},
                                      {"partition-spec-id", std::to_string(spec_id)},
                                      {"format-version", "2"},
                                      {"content", deletes ? "deletes" : "data"}}));
  return m;
}

}  // namespace

Result<int64_t> WriteManifest(const std::string& path, const TableMetadata& table, int64_t snapshot_id,
                              const std::vector<DataFile>& files) {
  const bool deletes = !files.empty() && files[0].content != Content::kData;
  NILUS_ASSIGN_OR_RAISE(ManifestWriter m, OpenManifest(path, table, files.empty() ? 0 : files[0].spec_id, deletes));
  auto& w = m.file;
  std::string record;
  for (const auto& file : files) {
    record.clear();
    avro::Encoder e(record);
    e.Int(1);  // ADDED
    e.Union(1);
    e.Long(snapshot_id);
    if (file.sequence_number < 0) {
      e.Union(0);  // sequence numbers: inherited
    } else {
      e.Union(1);  // the data sequence number given; the file sequence number inherited
      e.Long(file.sequence_number);
    }
    e.Union(0);
    e.Int(static_cast<int>(file.content));
    e.String(file.path);
    e.String("PARQUET");
    e.Fixed(file.partition);  // the partition record, encoded as written
    e.Long(file.summary.rows);
    e.Long(file.summary.bytes);
    std::vector<std::pair<int32_t, int64_t>> sizes, values, nulls, nans;
    std::vector<std::pair<int32_t, std::string>> lower, upper;
    const auto& ids = file.ids;
    for (size_t c = 0; c < file.summary.columns.size() && c < ids.size(); ++c) {
      const auto& s = file.summary.columns[c];
      const LogicalType& type = file.types[c];
      sizes.emplace_back(ids[c], s.compressed_bytes);
      values.emplace_back(ids[c], s.values);
      nulls.emplace_back(ids[c], s.nulls);
      if (type.id == TypeId::kDouble) nans.emplace_back(ids[c], s.nans);
      if (s.min && s.max) {
        auto lo = Bound(type, *s.min), hi = Bound(type, *s.max);
        if (lo && hi) {
          lower.emplace_back(ids[c], *lo);
          upper.emplace_back(ids[c], *hi);
        }
      }
    }
    auto as_long = [&](int64_t v) { e.Long(v); };
    IdMap(e, sizes, as_long);
    IdMap(e, values, as_long);
    IdMap(e, nulls, as_long);
    IdMap(e, nans, as_long);
    for (const auto* bounds : {&lower, &upper}) {
      if (bounds->empty()) {
        e.Union(0);
        continue;
      }
      e.Union(1);
      e.BeginBlock(static_cast<int64_t>(bounds->size()));
      for (const auto& [id, v] : *bounds) {
        e.Int(id);
        e.Bytes(v);
      }
      e.EndBlocks();
    }
    e.Union(0);  // key_metadata
    e.Union(1);  // split_offsets: the row groups
    e.BeginBlock(static_cast<int64_t>(file.summary.row_group_offsets.size()));
    for (int64_t offset : file.summary.row_group_offsets) e.Long(offset);
    e.EndBlocks();
    if (file.equality_ids.empty()) {
      e.Union(0);
    } else {
      e.Union(1);
      e.BeginBlock(static_cast<int64_t>(file.equality_ids.size()));
      for (int32_t id : file.equality_ids) e.Int(id);
      e.EndBlocks();
    }
    if (file.sort_order_id == 0) {
      e.Union(0);  // sort_order_id: unsorted
    } else {
      e.Union(1);
      e.Int(file.sort_order_id);
    }
    NILUS_RETURN_NOT_OK(w->Append(record));
  }
  return w->Close();
}

Result<ManifestEntry> MergeManifests(const std::string& path, const TableMetadata& table, int64_t snapshot_id,
                                     int64_t sequence_number,
                                     const std::vector<std::pair<ManifestEntry, std::string>>& manifests,
                                     const std::set<std::string>& removed) {
  const ManifestEntry& first = manifests.at(0).first;
  NILUS_ASSIGN_OR_RAISE(ManifestWriter m, OpenManifest(path, table, first.spec_id, first.content != 0));
  ManifestEntry out{path, 0, first.content, first.spec_id, sequence_number, sequence_number, snapshot_id, 0, 0, 0, 0,
                    0,    0};
  std::map<std::string, json> names;
  std::string record;
  for (const auto& [entry, bytes] : manifests) {
    NILUS_ASSIGN_OR_RAISE(avro::File file, avro::Decode(bytes, entry.path));
    for (json& r : file.records) {
      if (r.value("status", 0) == 2) continue;  // DELETED: informational only
      // An added file inherits its snapshot and sequence numbers from the manifest; an
      // existing one must carry them.
      if (r["snapshot_id"].is_null()) r["snapshot_id"] = entry.added_snapshot_id;
      for (const char* seq : {"sequence_number", "file_sequence_number"}) {
        if (!r.contains(seq) || r[seq].is_null()) r[seq] = entry.sequence_number;
      }
      const int64_t rows = r["data_file"].value("record_count", int64_t{0});
      if (removed.count(r["data_file"].value("file_path", ""))) {
        r["status"] = 2;
        r["snapshot_id"] = snapshot_id;
        out.deleted_files += 1;
        out.deleted_rows += rows;
      } else {
        r["status"] = 0;
        out.min_sequence_number = std::min(out.min_sequence_number, r["sequence_number"].get<int64_t>());
        out.existing_files += 1;
        out.existing_rows += rows;
      }
      record.clear();
      NILUS_RETURN_NOT_OK(avro::EncodeJson(m.entry_schema, r, record, names).WithContext("merging " + entry.path));
      NILUS_RETURN_NOT_OK(m.file->Append(record));
    }
  }
  NILUS_ASSIGN_OR_RAISE(out.length, m.file->Close());
  return out;
}

Result<std::vector<ManifestEntry>> ReadManifestList(std::string_view bytes, const std::string& path) {
  NILUS_ASSIGN_OR_RAISE(avro::File file, avro::Decode(bytes, path));
  std::vector<ManifestEntry> out;
  auto number = [](const json& r, std::initializer_list<const char*> names) -> int64_t {
    for (const char* n : names) {
      if (r.contains(n) && r[n].is_number()) return r[n].get<int64_t>();
    }
    return 0;
  };
  for (const auto& r : file.records) {
    ManifestEntry m;
    m.path = r.value("manifest_path", "");
    m.content = static_cast<int32_t>(number(r, {"content"}));
    m.spec_id = static_cast<int32_t>(number(r, {"partition_spec_id"}));
    m.length = number(r, {"manifest_length"});
    m.sequence_number = number(r, {"sequence_number"});
    m.min_sequence_number = number(r, {"min_sequence_number"});
    m.added_snapshot_id = number(r, {"added_snapshot_id"});
    m.added_files = static_cast<int32_t>(number(r, {"added_files_count", "added_data_files_count"}));
    m.existing_files = static_cast<int32_t>(number(r, {"existing_files_count", "existing_data_files_count"}));
    m.deleted_files = static_cast<int32_t>(number(r, {"deleted_files_count", "deleted_data_files_count"}));
    m.added_rows = number(r, {"added_rows_count"});
    m.existing_rows = number(r, {"existing_rows_count"});
    m.deleted_rows = number(r, {"deleted_rows_count"});
    out.push_back(std::move(m));
  }
  return out;
}

Status WriteManifestList(const std::string& path, int64_t snapshot_id, int64_t parent_id, int64_t sequence_number,
                         const std::vector<ManifestEntry>& manifests) {
  NILUS_ASSIGN_OR_RAISE(
      auto w, avro::FileWriter::Open(path, ManifestFileSchema().dump(),
                                     {{"snapshot-id", std::to_string(snapshot_id)},
                                      {"parent-snapshot-id", parent_id < 0 ? "null" : std::to_string(parent_id)},
                                      {"sequence-number", std::to_string(sequence_number)},
                                      {"format-version", "2"}}));
  std::string record;
  for (const auto& m : manifests) {
    record.clear();
    avro::Encoder e(record);
    e.String(m.path);
    e.Long(m.length);
    e.Int(m.spec_id);
    e.Int(m.content);
    e.Long(m.sequence_number);
    e.Long(m.min_sequence_number);
    e.Long(m.added_snapshot_id);
    e.Int(m.added_files);
    e.Int(m.existing_files);
    e.Int(m.deleted_files);
    e.Long(m.added_rows);
    e.Long(m.existing_rows);
    e.Long(m.deleted_rows);
    e.Union(0);  // partitions: the summaries of partition values are optional
    e.Union(0);  // key_metadata
    NILUS_RETURN_NOT_OK(w->Append(record));
  }
  return w->Close().status();
}

}  // namespace nilus::iceberg
