#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nilus/connectors/connector.h"
#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"
#include "nilus/core/strings.h"

namespace nilus {

/// A table as the shared load algorithm names it: a destination table (`schema`.`name`), a
/// bookkeeping table, or a temporary table of the session (`temp`).
struct SqlTable {
  std::string schema;
  std::string name;
  bool temp = false;
};

/// What index a table has on a set of columns.
enum class KeyIndex { kNone, kIndexed, kUnique };

/// The rows of a small result (catalog lookups, bookkeeping) as text; nullopt is NULL.
using SqlRows = std::vector<std::vector<std::optional<std::string>>>;

/// Streams batches into one table through a database's bulk path (SQLite: a prepared INSERT;
/// PostgreSQL: COPY). Every row gets `_nilus_load_id`.
class BulkWriter {
 public:
  virtual ~BulkWriter() = default;
  /// Appends the rows of `batch`, whose schema is the one the writer was opened with.
  virtual Status Write(const RecordBatch& batch) = 0;
  /// Ends the bulk write; the rows are then in the table (inside the transaction).
  virtual Status Finish() = 0;
};

/// What one SQL database supplies to the shared load algorithm (connectors/sql/sql_destination.h):
/// how it names tables, declares types and bookkeeping, runs statements, bulk-loads rows and
/// fences loads of one pipeline. The algorithm itself (target tables, staging, swap-in, merge by
/// key, child tables, bookkeeping rows) exists once; a new SQL destination is a new dialect.
/// One dialect object holds one connection, used by one load at a time.
class SqlDialect {
 public:
  virtual ~SqlDialect() = default;

  // --- names --------------------------------------------------------------------------------
  /// The quoted reference of a table: "raw"."orders" in PostgreSQL; in SQLite, which has one
  /// namespace per file, "raw__orders".
  virtual std::string Ref(const SqlTable& table) const = 0;
  /// The unqualified name a table has inside its namespace, as `ALTER TABLE … RENAME TO` and
  /// index names take it: "orders" in PostgreSQL, "raw__orders" in SQLite.
  virtual std::string LocalName(const SqlTable& table) const = 0;
  /// Where the bookkeeping table `name` (`_nilus_state`, `_nilus_loads`) of destination schema
  /// `schema` is: beside the data in PostgreSQL, once per file in SQLite.
  virtual SqlTable Bookkeeping(const std::string& schema, const std::string& name) const = 0;

  // --- types and DDL ------------------------------------------------------------------------
  /// The declared type of a column holding `field`.
  virtual std::string ColumnType(const Field& field) const = 0;
  /// The declared type of `field` when it is a column of a table's primary key, `whole` when it
  /// is the whole key (SQLite: INTEGER for a bigint whole key, which makes the key the table's
  /// rowid: one b-tree instead of two; MySQL: a bounded VARCHAR for text, which it cannot index
  /// whole).
  virtual std::string KeyColumnType(const Field& field, bool whole) const {
    (void)whole;
    return ColumnType(field);
  }
  /// The declared type of an auto-numbered column (the merge staging table's row order).
  virtual std::string SequenceType() const = 0;
  /// Creates, when missing, the schema `schema` and its `_nilus_loads` and `_nilus_state`.
  virtual Status EnsureBookkeeping(const std::string& schema) = 0;
  /// Creates the schema `schema` when missing (nothing where the database has none).
  virtual Status EnsureSchema(const std::string& schema) = 0;
  /// A statement that empties `table` inside a transaction.
  virtual std::string TruncateSql(const SqlTable& table) const = 0;

  // --- statements ---------------------------------------------------------------------------
  /// Runs one or several statements without parameters.
  virtual Status Exec(const std::string& sql) = 0;
  /// Runs a DDL statement apart from the load's transaction, where DDL would commit it (MySQL:
  /// on a connection of its own, in autocommit); elsewhere as Exec does.
  virtual Status ExecApart(const std::string& sql) { return Exec(sql); }
  /// A statement that drops `table` when it exists (MySQL names a temporary table's drop, which
  /// alone does not commit).
  virtual std::string DropSql(const SqlTable& table) const { return "DROP TABLE IF EXISTS " + Ref(table); }
  /// Runs one statement with text parameters written $1, $2 …, and returns its rows.
  virtual Result<SqlRows> Query(const std::string& sql, const std::vector<std::optional<std::string>>& params) = 0;
  /// The column names of `table`, in order; empty when it does not exist.
  virtual Result<std::vector<std::string>> ColumnNames(const SqlTable& table) = 0;
  /// The columns of `table` with their logical (and, where known, native) types, leaving out
  /// `_nilus_load_id`; empty when it does not exist.
  virtual Result<std::vector<Field>> TableColumns(const SqlTable& table) = 0;
  /// The best index of `table` on `columns` (in any order): a primary key or unique index on
  /// exactly them, an index that starts with them, or none.
  virtual Result<KeyIndex> IndexOn(const SqlTable& table, const std::vector<std::string>& columns) = 0;
  /// Prepares a merge from the staging table just filled: memory to sort it in, and, the first
  /// time the table is used (`first`), statistics for the planner (PostgreSQL: work_mem and
  /// ANALYZE; later, the planner scales those statistics to the table's size).
  virtual Status PrepareMerge(const SqlTable& staging, bool first) = 0;
  /// What follows `CREATE TABLE …(…)` of every table nilus makes (MySQL: the storage engine,
  /// the character set and a collation that tells every string apart).
  virtual std::string TableOptions() const { return ""; }
  /// What follows `CREATE TEMP TABLE …(…)` so that the table empties itself at each commit
  /// (PostgreSQL: ON COMMIT DELETE ROWS); "" where the load must empty it (SQLite).
  virtual std::string TempTableClause() const = 0;
  /// Whether an upsert (UpsertClause) costs less than DELETE + INSERT for rows that exist:
  /// SQLite updates rows where they are; PostgreSQL writes new row versions either way.
  virtual bool UpsertsInPlace() const = 0;
  /// What follows `INSERT INTO t (…) SELECT …` (or `VALUES …`) so that a row whose `key`
  /// exists updates its columns `set` instead: `ON CONFLICT (key) DO UPDATE SET …` in
  /// PostgreSQL and SQLite.
  virtual std::string UpsertClause(const std::vector<std::string>& key, const std::vector<std::string>& set) const {
    std::vector<std::string> assignments;
    for (const auto& c : set) assignments.push_back(c + " = excluded." + c);
    return "ON CONFLICT (" + Join(key, ", ") + ") DO UPDATE SET " + Join(assignments, ", ");
  }
  /// Whether DDL runs inside the load's transaction (PostgreSQL, SQLite). Where each DDL
  /// statement commits (MySQL, MariaDB), the load runs its DDL apart (ExecApart) while it
  /// writes rows straight into the destination tables, and stages every table once a DDL
  /// statement would touch a table it wrote; a rebuild deletes the rows of earlier loads at
  /// commit instead of swapping a new table in.
  virtual bool TransactionalDdl() const { return true; }
  /// What groups the rows of table alias `alias` by every one of `columns`, NULLs alike, in
  /// GROUP BY and PARTITION BY: PostgreSQL the row's text (every type has one, not every type an
  /// equality), by default the columns themselves.
  virtual std::string WholeRow(const std::string& alias, const std::vector<std::string>& columns) const {
    std::vector<std::string> qualified;
    for (const auto& c : columns) qualified.push_back(alias + "." + c);
    return Join(qualified, ", ");
  }
  /// A join condition true when rows `a` and `b` hold the same values in `columns`, NULLs alike.
  virtual std::string SameWholeRow(const std::string& a, const std::string& b,
                                   const std::vector<std::string>& columns) const = 0;
  /// The column that locates a row where it is stored (PostgreSQL ctid, SQLite rowid); "" where
  /// rows have none (MySQL), which cannot mirror keyless tables.
  virtual std::string RowLocator() const = 0;
  /// Starts bulk-loading rows of `schema` (and `_nilus_load_id` = `load_id`) into `table`,
  /// which has those columns. One bulk writer is open at a time.
  virtual Result<std::unique_ptr<BulkWriter>> OpenBulk(const SqlTable& table, const Schema& schema,
                                                       const std::string& load_id) = 0;

  // --- transactions -------------------------------------------------------------------------
  /// Begins the transaction of `load` and takes its pipeline's lock: while another load of the
  /// pipeline holds it, says so once and waits, up to `load.lock_timeout`. Statements stop with
  /// Cancelled when the connection's stop token is requested.
  virtual Status BeginLocked(const LoadSpec& load) = 0;
  /// Commits; a stop requested meanwhile does not interrupt it.
  virtual Status Commit() = 0;
  /// Rolls back whatever is open (a bulk write included). Never fails loudly: it runs when a
  /// load is abandoned.
  virtual void Rollback() = 0;
  /// The state tables of every destination schema (for `nilus state reset`).
  virtual Result<std::vector<SqlTable>> StateTables() = 0;
};

}  // namespace nilus
