#include "nilus/core/record_batch.h"

#include <cstring>

#include "nilus/core/values.h"

namespace nilus {

int Schema::FieldIndex(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string Schema::ToString() const {
  std::string out;
  for (const auto& f : fields_) {
    if (!out.empty()) out += ", ";
    out += f.name + " " + f.type.ToString();
  }
  return out;
}

int64_t Column::byte_size() const {
  return static_cast<int64_t>(fixed_.size() + bytes_.size() + offsets_.size() * sizeof(int64_t) +
                              validity_.size() * sizeof(uint64_t));
}

void Column::AppendValidity(bool valid) {
  if ((length_ & 63) == 0) validity_.push_back(0);
  if (valid) {
    validity_.back() |= uint64_t{1} << (length_ & 63);
  } else {
    ++null_count_;
  }
  ++length_;
}

template <typename T>
void Column::AppendFixed(T v) {
  size_t at = fixed_.size();
  fixed_.resize(at + sizeof(T));
  std::memcpy(fixed_.data() + at, &v, sizeof(T));
}

void Column::AppendNull() {
  switch (type_.layout()) {
    case PhysicalLayout::kBool:
      AppendFixed<uint8_t>(0);
      break;
    case PhysicalLayout::kInt64:
      AppendFixed<int64_t>(0);
      break;
    case PhysicalLayout::kDouble:
      AppendFixed<double>(0);
      break;
    case PhysicalLayout::kVarLen:
      if (offsets_.empty()) offsets_.push_back(0);
      offsets_.push_back(static_cast<int64_t>(bytes_.size()));
      break;
  }
  AppendValidity(false);
}

void Column::AppendBool(bool v) {
  AppendFixed<uint8_t>(v ? 1 : 0);
  AppendValidity(true);
}

void Column::AppendInt64(int64_t v) {
  AppendFixed(v);
  AppendValidity(true);
}

void Column::AppendDouble(double v) {
  AppendFixed(v);
  AppendValidity(true);
}

void Column::AppendBytes(std::string_view v) {
  if (offsets_.empty()) offsets_.push_back(0);
  bytes_.insert(bytes_.end(), v.begin(), v.end());
  offsets_.push_back(static_cast<int64_t>(bytes_.size()));
  AppendValidity(true);
}

void Column::AppendFrom(const Column& other, int64_t i) {
  if (other.IsNull(i)) return AppendNull();
  switch (type_.layout()) {
    case PhysicalLayout::kBool:
      return AppendBool(other.Bool(i));
    case PhysicalLayout::kInt64:
      return AppendInt64(other.Int64(i));
    case PhysicalLayout::kDouble:
      return AppendDouble(other.Double(i));
    case PhysicalLayout::kVarLen:
      return AppendBytes(other.View(i));
  }
}

void Column::Reserve(int64_t rows) {
  validity_.reserve(static_cast<size_t>(rows / 64 + 1));
  switch (type_.layout()) {
    case PhysicalLayout::kBool:
      fixed_.reserve(static_cast<size_t>(rows));
      break;
    case PhysicalLayout::kInt64:
    case PhysicalLayout::kDouble:
      fixed_.reserve(static_cast<size_t>(rows) * 8);
      break;
    case PhysicalLayout::kVarLen:
      offsets_.reserve(static_cast<size_t>(rows) + 1);
      break;
  }
}

void Column::Clear() {
  length_ = 0;
  null_count_ = 0;
  validity_.clear();
  fixed_.clear();
  offsets_.clear();
  bytes_.clear();
}

RecordBatch::RecordBatch(Schema schema, std::vector<Column> columns, int64_t num_rows)
    : schema_(std::move(schema)), num_rows_(num_rows) {
  columns_.reserve(columns.size());
  for (auto& c : columns) columns_.push_back(std::make_shared<const Column>(std::move(c)));
}

int64_t RecordBatch::byte_size() const {
  int64_t n = 0;
  for (const auto& c : columns_) n += c->byte_size();
  return n;
}

BatchBuilder::BatchBuilder(Schema schema) : schema_(std::move(schema)) {
  for (const auto& f : schema_.fields()) columns_.emplace_back(f.type);
}

int64_t BatchBuilder::byte_size() const {
  int64_t n = 0;
  for (const auto& c : columns_) n += c.byte_size();
  return n;
}

std::shared_ptr<const RecordBatch> BatchBuilder::Finish() {
  int64_t rows = num_rows();
  std::vector<Column> done;
  done.reserve(columns_.size());
  for (auto& c : columns_) {
    done.push_back(std::move(c));
  }
  columns_.clear();
  for (const auto& f : schema_.fields()) {
    columns_.emplace_back(f.type);
    columns_.back().Reserve(rows);
  }
  return std::make_shared<const RecordBatch>(schema_, std::move(done), rows);
}

std::shared_ptr<const RecordBatch> TakeRows(const RecordBatch& batch, const std::vector<int64_t>& rows) {
  std::vector<Column> columns;
  columns.reserve(batch.num_columns());
  for (size_t c = 0; c < batch.num_columns(); ++c) {
    Column out(batch.column(c).type());
    out.Reserve(static_cast<int64_t>(rows.size()));
    for (int64_t r : rows) out.AppendFrom(batch.column(c), r);
    columns.push_back(std::move(out));
  }
  return std::make_shared<const RecordBatch>(batch.schema(), std::move(columns), static_cast<int64_t>(rows.size()));
}

std::string ValueToString(const Column& column, int64_t i) {
  if (column.IsNull(i)) return "NULL";
  switch (column.type().id) {
    case TypeId::kBool:
      return column.Bool(i) ? "true" : "false";
    case TypeId::kBigint:
      return std::to_string(column.Int64(i));
    case TypeId::kDouble:
      return FormatDouble(column.Double(i));
    case TypeId::kDate:
      return FormatDate(column.Int64(i));
    case TypeId::kTime:
      return FormatTime(column.Int64(i));
    case TypeId::kTimestamp:
      return FormatTimestamp(column.Int64(i), false);
    case TypeId::kTimestampTz:
      return FormatTimestamp(column.Int64(i), true);
    case TypeId::kUuid:
      return FormatUuid(column.View(i));
    default:
      return std::string(column.View(i));
  }
}

bool IsDocumentSchema(const Schema& schema) {
  return schema.num_fields() >= 1 && schema.field(0).name == kDocumentColumn;
}

Schema DocumentSchema(bool with_origin) {
  Schema s({{kDocumentColumn, LogicalType::Json(), false}});
  if (with_origin) s.AddField({kOriginColumn, LogicalType::Text(), false});
  return s;
}

}  // namespace nilus
