#pragma once

#include <functional>
#include <map>
#include <memory>
#include <stop_token>

#include "nilus/connectors/connector.h"
#include "nilus/connectors/sql/sql_dialect.h"

namespace nilus {

/// The load algorithm every SQL destination shares (DESIGN §2.8), over one database's dialect:
///
/// - `append` writes rows straight into the table;
/// - a rebuild (`replace`, a full refresh) writes `<table>__nilus_new` beside each table and
///   renames it over the old one at commit, emptying child tables the load did not write;
/// - `merge` writes the root table's rows into a temporary staging table and, at commit,
///   deletes the table's rows whose key is staged (and their child rows), then inserts the last
///   staged row of each key unless it is a delete. The staging table is kept, empty, for the
///   connection's next load, as are the columns and key indexes the loads looked up. Every statement joins on the key
///   with `=` through an index (the primary key nilus declares, or an index it adds), so a merge costs what the staged
///   rows cost, not what the table holds;
/// - child rows are written straight into their tables, indexed by `_nilus_root_id`;
/// - `_nilus_loads` rows and the pipeline's `_nilus_state` row are written last, and everything
///   commits together;
/// - where DDL commits (SqlDialect::TransactionalDdl), DDL runs apart from the load's
///   transaction while rows go straight into the tables; a DDL statement on a table the load
///   wrote, or a truncation, stages every table from there on (the rows move in at commit), and
///   a rebuild deletes the rows of earlier loads at commit instead of swapping a table in.
struct SqlSession;

/// What a destination that keeps its tables' data elsewhere and their catalog in a SQL database
/// (the lakehouse) adds to the commit of a load on that database: statements run inside its
/// transaction, after the load's own tables and before its bookkeeping rows. A failure rolls
/// the whole load back.
using CommitStep = std::function<Status(SqlDialect& db)>;

/// Takes a pipeline's lock for `load` with `try_lock` (true: taken), trying every 200 ms: says
/// once that another load holds it, gives up after `load.lock_timeout` (FailedPrecondition) or
/// on a stop (Cancelled). For dialects whose lock can be tried without waiting.
Status AwaitPipelineLock(const LoadSpec& load, const std::stop_token& stop,
                         const std::function<Result<bool>()>& try_lock);

/// The columns of each index of a table (in index order) and whether it is unique, by index name.
using IndexColumns = std::map<std::string, std::pair<std::vector<std::string>, bool>>;
/// The best of `indexes` on `columns` (in any order), as SqlDialect::IndexOn answers.
KeyIndex BestIndex(const IndexColumns& indexes, const std::vector<std::string>& columns);

class SqlDestination final : public Destination {
 public:
  SqlDestination(std::unique_ptr<SqlDialect> db, std::stop_token stop);
  ~SqlDestination() override;

  Result<std::unique_ptr<Load>> Begin(const LoadSpec& spec) override { return Begin(spec, nullptr); }
  /// A load whose commit runs `step` too.
  Result<std::unique_ptr<Load>> Begin(const LoadSpec& spec, CommitStep step);
  /// The connection, for statements of a destination built on this one, inside its loads.
  SqlDialect& dialect() { return *db_; }
  Status ResetState(const std::string& pipeline) override;

 private:
  std::unique_ptr<SqlDialect> db_;
  std::stop_token stop_;
  std::unique_ptr<SqlSession> session_;  // what the loads of this connection learnt of its tables
};

}  // namespace nilus
