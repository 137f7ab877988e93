#include "nilus/pipeline/normalize_stage.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <set>

#include "nilus/core/strings.h"
#include "nilus/normalize/evolution.h"

namespace nilus {

namespace {

/// The name request of a source key: a path of keys joined by '\x1f' ("a\x1fb": normalised
/// "a__b"), below `prefix` (a child table's parent name) when given.
NameMap::Request NameRequest(const std::string& key, const std::string& prefix = "") {
  NameMap::Request r{key, prefix, prefix};
  size_t start = 0;
  while (true) {
    size_t sep = key.find('\x1f', start);
    std::string part = key.substr(start, sep == std::string::npos ? std::string::npos : sep - start);
    r.wanted = r.wanted.empty() ? NormalizeIdentifier(part) : NestedName(r.wanted, NormalizeIdentifier(part));
    r.plain = r.plain.empty() ? part : r.plain + std::string(kNestingSeparator) + part;
    if (sep == std::string::npos) break;
    start = sep + 1;
  }
  return r;
}

SourceOptions WithNormalizedKey(SourceOptions options) {
  if (!options.incremental_key.empty()) options.incremental_key = NormalizeColumnName(options.incremental_key);
  return options;
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

bool SameTables(const StoredSchema& a, const StoredSchema& b) {
  if (a.tables().size() != b.tables().size()) return false;
  for (size_t i = 0; i < a.tables().size(); ++i) {
    const TableSchema& x = a.tables()[i];
    const TableSchema& y = b.tables()[i];
    if (x.name != y.name || x.parent != y.parent || x.columns.size() != y.columns.size()) return false;
    for (size_t c = 0; c < x.columns.size(); ++c) {
      if (x.columns[c].name != y.columns[c].name || !(x.columns[c].type == y.columns[c].type)) return false;
    }
  }
  return true;
}

}  // namespace

NormalizeStage::NormalizeStage(const SourceOptions& options, const TableSpec& table, const std::string& load_id,
                               Masker masker, const nlohmann::json& prior_cursor)
    : root_(table.name),
      strategy_(table.strategy),
      max_nesting_(options.max_table_nesting),
      date_detection_(options.date_detection),
      options_(options),
      masker_(std::move(masker)),
      cursor_(WithNormalizedKey(options), prior_cursor),
      flattener_(options.max_table_nesting),
      row_limit_(options.sql_limit),
      load_id_(load_id) {
  for (const auto& [column, type] : options.type_hints) hints_[NormalizeColumnName(column)] = type;
  std::random_device random;
  id_seed_[0] = (uint64_t{random()} << 32) ^ random();
  id_seed_[1] = (uint64_t{random()} << 32) ^ random();
}

Result<std::unique_ptr<NormalizeStage>> NormalizeStage::Make(const SourceOptions& options, const TableSpec& table,
                                                             const std::string& load_id,
                                                             const nlohmann::json& prior_state, bool full_refresh) {
  NILUS_RETURN_NOT_OK(CheckMaskOptions(options));
  const nlohmann::json prior = prior_state.is_object() ? prior_state : nlohmann::json::object();
  NILUS_ASSIGN_OR_RAISE(Masker masker, Masker::Make(options.mask, options.type_hints));
  if (!full_refresh) NILUS_RETURN_NOT_OK(masker.RestoreSequences(prior.value("sequences", nlohmann::json::object())));
  const bool replace = table.rebuild;
  // A rebuild reloads everything: the cursor does not apply to it.
  nlohmann::json cursor = replace ? nlohmann::json::object() : prior.value("cursor", nlohmann::json());
  std::unique_ptr<NormalizeStage> stage(new NormalizeStage(options, table, load_id, std::move(masker), cursor));
  NILUS_ASSIGN_OR_RAISE(StoredSchema stored, StoredSchema::FromJson(prior.value("schema", nlohmann::json::object())));
  if (replace) {
    // The tables are rebuilt, so their schema is too; it keeps its version when nothing changed.
    stage->rebuild_ = true;
    stage->replaced_ = stored;
    stage->schema_ = stored.StartOver();
  } else {
    stage->schema_ = std::move(stored);
  }
  for (const auto& t : stage->schema_.tables()) {
    if (t.parent.empty()) continue;
    stage->table_names_.Restore(t.source, t.name);
  }
  return stage;
}

void NormalizeStage::AdoptTable(const std::vector<Field>& columns) {
  if (columns.empty() || schema_.Find(root_)) return;
  TableSchema& table = schema_.Table(root_, "");
  std::vector<std::string> names;
  for (const auto& c : columns) names.push_back(c.name + " " + c.type.ToString());
  spdlog::info("{} exists in the destination and has no stored schema; adopting its columns: {}", root_,
               Join(names, ", "));
  for (const auto& c : columns) schema_.AddColumn(table, c, "found in the destination");
}

NameMap& NormalizeStage::ColumnNames(const TableSchema& table) {
  auto [it, added] = column_names_.try_emplace(table.name, "column of " + table.name);
  if (added) {
    NameMap& names = it->second;
    std::set<std::string> renamed_to;
    for (const auto& [source, dest] : table.renamed) {
      names.Restore(source, dest);
      renamed_to.insert(dest);
    }
    for (const auto& c : table.columns) {
      if (renamed_to.count(c.name)) continue;
      // Columns Nilus made (variants, row ids) are nobody's source name.
      if (c.name.find("__v_") != std::string::npos || StartsWith(c.name, "_nilus_")) {
        names.Reserve(c.name);
      } else {
        names.Restore(c.name, c.name);
      }
    }
    for (const char* own : {kRowIdColumn, kParentIdColumn, kListIndexColumn, kRootIdColumn, kLoadIdColumn}) {
      names.Reserve(own);
    }
  }
  return it->second;
}

void NormalizeStage::KeepRenames(TableSchema& table, const std::vector<NameMap::Request>& requests,
                                 const std::vector<std::string>& dest) {
  for (size_t i = 0; i < requests.size(); ++i) {
    if (dest[i] != requests[i].source) table.renamed[requests[i].source] = dest[i];
  }
}

const LogicalType* NormalizeStage::Hint(const std::string& column) const {
  auto it = hints_.find(column);
  return it == hints_.end() ? nullptr : &it->second;
}

Result<RecordBatch::ColumnPtr> NormalizeStage::ApplyHint(const std::string& name, const LogicalType& hint,
                                                         const std::vector<RecordBatch::ColumnPtr>& values,
                                                         const Column* origins) {
  if (values.size() == 1 && values[0]->type() == hint) return values[0];
  int64_t rows = values.empty() ? 0 : values[0]->length();
  auto out = std::make_shared<Column>(hint);
  out->Reserve(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const Column* value = ValueAt(values, r);
    if (!value) {
      out->AppendNull();
    } else if (!AppendConverted(*value, r, *out)) {
      std::string where =
          origins ? std::string(origins->View(r)) : fmt::format("row {} of the load", rows_seen_ + r + 1);
      std::string shown =
          masker_.Find(name) ? "the value (masked, not shown)" : "'" + Excerpt(ValueToString(*value, r)) + "'";
      return Status::InvalidInput(
          "{}: table {}, column '{}': {} is not a {} value, which type-hints asks for; fix the value or the hint",
          where, root_, name, shown, hint.ToString());
    }
  }
  return RecordBatch::ColumnPtr(std::move(out));
}

RecordBatch::ColumnPtr NormalizeStage::NewIds(int64_t rows) {
  auto ids = std::make_shared<Column>(LogicalType::Uuid());
  ids->Reserve(rows);
  char bytes[16];
  for (int64_t r = 0; r < rows; ++r) {
    // Unique within the load (SplitMix64 is a bijection of the counter) and, through the
    // random seeds, across loads.
    uint64_t counter = id_counter_++;
    uint64_t high = SplitMix64(id_seed_[0] ^ SplitMix64(counter));
    uint64_t low = SplitMix64(id_seed_[1] + counter);
    std::memcpy(bytes, &high, 8);
    std::memcpy(bytes + 8, &low, 8);
    ids->AppendBytes(std::string_view(bytes, 16));
  }
  return ids;
}

Result<std::vector<TableBatch>> NormalizeStage::Apply(const std::shared_ptr<const RecordBatch>& batch) {
  auto out = IsDocumentSchema(batch->schema()) ? ApplyDocuments(*batch) : ApplyTyped(*batch);
  rows_seen_ += batch->num_rows();
  return out;
}

Result<std::vector<TableBatch>> NormalizeStage::ApplyTyped(const RecordBatch& batch) {
  TableSchema& table = schema_.Table(root_, "");
  NameMap& names = ColumnNames(table);
  std::vector<NameMap::Request> requests;
  for (const auto& f : batch.schema().fields()) requests.push_back({f.name, NormalizeIdentifier(f.name), f.name});
  std::vector<std::string> dest = names.ResolveAll(requests);
  KeepRenames(table, requests, dest);

  // Renamed and hinted, before masking: masks see the destination names and hinted types.
  std::vector<Field> fields;
  std::vector<RecordBatch::ColumnPtr> columns;
  for (size_t c = 0; c < batch.num_columns(); ++c) {
    Field f = batch.schema().field(c);
    f.name = dest[c];
    RecordBatch::ColumnPtr column = batch.column_ptr(c);
    if (const LogicalType* hint = Hint(f.name)) {
      NILUS_ASSIGN_OR_RAISE(column, ApplyHint(f.name, *hint, {column}, nullptr));
      if (!(f.type == *hint)) f.native_type.clear();
      f.type = *hint;
    }
    fields.push_back(std::move(f));
    columns.push_back(std::move(column));
  }
  auto renamed = std::make_shared<const RecordBatch>(Schema(std::move(fields)), std::move(columns), batch.num_rows());
  std::shared_ptr<const RecordBatch> masked = renamed;
  if (!masker_.empty()) {
    NILUS_ASSIGN_OR_RAISE(masked, masker_.Apply(*renamed));
  }

  TableBatchAssembler assembler(schema_, table, batch.num_rows());
  for (size_t c = 0; c < masked->num_columns(); ++c) {
    const Field& f = masked->schema().field(c);
    NILUS_RETURN_NOT_OK(assembler.Place({f.name, {masked->column_ptr(c)}, f.native_type, false, Hint(f.name)}));
  }
  std::shared_ptr<const RecordBatch> out = assembler.Finish();
  NILUS_ASSIGN_OR_RAISE(auto keep, KeepRows(*out, batch));
  if (keep) out = TakeRows(*out, *keep);
  if (out->num_rows() == 0) return std::vector<TableBatch>{};
  return std::vector<TableBatch>{{root_, std::move(out)}};
}

void NormalizeStage::SelectColumns(std::vector<FlatTable>& flat) {
  auto selected = [&](const std::string& key) {
    std::string field = key.substr(0, key.find('\x1f'));
    std::string normal = NormalizeColumnName(field);
    for (const auto* option : {&options_.columns, &options_.sql_exclude_columns}) {
      for (const auto& name : *option) {
        if (name == field || NormalizeColumnName(name) == normal) selection_seen_.insert(name);
      }
    }
    return options_.Selects(field);
  };
  FlatTable& root = flat[0];
  std::vector<FlatColumn> kept;
  for (auto& c : root.columns) {
    if (selected(c.key)) kept.push_back(std::move(c));
  }
  root.columns = std::move(kept);
  // Child tables of unselected fields go, with their own children (which follow them).
  std::vector<FlatTable> tables;
  std::vector<size_t> index(flat.size(), SIZE_MAX);
  for (size_t t = 0; t < flat.size(); ++t) {
    if (t > 0 && (!selected(flat[t].key) || index[flat[t].parent] == SIZE_MAX)) continue;
    index[t] = tables.size();
    if (t > 0) flat[t].parent = index[flat[t].parent];
    tables.push_back(std::move(flat[t]));
  }
  flat = std::move(tables);
}

Result<std::optional<std::vector<int64_t>>> NormalizeStage::KeepRows(const RecordBatch& root,
                                                                     const RecordBatch& source) {
  int64_t limit = row_limit_ >= 0 ? row_limit_ - rows_kept_ : -1;
  std::vector<int64_t> keep;
  if (cursor_.enabled()) {
    NILUS_ASSIGN_OR_RAISE(keep, cursor_.Keep(root, source, limit));
  } else if (limit >= 0 && limit < root.num_rows()) {
    keep.resize(static_cast<size_t>(limit));
    std::iota(keep.begin(), keep.end(), 0);
  } else {
    rows_kept_ += root.num_rows();
    return std::optional<std::vector<int64_t>>();
  }
  rows_kept_ += static_cast<int64_t>(keep.size());
  if (static_cast<int64_t>(keep.size()) == root.num_rows()) return std::optional<std::vector<int64_t>>();
  return std::optional<std::vector<int64_t>>(std::move(keep));
}

ResumePoint NormalizeStage::Resume(const nlohmann::json& source_state) const {
  ResumePoint resume;
  resume.state = source_state;
  resume.cursor = cursor_.SavedValue();
  resume.rows_at_cursor = cursor_.SavedRowsAtValue();
  return resume;
}

Result<std::vector<TableBatch>> NormalizeStage::ApplyDocuments(const RecordBatch& batch) {
  const Column& documents = batch.column(0);
  const Column* origins = batch.num_columns() > 1 ? &batch.column(1) : nullptr;
  for (int64_t r = 0; r < batch.num_rows(); ++r) {
    std::string where = origins ? std::string(origins->View(r)) : fmt::format("row {}", rows_seen_ + r + 1);
    NILUS_RETURN_NOT_OK(flattener_.Add(documents.View(r), where));
  }
  return ApplyFlat(flattener_.Finish(), origins, &batch);
}

Result<std::vector<TableBatch>> NormalizeStage::ApplyFlattened(std::vector<FlatTable> flat) {
  int64_t rows = flat.empty() ? 0 : flat[0].rows;
  auto out = ApplyFlat(std::move(flat), nullptr, nullptr);
  rows_seen_ += rows;
  return out;
}

Result<std::vector<TableBatch>> NormalizeStage::ApplyFlat(std::vector<FlatTable> flat, const Column* origins,
                                                          const RecordBatch* source) {
  documents_seen_ = true;
  if (!options_.columns.empty() || !options_.sql_exclude_columns.empty()) SelectColumns(flat);

  std::vector<std::string> names(flat.size());
  std::vector<RecordBatch::ColumnPtr> ids(flat.size());
  std::vector<TableBatch> tables;
  for (size_t t = 0; t < flat.size(); ++t) {
    names[t] = t == 0 ? root_ : ChildTableName(flat[t], names[flat[t].parent]);
    NILUS_ASSIGN_OR_RAISE(auto assembled, AssembleFlatTable(flat, t, names, ids, origins));
    tables.push_back({names[t], std::move(assembled)});
  }
  NILUS_ASSIGN_OR_RAISE(auto keep, KeepRows(*tables[0].batch, source ? *source : *tables[0].batch));
  return KeptDocuments(flat, std::move(tables), keep);
}

std::string NormalizeStage::ChildTableName(const FlatTable& table, const std::string& parent) {
  std::string relative;  // the array's path inside its parent table
  for (const auto& key : table.path) relative += (relative.empty() ? "" : "\x1f") + key;
  NameMap::Request request = NameRequest(relative, parent);
  request.source = table.key;
  return table_names_.Resolve(request);
}

Result<std::shared_ptr<const RecordBatch>> NormalizeStage::AssembleFlatTable(const std::vector<FlatTable>& flat,
                                                                             size_t t,
                                                                             const std::vector<std::string>& names,
                                                                             std::vector<RecordBatch::ColumnPtr>& ids,
                                                                             const Column* origins) {
  const FlatTable& ft = flat[t];
  TableSchema& table = schema_.Table(names[t], t == 0 ? "" : names[ft.parent]);
  if (t > 0) table.source = ft.key;
  NameMap& column_names = ColumnNames(table);
  std::vector<NameMap::Request> requests;
  for (const auto& c : ft.columns) requests.push_back(NameRequest(c.key));
  std::vector<std::string> dest = column_names.ResolveAll(requests);
  KeepRenames(table, requests, dest);

  TableBatchAssembler assembler(schema_, table, ft.rows);
  for (size_t c = 0; c < ft.columns.size(); ++c) {
    SourceColumn column{dest[c], {}, "", date_detection_, nullptr};
    for (const auto& values : ft.columns[c].by_kind) {
      if (values) column.values.push_back(values);
    }
    // Hints and masks name the root table's columns.
    if (t == 0) NILUS_RETURN_NOT_OK(HintAndMask(column, origins));
    NILUS_RETURN_NOT_OK(assembler.Place(column));
  }
  if (max_nesting_ > 0) {
    ids[t] = NewIds(ft.rows);
    NILUS_RETURN_NOT_OK(assembler.Place({kRowIdColumn, {ids[t]}}));
  }
  if (t > 0) {
    auto parent_ids = std::make_shared<Column>(LogicalType::Uuid());
    auto list_index = std::make_shared<Column>(LogicalType::Bigint());
    auto root_ids = std::make_shared<Column>(LogicalType::Uuid());
    for (int64_t r = 0; r < ft.rows; ++r) {
      parent_ids->AppendFrom(*ids[ft.parent], ft.parent_row[static_cast<size_t>(r)]);
      list_index->AppendInt64(ft.list_index[static_cast<size_t>(r)]);
      root_ids->AppendFrom(*ids[0], ft.root_row[static_cast<size_t>(r)]);
    }
    NILUS_RETURN_NOT_OK(assembler.Place({kParentIdColumn, {parent_ids}}));
    NILUS_RETURN_NOT_OK(assembler.Place({kListIndexColumn, {list_index}}));
    NILUS_RETURN_NOT_OK(assembler.Place({kRootIdColumn, {root_ids}}));
  }
  return assembler.Finish();
}

Status NormalizeStage::HintAndMask(SourceColumn& column, const Column* origins) {
  if (const LogicalType* hint = Hint(column.name)) {
    NILUS_ASSIGN_OR_RAISE(auto converted, ApplyHint(column.name, *hint, column.values, origins));
    column.values = {converted};
    column.hint = hint;
  }
  if (const MaskRule* rule = masker_.Find(column.name)) {
    for (auto& values : column.values) {
      NILUS_ASSIGN_OR_RAISE(values, masker_.MaskColumn(*rule, *values));
    }
  }
  return Status::OK();
}

std::vector<TableBatch> NormalizeStage::KeptDocuments(const std::vector<FlatTable>& flat,
                                                      std::vector<TableBatch> tables,
                                                      const std::optional<std::vector<int64_t>>& keep) {
  std::vector<TableBatch> out;
  // The rows kept are documents: a child row goes with its root row.
  std::vector<bool> kept;
  if (keep) {
    kept.assign(static_cast<size_t>(tables[0].batch->num_rows()), false);
    for (int64_t r : *keep) kept[static_cast<size_t>(r)] = true;
  }
  for (size_t t = 0; t < flat.size(); ++t) {
    auto& batch = tables[t].batch;
    if (keep) {
      std::vector<int64_t> rows;
      if (t == 0) {
        rows = *keep;
      } else {
        for (int64_t r = 0; r < flat[t].rows; ++r) {
          if (kept[static_cast<size_t>(flat[t].root_row[static_cast<size_t>(r)])]) rows.push_back(r);
        }
      }
      if (static_cast<int64_t>(rows.size()) != batch->num_rows()) batch = TakeRows(*batch, rows);
    }
    if (batch->num_rows() > 0) out.push_back(std::move(tables[t]));
  }
  return out;
}

Status NormalizeStage::Finish() {
  const TableSchema* root = schema_.Find(root_);
  // Documents have no header to check against: a `columns` or `sql-exclude-columns` entry that
  // matched no field is a typo, which for an exclusion would let the column through.
  for (const auto* option : {&options_.columns, &options_.sql_exclude_columns}) {
    for (const auto& name : *option) {
      if (rows_seen_ == 0 || selection_seen_.count(name) || !documents_seen_) continue;
      std::vector<std::string> names;
      if (root) {
        for (const auto& c : root->columns) names.push_back(c.name);
      }
      return Status::InvalidInput("option {} names '{}', which the data does not have; its fields are: {}",
                                  option == &options_.columns ? "columns" : "sql-exclude-columns", name,
                                  names.empty() ? "(none)" : Join(names, ", "));
    }
  }
  for (const auto& rule : masker_.rules()) {
    if (rows_seen_ > 0 && (!root || root->ColumnIndex(rule.column) < 0)) {
      std::vector<std::string> names;
      if (root) {
        for (const auto& c : root->columns) names.push_back(c.name);
      }
      return Status::InvalidInput("mask names column '{}', which the data does not have; its columns are: {}",
                                  rule.column, names.empty() ? "(none)" : Join(names, ", "));
    }
  }
  // A replace that wrote nothing keeps the tables' shape.
  if (rebuild_ && (schema_.tables().empty() || SameTables(schema_, replaced_))) {
    schema_ = replaced_;
  } else {
    schema_.Commit(load_id_);
  }
  return Status::OK();
}

void NormalizeStage::AddState(nlohmann::json& state) const {
  if (cursor_.enabled()) state["cursor"] = cursor_.ToState();
  state["schema"] = schema_.ToJson();
  nlohmann::json sequences = masker_.SequencesState();
  if (!sequences.empty()) state["sequences"] = std::move(sequences);
}

std::vector<std::string> NormalizeStage::ChildTables() const {
  std::vector<std::string> out;
  for (const StoredSchema* s : {&schema_, &replaced_}) {
    for (const auto& t : s->tables()) {
      if (!t.parent.empty() && std::find(out.begin(), out.end(), t.name) == out.end()) out.push_back(t.name);
    }
  }
  return out;
}

}  // namespace nilus
