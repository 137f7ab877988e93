#pragma once

#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"

namespace nilus {

/// One destination table as Nilus keeps it between runs: its columns in the order they were
/// added, and, for a child table, the table it hangs off.
struct TableSchema {
  std::string name;    ///< destination table name (without the destination schema)
  std::string parent;  ///< the parent table of a child table; empty for the root table
  /// For a child table: the path of its array from the root document, keys joined by '\x1f'.
  std::string source;
  std::vector<Field> columns;
  /// Source names whose column is named differently (identifier normalisation, collisions).
  std::map<std::string, std::string> renamed;

  /// Index of the column called `name`, or -1.
  int ColumnIndex(const std::string& column) const;
};

/// The name of the variant column that takes the values of `column` whose type is `type`
/// when they do not fit the column's own type: `<column>__v_<type>`.
std::string VariantColumnName(const std::string& column, const LogicalType& type);

/// The tables a pipeline writes (a root table and its child tables) and their version. It is
/// committed with the data, inside the pipeline's state, so data and schema never disagree; the
/// local state store keeps every version for `nilus schema show`.
class StoredSchema {
 public:
  StoredSchema() = default;
  /// Reads the "schema" member of a committed state ({} or missing: no tables yet).
  static Result<StoredSchema> FromJson(const nlohmann::json& j);
  /// The schema with its version, the load that made it and what that load changed.
  nlohmann::json ToJson() const;

  int version() const { return version_; }
  const std::deque<TableSchema>& tables() const { return tables_; }
  /// The table called `name`, or nullptr.
  TableSchema* Find(const std::string& name);
  const TableSchema* Find(const std::string& name) const;
  /// The table called `name`, created (and recorded as a change) when missing.
  TableSchema& Table(const std::string& name, const std::string& parent);
  /// Adds a column to `table` and records the change (`why` is added to the description).
  void AddColumn(TableSchema& table, Field field, const std::string& why = "");

  /// The same version without tables: a replace builds its tables afresh.
  StoredSchema StartOver() const;

  /// What changed since the schema was read, in order; empty when nothing did.
  const std::vector<std::string>& changes() const { return changes_; }
  /// Closes the changes as a new version made by `load_id` (no-op when nothing changed).
  void Commit(const std::string& load_id);

 private:
  int version_ = 0;
  std::string load_id_;
  std::deque<TableSchema> tables_;  // references stay valid as tables are added
  std::vector<std::string> changes_;
  std::vector<std::string> committed_changes_;  // what the version in version_ changed
};

}  // namespace nilus
