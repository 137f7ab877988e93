// PostgreSQL change data capture: a snapshot of the included tables inside the snapshot that the
// replication slot exports, then the slot's changes streamed with pgoutput (DESIGN §2.3).

#include <re2/re2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>

#include "nilus/connectors/change_records.h"
#include "nilus/connectors/postgres/pg_replication.h"
#include "nilus/connectors/postgres/postgres_internal.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

using Clock = std::chrono::steady_clock;
using Position = nlohmann::json;

constexpr int64_t kPgEpochMillis = 946684800LL * 1000;
/// A chunk of whole transactions goes downstream once it holds this many rows or is this old.
constexpr int64_t kChunkRows = 8192;
constexpr auto kChunkAge = std::chrono::milliseconds(100);
/// Standby status updates go out at least this often (servers drop a replica after
/// wal_sender_timeout, 60 s by default, without one).
constexpr auto kStatusInterval = std::chrono::seconds(10);

/// The change-capture options of one pipeline, with Debezium's defaults.
struct Config {
  std::string slot = "debezium";
  std::string publication = "dbz_publication";
  std::string snapshot_mode = "initial";
  std::string decimal_mode = "precise";
  bool include_unknown = false;
  int64_t heartbeat_ms = 10000;
  int64_t page_size = 50000;
  int parallelism = 1;  ///< connections reading one table of the snapshot (extract-parallelism)
  NamePatterns table_include, table_exclude, schema_include, schema_exclude, column_include, column_exclude;

  static Config From(const SourceOptions& o) {
    Config c;
    auto get = [&](const char* name, std::string& out) {
      if (auto it = o.cdc.find(name); it != o.cdc.end()) out = it->second;
    };
    get("slot.name", c.slot);
    get("publication.name", c.publication);
    get("snapshot.mode", c.snapshot_mode);
    get("decimal.handling.mode", c.decimal_mode);
    std::string v;
    get("include.unknown.datatypes", v);
    c.include_unknown = v == "true";
    v.clear();
    get("heartbeat.interval.ms", v);
    if (!v.empty()) c.heartbeat_ms = std::stoll(v);
    c.page_size = o.page_size;
    c.parallelism = o.extract_parallelism > 0 ? o.extract_parallelism : DefaultExtractParallelism();
    c.table_include = NamePatterns(o, "table.include.list");
    c.table_exclude = NamePatterns(o, "table.exclude.list");
    c.schema_include = NamePatterns(o, "schema.include.list");
    c.schema_exclude = NamePatterns(o, "schema.exclude.list");
    c.column_include = NamePatterns(o, "column.include.list");
    c.column_exclude = NamePatterns(o, "column.exclude.list");
    return c;
  }

  bool IncludesTable(const std::string& schema, const std::string& table) const {
    return Included(schema_include, schema_exclude, schema) &&
           Included(table_include, table_exclude, schema + "." + table);
  }

  bool IncludesColumn(const std::string& schema, const std::string& table, const std::string& column) const {
    return Included(column_include, column_exclude, schema + "." + table + "." + column);
  }

  /// How a column of this type travels, or nullopt when it is left out (a type nilus does not
  /// know, without include.unknown.datatypes).
  std::optional<PgColumnType> Travel(PgColumnType t, bool builtin, char typtype) const {
    if (!builtin && typtype != 'e' && !include_unknown) return std::nullopt;
    if (t.logical.id == TypeId::kDecimal && decimal_mode != "precise") {
      t.read_as_text = true;  // the text, converted below
      t.logical = decimal_mode == "double" ? LogicalType::Double() : LogicalType::Text();
      t.sql_type = decimal_mode == "double" ? "double precision" : "text";
    }
    return t;
  }
};

/// Appends a decoded text value, converting a decimal as decimal.handling.mode says.
Status AppendValue(const PgColumnType& type, std::string_view text, Column& out) {
  if (type.read_as_text && out.type().id == TypeId::kDouble) {
    double v;
    if (!ParseDouble(text, &v)) return Status::IOError("cannot read '{}' as a double", Excerpt(text, 40));
    out.AppendDouble(v);
    return Status::OK();
  }
  return DecodePgText(type, text, out);
}

/// An included table of the stream: its columns as the last Relation message described them.
struct Table {
  std::string schema, name;
  std::vector<std::string> key;  ///< the primary key; empty when the table has none
  char replica_identity = 'd';
  std::vector<int> key_index;  // relation columns of `key`
  std::vector<int> kept;       // relation columns that travel, in order
  std::vector<PgColumnType> types;
  std::vector<std::string> names;  // of the kept columns
  std::unique_ptr<BatchBuilder> builder;
  /// Changes committed before this position are in the table's snapshot already.
  Lsn skip_before = 0;
};

/// How a change stream begins.
enum class Start {
  kNewSlot,         ///< create the slot, snapshot the tables in its snapshot, then stream
  kResumeSnapshot,  ///< the slot exists and a killed snapshot loaded some tables: read the rest, then stream
  kStream,          ///< stream from the committed position
  kSnapshotOnly,    ///< snapshot.mode initial_only: the tables, no slot, no stream
};
struct Plan {
  Start start = Start::kStream;
  std::vector<std::pair<std::string, std::string>> tables;  ///< to snapshot
  bool resnapshot = false;  ///< empty each destination table before its snapshot rows (when_needed)
};

class PgChangeStream final : public ChangeStream {
 public:
  PgChangeStream(Uri uri, std::stop_token stop, Config cfg, std::string db, bool mirror)
      : uri_(std::move(uri)), stop_(std::move(stop)), cfg_(std::move(cfg)), db_(std::move(db)), mirror_(mirror) {}

  ~PgChangeStream() override { handover_.Stop(); }

  /// Prepares the first Next as `plan` says, from the committed `position`; `captured` are the
  /// included tables.
  Status Prepare(const Position& position, Plan plan, std::vector<CapturedTable> captured) {
    captured_ = std::move(captured);
    plan_ = plan.start;
    tables_to_snapshot_ = std::move(plan.tables);
    resnapshot_ = plan.resnapshot;
    if (plan_ == Start::kResumeSnapshot || plan_ == Start::kStream) {
      if (!ParseLsn(position.value("lsn", ""), &start_)) {
        return Status::FailedPrecondition("the committed position of the change stream is not an LSN: {}",
                                          position.dump());
      }
      tables_done_ = DoneTables(position);
      // Tables snapshotted after the slot's own snapshot skip the changes their snapshot holds.
      const Position skip = position.value("skip", Position::object());
      for (const auto& [table, lsn] : skip.items()) {
        Lsn at;
        if (lsn.is_string() && ParseLsn(lsn.get<std::string>(), &at)) skip_[table] = at;
      }
      if (plan_ == Start::kResumeSnapshot) {
        std::erase_if(skip_, [&](const auto& e) {
          return std::find(tables_done_.begin(), tables_done_.end(), e.first) == tables_done_.end();
        });
      }
    } else if (plan_ == Start::kSnapshotOnly) {
      tables_done_ = DoneTables(position);
    }
    return Status::OK();
  }

  Result<std::optional<ChangeChunk>> Next() override {
    if (plan_ != Start::kStream) return NextSnapshotChunk();
    if (finished_) return std::optional<ChangeChunk>();
    if (!handover_.started()) NILUS_RETURN_NOT_OK(StartStreaming());
    return handover_.Pop("the replication stream");
  }

  void Confirm(const Position& position) override {
    Lsn lsn;
    if (ParseLsn(position.value("lsn", ""), &lsn) && lsn > confirmed_.load()) confirmed_.store(lsn);
  }

  bool finished() const override { return finished_; }

  const std::vector<CapturedTable>& tables() const override { return captured_; }

  int64_t BytesBehind(const Position& position) const override {
    Lsn at, end = server_end_.load();
    if (end == 0 || !ParseLsn(position.value("lsn", ""), &at)) return -1;
    return end > at ? static_cast<int64_t>(end - at) : 0;
  }

 private:
  // --- the snapshot --------------------------------------------------------------------------

  static std::vector<std::string> DoneTables(const Position& position) {
    std::vector<std::string> out;
    for (const auto& t : position.value("tables_done", Position::array())) {
      if (t.is_string()) out.push_back(t.get<std::string>());
    }
    return out;
  }

  /// Opens the snapshot: a new slot's (committing a marker first, so that a run killed before
  /// the slot's position commits knows the slot is its own), a temporary slot's for the tables
  /// a killed snapshot left unread, or, without a slot (initial_only), the current one.
  Result<std::optional<ChangeChunk>> BeginSnapshot() {
    if (plan_ == Start::kNewSlot && !marker_sent_) {
      marker_sent_ = true;
      ChangeChunk marker;
      marker.position = {{"slot", cfg_.slot}, {"snapshot", "started"}};
      if (resnapshot_) marker.position["resnapshot"] = true;
      marker.at_boundary = true;
      return std::optional<ChangeChunk>(std::move(marker));
    }
    snapshot_open_ = true;
    if (tables_to_snapshot_.empty() && plan_ != Start::kNewSlot) return EndSnapshot();
    NILUS_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(uri_, stop_));
    NILUS_RETURN_NOT_OK(conn->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
    if (plan_ == Start::kSnapshotOnly) {
      // No slot: the snapshot alone, then the stream ends.
      NILUS_ASSIGN_OR_RAISE(PgResult at, conn->Exec("SELECT pg_current_wal_lsn()::text, pg_export_snapshot()"));
      ParseLsn(at.Get(0, 0), &start_);
      snapshot_lsn_ = start_;
      snapshot_name_ = at.Get(0, 1);
    } else if (plan_ == Start::kNewSlot) {
      NILUS_ASSIGN_OR_RAISE(repl_, PgReplication::Connect(uri_, stop_));
      NILUS_ASSIGN_OR_RAISE(auto slot, repl_->CreateSlot(cfg_.slot));
      spdlog::info("created replication slot {} at {}", cfg_.slot, FormatLsn(slot.consistent_point));
      start_ = snapshot_lsn_ = slot.consistent_point;
      snapshot_name_ = slot.snapshot;
    } else {
      // The slot's own snapshot went with the killed run. A temporary slot exports a new one and
      // says where it stands: the slot's changes of these tables before that point are in it.
      NILUS_ASSIGN_OR_RAISE(snapshot_repl_, PgReplication::Connect(uri_, stop_));
      NILUS_ASSIGN_OR_RAISE(
          auto slot, snapshot_repl_->CreateSlot(
                         fmt::format("{}_resume_{}", cfg_.slot.substr(0, 40), static_cast<int>(getpid())), true));
      snapshot_lsn_ = slot.consistent_point;
      snapshot_name_ = slot.snapshot;
      for (const auto& [schema, table] : tables_to_snapshot_) skip_[schema + "." + table] = snapshot_lsn_;
      spdlog::info("resuming the snapshot: {} tables loaded before, {} to read from a new snapshot at {}",
                   tables_done_.size(), tables_to_snapshot_.size(), FormatLsn(snapshot_lsn_));
    }
    if (plan_ != Start::kSnapshotOnly) {
      NILUS_RETURN_NOT_OK(
          conn->Exec(fmt::format("SET TRANSACTION SNAPSHOT {}", QuoteLiteral(snapshot_name_))).status());
    }
    NILUS_RETURN_NOT_OK(conn->Exec("SET LOCAL TimeZone = 'UTC'").status());
    snapshot_conn_ = std::shared_ptr<PgConnection>(std::move(conn));
    return NextSnapshotChunk();
  }

  /// The next batch of the table being read; after each table, a boundary whose position
  /// lists it as done (so a killed snapshot resumes by table); at the end, the end of the
  /// snapshot.
  Result<std::optional<ChangeChunk>> NextSnapshotChunk() {
    if (!snapshot_open_) return BeginSnapshot();
    while (true) {
      if (!snapshot_reader_) {
        if (next_snapshot_table_ == tables_to_snapshot_.size()) return EndSnapshot();
        NILUS_RETURN_NOT_OK(OpenSnapshotTable(tables_to_snapshot_[next_snapshot_table_++]));
        if (resnapshot_) {
          read_ts_ = NowMillis();
          ChangeChunk chunk;
          chunk.changes.push_back(TruncateOf(snapshot_table_));
          chunk.position = SnapshotPosition();
          return std::optional<ChangeChunk>(std::move(chunk));
        }
      }
      NILUS_ASSIGN_OR_RAISE(auto batch, snapshot_reader_->Next());
      ChangeChunk chunk;
      if (!batch) {
        spdlog::info("snapshot of {}.{}: {} rows", snapshot_table_.schema, snapshot_table_.name, snapshot_rows_);
        snapshot_reader_.reset();
        tables_done_.push_back(snapshot_table_.schema + "." + snapshot_table_.name);
        chunk.at_boundary = true;
      } else {
        chunk.changes.push_back(SnapshotBatch(*batch));
      }
      chunk.position = SnapshotPosition();
      return std::optional<ChangeChunk>(std::move(chunk));
    }
  }

  /// Where a snapshot stands: the slot's position, and the tables loaded whole.
  Position SnapshotPosition() const {
    Position p = {
        {"slot", cfg_.slot}, {"lsn", FormatLsn(start_)}, {"snapshot", "started"}, {"tables_done", tables_done_}};
    AddSkip(p);
    if (resnapshot_) p["resnapshot"] = true;
    return p;
  }

  void AddSkip(Position& p) const {
    if (skip_.empty()) return;
    Position skip = Position::object();
    for (const auto& [table, lsn] : skip_) skip[table] = FormatLsn(lsn);
    p["skip"] = std::move(skip);
  }

  Result<std::optional<ChangeChunk>> EndSnapshot() {
    if (snapshot_conn_) {
      NILUS_RETURN_NOT_OK(snapshot_conn_->Exec("COMMIT").status());
      snapshot_conn_.reset();
    }
    snapshot_repl_.reset();  // drops the temporary slot
    ChangeChunk chunk;
    chunk.position = {{"slot", cfg_.slot}, {"lsn", FormatLsn(start_)}, {"snapshot", "done"}};
    AddSkip(chunk.position);
    chunk.at_boundary = true;
    if (plan_ == Start::kSnapshotOnly) finished_ = true;
    plan_ = Start::kStream;
    return std::optional<ChangeChunk>(std::move(chunk));
  }

  Status OpenSnapshotTable(const std::pair<std::string, std::string>& name) {
    std::string qualified = QuoteIdent(name.first) + "." + QuoteIdent(name.second);
    NILUS_ASSIGN_OR_RAISE(auto columns, PgTableColumns(*snapshot_conn_, qualified));
    NILUS_ASSIGN_OR_RAISE(PgResult types, snapshot_conn_->Exec(R"sql(
SELECT bt.typnamespace = 'pg_catalog'::regnamespace, bt.typtype
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)sql",
                                                               {qualified}));
    NILUS_ASSIGN_OR_RAISE(auto key, PgPrimaryKey(*snapshot_conn_, qualified));
    std::vector<PgColumn> kept;
    std::string list;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (!cfg_.IncludesColumn(name.first, name.second, columns[i].name)) continue;
      auto t =
          cfg_.Travel(columns[i].type, types.Get(static_cast<int>(i), 0) == "t", types.Get(static_cast<int>(i), 1)[0]);
      if (!t) continue;
      columns[i].type = *t;
      if (!list.empty()) list += ", ";
      list += QuoteIdent(columns[i].name) + (t->read_as_text ? "::text" : "");
      kept.push_back(columns[i]);
    }
    auto copy = [&](const std::string& range) {
      return fmt::format("COPY (SELECT {} FROM {}{}) TO STDOUT (FORMAT binary)", list, qualified,
                         range.empty() ? "" : " WHERE " + range);
    };
    std::string what = "table " + name.first + "." + name.second;
    NILUS_ASSIGN_OR_RAISE(auto ranges, PgTableRanges(*snapshot_conn_, qualified, cfg_.parallelism));
    if (ranges.size() > 1) {
      spdlog::info("snapshot of {}.{}: reading {} parts in parallel", name.first, name.second, ranges.size());
      std::vector<std::string> copies;
      for (const auto& range : ranges) copies.push_back(copy(range));
      NILUS_ASSIGN_OR_RAISE(snapshot_reader_, NewRangedCopyReader(uri_, stop_, snapshot_name_, copies, kept, what,
                                                                  cfg_.page_size, nullptr));
    } else {
      NILUS_RETURN_NOT_OK(snapshot_conn_->Exec(copy("")).status());
      snapshot_reader_ = NewCopyReader(snapshot_conn_, kept, what, cfg_.page_size);
    }
    snapshot_table_ = Table{name.first, name.second, std::move(key), 'd', {}, {}, {}, {}, nullptr, 0};
    snapshot_rows_ = 0;
    return Status::OK();
  }

  /// A snapshot batch with its change-record columns (op "r").
  TableChanges SnapshotBatch(const RecordBatch& data) {
    snapshot_rows_ += data.num_rows();
    const int64_t lsn = static_cast<int64_t>(snapshot_lsn_), now = NowMillis();
    // Sequence 0: a transaction that commits exactly at the snapshot's position is not in the
    // snapshot but streamed, so at one commit position the snapshot's rows come first.
    ChangeRecord r{
        "r",          lsn,         lsn, 0, 0, now, now, "true", db_, snapshot_table_.schema, snapshot_table_.name,
        std::nullopt, std::nullopt};
    return SnapshotChanges(data, r, snapshot_table_.key);
  }

  /// A truncate of `t`: one row with op "t".
  TableChanges TruncateOf(const Table& t, Lsn lsn = 0, int64_t commit_ts = 0) {
    ChangeRecord r{"t",
                   static_cast<int64_t>(lsn),
                   static_cast<int64_t>(current_commit_lsn_),
                   ++seq_,
                   current_xid_,
                   commit_ts,
                   read_ts_,
                   "false",
                   db_,
                   t.schema,
                   t.name,
                   std::nullopt,
                   std::nullopt};
    return TruncateChanges(r, t.key);
  }

  // --- streaming -----------------------------------------------------------------------------

  Status StartStreaming() {
    if (!repl_) {
      NILUS_ASSIGN_OR_RAISE(repl_, PgReplication::Connect(uri_, stop_));
    }
    NILUS_ASSIGN_OR_RAISE(catalog_, PgConnection::Connect(uri_, stop_));
    NILUS_RETURN_NOT_OK(repl_->Start(cfg_.slot, start_, cfg_.publication));
    spdlog::info("streaming changes of slot {} from {}", cfg_.slot, FormatLsn(start_));
    confirmed_.store(start_);
    committed_lsn_ = start_;
    handover_.Start([this] { return Stream(); });
    return Status::OK();
  }

  /// The reader thread: reads the replication stream, turns it into chunks of whole
  /// transactions, and answers the server on time even while the consumer is slow.
  Status Stream() {
    auto last_status = Clock::now();
    Lsn sent_flush = 0;
    auto status = [&](bool force) -> Status {
      Lsn flush = confirmed_.load();
      if (!force && flush == sent_flush && Clock::now() - last_status < kStatusInterval) return Status::OK();
      sent_flush = flush;
      last_status = Clock::now();
      return repl_->SendStatus(std::max(received_, flush), flush);
    };
    auto push = [&](ChangeChunk chunk) {
      return handover_.Push(std::move(chunk), stop_, [&] { return status(false); });
    };
    auto last_heartbeat = Clock::now();
    // The consumer closes the queue when it gives up (a failed destination): the stream ends then.
    while (!stop_.stop_requested() && !handover_.closed()) {
      NILUS_RETURN_NOT_OK(status(false));
      NILUS_ASSIGN_OR_RAISE(auto event, repl_->Next(std::chrono::milliseconds(100)));
      if (!event) {
        if (!in_transaction_ && pending_rows_ > 0) NILUS_RETURN_NOT_OK(push(TakeChunk(true)));
        continue;
      }
      if (event->wal_end > server_end_.load()) server_end_.store(event->wal_end);
      if (event->keepalive) {
        received_ = std::max(received_, event->wal_end);
        if (event->reply_requested) NILUS_RETURN_NOT_OK(status(true));
        // Idle: the server has sent everything before wal_end, so that position may be
        // committed (a heartbeat) and the slot released up to it.
        if (!in_transaction_ && pending_rows_ == 0 && cfg_.heartbeat_ms > 0 && event->wal_end > committed_lsn_ &&
            Clock::now() - last_heartbeat >= std::chrono::milliseconds(cfg_.heartbeat_ms)) {
          last_heartbeat = Clock::now();
          committed_lsn_ = event->wal_end;
          ChangeChunk beat;
          beat.position = StreamPosition();
          beat.at_boundary = true;
          NILUS_RETURN_NOT_OK(push(std::move(beat)));
        }
        continue;
      }
      received_ = std::max(received_, event->wal_start);
      pgoutput::Message m;
      if (Status st = pgoutput::Decode(event->payload, &m); !st.ok()) {
        return st.WithContext("at " + FormatLsn(event->wal_start));
      }
      NILUS_RETURN_NOT_OK(Handle(m, event->wal_start));
      if (m.type == 'C' && pending_rows_ > 0 &&
          (pending_rows_ >= kChunkRows || Clock::now() - chunk_started_ >= kChunkAge)) {
        NILUS_RETURN_NOT_OK(push(TakeChunk(true)));
      } else if (in_transaction_ && pending_rows_ >= cfg_.page_size) {
        NILUS_RETURN_NOT_OK(push(TakeChunk(false)));  // a large transaction, in parts
      }
    }
    return Status::Cancelled("interrupted");
  }

  Position StreamPosition() const {
    Position p = {{"slot", cfg_.slot}, {"lsn", FormatLsn(committed_lsn_)}, {"snapshot", "done"}};
    AddSkip(p);
    return p;
  }

  /// Everything gathered so far, as a chunk.
  ChangeChunk TakeChunk(bool at_boundary) {
    ChangeChunk chunk;
    chunk.changes = std::move(done_);
    done_.clear();
    for (auto& [oid, t] : relations_) {
      if (t.builder && t.builder->num_rows() > 0) chunk.changes.push_back(Finish(t));
    }
    chunk.position = StreamPosition();
    chunk.at_boundary = at_boundary;
    pending_rows_ = 0;
    chunk_started_ = Clock::now();
    return chunk;
  }

  TableChanges Finish(Table& t) { return TableChanges{t.schema, t.name, t.key, t.builder->Finish(), false}; }

  Status Handle(const pgoutput::Message& m, Lsn lsn) {
    switch (m.type) {
      case 'B':
        in_transaction_ = true;
        current_commit_lsn_ = m.begin.final_lsn;
        current_xid_ = m.begin.xid;
        current_commit_ts_ = m.begin.commit_time / 1000 + kPgEpochMillis;
        read_ts_ = NowMillis();  // once per transaction: a clock read per row would cost more than the row
        seq_ = 0;
        if (pending_rows_ == 0) chunk_started_ = Clock::now();
        return Status::OK();
      case 'C':
        in_transaction_ = false;
        committed_lsn_ = m.commit.end_lsn;
        // Every later transaction commits after the skip positions passed.
        std::erase_if(skip_, [&](const auto& e) { return e.second <= committed_lsn_; });
        return Status::OK();
      case 'R':
        return OnRelation(m.relation);
      case 'I':
      case 'U':
      case 'D':
        return OnChange(m.change, lsn);
      case 'T':
        for (uint32_t oid : m.truncate.relations) {
          auto it = relations_.find(oid);
          if (it == relations_.end() || current_commit_lsn_ < it->second.skip_before) continue;
          if (it->second.builder && it->second.builder->num_rows() > 0) done_.push_back(Finish(it->second));
          done_.push_back(TruncateOf(it->second, lsn, current_commit_ts_));
          ++pending_rows_;
        }
        return Status::OK();
      default:  // Type, Origin, Message: nothing to load
        return Status::OK();
    }
  }

  /// A Relation message: the columns of a table from here on (new, or changed by DDL).
  Status OnRelation(const pgoutput::Relation& rel) {
    if (!cfg_.IncludesTable(rel.schema, rel.name)) {
      relations_.erase(rel.oid);
      ignored_.insert(rel.oid);
      return Status::OK();
    }
    ignored_.erase(rel.oid);
    Table& t = relations_[rel.oid];
    if (t.builder && t.builder->num_rows() > 0) done_.push_back(Finish(t));
    t = Table{rel.schema, rel.name, {}, rel.replica_identity, {}, {}, {}, {}, nullptr, 0};
    if (auto skip = skip_.find(rel.schema + "." + rel.name); skip != skip_.end()) t.skip_before = skip->second;
    // The primary key, as for the snapshot (a table without one is a change log only).
    NILUS_ASSIGN_OR_RAISE(t.key, PgPrimaryKey(*catalog_, QuoteIdent(rel.schema) + "." + QuoteIdent(rel.name)));
    Schema schema;
    for (size_t i = 0; i < rel.columns.size(); ++i) {
      const auto& c = rel.columns[i];
      if (std::find(t.key.begin(), t.key.end(), c.name) != t.key.end()) t.key_index.push_back(static_cast<int>(i));
      if (!cfg_.IncludesColumn(rel.schema, rel.name, c.name)) continue;
      NILUS_ASSIGN_OR_RAISE(auto type, TypeOf(c.type_oid, c.type_modifier));
      if (!type) continue;
      t.kept.push_back(static_cast<int>(i));
      t.types.push_back(*type);
      t.names.push_back(c.name);
      schema.AddField({c.name, type->logical, true, "postgresql:" + type->sql_type});
    }
    for (auto& f : ChangeFields()) schema.AddField(std::move(f));
    t.builder = std::make_unique<BatchBuilder>(std::move(schema));
    return Status::OK();
  }

  /// How a column of type `oid` (with modifier `mod`) travels, from the catalog; cached.
  Result<std::optional<PgColumnType>> TypeOf(uint32_t oid, int32_t mod) {
    auto key = std::make_pair(oid, mod);
    if (auto it = types_.find(key); it != types_.end()) return it->second;
    NILUS_ASSIGN_OR_RAISE(PgResult r, catalog_->Exec(R"sql(
SELECT bt.oid,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE format_type(t.oid, $2::int) END,
       bt.typnamespace = 'pg_catalog'::regnamespace, bt.typtype
FROM pg_type t JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
WHERE t.oid = $1::oid)sql",
                                                     {std::to_string(oid), std::to_string(mod)}));
    if (r.rows() != 1) return Status::NotFound("type {} of a replicated column is not in the catalog", oid);
    bool builtin = r.Get(0, 2) == "t";
    char typtype = r.Get(0, 3)[0];
    auto type =
        cfg_.Travel(ClassifyPgType(static_cast<uint32_t>(std::stoul(r.Get(0, 0))), r.Get(0, 1), builtin, typtype),
                    builtin, typtype);
    types_[key] = type;
    return type;
  }

  Status OnChange(const pgoutput::RowChange& c, Lsn lsn) {
    auto it = relations_.find(c.relation);
    if (it == relations_.end()) {
      if (ignored_.count(c.relation)) return Status::OK();
      return Status::IOError("a change of relation {} before its Relation message", c.relation);
    }
    Table& t = it->second;
    if (current_commit_lsn_ < t.skip_before) return Status::OK();
    ChangeRecord r{"c",
                   static_cast<int64_t>(lsn),
                   static_cast<int64_t>(current_commit_lsn_),
                   0,
                   current_xid_,
                   current_commit_ts_,
                   read_ts_,
                   "false",
                   db_,
                   t.schema,
                   t.name,
                   std::nullopt,
                   std::nullopt};
    const bool full = c.old_kind == 'O';
    if (mirror_ && t.key.empty() && c.kind != 'I' && !full) {
      return Status::FailedPrecondition(
          "table {0}.{1} has no primary key and its {2} no longer carries the whole old row, so the mirror cannot "
          "find the row it changes (was REPLICA IDENTITY FULL taken off the table?); run ALTER TABLE {0}.{1} "
          "REPLICA IDENTITY FULL, then empty the mirror table and the pipeline's state (nilus state reset) to "
          "mirror it again",
          t.schema, t.name, c.kind == 'D' ? "delete" : "update");
    }
    if (c.kind == 'D') {
      r.op = "d";
      if (full) r.before = BeforeJson(t, c.old_tuple);
      return AppendRow(t, c.old_tuple, nullptr, r);
    }
    if (c.kind == 'U') {
      r.op = "u";
      if (full) r.before = BeforeJson(t, c.old_tuple);
      // A changed key: the row under the old key goes, as Debezium reports it (a delete, then a
      // create). A keyless table's whole row is its key in a mirror.
      if (c.old_kind == 'K' || (full && (t.key.empty() ? mirror_ : KeyChanged(t, c.old_tuple, c.new_tuple)))) {
        ChangeRecord del = r;
        del.op = "d";
        NILUS_RETURN_NOT_OK(AppendRow(t, c.old_tuple, nullptr, del));
        r.op = "c";
      }
    }
    return AppendRow(t, c.new_tuple, full ? &c.old_tuple : nullptr, r);
  }

  static bool KeyChanged(const Table& t, const pgoutput::Tuple& old, const pgoutput::Tuple& now) {
    for (int i : t.key_index) {
      size_t k = static_cast<size_t>(i);
      if (k >= old.size() || k >= now.size()) return true;
      if (old[k].kind != now[k].kind || old[k].data != now[k].data) return now[k].kind != pgoutput::Value::kUnchanged;
    }
    return false;
  }

  /// Appends one row: the values of `tuple` (an unchanged TOASTed value taken from `old`, a
  /// whole old row, when there is one; else NULL and listed in _cdc_unchanged).
  Status AppendRow(Table& t, const pgoutput::Tuple& tuple, const pgoutput::Tuple* old, ChangeRecord& r) {
    BatchBuilder& b = *t.builder;
    std::string unchanged;
    for (size_t k = 0; k < t.kept.size(); ++k) {
      size_t i = static_cast<size_t>(t.kept[k]);
      const pgoutput::Value* v = i < tuple.size() ? &tuple[i] : nullptr;
      if (v && v->kind == pgoutput::Value::kUnchanged) {
        if (old && i < old->size() && (*old)[i].kind == pgoutput::Value::kText) {
          v = &(*old)[i];
        } else {
          unchanged += (unchanged.empty() ? "[" : ",") + nlohmann::json(t.names[k]).dump();
          v = nullptr;
        }
      }
      if (!v || v->kind != pgoutput::Value::kText) {
        b.column(k).AppendNull();
        continue;
      }
      // The message is made only on failure: this runs for every value.
      if (Status st = AppendValue(t.types[k], v->data, b.column(k)); !st.ok()) {
        return st.WithContext(fmt::format("column {} of {}.{}", t.names[k], t.schema, t.name));
      }
    }
    if (!unchanged.empty()) r.unchanged = unchanged + "]";
    r.seq = ++seq_;
    AppendRecord(b, t.kept.size(), r);
    ++pending_rows_;
    return Status::OK();
  }

  /// The whole old row (REPLICA IDENTITY FULL) as a JSON object of text values.
  static std::string BeforeJson(const Table& t, const pgoutput::Tuple& old) {
    nlohmann::json out = nlohmann::json::object();
    for (size_t k = 0; k < t.kept.size(); ++k) {
      size_t i = static_cast<size_t>(t.kept[k]);
      if (i >= old.size() || old[i].kind != pgoutput::Value::kText) {
        out[t.names[k]] = nullptr;
      } else {
        out[t.names[k]] = std::string(old[i].data);
      }
    }
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  Uri uri_;
  std::stop_token stop_;
  Config cfg_;
  std::string db_;
  bool mirror_;  ///< an update of a keyless table comes as a delete and a create (ChangeSource::Open)
  std::vector<CapturedTable> captured_;
  Lsn start_ = 0;

  // The snapshot.
  Start plan_ = Start::kStream;
  bool marker_sent_ = false, snapshot_open_ = false, resnapshot_ = false, finished_ = false;
  std::vector<std::pair<std::string, std::string>> tables_to_snapshot_;
  std::vector<std::string> tables_done_;  // schema.table, loaded whole
  /// schema.table -> the position of the snapshot it was loaded from, when later than the
  /// slot's: its changes committed before that are in the snapshot and skipped.
  std::map<std::string, Lsn> skip_;
  std::unique_ptr<PgReplication> snapshot_repl_;  // holds a temporary slot and its snapshot
  std::string snapshot_name_;
  Lsn snapshot_lsn_ = 0;
  size_t next_snapshot_table_ = 0;
  std::shared_ptr<PgConnection> snapshot_conn_;
  std::unique_ptr<BatchReader> snapshot_reader_;
  Table snapshot_table_;
  int64_t snapshot_rows_ = 0;

  // The stream (the reader thread's).
  std::unique_ptr<PgReplication> repl_;
  std::unique_ptr<PgConnection> catalog_;
  ChunkHandOver handover_;
  std::atomic<Lsn> confirmed_{0};
  std::atomic<Lsn> server_end_{0};  // the end of the server's WAL, as its last message said
  Lsn received_ = 0;
  Lsn committed_lsn_ = 0;  // end of the last transaction read whole
  Lsn current_commit_lsn_ = 0;
  int64_t current_xid_ = 0, current_commit_ts_ = 0, read_ts_ = 0, seq_ = 0;
  bool in_transaction_ = false;
  int64_t pending_rows_ = 0;
  Clock::time_point chunk_started_ = Clock::now();
  std::map<uint32_t, Table> relations_;
  std::set<uint32_t> ignored_;
  std::vector<TableChanges> done_;  // finished batches of the chunk being gathered
  std::map<std::pair<uint32_t, int32_t>, std::optional<PgColumnType>> types_;
};

class PgChangeSource final : public ChangeSource {
 public:
  PgChangeSource(Uri uri, std::stop_token stop) : uri_(std::move(uri)), stop_(std::move(stop)) {}

  Result<std::unique_ptr<ChangeStream>> Open(const SourceOptions& options, const Position& position,
                                             bool mirror) override {
    NILUS_RETURN_NOT_OK(CheckPostgresChangeOptions(options));
    Config cfg = Config::From(options);
    NILUS_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(uri_, stop_));
    NILUS_ASSIGN_OR_RAISE(PgResult settings, conn->Exec("SELECT current_setting('wal_level'), current_database()"));
    if (settings.Get(0, 0) != "logical" && cfg.snapshot_mode != "initial_only") {
      return Status::FailedPrecondition(
          "change data capture needs wal_level = logical on PostgreSQL {} (it is {}); set it in postgresql.conf "
          "(ALTER SYSTEM SET wal_level = logical) and restart the server",
          uri_.Masked(), settings.Get(0, 0));
    }
    std::string db = settings.Get(0, 1);
    NILUS_ASSIGN_OR_RAISE(auto tables, IncludedTables(*conn, cfg));
    if (cfg.snapshot_mode != "initial_only") NILUS_RETURN_NOT_OK(EnsurePublication(*conn, cfg, tables));

    auto stream = std::make_unique<PgChangeStream>(uri_, stop_, Config::From(options), db, mirror);
    std::vector<CapturedTable> captured;
    for (const auto& [schema, table] : tables) {
      const std::string qualified = QuoteIdent(schema) + "." + QuoteIdent(table);
      NILUS_ASSIGN_OR_RAISE(auto key, PgPrimaryKey(*conn, qualified));
      NILUS_ASSIGN_OR_RAISE(PgResult identity,
                            conn->Exec("SELECT relreplident FROM pg_class WHERE oid = $1::regclass", {qualified}));
      captured.push_back({schema, table, std::move(key), identity.Get(0, 0) == "f"});
    }
    auto prepared = [&](Plan plan) -> Result<std::unique_ptr<ChangeStream>> {
      NILUS_RETURN_NOT_OK(stream->Prepare(position, std::move(plan), std::move(captured)));
      return std::unique_ptr<ChangeStream>(std::move(stream));
    };
    const std::string state = position.value("snapshot", "");
    const bool has_lsn = position.contains("lsn");
    // The included tables a killed snapshot did not load whole.
    std::set<std::string> done;
    for (const auto& t : position.value("tables_done", Position::array())) {
      if (t.is_string()) done.insert(t.get<std::string>());
    }
    std::vector<std::pair<std::string, std::string>> unread;
    for (const auto& t : tables) {
      if (!done.count(t.first + "." + t.second)) unread.push_back(t);
    }
    if (cfg.snapshot_mode == "initial_only") {
      if (state == "done" && has_lsn)
        return Status::FailedPrecondition(
            "the snapshot of this pipeline (snapshot.mode: initial_only) "
            "was loaded already; reset it to load it again: nilus state "
            "reset <pipeline>");
      return prepared({Start::kSnapshotOnly, state == "started" ? unread : tables, false});
    }
    NILUS_ASSIGN_OR_RAISE(PgResult slot, conn->Exec("SELECT plugin, database, confirmed_flush_lsn::text, "
                                                    "coalesce(wal_status, ''), active FROM pg_replication_slots "
                                                    "WHERE slot_name = $1",
                                                    {cfg.slot}));
    const bool slot_exists = slot.rows() == 1;
    const bool resnapshot = position.value("resnapshot", false);
    // A position from the slot: the stream's, or that of a snapshot that loaded some tables.
    if (has_lsn && (state == "done" || (state == "started" && position.value("slot", "") == cfg.slot))) {
      Lsn at = 0, flushed = 0;
      ParseLsn(position.value("lsn", ""), &at);
      std::string problem;
      if (!slot_exists) {
        problem = fmt::format("replication slot {} no longer exists", cfg.slot);
      } else if (slot.Get(0, 3) == "lost") {
        problem = fmt::format("replication slot {} lost the WAL it held (max_slot_wal_keep_size)", cfg.slot);
      } else if (ParseLsn(slot.Get(0, 2), &flushed) && flushed > at) {
        problem =
            fmt::format("replication slot {} was read up to {} by someone else, past the {} this pipeline committed",
                        cfg.slot, FormatLsn(flushed), FormatLsn(at));
      }
      if (problem.empty()) {
        if (slot.Get(0, 0) != "pgoutput" || slot.Get(0, 1) != db) {
          return Status::FailedPrecondition("replication slot {} is not a pgoutput slot of database {}", cfg.slot, db);
        }
        if (state == "done") return prepared({Start::kStream, {}, false});
        return prepared({Start::kResumeSnapshot, unread, resnapshot});
      }
      if (cfg.snapshot_mode != "when_needed") {
        return Status::FailedPrecondition(
            "{}: the changes after {} cannot be read any more, and carrying on would lose them silently. To load the "
            "tables again from a new snapshot, set snapshot.mode: when_needed (or reset the pipeline with nilus "
            "state reset <pipeline>, which starts it afresh){}",
            problem, position.value("lsn", ""),
            slot_exists
                ? fmt::format("; the old slot must be dropped first: SELECT pg_drop_replication_slot('{}')", cfg.slot)
                : "");
      }
      spdlog::warn("{}; snapshot.mode is when_needed: taking a new snapshot", problem);
      if (slot_exists) NILUS_RETURN_NOT_OK(DropSlot(*conn, cfg.slot));
      return prepared({Start::kNewSlot, tables, true});
    }
    if (slot_exists) {
      // A slot this pipeline created, whose position never committed, holds nothing of value.
      if (state == "started" && position.value("slot", "") == cfg.slot) {
        spdlog::info("the last run created replication slot {} but committed nothing from it; starting again",
                     cfg.slot);
        NILUS_RETURN_NOT_OK(DropSlot(*conn, cfg.slot));
      } else {
        return Status::FailedPrecondition(
            "replication slot {} exists, but this pipeline never committed a position from it, so nilus cannot tell "
            "which changes it holds; choose another slot.name, or drop the slot if nothing else uses it: SELECT "
            "pg_drop_replication_slot('{}')",
            cfg.slot, cfg.slot);
      }
    }
    if (cfg.snapshot_mode == "no_data") tables.clear();
    return prepared({Start::kNewSlot, tables, resnapshot});
  }

 private:
  /// The tables the options include: ordinary and partitioned tables (not partitions, whose
  /// changes arrive through their root), outside the system schemas.
  static Result<std::vector<std::pair<std::string, std::string>>> IncludedTables(PgConnection& conn,
                                                                                 const Config& cfg) {
    NILUS_ASSIGN_OR_RAISE(PgResult r, conn.Exec(R"sql(
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
ORDER BY 1, 2)sql"));
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 0; i < r.rows(); ++i) {
      if (cfg.IncludesTable(r.Get(i, 0), r.Get(i, 1))) out.emplace_back(r.Get(i, 0), r.Get(i, 1));
    }
    if (out.empty()) {
      return Status::InvalidInput(
          "no table of the database matches table.include.list / schema.include.list (and the exclude lists); the "
          "patterns are regular expressions matching whole names like public.orders");
    }
    return out;
  }

  /// Creates the publication for the included tables when it is missing.
  static Status EnsurePublication(PgConnection& conn, const Config& cfg,
                                  const std::vector<std::pair<std::string, std::string>>& tables) {
    NILUS_ASSIGN_OR_RAISE(PgResult r, conn.Exec("SELECT 1 FROM pg_publication WHERE pubname = $1", {cfg.publication}));
    if (r.rows() == 1) {
      // A table the publication leaves out would never stream: say so rather than miss its changes.
      NILUS_ASSIGN_OR_RAISE(
          PgResult published,
          conn.Exec("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1", {cfg.publication}));
      std::set<std::pair<std::string, std::string>> have;
      for (int i = 0; i < published.rows(); ++i) have.emplace(published.Get(i, 0), published.Get(i, 1));
      std::vector<std::string> missing;
      for (const auto& t : tables) {
        if (!have.count(t)) missing.push_back(QuoteIdent(t.first) + "." + QuoteIdent(t.second));
      }
      if (!missing.empty()) {
        return Status::FailedPrecondition(
            "publication {} does not publish {}, which the include lists name, so their changes would never arrive; "
            "add them (ALTER PUBLICATION {} ADD TABLE {}) or narrow table.include.list",
            cfg.publication, Join(missing, ", "), QuoteIdent(cfg.publication), Join(missing, ", "));
      }
      return Status::OK();
    }
    std::vector<std::string> names;
    for (const auto& [schema, table] : tables) names.push_back(QuoteIdent(schema) + "." + QuoteIdent(table));
    spdlog::info("creating publication {} for {}", cfg.publication, Join(names, ", "));
    return conn
        .Exec(fmt::format("CREATE PUBLICATION {} FOR TABLE {} WITH (publish_via_partition_root = true)",
                          QuoteIdent(cfg.publication), Join(names, ", ")))
        .status();
  }

  static Status DropSlot(PgConnection& conn, const std::string& slot) {
    spdlog::info("dropping replication slot {}", slot);
    return conn.Exec("SELECT pg_drop_replication_slot($1)", {slot}).status();
  }

  Uri uri_;
  std::stop_token stop_;
};

}  // namespace

Status CheckPostgresChangeOptions(const SourceOptions& o) {
  NILUS_RETURN_NOT_OK(CheckChangeOptions(o, {"table", "schema", "column"}));
  auto get = [&](const std::string& name) {
    auto it = o.cdc.find(name);
    return it == o.cdc.end() ? std::string() : it->second;
  };
  for (const char* name : {"slot.name", "publication.name"}) {
    std::string v = get(name);
    if (!v.empty() && !RE2::FullMatch(v, "[a-z0-9_]{1,63}")) {
      return Status::InvalidInput(
          "{}{} '{}' must be 1 to 63 lower-case letters, digits and underscores (as PostgreSQL names slots)",
          OptionAt(o, name), name, v);
    }
  }
  if (get("snapshot.mode") == "always") {
    return Status::InvalidInput(
        "{}snapshot.mode 'always' is not supported by the PostgreSQL change source: a snapshot at every start would "
        "load rows twice into a change log; use initial, when_needed, no_data or initial_only",
        OptionAt(o, "snapshot.mode"));
  }
  return Status::OK();
}

Result<std::unique_ptr<ChangeSource>> OpenPostgresChangeSource(const Uri& uri, std::stop_token stop) {
  return std::unique_ptr<ChangeSource>(new PgChangeSource(uri, std::move(stop)));
}

}  // namespace nilus
