#include "nilus/normalize/documents.h"

#include <simdjson.h>

#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

namespace od = simdjson::ondemand;

LogicalType KindType(size_t kind) {
  static const LogicalType kTypes[] = {LogicalType::Bool(),        LogicalType::Bigint(), LogicalType::Double(),
                                       LogicalType::Decimal(),     LogicalType::Text(),   LogicalType::Json(),
                                       LogicalType::Date(),        LogicalType::Time(),   LogicalType::Timestamp(),
                                       LogicalType::TimestampTz(), LogicalType::Binary(), LogicalType::Uuid()};
  static_assert(sizeof(kTypes) / sizeof(kTypes[0]) == kFlatKinds);
  return kTypes[kind];
}

constexpr char kKeySeparator = FlatTableBuilder::kKeySeparator;

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

/// Significant digits of a JSON number's mantissa.
size_t MantissaDigits(std::string_view number) {
  size_t digits = 0;
  bool started = false;
  for (char c : number) {
    if (c == 'e' || c == 'E') break;
    if (c < '0' || c > '9') continue;
    if (c != '0') started = true;
    if (started) ++digits;
  }
  return digits;
}

}  // namespace

void FlatTableBuilder::Reset() {
  tables_.clear();
  table_index_.clear();
  tables_.emplace_back();  // the root table; table_index_ holds the child tables
}

size_t FlatTableBuilder::ChildTable(size_t parent, std::string_view relative) {
  std::string key = parent == 0 ? std::string(relative) : tables_[parent].key + kKeySeparator + std::string(relative);
  auto [it, added] = table_index_.emplace(key, tables_.size());
  if (added) {
    FlatTable t;
    t.key = key;
    while (true) {
      size_t sep = relative.find(kKeySeparator);
      t.path.emplace_back(relative.substr(0, sep));
      if (sep == std::string_view::npos) break;
      relative.remove_prefix(sep + 1);
    }
    t.parent = parent;
    tables_.push_back(std::move(t));
  }
  return it->second;
}

int64_t FlatTableBuilder::AddChildRow(size_t child, size_t parent, int64_t row, int64_t index) {
  int64_t root = tables_[parent].root_row.empty() ? row : tables_[parent].root_row[static_cast<size_t>(row)];
  FlatTable& c = tables_[child];
  c.parent_row.push_back(row);
  c.list_index.push_back(index);
  c.root_row.push_back(root);
  return c.rows++;
}

Column* FlatTableBuilder::Cell(size_t t, std::string_view key, int64_t row, FlatKind kind) {
  FlatTable& table = tables_[t];
  auto it = table.column_index.find(key);
  if (it == table.column_index.end()) {
    it = table.column_index.emplace(std::string(key), table.columns.size()).first;
    table.columns.push_back({std::string(key), {}, -1});
  }
  FlatColumn& column = table.columns[it->second];
  if (column.last_row == row) return nullptr;
  column.last_row = row;
  auto& values = column.by_kind[kind];
  if (!values) values = std::make_shared<Column>(KindType(kind));
  while (values->length() < row) values->AppendNull();
  return values.get();
}

std::vector<FlatTable> FlatTableBuilder::Finish() {
  std::vector<FlatTable> out = std::move(tables_);
  for (auto& t : out) {
    for (auto& c : t.columns) {
      for (auto& values : c.by_kind) {
        if (!values) continue;
        while (values->length() < t.rows) values->AppendNull();
      }
    }
  }
  Reset();
  return out;
}

struct DocumentFlattener::Impl {
  explicit Impl(int max_nesting) : max_nesting(max_nesting) {}

  Status Error(simdjson::error_code error) const {
    if (size_t bad = FindInvalidUtf8(document); bad != std::string::npos) {
      return Status::InvalidInput(
          "{}: invalid UTF-8 (byte 0x{:02x} at byte {} of the line); the file must be UTF-8 (convert it with iconv)",
          origin, static_cast<unsigned char>(document[bad]), bad + 1);
    }
    return Status::InvalidInput("{}: not valid JSON ({}): {}", origin, simdjson::error_message(error),
                                Excerpt(document, 60));
  }

  /// Writes `value` as compact JSON, checking every part of it.
  Status WriteJson(od::value value, std::string& out) {
    od::json_type type;
    if (auto e = value.type().get(type)) return Error(e);
    switch (type) {
      case od::json_type::object: {
        od::object object;
        if (auto e = value.get_object().get(object)) return Error(e);
        out += '{';
        bool first = true;
        for (auto field : object) {
          std::string_view key;
          if (auto e = field.unescaped_key().get(key)) return Error(e);
          if (!first) out += ',';
          first = false;
          AppendJsonString(out, key);
          out += ':';
          od::value inner;
          if (auto e = field.value().get(inner)) return Error(e);
          NILUS_RETURN_NOT_OK(WriteJson(inner, out));
        }
        out += '}';
        return Status::OK();
      }
      case od::json_type::array: {
        od::array array;
        if (auto e = value.get_array().get(array)) return Error(e);
        out += '[';
        bool first = true;
        for (auto item : array) {
          od::value inner;
          if (auto e = item.get(inner)) return Error(e);
          if (!first) out += ',';
          first = false;
          NILUS_RETURN_NOT_OK(WriteJson(inner, out));
        }
        out += ']';
        return Status::OK();
      }
      case od::json_type::string: {
        std::string_view s;
        if (auto e = value.get_string().get(s)) return Error(e);
        AppendJsonString(out, s);
        return Status::OK();
      }
      case od::json_type::number: {
        double d;
        if (auto e = value.get_double().get(d)) return Error(e);
        out += TrimRight(value.raw_json_token());
        return Status::OK();
      }
      case od::json_type::boolean: {
        bool b;
        if (auto e = value.get_bool().get(b)) return Error(e);
        out += b ? "true" : "false";
        return Status::OK();
      }
      case od::json_type::null: {
        bool is_null = false;
        if (auto e = value.is_null().get(is_null)) return Error(e);
        if (!is_null) return Error(simdjson::N_ATOM_ERROR);
        out += "null";
        return Status::OK();
      }
    }
    return Status::OK();
  }

  /// Adds the fields of `object` to row `row` of table `t`, their keys prefixed with `prefix`
  /// (a path of `keys` keys).
  Status AddObject(size_t t, int64_t row, od::object object, std::string& prefix, int keys, int depth) {
    for (auto field : object) {
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return Error(e);
      od::value value;
      if (auto e = field.value().get(value)) return Error(e);
      size_t mark = prefix.size();
      if (keys > 0) prefix += kKeySeparator;  // not on emptiness: a key may be "".

      prefix += key;
      Status st = AddValue(t, row, value, prefix, keys + 1, depth);
      prefix.resize(mark);
      NILUS_RETURN_NOT_OK(st);
    }
    return Status::OK();
  }

  /// Adds `value`, the field `key` (a path of `keys` keys inside table `t`) of row `row`. `depth` is the
  /// nesting depth the value has if it is an object or an array.
  Status AddValue(size_t t, int64_t row, od::value value, std::string& key, int keys, int depth) {
    od::json_type type;
    if (auto e = value.type().get(type)) return Error(e);
    switch (type) {
      case od::json_type::object:
      case od::json_type::array:
        if (depth > max_nesting) break;
        if (type == od::json_type::object) {
          od::object object;
          if (auto e = value.get_object().get(object)) return Error(e);
          return AddObject(t, row, object, key, keys, depth + 1);
        }
        return AddArray(t, row, value, key, depth);
      case od::json_type::string: {
        std::string_view s;
        if (auto e = value.get_string().get(s)) return Error(e);
        if (Column* c = tables.Cell(t, key, row, kFlatText)) c->AppendBytes(s);
        return Status::OK();
      }
      case od::json_type::number:
        return AddNumber(t, row, value, key);
      case od::json_type::boolean: {
        bool b;
        if (auto e = value.get_bool().get(b)) return Error(e);
        if (Column* c = tables.Cell(t, key, row, kFlatBool)) c->AppendBool(b);
        return Status::OK();
      }
      case od::json_type::null: {
        bool is_null = false;
        if (auto e = value.is_null().get(is_null)) return Error(e);
        if (!is_null) return Error(simdjson::N_ATOM_ERROR);
        return Status::OK();
      }
    }
    json_scratch.clear();
    NILUS_RETURN_NOT_OK(WriteJson(value, json_scratch));
    if (Column* c = tables.Cell(t, key, row, kFlatJson)) c->AppendBytes(json_scratch);
    return Status::OK();
  }

  Status AddNumber(size_t t, int64_t row, od::value value, const std::string& key) {
    double d;
    if (auto e = value.get_double().get(d)) return Error(e);
    std::string_view raw = TrimRight(value.raw_json_token());
    bool fraction = raw.find_first_of(".eE") != std::string_view::npos;
    int64_t i;
    if (!fraction && ParseBigint(raw, &i)) {
      if (Column* c = tables.Cell(t, key, row, kFlatBigint)) c->AppendInt64(i);
      return Status::OK();
    }
    std::string canonical;
    if ((!fraction || MantissaDigits(raw) > 15) && ParseDecimal(raw, &canonical)) {
      if (Column* c = tables.Cell(t, key, row, kFlatDecimal)) c->AppendBytes(canonical);
      return Status::OK();
    }
    if (Column* c = tables.Cell(t, key, row, kFlatDouble)) c->AppendDouble(d);
    return Status::OK();
  }

  Status AddArray(size_t t, int64_t row, od::value value, const std::string& key, int depth) {
    od::array array;
    if (auto e = value.get_array().get(array)) return Error(e);
    size_t child = tables.ChildTable(t, key);
    int64_t index = 0;
    for (auto item : array) {
      od::value inner;
      if (auto e = item.get(inner)) return Error(e);
      int64_t child_row = tables.AddChildRow(child, t, row, index++);
      od::json_type type;
      if (auto e = inner.type().get(type)) return Error(e);
      std::string inner_key;
      // The objects of an array are the rows of its child table: their fields are one level down.
      if (type == od::json_type::object) {
        od::object object;
        if (auto e = inner.get_object().get(object)) return Error(e);
        NILUS_RETURN_NOT_OK(AddObject(child, child_row, object, inner_key, 0, depth + 1));
      } else {
        inner_key = "value";
        NILUS_RETURN_NOT_OK(AddValue(child, child_row, inner, inner_key, 1, depth + 1));
      }
    }
    return Status::OK();
  }

  Status Add(std::string_view json, std::string_view where) {
    document = json;
    origin = where;
    buffer.assign(json.begin(), json.end());
    buffer.resize(json.size() + simdjson::SIMDJSON_PADDING, '\0');
    od::document doc;
    if (auto e = parser.iterate(buffer.data(), json.size(), buffer.size()).get(doc)) return Error(e);
    od::json_type type;
    if (auto e = doc.type().get(type)) return Error(e);
    if (type != od::json_type::object) {
      return Status::InvalidInput("{}: each record must be a JSON object, got {}", origin, Excerpt(json, 40));
    }
    od::object object;
    if (auto e = doc.get_object().get(object)) return Error(e);
    int64_t row = tables.AddRootRow();
    std::string key;
    NILUS_RETURN_NOT_OK(AddObject(0, row, object, key, 0, 1));
    const char* rest = nullptr;
    if (doc.current_location().get(rest) == simdjson::SUCCESS) {
      return Status::InvalidInput("{}: text after the JSON object: {}", origin, Excerpt(rest, 40));
    }
    return Status::OK();
  }

  int max_nesting;
  od::parser parser;
  std::vector<char> buffer;
  std::string json_scratch;
  std::string_view document, origin;
  FlatTableBuilder tables;
};

DocumentFlattener::DocumentFlattener(int max_nesting) : impl_(std::make_unique<Impl>(max_nesting)) {}
DocumentFlattener::~DocumentFlattener() = default;

Status DocumentFlattener::Add(std::string_view json, std::string_view origin) {
  Status st = impl_->Add(json, origin);
  // A document that failed half way may have left rows behind: start the batch over.
  if (!st.ok()) impl_->tables.Reset();
  return st;
}

std::vector<FlatTable> DocumentFlattener::Finish() { return impl_->tables.Finish(); }

}  // namespace nilus
