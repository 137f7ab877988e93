#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "nilus/connectors/connector.h"
#include "nilus/core/options.h"
#include "nilus/normalize/documents.h"
#include "nilus/normalize/evolution.h"
#include "nilus/normalize/masking.h"
#include "nilus/normalize/name_map.h"
#include "nilus/normalize/schema.h"
#include "nilus/pipeline/incremental.h"

namespace nilus {

/// The bookkeeping columns of unnested data: every row of a child table (and of a root table
/// with `max-table-nesting` > 0) has an id; child rows name their parent row, their position
/// in its array and their root row (so that a merge replaces the children of the rows it
/// replaces, whatever strategy loaded them).
inline constexpr char kRowIdColumn[] = "_nilus_id";
inline constexpr char kParentIdColumn[] = "_nilus_parent_id";
inline constexpr char kListIndexColumn[] = "_nilus_list_idx";
inline constexpr char kRootIdColumn[] = "_nilus_root_id";

/// A batch of one destination table: the load's table or one of its child tables (nested arrays
/// unnested by Normalize, named `<table>__<field>`, in the same destination schema).
struct TableBatch {
  std::string table;  ///< without the destination schema
  std::shared_ptr<const RecordBatch> batch;
};

/// The Normalize stage of one load (DESIGN §2): turns the source's batches into batches of the
/// destination's tables. In order: documents are flattened (`max-table-nesting`) and their
/// columns selected (`columns`, `sql-exclude-columns`), names are normalised, `type-hints`
/// convert values, `mask` masks them, the schema evolves (new columns, variant columns), and the
/// incremental range and `sql-limit` keep the rows to load. Runs on one thread.
class NormalizeStage {
 public:
  /// `prior` is the state the last load committed ({} when none). A rebuild (`replace`, a full
  /// refresh) starts the schema afresh and ignores the prior cursor; a full refresh also starts
  /// the `sequential` masks afresh.
  static Result<std::unique_ptr<NormalizeStage>> Make(const SourceOptions& options, const TableSpec& table,
                                                      const std::string& load_id, const nlohmann::json& prior,
                                                      bool full_refresh);

  /// Takes the columns the destination's table has now (`Destination::TableColumns`) as the
  /// root table's schema when the stored schema does not know the table.
  void AdoptTable(const std::vector<Field>& columns);

  /// The batches of the destination tables for one source batch: the root table's first, then
  /// its child tables'. Batches without rows are left out.
  Result<std::vector<TableBatch>> Apply(const std::shared_ptr<const RecordBatch>& batch);
  /// The same for documents a reader flattened itself (BatchReader::NextFlattened).
  Result<std::vector<TableBatch>> ApplyFlattened(std::vector<FlatTable> flat);
  /// Checks what only the whole load can tell (every masked column was seen) and closes the
  /// schema version with the load id.
  Status Finish();

  /// Where the source may start: the saved cursor's value and how many rows the last load took
  /// with it.
  ResumePoint Resume(const nlohmann::json& source_state) const;
  /// Whether `sql-limit` rows were kept: the run reads no further.
  bool LimitReached() const { return row_limit_ >= 0 && rows_kept_ >= row_limit_; }
  /// Adds what the stage keeps between runs to the state to commit: cursor, schema, sequences.
  void AddState(nlohmann::json& state) const;
  /// The child tables of the root table: those of the schema and, for a replace, those of the
  /// schema it replaces (they must be emptied too).
  std::vector<std::string> ChildTables() const;
  const StoredSchema& schema() const { return schema_; }

 private:
  NormalizeStage(const SourceOptions& options, const TableSpec& table, const std::string& load_id, Masker masker,
                 const nlohmann::json& prior_cursor);

  Result<std::vector<TableBatch>> ApplyTyped(const RecordBatch& batch);
  Result<std::vector<TableBatch>> ApplyDocuments(const RecordBatch& batch);
  /// Flattened documents into the batches of the root table and its child tables. `origins`
  /// names each root row's source; `source` is the batch the rows came from (the root table's
  /// when nullptr), whose values the incremental cursor keeps.
  Result<std::vector<TableBatch>> ApplyFlat(std::vector<FlatTable> flat, const Column* origins,
                                            const RecordBatch* source);
  /// The destination name of a child table (the `__`-joined path of its array, resolved once).
  std::string ChildTableName(const FlatTable& table, const std::string& parent);
  /// Table `t` of a batch of flattened documents as a batch of its destination table: names,
  /// hints and masks (root table), evolution, and the row ids that link the tables.
  Result<std::shared_ptr<const RecordBatch>> AssembleFlatTable(const std::vector<FlatTable>& flat, size_t t,
                                                               const std::vector<std::string>& names,
                                                               std::vector<RecordBatch::ColumnPtr>& ids,
                                                               const Column* origins);
  /// Applies the column's type hint and mask, if it has them.
  Status HintAndMask(SourceColumn& column, const Column* origins);
  /// The non-empty tables of the documents `keep` names (all when nullopt), each child row with
  /// its root row.
  static std::vector<TableBatch> KeptDocuments(const std::vector<FlatTable>& flat, std::vector<TableBatch> tables,
                                               const std::optional<std::vector<int64_t>>& keep);
  /// Keeps the root fields that `columns` names and `sql-exclude-columns` does not, and the
  /// child tables of those fields.
  void SelectColumns(std::vector<FlatTable>& flat);
  /// The root rows to load: those in the incremental range, up to `sql-limit`; nullopt when
  /// every row of `root` stays.
  Result<std::optional<std::vector<int64_t>>> KeepRows(const RecordBatch& root, const RecordBatch& source);
  /// Records in the schema the source names whose column is named differently, so the next
  /// run maps them the same way.
  static void KeepRenames(TableSchema& table, const std::vector<NameMap::Request>& requests,
                          const std::vector<std::string>& dest);
  /// The names of one table's columns, seeded from the stored schema.
  NameMap& ColumnNames(const TableSchema& table);
  /// Converts `values` to the hinted type of column `name`, or fails naming the row.
  Result<RecordBatch::ColumnPtr> ApplyHint(const std::string& name, const LogicalType& hint,
                                           const std::vector<RecordBatch::ColumnPtr>& values, const Column* origins);
  const LogicalType* Hint(const std::string& column) const;
  /// Fills `ids` with a new row id per row.
  RecordBatch::ColumnPtr NewIds(int64_t rows);

  std::string root_;
  WriteDisposition strategy_;
  int max_nesting_;
  bool date_detection_;
  std::map<std::string, LogicalType> hints_;  // normalised column name -> type
  SourceOptions options_;
  bool documents_seen_ = false;
  std::set<std::string> selection_seen_;  // `columns`, `sql-exclude-columns` entries a document field matched
  Masker masker_;
  IncrementalCursor cursor_;
  StoredSchema schema_;
  StoredSchema replaced_;  // for a replace: the schema before it
  bool rebuild_ = false;
  std::map<std::string, NameMap> column_names_;  // per table
  NameMap table_names_{"child table"};
  DocumentFlattener flattener_;
  int64_t rows_seen_ = 0;
  int64_t row_limit_ = -1;  // sql-limit
  int64_t rows_kept_ = 0;
  std::string load_id_;
  uint64_t id_seed_[2] = {0, 0};
  uint64_t id_counter_ = 0;
};

}  // namespace nilus
