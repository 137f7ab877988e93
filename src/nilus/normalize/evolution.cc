#include "nilus/normalize/evolution.h"

#include <cmath>

#include "nilus/core/strings.h"
#include "nilus/core/text_values.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

/// Integers up to this magnitude convert to double and back exactly.
constexpr int64_t kMaxExactDouble = int64_t{1} << 53;

bool IsNumeric(TypeId id) { return id == TypeId::kBigint || id == TypeId::kDouble || id == TypeId::kDecimal; }

/// The type of ISO-8601 strings: date, timestamp or timestamptz when every value is one of them
/// (and all agree on having a zone), else text.
LogicalType DetectDateType(const Column& text) {
  bool date = true, naive = true, zoned = true, any = false;
  for (int64_t i = 0; i < text.length() && (date || naive || zoned); ++i) {
    if (text.IsNull(i)) continue;
    any = true;
    std::string_view v = text.View(i);
    if (v.empty() || v[0] < '0' || v[0] > '9') return LogicalType::Text();
    int64_t micros;
    bool zone = false;
    if (date && !ParseDate(v, &micros)) date = false;
    if ((naive || zoned) && !ParseTimestamp(v, &micros, &zone)) {
      naive = zoned = false;
    } else if (zone) {
      naive = false;
    } else {
      zoned = false;
    }
  }
  if (!any) return LogicalType::Text();
  if (date) return LogicalType::Date();
  if (zoned) return LogicalType::TimestampTz();
  if (naive) return LogicalType::Timestamp();
  return LogicalType::Text();
}

bool AllExactDoubles(const Column& bigints) {
  for (int64_t i = 0; i < bigints.length(); ++i) {
    if (bigints.IsNull(i)) continue;
    int64_t v = bigints.Int64(i);
    if (v > kMaxExactDouble || v < -kMaxExactDouble) return false;
  }
  return true;
}

/// Significant digits of a plain decimal literal; large when it is not one.
size_t SignificantDigits(std::string_view s) {
  size_t digits = 0;
  bool started = false;
  for (char c : s) {
    if (c < '0' || c > '9') continue;
    if (c != '0') started = true;
    if (started) ++digits;
  }
  return digits;
}

/// A text converts to a number column only when the number prints back as the same text, so
/// nothing of it ("007", "1.50") is lost.
bool AppendCanonicalNumber(std::string_view text, Column& out) {
  switch (out.type().id) {
    case TypeId::kBigint: {
      int64_t v;
      if (!ParseBigint(text, &v) || std::to_string(v) != text) return false;
      out.AppendInt64(v);
      return true;
    }
    case TypeId::kDouble: {
      double v;
      if (SignificantDigits(text) > 15 || !ParseDouble(text, &v) || !std::isfinite(v) || FormatDouble(v) != text) {
        return false;
      }
      out.AppendDouble(v);
      return true;
    }
    default: {  // decimal
      std::string canonical;
      if (!ParseDecimal(text, &canonical) || canonical != text) return false;
      return AppendTextValue(out, text);
    }
  }
}

void AppendJsonValue(const Column& in, int64_t i, Column& out) {
  std::string json;
  switch (in.type().id) {
    case TypeId::kBool:
    case TypeId::kBigint:
    case TypeId::kDouble:
    case TypeId::kDecimal:
      json = ValueToString(in, i);
      break;
    case TypeId::kText:
      AppendJsonString(json, in.View(i));
      break;
    default:
      AppendJsonString(json, ValueToString(in, i));
  }
  out.AppendBytes(json);
}

}  // namespace

LogicalType CommonType(const std::vector<RecordBatch::ColumnPtr>& values, bool detect_dates) {
  std::vector<const Column*> present;
  for (const auto& v : values) {
    if (v->null_count() < v->length()) present.push_back(v.get());
  }
  if (present.empty()) return values.empty() ? LogicalType::Text() : values[0]->type();
  if (present.size() == 1) {
    const Column& only = *present[0];
    if (only.type().id == TypeId::kText && detect_dates) return DetectDateType(only);
    return only.type();
  }
  bool json = false, numeric = true, decimal = false, exact = true;
  for (const Column* c : present) {
    TypeId id = c->type().id;
    json = json || id == TypeId::kJson;
    numeric = numeric && IsNumeric(id);
    decimal = decimal || id == TypeId::kDecimal;
    if (id == TypeId::kBigint) exact = exact && AllExactDoubles(*c);
  }
  if (json) return LogicalType::Json();
  if (numeric) return decimal || !exact ? LogicalType::Decimal() : LogicalType::Double();
  return LogicalType::Text();
}

bool AppendCoerced(const Column& in, int64_t i, Column& out) {
  const LogicalType& from = in.type();
  const LogicalType& to = out.type();
  if (from == to) {
    out.AppendFrom(in, i);
    return true;
  }
  switch (to.id) {
    case TypeId::kText:
      if (from.id == TypeId::kJson || from.id == TypeId::kBinary) return false;
      if (from.id == TypeId::kDecimal) {
        out.AppendBytes(in.View(i));
      } else {
        out.AppendBytes(ValueToString(in, i));
      }
      return true;
    case TypeId::kJson:
      if (from.id == TypeId::kBinary) return false;
      if (from.id == TypeId::kDouble && !std::isfinite(in.Double(i))) return false;
      AppendJsonValue(in, i, out);
      return true;
    case TypeId::kDouble:
      if (from.id == TypeId::kBigint) {
        int64_t v = in.Int64(i);
        if (v > kMaxExactDouble || v < -kMaxExactDouble) return false;
        out.AppendDouble(static_cast<double>(v));
        return true;
      }
      if (from.id == TypeId::kDecimal || from.id == TypeId::kText) return AppendCanonicalNumber(in.View(i), out);
      return false;
    case TypeId::kBigint:
      if (from.id == TypeId::kDouble) {
        double v = in.Double(i);
        if (!std::isfinite(v) || v != std::floor(v) || std::fabs(v) > static_cast<double>(kMaxExactDouble)) {
          return false;
        }
        out.AppendInt64(static_cast<int64_t>(v));
        return true;
      }
      if (from.id == TypeId::kDecimal || from.id == TypeId::kText) return AppendCanonicalNumber(in.View(i), out);
      return false;
    case TypeId::kDecimal:
      if (from.id == TypeId::kBigint) return AppendTextValue(out, std::to_string(in.Int64(i)));
      if (from.id == TypeId::kDouble) return std::isfinite(in.Double(i)) && AppendTextValue(out, ValueToString(in, i));
      if (from.id == TypeId::kDecimal) return AppendTextValue(out, in.View(i));
      if (from.id == TypeId::kText) return AppendCanonicalNumber(in.View(i), out);
      return false;
    case TypeId::kBool:
      if (from.id != TypeId::kText || (in.View(i) != "true" && in.View(i) != "false")) return false;
      out.AppendBool(in.View(i) == "true");
      return true;
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz: {
      if (from.id != TypeId::kText) return false;
      int64_t micros;
      bool zone = false;
      if (!ParseTimestamp(in.View(i), &micros, &zone) || zone != (to.id == TypeId::kTimestampTz)) return false;
      out.AppendInt64(micros);
      return true;
    }
    case TypeId::kDate:
    case TypeId::kTime:
    case TypeId::kUuid:
      return from.id == TypeId::kText && AppendTextValue(out, in.View(i));
    case TypeId::kBinary:
      return false;
  }
  return false;
}

const Column* ValueAt(const std::vector<RecordBatch::ColumnPtr>& values, int64_t r) {
  for (const auto& v : values) {
    if (!v->IsNull(r)) return v.get();
  }
  return nullptr;
}

bool AppendConverted(const Column& in, int64_t i, Column& out) {
  if (in.type() == out.type()) {
    out.AppendFrom(in, i);
    return true;
  }
  if (out.type().id == TypeId::kJson) {
    if (in.type().id == TypeId::kBinary) return false;
    AppendJsonValue(in, i, out);
    return true;
  }
  if (in.type().layout() == PhysicalLayout::kVarLen && in.type().id != TypeId::kUuid) {
    return AppendTextValue(out, in.View(i));
  }
  return AppendTextValue(out, ValueToString(in, i));
}

TableBatchAssembler::TableBatchAssembler(StoredSchema& schema, TableSchema& table, int64_t rows)
    : schema_(schema), table_(table), rows_(rows) {}

Column& TableBatchAssembler::Variant(const std::string& column, const LogicalType& type, int64_t rows_so_far) {
  // Variant columns hold any value of their type: decimals without precision and scale.
  LogicalType variant_type = type.id == TypeId::kDecimal ? LogicalType::Decimal() : type;
  std::string name = VariantColumnName(column, variant_type);
  auto& slot = building_[name];
  if (!slot) {
    int index = table_.ColumnIndex(name);
    if (index < 0) {
      schema_.AddColumn(table_, {name, variant_type},
                        fmt::format("values of {} that are not {}", column,
                                    table_.columns[static_cast<size_t>(table_.ColumnIndex(column))].type.ToString()));
    } else {
      variant_type = table_.columns[static_cast<size_t>(index)].type;
    }
    slot = std::make_shared<Column>(variant_type);
    slot->Reserve(rows_);
  }
  while (slot->length() < rows_so_far) slot->AppendNull();
  return *slot;
}

Status TableBatchAssembler::Place(const SourceColumn& column) {
  std::vector<RecordBatch::ColumnPtr> values;
  for (const auto& v : column.values) {
    if (v->length() != rows_) {
      return Status::Internal("column {} has {} values in a batch of {} rows", column.name, v->length(), rows_);
    }
    if (v->null_count() < v->length()) values.push_back(v);
  }
  if (values.empty()) return Status::OK();  // all NULL: no type to learn, nothing to write
  if (IsMergeControlColumn(column.name)) {
    // Steers the merge of this batch; not a column of the table.
    auto text = std::make_shared<Column>(LogicalType::Text());
    text->Reserve(rows_);
    for (int64_t r = 0; r < rows_; ++r) {
      const Column* value = ValueAt(values, r);
      if (!value) {
        text->AppendNull();
      } else if (!AppendConverted(*value, r, *text)) {
        return Status::Internal("value of {} does not convert to text", column.name);
      }
    }
    control_.emplace_back(Field{column.name, LogicalType::Text()}, std::move(text));
    return Status::OK();
  }

  int index = table_.ColumnIndex(column.name);
  if (index < 0) {
    LogicalType type = column.hint ? *column.hint : CommonType(values, column.detect_dates);
    bool native = values.size() == 1 && values[0]->type() == type && !column.hint;
    schema_.AddColumn(table_, {column.name, type, true, native ? column.native_type : ""});
    index = static_cast<int>(table_.columns.size()) - 1;
  }
  const LogicalType type = table_.columns[static_cast<size_t>(index)].type;
  if (values.size() == 1 && values[0]->type() == type) {
    placed_[column.name] = values[0];
    return Status::OK();
  }
  auto& main = building_[column.name];
  main = std::make_shared<Column>(type);
  main->Reserve(rows_);
  for (int64_t r = 0; r < rows_; ++r) {
    const Column* value = ValueAt(values, r);
    if (!value) {
      main->AppendNull();
    } else if (!AppendCoerced(*value, r, *main)) {
      main->AppendNull();
      Column& variant = Variant(column.name, value->type(), r);
      if (!AppendCoerced(*value, r, variant)) {
        return Status::Internal("value of {} does not fit its variant column", column.name);
      }
    }
  }
  return Status::OK();
}

std::shared_ptr<const RecordBatch> TableBatchAssembler::Finish() {
  std::vector<Field> fields;
  std::vector<RecordBatch::ColumnPtr> columns;
  std::map<std::string, RecordBatch::ColumnPtr> nulls;  // one all-NULL column per type
  for (const auto& field : table_.columns) {
    RecordBatch::ColumnPtr column;
    if (auto built = building_.find(field.name); built != building_.end()) {
      // A variant column that took no value after its last one is filled up with NULLs.
      while (built->second->length() < rows_) built->second->AppendNull();
      column = std::move(built->second);
    } else if (auto passed = placed_.find(field.name); passed != placed_.end()) {
      column = std::move(passed->second);
    } else {
      auto& null = nulls[field.type.ToString()];
      if (!null) {
        auto fresh = std::make_shared<Column>(field.type);
        fresh->Reserve(rows_);
        for (int64_t r = 0; r < rows_; ++r) fresh->AppendNull();
        null = fresh;
      }
      column = null;
    }
    fields.push_back(field);
    columns.push_back(std::move(column));
  }
  for (auto& [field, column] : control_) {
    fields.push_back(std::move(field));
    columns.push_back(std::move(column));
  }
  placed_.clear();
  building_.clear();
  control_.clear();
  return std::make_shared<const RecordBatch>(Schema(std::move(fields)), std::move(columns), rows_);
}

}  // namespace nilus
