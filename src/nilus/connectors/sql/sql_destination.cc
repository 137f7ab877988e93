#include "nilus/connectors/sql/sql_destination.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <set>

#include "nilus/core/cancellation.h"
#include "nilus/core/identifiers.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

// Bookkeeping statements; $n parameters, table references filled in with fmt.
constexpr char kReadState[] = "SELECT state FROM {} WHERE pipeline = $1 AND table_name = $2";
// ("rows" is quoted: a reserved word in MySQL.)
constexpr char kInsertLoad[] =
    "INSERT INTO {} (load_id, pipeline, table_name, strategy, status, \"rows\", bytes, started_at, finished_at, "
    "nilus_version) VALUES ($1, $2, $3, $4, 'committed', $5, $6, $7, $8, $9)";
constexpr char kUpsertState[] =
    "INSERT INTO {} (pipeline, table_name, state, load_id, updated_at) VALUES ($1, $2, $3, $4, $5) {}";

constexpr char kSeqColumn[] = "_nilus_seq";
constexpr char kRowIdColumn[] = "_nilus_id";
constexpr char kRootIdColumn[] = "_nilus_root_id";

std::string NowIso() {
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return FormatTimestamp(micros, true);
}

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// The strategy a load record names: a rebuild replaces the table, whatever the strategy.
std::string_view RecordedStrategy(const TableSpec& t) {
  return t.rebuild ? "replace" : WriteDispositionName(t.strategy);
}

}  // namespace

/// What the loads of one connection know of its tables, kept from load to load so that each
/// does not ask the catalog again: the columns of tables, their key indexes, and the staging
/// table kept for each merged table (a temporary table, emptied at each commit). A load works
/// on a copy that replaces this one when it commits: a rolled-back load's DDL is undone, and
/// so are its notes.
struct SqlSession {
  std::map<std::string, std::vector<std::string>> columns;  ///< by Ref: the columns of an existing table
  std::map<std::string, std::vector<Field>> fields;         ///< by Ref: the same with their types
  std::map<std::string, KeyIndex> key_index;                ///< by "Ref:column,…": the index found on columns
  std::map<std::string, SqlTable> staging;                  ///< by the merged table's Ref
  int next_staging = 0;

  void Forget(const std::string& ref) {
    columns.erase(ref);
    fields.erase(ref);
    std::erase_if(key_index, [&](const auto& entry) { return StartsWith(entry.first, ref + ":"); });
  }
};

namespace {

class SqlLoad final : public Load {
 public:
  SqlLoad(SqlDialect& db, std::stop_token stop, LoadSpec spec, SqlSession& session, CommitStep step)
      : db_(db),
        stop_(std::move(stop)),
        spec_(std::move(spec)),
        step_(std::move(step)),
        saved_(session),
        session_(session) {}

  ~SqlLoad() override {
    if (!committed_) {
      bulk_.reset();
      db_.Rollback();
      if (!db_.TransactionalDdl()) {
        // The load's DDL committed as it ran: what the session knew of tables may be out of date.
        saved_.columns.clear();
        saved_.fields.clear();
        saved_.key_index.clear();
      }
    }
  }

  /// Creates the bookkeeping tables when missing and reads the pipeline's state, under the
  /// lock that BeginLocked took.
  Status ReadPriorState() {
    NILUS_ASSIGN_OR_RAISE(auto split, SplitDestTable(spec_.state_table, "dest-table"));
    state_schema_ = split.first;
    NILUS_RETURN_NOT_OK(db_.EnsureBookkeeping(state_schema_));
    NILUS_ASSIGN_OR_RAISE(SqlRows rows,
                          db_.Query(fmt::format(kReadState, db_.Ref(db_.Bookkeeping(state_schema_, "_nilus_state"))),
                                    {spec_.pipeline, spec_.state_table}));
    prior_ = nlohmann::json::object();
    if (rows.empty() || !rows[0][0]) return Status::OK();
    prior_ = nlohmann::json::parse(*rows[0][0], nullptr, false);
    if (prior_.is_discarded() || !prior_.is_object()) {
      return Status::FailedPrecondition(
          "the state of pipeline {} for {} is not a JSON object; reset it with: nilus state reset {}", spec_.pipeline,
          spec_.state_table, spec_.pipeline);
    }
    return Status::OK();
  }

  const nlohmann::json& prior_state() const override { return prior_; }

  Result<std::vector<Field>> TableColumns(const std::string& schema, const std::string& table) override {
    SqlTable t{schema, table};
    std::string ref = db_.Ref(t);
    if (auto it = session_.fields.find(ref); it != session_.fields.end()) return it->second;
    NILUS_RETURN_NOT_OK(FinishBulk());  // the connection runs one statement at a time
    NILUS_ASSIGN_OR_RAISE(auto fields, db_.TableColumns(t));
    if (!fields.empty()) session_.fields[ref] = fields;
    return fields;
  }

  Status Write(const TableSpec& spec, const RecordBatch& batch) override {
    NILUS_ASSIGN_OR_RAISE(Target * t, TargetFor(spec));
    if (t->merged) {
      NILUS_RETURN_NOT_OK(CheckMergeKeys(spec, batch));
    } else if (batch.schema().FieldIndex(kOperationColumn) >= 0) {
      return Status::Internal("rows with an operation ({}) written to {}, which is not merged", kOperationColumn,
                              spec.qualified());
    }
    if (open_ != t || !(batch.schema() == t->schema)) {
      NILUS_RETURN_NOT_OK(FinishBulk());
      if (!(batch.schema() == t->schema)) NILUS_RETURN_NOT_OK(Prepare(*t, batch.schema()));
      NILUS_ASSIGN_OR_RAISE(bulk_, db_.OpenBulk(t->write, batch.schema(), spec_.load_id));
      open_ = t;
    }
    if (!t->staged) t->written = true;
    return bulk_->Write(batch);
  }

  Status Truncate(const TableSpec& spec, const std::vector<std::string>& child_tables) override {
    NILUS_RETURN_NOT_OK(FinishBulk());
    // Where DDL commits, a truncation waits for the commit, after the load's other DDL.
    if (!db_.TransactionalDdl()) NILUS_RETURN_NOT_OK(StageEverything());
    std::vector<std::string> names = {spec.name};
    names.insert(names.end(), child_tables.begin(), child_tables.end());
    for (const auto& name : names) {
      const Target* t = Find(spec.schema, name);
      if (t && t->staged) NILUS_RETURN_NOT_OK(db_.Exec("DELETE FROM " + db_.Ref(t->write)));
      SqlTable dest = t ? t->dest : SqlTable{spec.schema, name};
      NILUS_ASSIGN_OR_RAISE(auto columns, Columns(dest));
      if (columns.empty()) continue;
      // Where DDL commits, destination tables change only at commit: the truncation waits there.
      if (db_.TransactionalDdl()) {
        NILUS_RETURN_NOT_OK(db_.Exec(db_.TruncateSql(dest)));
      } else {
        emptied_.push_back(dest);
      }
    }
    return Status::OK();
  }

  Status Commit(const std::vector<LoadRecord>& tables, const nlohmann::json& state) override {
    NILUS_RETURN_NOT_OK(FinishBulk());
    if (db_.TransactionalDdl()) {
      for (const auto& record : tables) {
        Target* root = Find(record.table.schema, record.table.name);
        spdlog::debug("committing {}: {}", record.table.qualified(),
                      root && root->merged   ? "merging the staged rows"
                      : record.table.rebuild ? "swapping in"
                                             : "appended");
        // Child tables are indexed on their final names: before a merge uses the index, after a
        // rebuild renamed them.
        if (!record.table.rebuild) NILUS_RETURN_NOT_OK(IndexChildren(record));
        if (root && root->merged) NILUS_RETURN_NOT_OK(Merge(*root, record));
        if (record.table.rebuild) NILUS_RETURN_NOT_OK(SwapIn(record));
        if (record.table.rebuild) NILUS_RETURN_NOT_OK(IndexChildren(record));
      }
    } else {
      NILUS_RETURN_NOT_OK(MoveStagedRows(tables));
    }
    if (step_) NILUS_RETURN_NOT_OK(step_(db_));
    NILUS_RETURN_NOT_OK(WriteBookkeeping(tables, state));
    if (stop_.stop_requested()) return Status::Cancelled("interrupted");
    NILUS_RETURN_NOT_OK(db_.Commit());
    committed_ = true;
    saved_ = std::move(session_);
    return Status::OK();
  }

 private:
  /// One table of the load: where its batches go.
  struct Target {
    TableSpec spec;
    SqlTable dest;         // where the load's rows end up: the table, or its replacement in a rebuild
    SqlTable write;        // where batches go: `dest`, or a staging table
    bool merged = false;   // a keyed root table: its staged rows are merged by key
    bool staged = false;   // `write` is a staging table: merged, or where DDL commits, once staged_
    bool written = false;  // rows went straight into `dest`
    bool analyze = false;  // the staging table is new: the planner needs its statistics once
    Schema schema;         // the columns `write` was made to hold
  };

  Target* Find(const std::string& schema, const std::string& name) {
    auto it = targets_.find({schema, name});
    return it == targets_.end() ? nullptr : &it->second;
  }

  Result<Target*> TargetFor(const TableSpec& spec) {
    auto [it, added] = targets_.try_emplace({spec.schema, spec.name});
    Target& t = it->second;
    if (!added) return &t;
    t.spec = spec;
    // Where DDL commits, a rebuild empties the table at commit instead of swapping a new one in.
    const bool swap = spec.rebuild && db_.TransactionalDdl();
    t.dest = {spec.schema, swap ? spec.name + "__nilus_new" : spec.name};
    t.merged = spec.keyed() && spec.root.empty();
    t.write = t.dest;
    NILUS_RETURN_NOT_OK(FinishBulk());
    NILUS_RETURN_NOT_OK(db_.EnsureSchema(spec.schema));
    if (swap) {
      NILUS_RETURN_NOT_OK(db_.Exec("DROP TABLE IF EXISTS " + db_.Ref(t.dest)));
      session_.Forget(db_.Ref(t.dest));
    }
    if (t.merged || staged_) NILUS_RETURN_NOT_OK(Stage(t));
    return &t;
  }

  /// Sends `t`'s rows to a staging table from now on. The staging table of a table is kept for
  /// the session's later loads.
  Status Stage(Target& t) {
    t.staged = true;
    auto [it, added] = session_.staging.try_emplace(db_.Ref(t.dest));
    if (added) {
      it->second = SqlTable{"", fmt::format("_nilus_staging_{}", ++session_.next_staging), true};
      NILUS_RETURN_NOT_OK(db_.Exec(db_.DropSql(it->second)));
      t.analyze = true;
    } else if (!db_.TransactionalDdl()) {
      // A DDL statement of a load that failed may have committed rows into it.
      NILUS_RETURN_NOT_OK(db_.Exec("DELETE FROM " + db_.Ref(it->second)));
    }
    t.write = it->second;
    return Status::OK();
  }

  /// Where DDL commits, a load writes its rows straight into the destination tables, and runs
  /// its DDL apart from its transaction (SqlDialect::ExecApart), until a DDL statement would
  /// touch a table the transaction holds (a column added to a table it wrote) or a truncation
  /// comes. Then the load moves the rows it wrote into staging tables and deletes them from the
  /// destination tables, which then hold nothing of it, and stages every table from there on,
  /// running its DDL in its own transaction, whose implicit commits commit nothing of the load.
  Status StageEverything() {
    if (staged_) return Status::OK();
    NILUS_RETURN_NOT_OK(FinishBulk());
    staged_ = true;
    for (auto& [name, t] : targets_) {
      if (t.staged) continue;
      const bool written = t.written;
      NILUS_RETURN_NOT_OK(Stage(t));
      if (!written) continue;
      spdlog::debug("{}: moving the rows written so far into a staging table", t.spec.qualified());
      NILUS_RETURN_NOT_OK(EnsureTable(t.write, t.schema, {}));
      std::vector<std::string> cols;
      for (const auto& f : t.schema.fields()) cols.push_back(QuoteIdent(f.name));
      cols.push_back(QuoteIdent(kLoadIdColumn));
      const std::string mine = fmt::format("{} = {}", QuoteIdent(kLoadIdColumn), QuoteLiteral(spec_.load_id));
      NILUS_RETURN_NOT_OK(db_.Exec(fmt::format("INSERT INTO {0} ({1}) SELECT {1} FROM {2} WHERE {3}", db_.Ref(t.write),
                                               Join(cols, ", "), db_.Ref(t.dest), mine)));
      NILUS_RETURN_NOT_OK(db_.Exec(fmt::format("DELETE FROM {} WHERE {}", db_.Ref(t.dest), mine)));
      t.written = false;
    }
    return Status::OK();
  }

  /// Whether DDL on destination tables runs apart from the load's transaction: where DDL
  /// commits, while the load writes straight into destination tables.
  bool DdlApart() const { return !db_.TransactionalDdl() && !staged_; }

  /// Runs a DDL statement on `table`.
  Status Ddl(const SqlTable& table, const std::string& sql) {
    return !table.temp && DdlApart() ? db_.ExecApart(sql) : db_.Exec(sql);
  }

  /// Merge keys are compared with `=`, which never matches NULL: every key must be set.
  Status FinishBulk() {
    if (!bulk_) return Status::OK();
    auto bulk = std::move(bulk_);
    open_ = nullptr;
    return bulk->Finish();
  }

  /// Makes the tables behind `t` hold every column of `schema`: the destination (or its
  /// replacement) and, for a merged table, the staging table.
  Status Prepare(Target& t, const Schema& schema) {
    if (DdlApart()) {
      // A column added to a table the load wrote, or to a staging table (whose ALTER commits)
      // once any table was written, needs the load's own connection: stage everything first.
      bool any_written = false;
      for (const auto& [name, other] : targets_) any_written = any_written || other.written;
      NILUS_ASSIGN_OR_RAISE(bool alter, Lacks(t.staged ? t.write : t.dest, schema));
      if (alter && (t.written || (t.staged && any_written))) NILUS_RETURN_NOT_OK(StageEverything());
    }
    if (t.staged) {
      Schema data;
      for (const auto& f : schema.fields()) {
        if (!IsMergeControlColumn(f.name)) data.AddField(f);
      }
      NILUS_RETURN_NOT_OK(EnsureTable(t.dest, data, t.merged ? t.spec.primary_key : std::vector<std::string>{}));
      NILUS_RETURN_NOT_OK(EnsureTable(t.write, schema, {}));
    } else {
      NILUS_RETURN_NOT_OK(EnsureTable(t.dest, schema, {}));
      // A child table is indexed before rows reach it, while its index can be made apart.
      if (DdlApart() && !t.spec.root.empty() && schema.FieldIndex(kRootIdColumn) >= 0) {
        NILUS_RETURN_NOT_OK(EnsureIndex(t.dest, {kRootIdColumn}, "__nilus_root_id", false).status());
      }
    }
    t.schema = schema;
    return Status::OK();
  }

  /// Whether `table` exists and lacks a column of `schema`.
  Result<bool> Lacks(const SqlTable& table, const Schema& schema) {
    NILUS_ASSIGN_OR_RAISE(auto have, Columns(table));
    if (have.empty()) return false;
    for (const auto& f : schema.fields()) {
      if (!Contains(have, f.name)) return true;
    }
    return false;
  }

  /// Creates `table` with the columns of `schema` (and `key` as its primary key), or adds the
  /// columns it lacks.
  Status EnsureTable(const SqlTable& table, const Schema& schema, const std::vector<std::string>& key) {
    NILUS_ASSIGN_OR_RAISE(auto have, Columns(table));
    std::string ref = db_.Ref(table);
    if (have.empty()) {
      std::vector<std::string> cols, names;
      if (table.temp) {
        cols.push_back(fmt::format("{} {}", QuoteIdent(kSeqColumn), db_.SequenceType()));
        names.push_back(kSeqColumn);
      }
      for (const auto& f : schema.fields()) {
        const bool in_key = Contains(key, f.name);
        cols.push_back(QuoteIdent(f.name) + " " + (in_key ? db_.KeyColumnType(f, key.size() == 1) : db_.ColumnType(f)));
        names.push_back(f.name);
      }
      cols.push_back(QuoteIdent(kLoadIdColumn) + " " + db_.ColumnType({kLoadIdColumn, LogicalType::Text()}) +
                     " NOT NULL");
      names.push_back(kLoadIdColumn);
      if (!key.empty()) {
        std::vector<std::string> quoted;
        for (const auto& k : key) quoted.push_back(QuoteIdent(k));
        cols.push_back("PRIMARY KEY (" + Join(quoted, ", ") + ")");
      }
      std::string name = table.temp ? "TEMPORARY TABLE " + QuoteIdent(table.name) : "TABLE " + ref;
      NILUS_RETURN_NOT_OK(Ddl(table, fmt::format("CREATE {} ({}){}{}", name, Join(cols, ", "), db_.TableOptions(),
                                                 table.temp ? db_.TempTableClause() : "")));
      session_.Forget(ref);
      session_.columns[ref] = std::move(names);
      return Status::OK();
    }
    for (const auto& f : schema.fields()) {
      if (Contains(have, f.name)) continue;
      if (!table.temp)
        spdlog::info("adding column {} {} to {}.{}", f.name, db_.ColumnType(f), table.schema, table.name);
      NILUS_RETURN_NOT_OK(
          Ddl(table, fmt::format("ALTER TABLE {} ADD COLUMN {} {}", ref, QuoteIdent(f.name), db_.ColumnType(f))));
      session_.fields.erase(ref);
      session_.columns[ref].push_back(f.name);
    }
    return Status::OK();
  }

  /// The column names of `table` (empty when it does not exist), from the session's notes or
  /// the catalog.
  Result<std::vector<std::string>> Columns(const SqlTable& table) {
    std::string ref = db_.Ref(table);
    if (auto it = session_.columns.find(ref); it != session_.columns.end()) return it->second;
    NILUS_ASSIGN_OR_RAISE(auto names, db_.ColumnNames(table));
    if (!names.empty()) session_.columns[ref] = names;
    return names;
  }

  /// A merge target needs an index on its key for the merge to cost what the staged rows cost;
  /// tables nilus creates have their primary key, others get an index. Returns whether the
  /// key is unique (a primary key or unique index on exactly its columns).
  Result<bool> IndexKey(const SqlTable& table, const std::vector<std::string>& key) {
    NILUS_ASSIGN_OR_RAISE(KeyIndex index, EnsureIndex(table, key, "__nilus_key", true));
    return index == KeyIndex::kUnique;
  }

  /// Child tables are found by their root row at every merge: index `_nilus_root_id`.
  Status IndexChildren(const LoadRecord& record) {
    for (const auto& child : record.child_tables) {
      SqlTable table{record.table.schema, child};
      NILUS_ASSIGN_OR_RAISE(auto columns, Columns(table));
      if (!Contains(columns, kRootIdColumn)) continue;
      NILUS_RETURN_NOT_OK(EnsureIndex(table, {kRootIdColumn}, "__nilus_root_id", false).status());
    }
    return Status::OK();
  }

  /// The best index of `table` on `columns`, made (named `<table><suffix>`) when there is none;
  /// `announce` says so in the log.
  Result<KeyIndex> EnsureIndex(const SqlTable& table, const std::vector<std::string>& columns, std::string_view suffix,
                               bool announce) {
    std::string ref = db_.Ref(table);
    std::string key = ref + ":" + Join(columns, ",");
    if (auto it = session_.key_index.find(key); it != session_.key_index.end()) return it->second;
    NILUS_ASSIGN_OR_RAISE(KeyIndex index, db_.IndexOn(table, columns));
    if (index == KeyIndex::kNone) {
      std::vector<std::string> quoted;
      for (const auto& c : columns) quoted.push_back(QuoteIdent(c));
      std::string name = ShortenIdentifier(db_.LocalName(table) + std::string(suffix));
      if (announce) {
        spdlog::info("{}.{} has no index on its key ({}); creating index {} so that merges stay fast", table.schema,
                     table.name, Join(columns, ", "), name);
      }
      NILUS_RETURN_NOT_OK(
          Ddl(table, fmt::format("CREATE INDEX {} ON {} ({})", QuoteIdent(name), ref, Join(quoted, ", "))));
      index = KeyIndex::kIndexed;
    }
    session_.key_index[key] = index;
    return index;
  }

  /// The commit where DDL commits (MySQL). First every DDL statement (indexes; the tables and
  /// their columns were made as the rows came): apart from the load's transaction while it
  /// writes straight into destination tables, else in it, when the destination tables hold
  /// nothing of the load. Then, in one transaction with the bookkeeping, rebuilt tables lose
  /// the rows of earlier loads, truncated tables are emptied, staged rows of appended tables and
  /// child tables move in, and merged tables merge.
  Status MoveStagedRows(const std::vector<LoadRecord>& tables) {
    for (const auto& record : tables) {
      NILUS_RETURN_NOT_OK(IndexChildren(record));
      Target* root = Find(record.table.schema, record.table.name);
      if (root && root->merged) NILUS_RETURN_NOT_OK(IndexKey(root->dest, record.table.primary_key).status());
    }
    for (const auto& record : tables) {
      if (!record.table.rebuild) continue;
      std::vector<std::string> names = {record.table.name};
      names.insert(names.end(), record.child_tables.begin(), record.child_tables.end());
      for (const auto& name : names) {
        SqlTable table{record.table.schema, name};
        NILUS_ASSIGN_OR_RAISE(auto columns, Columns(table));
        if (columns.empty()) continue;
        NILUS_RETURN_NOT_OK(db_.Exec(fmt::format("DELETE FROM {0} WHERE {1} IS NULL OR {1} <> {2}", db_.Ref(table),
                                                 QuoteIdent(kLoadIdColumn), QuoteLiteral(spec_.load_id))));
      }
    }
    for (const auto& table : emptied_) {
      NILUS_ASSIGN_OR_RAISE(auto columns, Columns(table));
      if (!columns.empty()) NILUS_RETURN_NOT_OK(db_.Exec(db_.TruncateSql(table)));
    }
    for (auto& [name, t] : targets_) {
      if (!t.staged || t.merged || t.schema.num_fields() == 0) continue;
      std::vector<std::string> cols;
      for (const auto& f : t.schema.fields()) cols.push_back(QuoteIdent(f.name));
      cols.push_back(QuoteIdent(kLoadIdColumn));
      spdlog::debug("committing {}: moving the staged rows in", t.spec.qualified());
      NILUS_RETURN_NOT_OK(
          db_.Exec(fmt::format("INSERT INTO {0} ({1}) SELECT {1} FROM {2} ORDER BY {3}", db_.Ref(t.dest),
                               Join(cols, ", "), db_.Ref(t.write), QuoteIdent(kSeqColumn))));
      NILUS_RETURN_NOT_OK(db_.Exec("DELETE FROM " + db_.Ref(t.write)));
    }
    for (const auto& record : tables) {
      Target* root = Find(record.table.schema, record.table.name);
      if (!root || !root->merged) continue;
      spdlog::debug("committing {}: merging the staged rows", record.table.qualified());
      NILUS_RETURN_NOT_OK(Merge(*root, record));
    }
    return Status::OK();
  }

  /// Upserts the staged rows into the root table: rows whose key is staged go, with their child
  /// rows; the last staged row of each key comes in unless it deletes; the new child rows of
  /// staged rows that lost to a later one, or that delete, go. The winning rows are inserted in
  /// key order, which keeps index maintenance sequential.
  Status Merge(const Target& root, const LoadRecord& record) {
    const auto& key = record.table.primary_key;
    if (key.empty()) return MergeWholeRows(root, record);
    std::vector<std::string> keys, cols;
    for (const auto& k : key) keys.push_back(QuoteIdent(k));
    for (const auto& f : root.schema.fields()) {
      if (!IsMergeControlColumn(f.name)) cols.push_back(QuoteIdent(f.name));
    }
    cols.push_back(QuoteIdent(kLoadIdColumn));
    const bool ops = root.schema.FieldIndex(kOperationColumn) >= 0;
    const std::string dest = db_.Ref(root.dest), staging = db_.Ref(root.write), key_list = Join(keys, ", ");
    const std::string staged_key = keys.size() == 1 ? fmt::format("{0} IN (SELECT {0} FROM {1})", key_list, staging)
                                                    : fmt::format("({0}) IN (SELECT {0} FROM {1})", key_list, staging);
    // Each staged row ranked within its key, the last one first.
    auto ranked = [&](const std::string& select) {
      return fmt::format(
          "(SELECT {}, row_number() OVER (PARTITION BY {} ORDER BY {} DESC) AS _nilus_rank FROM {}) AS r", select,
          key_list, QuoteIdent(kSeqColumn), staging);
    };
    const std::string op = QuoteIdent(kOperationColumn);
    const std::string upsert_rows = ops ? fmt::format(" AND ({0} IS NULL OR {0} <> '{1}')", op, kDeleteOperation) : "";

    bool unique = true;  // a rebuilt table is made with its primary key
    if (!record.table.rebuild || !db_.TransactionalDdl()) {
      NILUS_ASSIGN_OR_RAISE(unique, IndexKey(root.dest, key));
    }
    NILUS_RETURN_NOT_OK(db_.PrepareMerge(root.write, root.analyze));
    if (root.schema.FieldIndex(kUnchangedColumn) >= 0) NILUS_RETURN_NOT_OK(FillUnchanged(root, key));
    NILUS_ASSIGN_OR_RAISE(std::vector<LinkedChild> children, LinkedChildren(root, record));
    for (const auto& child : children) {
      NILUS_RETURN_NOT_OK(
          db_.Exec(fmt::format("DELETE FROM {} WHERE {} IN (SELECT {} FROM {} WHERE {})", db_.Ref(child.table),
                               QuoteIdent(kRootIdColumn), QuoteIdent(kRowIdColumn), dest, staged_key)));
    }
    std::string winners = fmt::format("SELECT {0} FROM {1} WHERE _nilus_rank = 1{2} ORDER BY {3}", Join(cols, ", "),
                                      ranked(Join(cols, ", ") + (ops ? ", " + op : "")), upsert_rows, key_list);
    if (unique && db_.UpsertsInPlace()) {
      // One pass over the table's pages: existing rows are updated where they are.
      if (ops) {
        NILUS_RETURN_NOT_OK(db_.Exec(fmt::format(
            "DELETE FROM {0} WHERE {1}", dest,
            fmt::format(
                fmt::runtime(keys.size() == 1 ? "{0} IN (SELECT {0} FROM {1} WHERE _nilus_rank = 1 AND {2} = '{3}')"
                                              : "({0}) IN (SELECT {0} FROM {1} WHERE _nilus_rank = 1 AND {2} = '{3}')"),
                key_list, ranked(key_list + ", " + op), op, kDeleteOperation))));
      }
      std::vector<std::string> set;
      for (const auto& c : cols) {
        if (std::find(keys.begin(), keys.end(), c) == keys.end()) set.push_back(c);
      }
      // "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT, not a join.
      NILUS_RETURN_NOT_OK(db_.Exec(fmt::format("INSERT INTO {} ({}) SELECT * FROM ({}) AS w WHERE true {}", dest,
                                               Join(cols, ", "), winners, db_.UpsertClause(keys, set))));
    } else {
      NILUS_RETURN_NOT_OK(db_.Exec(fmt::format("DELETE FROM {} WHERE {}", dest, staged_key)));
      NILUS_RETURN_NOT_OK(db_.Exec(fmt::format("INSERT INTO {} ({}) {}", dest, Join(cols, ", "), winners)));
    }
    for (const auto& child : children) {
      if (!child.written) continue;
      NILUS_RETURN_NOT_OK(
          db_.Exec(fmt::format("DELETE FROM {} WHERE {} IN (SELECT {} FROM {} WHERE _nilus_rank > 1{})",
                               db_.Ref(child.table), QuoteIdent(kRootIdColumn), QuoteIdent(kRowIdColumn),
                               ranked(QuoteIdent(kRowIdColumn) + (ops ? ", " + op : "")),
                               ops ? fmt::format(" OR {} = '{}'", op, kDeleteOperation) : "")));
    }
    // The staging table stays for the next load, empty: the commit empties it, or this does.
    return db_.TempTableClause().empty() ? db_.Exec("DELETE FROM " + staging) : Status::OK();
  }

  /// The merge of a keyless table whose deletes carry the whole old row (a change-capture
  /// mirror; an update is a delete and a create): the table is a multiset of rows, so for each
  /// distinct staged row (its data columns, NULLs alike) the net count of its creates less its
  /// deletes is what changes; that many equal rows go from the table, or that many of its
  /// latest staged copies come in. One pass over the table joins it with the staged rows.
  Status MergeWholeRows(const Target& root, const LoadRecord& record) {
    if (!record.child_tables.empty() || root.schema.FieldIndex(kOperationColumn) < 0) {
      return Status::InvalidInput("{} has no primary key to merge on; give it one (primary-key)",
                                  record.table.qualified());
    }
    std::vector<std::string> data, cols;
    for (const auto& f : root.schema.fields()) {
      if (IsMergeControlColumn(f.name)) continue;
      cols.push_back(QuoteIdent(f.name));
      if (!IsChangeRecordColumn(f.name)) data.push_back(QuoteIdent(f.name));
    }
    cols.push_back(QuoteIdent(kLoadIdColumn));
    const std::string dest = db_.Ref(root.dest), staging = db_.Ref(root.write), loc = db_.RowLocator();
    if (loc.empty()) {
      return Status::InvalidInput(
          "{} has no primary key, and its changes cannot be mirrored into this database without one (its rows have "
          "no locator); give the source table a primary key, or capture it as a change log (append)",
          record.table.qualified());
    }
    NILUS_RETURN_NOT_OK(db_.PrepareMerge(root.write, root.analyze));
    const std::string op = QuoteIdent(kOperationColumn), seq = QuoteIdent(kSeqColumn);
    const std::string deletes = fmt::format("{} = '{}'", op, kDeleteOperation);
    const std::string net_deletes =
        fmt::format("sum(CASE WHEN {} THEN 1 ELSE -1 END) OVER (PARTITION BY {})", deletes, db_.WholeRow("s", data));
    std::vector<std::string> s_data, s_cols;
    for (const auto& c : data) s_data.push_back("s." + c);
    for (const auto& c : cols) s_cols.push_back("s." + c);
    NILUS_RETURN_NOT_OK(db_.Exec(fmt::format(
        "WITH gone AS (SELECT * FROM (SELECT {data_s}, {net} AS _nilus_n, row_number() OVER (PARTITION BY {whole_s} "
        "ORDER BY s.{seq}) AS _nilus_first FROM {staging} AS s) AS s WHERE _nilus_first = 1 AND _nilus_n > 0), "
        "found AS (SELECT d.{loc} AS _nilus_loc, g._nilus_n, row_number() OVER (PARTITION BY {whole_d} ORDER BY "
        "d.{loc}) AS _nilus_nth FROM {dest} AS d JOIN gone AS g ON {same}) "
        "DELETE FROM {dest} WHERE {loc} IN (SELECT _nilus_loc FROM found WHERE _nilus_nth <= _nilus_n)",
        fmt::arg("data_s", Join(s_data, ", ")), fmt::arg("net", net_deletes),
        fmt::arg("whole_s", db_.WholeRow("s", data)), fmt::arg("seq", seq), fmt::arg("staging", staging),
        fmt::arg("loc", loc), fmt::arg("whole_d", db_.WholeRow("d", data)), fmt::arg("dest", dest),
        fmt::arg("same", db_.SameWholeRow("d", "g", data)))));
    NILUS_RETURN_NOT_OK(db_.Exec(fmt::format(
        "INSERT INTO {dest} ({cols}) SELECT {cols} FROM (SELECT {s_cols}, -{net} AS _nilus_n, row_number() OVER "
        "(PARTITION BY {whole_s}, coalesce(s.{op}, '') ORDER BY s.{seq} DESC) AS _nilus_k, s.{op} FROM {staging} AS "
        "s) AS s WHERE ({op} IS NULL OR NOT {deletes}) AND _nilus_k <= _nilus_n",
        fmt::arg("dest", dest), fmt::arg("cols", Join(cols, ", ")), fmt::arg("s_cols", Join(s_cols, ", ")),
        fmt::arg("net", net_deletes), fmt::arg("whole_s", db_.WholeRow("s", data)), fmt::arg("op", op),
        fmt::arg("seq", seq), fmt::arg("staging", staging), fmt::arg("deletes", deletes))));
    return db_.TempTableClause().empty() ? db_.Exec("DELETE FROM " + staging) : Status::OK();
  }

  /// Gives each staged row's unchanged columns the value its key had before it: that of the
  /// last earlier staged row of the key that set the column, else the table's.
  Status FillUnchanged(const Target& root, const std::vector<std::string>& key) {
    const std::string staging = db_.Ref(root.write), outer = QuoteIdent(root.write.name), dest = db_.Ref(root.dest);
    const std::string unchanged = QuoteIdent(kUnchangedColumn), seq = QuoteIdent(kSeqColumn);
    NILUS_ASSIGN_OR_RAISE(
        SqlRows lists,
        db_.Query(fmt::format("SELECT DISTINCT {0} FROM {1} WHERE {0} IS NOT NULL", unchanged, staging), {}));
    std::set<std::string> columns;
    for (const auto& row : lists) {
      auto names = nlohmann::json::parse(row[0].value_or("[]"), nullptr, false);
      if (!names.is_array()) continue;
      for (const auto& n : names) {
        if (n.is_string() && root.schema.FieldIndex(n.get<std::string>()) >= 0) columns.insert(n.get<std::string>());
      }
    }
    std::vector<std::string> same_key_staged, same_key_dest;
    for (const auto& k : key) {
      same_key_staged.push_back(fmt::format("s2.{0} = {1}.{0}", QuoteIdent(k), outer));
      same_key_dest.push_back(fmt::format("d.{0} = {1}.{0}", QuoteIdent(k), outer));
    }
    for (const auto& c : columns) {
      const std::string col = QuoteIdent(c);
      const std::string mentions = QuoteLiteral(fmt::format("%{}%", nlohmann::json(c).dump()));
      NILUS_RETURN_NOT_OK(db_.Exec(fmt::format(
          "UPDATE {staging} SET {col} = (SELECT v FROM (SELECT s2.{col} AS v, s2.{seq} AS q FROM {staging} AS s2 "
          "WHERE {same_staged} AND s2.{seq} < {outer}.{seq} AND (s2.{unchanged} IS NULL OR s2.{unchanged} NOT LIKE "
          "{mentions}) UNION ALL SELECT d.{col}, -1 FROM {dest} AS d WHERE {same_dest}) AS u ORDER BY q DESC LIMIT 1) "
          "WHERE {unchanged} LIKE {mentions}",
          fmt::arg("staging", staging), fmt::arg("col", col), fmt::arg("seq", seq), fmt::arg("outer", outer),
          fmt::arg("same_staged", Join(same_key_staged, " AND ")), fmt::arg("unchanged", unchanged),
          fmt::arg("mentions", mentions), fmt::arg("dest", dest),
          fmt::arg("same_dest", Join(same_key_dest, " AND ")))));
    }
    return Status::OK();
  }

  /// A child table whose rows name their root row.
  struct LinkedChild {
    SqlTable table;  // as this load writes it (its replacement in a rebuild)
    bool written;    // whether this load wrote rows to it
  };

  /// The child tables that name their root row, when the root table has row ids to name.
  Result<std::vector<LinkedChild>> LinkedChildren(const Target& root, const LoadRecord& record) {
    std::vector<LinkedChild> out;
    NILUS_ASSIGN_OR_RAISE(auto root_columns, Columns(root.dest));
    if (!Contains(root_columns, kRowIdColumn)) return out;
    for (const auto& child : record.child_tables) {
      const Target* written = Find(record.table.schema, child);
      SqlTable table = written ? written->dest : SqlTable{record.table.schema, child};
      NILUS_ASSIGN_OR_RAISE(auto columns, Columns(table));
      if (Contains(columns, kRootIdColumn)) out.push_back({table, written != nullptr});
    }
    return out;
  }

  /// A rebuild: each table the load wrote takes the old one's place, inside the transaction;
  /// a child table it did not write keeps its shape, empty.
  Status SwapIn(const LoadRecord& record) {
    std::vector<std::string> names = {record.table.name};
    names.insert(names.end(), record.child_tables.begin(), record.child_tables.end());
    for (const auto& name : names) {
      SqlTable table{record.table.schema, name};
      if (const Target* t = Find(table.schema, name)) {
        NILUS_RETURN_NOT_OK(db_.Exec("DROP TABLE IF EXISTS " + db_.Ref(table))
                                .WithContext("replacing the table (views that depend on it must be dropped first)"));
        NILUS_RETURN_NOT_OK(
            db_.Exec(fmt::format("ALTER TABLE {} RENAME TO {}", db_.Ref(t->dest), QuoteIdent(db_.LocalName(table)))));
        session_.Forget(db_.Ref(table));
        session_.Forget(db_.Ref(t->dest));
        continue;
      }
      NILUS_ASSIGN_OR_RAISE(auto columns, Columns(table));
      if (!columns.empty()) NILUS_RETURN_NOT_OK(db_.Exec(db_.TruncateSql(table)));
    }
    return Status::OK();
  }

  Status WriteBookkeeping(const std::vector<LoadRecord>& tables, const nlohmann::json& state) {
    std::string now = NowIso();
    std::string loads = db_.Ref(db_.Bookkeeping(state_schema_, "_nilus_loads"));
    for (const auto& r : tables) {
      NILUS_RETURN_NOT_OK(db_.Query(fmt::format(kInsertLoad, loads),
                                    {spec_.load_id, spec_.pipeline, r.table.qualified(),
                                     std::string(RecordedStrategy(r.table)), std::to_string(r.rows),
                                     std::to_string(r.bytes), spec_.started_at, now, std::string(NILUS_VERSION)})
                              .status());
    }
    std::string state_ref = db_.Ref(db_.Bookkeeping(state_schema_, "_nilus_state"));
    return db_
        .Query(fmt::format(kUpsertState, state_ref,
                           db_.UpsertClause({"pipeline", "table_name"}, {"state", "load_id", "updated_at"})),
               {spec_.pipeline, spec_.state_table, state.dump(), spec_.load_id, now})
        .status();
  }

  SqlDialect& db_;
  std::stop_token stop_;
  LoadSpec spec_;
  CommitStep step_;
  SqlSession& saved_;   // the destination's notes, replaced by `session_` at commit
  SqlSession session_;  // this load's copy
  std::string state_schema_;
  nlohmann::json prior_;
  std::map<std::pair<std::string, std::string>, Target> targets_;  // by schema and table
  std::unique_ptr<BulkWriter> bulk_;
  Target* open_ = nullptr;         // the target `bulk_` writes to
  std::vector<SqlTable> emptied_;  // tables truncated by the load, where DDL commits: emptied at commit
  bool staged_ = false;            // where DDL commits: every table is staged (StageEverything)
  bool committed_ = false;
};

}  // namespace

KeyIndex BestIndex(const IndexColumns& indexes, const std::vector<std::string>& columns) {
  KeyIndex best = KeyIndex::kNone;
  for (const auto& [name, index] : indexes) {
    const auto& [cols, unique] = index;
    if (cols.size() < columns.size()) continue;
    if (!std::is_permutation(cols.begin(), cols.begin() + static_cast<long>(columns.size()), columns.begin())) continue;
    if (unique && cols.size() == columns.size()) return KeyIndex::kUnique;
    best = KeyIndex::kIndexed;
  }
  return best;
}

Status AwaitPipelineLock(const LoadSpec& load, const std::stop_token& stop,
                         const std::function<Result<bool>()>& try_lock) {
  constexpr std::chrono::milliseconds kPoll{200};
  auto start = std::chrono::steady_clock::now();
  for (bool told = false;; told = true) {
    NILUS_ASSIGN_OR_RAISE(bool taken, try_lock());
    if (taken) return Status::OK();
    if (std::chrono::steady_clock::now() - start >= load.lock_timeout) {
      return Status::FailedPrecondition(
          "another load of pipeline {} into {} has been running for more than {} s; run again when it is done, "
          "or wait longer with --lock-timeout",
          load.pipeline, load.state_table, load.lock_timeout.count());
    }
    if (!told) {
      spdlog::warn("another load of pipeline {} into {} is running; waiting up to {} s for it to finish", load.pipeline,
                   load.state_table, load.lock_timeout.count());
    }
    if (WaitForStop(stop, kPoll)) {
      return Status::Cancelled("interrupted while waiting for another load of pipeline {}", load.pipeline);
    }
  }
}

SqlDestination::SqlDestination(std::unique_ptr<SqlDialect> db, std::stop_token stop)
    : db_(std::move(db)), stop_(std::move(stop)), session_(std::make_unique<SqlSession>()) {}
SqlDestination::~SqlDestination() = default;

Result<std::unique_ptr<Load>> SqlDestination::Begin(const LoadSpec& spec, CommitStep step) {
  NILUS_RETURN_NOT_OK(db_->BeginLocked(spec));
  auto load = std::make_unique<SqlLoad>(*db_, stop_, spec, *session_, std::move(step));
  NILUS_RETURN_NOT_OK(load->ReadPriorState());
  return std::unique_ptr<Load>(std::move(load));
}

Status SqlDestination::ResetState(const std::string& pipeline) {
  NILUS_ASSIGN_OR_RAISE(auto tables, db_->StateTables());
  for (const auto& t : tables) {
    NILUS_RETURN_NOT_OK(
        db_->Query(fmt::format("DELETE FROM {} WHERE pipeline = $1", db_->Ref(t)), {pipeline}).status());
  }
  return Status::OK();
}

}  // namespace nilus
