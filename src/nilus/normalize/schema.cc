#include "nilus/normalize/schema.h"

#include "nilus/core/identifiers.h"

namespace nilus {

int TableSchema::ColumnIndex(const std::string& column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column) return static_cast<int>(i);
  }
  return -1;
}

std::string VariantColumnName(const std::string& column, const LogicalType& type) {
  std::string type_name = type.id == TypeId::kDecimal ? "decimal" : type.ToString();
  std::string suffix = std::string(kNestingSeparator) + "v_" + type_name;
  return ShortenIdentifier(column, kMaxIdentifierLength - suffix.size()) + suffix;
}

Result<StoredSchema> StoredSchema::FromJson(const nlohmann::json& j) {
  StoredSchema s;
  if (!j.is_object() || j.empty()) return s;
  auto bad = [](std::string_view what) {
    return Status::FailedPrecondition(
        "the schema stored with the pipeline's state is damaged ({}); reset the state (nilus state reset) and "
        "reload with --full-refresh",
        what);
  };
  try {
    s.version_ = j.at("version").get<int>();
    s.load_id_ = j.value("load_id", "");
    s.committed_changes_ = j.value("changes", std::vector<std::string>{});
    for (const auto& t : j.at("tables")) {
      TableSchema table;
      table.name = t.at("name").get<std::string>();
      table.parent = t.value("parent", "");
      table.source = t.value("source", "");
      for (const auto& c : t.at("columns")) {
        auto type = LogicalType::Parse(c.at("type").get<std::string>());
        if (!type.ok()) return bad(type.status().message());
        table.columns.push_back({c.at("name").get<std::string>(), *type, true, c.value("native_type", "")});
      }
      if (t.contains("renamed")) table.renamed = t["renamed"].get<std::map<std::string, std::string>>();
      s.tables_.push_back(std::move(table));
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  return s;
}

nlohmann::json StoredSchema::ToJson() const {
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& t : tables_) {
    nlohmann::json columns = nlohmann::json::array();
    for (const auto& c : t.columns) {
      nlohmann::json col = {{"name", c.name}, {"type", c.type.ToString()}};
      if (!c.native_type.empty()) col["native_type"] = c.native_type;
      columns.push_back(std::move(col));
    }
    nlohmann::json table = {{"name", t.name}, {"columns", std::move(columns)}};
    if (!t.parent.empty()) table["parent"] = t.parent;
    if (!t.source.empty()) table["source"] = t.source;
    if (!t.renamed.empty()) table["renamed"] = t.renamed;
    tables.push_back(std::move(table));
  }
  return {{"version", version_}, {"load_id", load_id_}, {"changes", committed_changes_}, {"tables", tables}};
}

TableSchema* StoredSchema::Find(const std::string& name) {
  for (auto& t : tables_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const TableSchema* StoredSchema::Find(const std::string& name) const {
  return const_cast<StoredSchema*>(this)->Find(name);
}

TableSchema& StoredSchema::Table(const std::string& name, const std::string& parent) {
  if (TableSchema* t = Find(name)) return *t;
  changes_.push_back(parent.empty() ? fmt::format("created table {}", name)
                                    : fmt::format("created child table {} of {}", name, parent));
  tables_.push_back({name, parent, "", {}, {}});
  return tables_.back();
}

void StoredSchema::AddColumn(TableSchema& table, Field field, const std::string& why) {
  field.nullable = true;  // a column that later data lacks gets NULLs
  changes_.push_back(fmt::format("{}: added column {} {}{}", table.name, field.name, field.type.ToString(),
                                 why.empty() ? "" : " (" + why + ")"));
  table.columns.push_back(std::move(field));
}

StoredSchema StoredSchema::StartOver() const {
  StoredSchema s;
  s.version_ = version_;
  s.load_id_ = load_id_;
  return s;
}

void StoredSchema::Commit(const std::string& load_id) {
  if (changes_.empty()) return;
  ++version_;
  load_id_ = load_id;
  committed_changes_ = std::move(changes_);
  changes_.clear();
}

}  // namespace nilus
