// MySQL/MariaDB change data capture: a snapshot of the included tables in one transaction whose
// binary log position is known, then the row-based binary log from that position, read as a
// replica (DESIGN §2.3). Column names come with every TABLE_MAP event (binlog_row_metadata=FULL),
// so a row is read with the columns its table had when it was written.

#include <arpa/inet.h>
#include <iconv.h>
#include <mysql.h>
// after mysql.h, which it needs
#include <mariadb_rpl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "nilus/connectors/change_records.h"
#include "nilus/connectors/mysql/binlog.h"
#include "nilus/connectors/mysql/mysql_internal.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

using Clock = std::chrono::steady_clock;
using Position = nlohmann::json;

/// A chunk of whole transactions goes downstream once it holds this many rows or is this old.
constexpr int64_t kChunkRows = 8192;
constexpr auto kChunkAge = std::chrono::milliseconds(100);
/// How often the reader lists the server's log files (the lag in bytes).
constexpr auto kListLogsInterval = std::chrono::seconds(2);
const std::set<std::string> kSystemDatabases = {"mysql", "information_schema", "performance_schema", "sys"};

/// A place in the binary log as one number that grows along the log: the file's sequence
/// number (binlog.000042 -> 42) above the offset in the file.
int64_t LogLsn(const std::string& file, uint64_t offset) {
  size_t dot = file.rfind('.');
  int64_t seq = 0;
  if (dot != std::string::npos) ParseBigint(file.substr(dot + 1), &seq);
  return seq << 32 | static_cast<int64_t>(offset & 0xffffffff);
}

/// The change-capture options of one pipeline, with Debezium's defaults.
struct Config {
  uint32_t server_id = 0;
  std::string snapshot_mode = "initial";
  std::string decimal_mode = "precise";
  int64_t heartbeat_ms = 10000;
  int64_t page_size = 50000;
  std::string default_db;  ///< the address's database: the one captured when no list names others
  NamePatterns db_include, db_exclude, table_include, table_exclude, column_include, column_exclude;

  static Config From(const SourceOptions& o, const Uri& uri) {
    Config c;
    auto get = [&](const char* name, std::string& out) {
      if (auto it = o.cdc.find(name); it != o.cdc.end()) out = it->second;
    };
    std::string v;
    get("database.server.id", v);
    if (!v.empty()) {
      c.server_id = static_cast<uint32_t>(std::stoul(v));
    } else {
      // Debezium's default: a random id in 5400-6399, unlikely to be a real replica's.
      c.server_id = 5400 + std::random_device{}() % 1000;
    }
    get("snapshot.mode", c.snapshot_mode);
    if (c.snapshot_mode == "schema_only") c.snapshot_mode = "no_data";
    get("decimal.handling.mode", c.decimal_mode);
    v.clear();
    get("heartbeat.interval.ms", v);
    if (!v.empty()) c.heartbeat_ms = std::stoll(v);
    c.page_size = o.page_size;
    if (uri.path().size() > 1) c.default_db = uri.path().substr(1);
    c.db_include = NamePatterns(o, "database.include.list");
    c.db_exclude = NamePatterns(o, "database.exclude.list");
    c.table_include = NamePatterns(o, "table.include.list");
    c.table_exclude = NamePatterns(o, "table.exclude.list");
    c.column_include = NamePatterns(o, "column.include.list");
    c.column_exclude = NamePatterns(o, "column.exclude.list");
    return c;
  }

  bool IncludesTable(const std::string& db, const std::string& table) const {
    if (kSystemDatabases.count(db)) return false;
    if (db_include.empty() && db_exclude.empty() && table_include.empty() && !default_db.empty() && db != default_db) {
      return false;
    }
    return Included(db_include, db_exclude, db) && Included(table_include, table_exclude, db + "." + table);
  }

  bool IncludesColumn(const std::string& db, const std::string& table, const std::string& column) const {
    return Included(column_include, column_exclude, db + "." + table + "." + column);
  }

  /// How a column travels: decimals as decimal.handling.mode says.
  MyColumnType Travel(MyColumnType t) const {
    if (decimal_mode != "precise" && t.logical.id == TypeId::kDecimal && StartsWith(t.native, "mysql:decimal")) {
      t.logical = decimal_mode == "double" ? LogicalType::Double() : LogicalType::Text();
      t.decode = decimal_mode == "double" ? MyDecode::kDouble : MyDecode::kText;
    }
    return t;
  }
};

/// Converts strings of MySQL's character sets to UTF-8 (iconv, one converter per set).
class Utf8Converter {
 public:
  ~Utf8Converter() {
    for (auto& [name, cd] : converters_) iconv_close(cd);
  }

  /// Whether values of `charset` are UTF-8 (or bytes) already.
  static bool Passes(const std::string& charset) {
    return charset.empty() || charset == "utf8mb4" || charset == "utf8mb3" || charset == "utf8" || charset == "ascii" ||
           charset == "binary";
  }

  Status Convert(const std::string& charset, std::string_view in, std::string& out) {
    auto it = converters_.find(charset);
    if (it == converters_.end()) {
      static const std::map<std::string, std::string> kNames = {
          {"latin1", "CP1252"},          {"ucs2", "UCS-2BE"},      {"utf16", "UTF-16BE"},     {"utf16le", "UTF-16LE"},
          {"utf32", "UTF-32BE"},         {"sjis", "SHIFT_JIS"},    {"cp932", "CP932"},        {"ujis", "EUC-JP"},
          {"eucjpms", "EUC-JP-MS"},      {"euckr", "EUC-KR"},      {"gb2312", "GB2312"},      {"gbk", "GBK"},
          {"gb18030", "GB18030"},        {"big5", "BIG5"},         {"koi8r", "KOI8-R"},       {"koi8u", "KOI8-U"},
          {"greek", "ISO-8859-7"},       {"hebrew", "ISO-8859-8"}, {"latin2", "ISO-8859-2"},  {"latin5", "ISO-8859-9"},
          {"latin7", "ISO-8859-13"},     {"tis620", "TIS-620"},    {"armscii8", "ARMSCII-8"}, {"macroman", "MACINTOSH"},
          {"macce", "MAC-CENTRALEUROPE"}};
      auto name = kNames.find(charset);
      std::string iconv_name = name != kNames.end() ? name->second : ToUpper(charset);
      iconv_t cd = iconv_open("UTF-8", iconv_name.c_str());
      if (cd == reinterpret_cast<iconv_t>(-1)) {
        return Status::InvalidInput("nilus cannot convert the character set {} to UTF-8", charset);
      }
      it = converters_.emplace(charset, cd).first;
    }
    out.resize(in.size() * 4 + 4);
    char* src = const_cast<char*>(in.data());
    size_t src_left = in.size(), dst_left = out.size();
    char* dst = out.data();
    iconv(it->second, nullptr, nullptr, nullptr, nullptr);
    if (iconv(it->second, &src, &src_left, &dst, &dst_left) == static_cast<size_t>(-1)) {
      return Status::InvalidInput("a value of character set {} is not valid in it: '{}'", charset, Excerpt(in, 40));
    }
    out.resize(out.size() - dst_left);
    return Status::OK();
  }

 private:
  static std::string ToUpper(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return s;
  }
  std::map<std::string, iconv_t> converters_;
};

/// MariaDB's UUID and INET6 are logged as their 16 stored bytes; the text protocol writes them.
std::string UuidText(std::string_view b) {
  std::string out;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += fmt::format("{:02x}", static_cast<uint8_t>(b[i]));
  }
  return out;
}
std::string Inet6Text(std::string_view b) {
  char buf[64];
  if (b.size() != 16 || !inet_ntop(AF_INET6, b.data(), buf, sizeof buf)) return std::string(b);
  return buf;
}

/// An included table as the stream knows it: its columns as the last TABLE_MAP described them.
struct Table {
  std::string db, name;
  binlog::TableMap map;
  std::vector<std::string> key;
  std::vector<int> key_index;  // map columns of `key`
  std::vector<int> kept;       // map columns that travel, in order
  std::vector<MyColumnType> types;
  std::vector<std::string> names, charsets;
  std::unique_ptr<BatchBuilder> builder;
  /// Transactions that start before this place in the log are in the table's snapshot already.
  int64_t skip_before = 0;
};

enum class Start { kSnapshot, kResumeSnapshot, kStream, kSnapshotOnly };
struct Plan {
  Start start = Start::kStream;
  std::vector<MyTableName> tables;  ///< to snapshot
  bool resnapshot = false;          ///< empty each destination table before its snapshot rows
};

/// The binary log position of a snapshot, the connection that reads in it.
struct Snapshot {
  std::shared_ptr<MyConnection> conn;
  std::string file;
  int64_t position = 0;
  std::string gtid;
};

class MyChangeStream final : public ChangeStream {
 public:
  MyChangeStream(Uri uri, std::stop_token stop, Config cfg, bool mirror, ZeroDates zero_dates, int checksum_bytes,
                 std::map<uint32_t, std::string> charsets)
      : uri_(std::move(uri)),
        stop_(std::move(stop)),
        cfg_(std::move(cfg)),
        mirror_(mirror),
        zero_dates_(zero_dates),
        checksum_bytes_(checksum_bytes),
        charsets_(std::move(charsets)) {}

  ~MyChangeStream() override { handover_.Stop(); }

  void Prepare(const Position& position, Plan plan, std::vector<CapturedTable> captured) {
    captured_ = std::move(captured);
    plan_ = plan.start;
    tables_to_snapshot_ = std::move(plan.tables);
    resnapshot_ = plan.resnapshot;
    if (plan_ == Start::kResumeSnapshot || plan_ == Start::kStream) {
      file_ = position.value("file", "");
      offset_ = position.value("pos", int64_t{0});
      gtid_ = position.value("gtid", "");
    }
    for (const auto& t : position.value("tables_done", Position::array())) {
      if (t.is_string()) tables_done_.push_back(t.get<std::string>());
    }
    const Position skip = position.value("skip", Position::object());  // items() keeps a reference
    for (const auto& [table, at] : skip.items()) {
      if (at.is_number_integer()) skip_[table] = at.get<int64_t>();
    }
    if (plan_ == Start::kResumeSnapshot) {
      std::erase_if(skip_, [&](const auto& e) {
        return std::find(tables_done_.begin(), tables_done_.end(), e.first) == tables_done_.end();
      });
    }
  }

  Result<std::optional<ChangeChunk>> Next() override {
    if (plan_ != Start::kStream) return NextSnapshotChunk();
    if (finished_) return std::optional<ChangeChunk>();
    if (!handover_.started()) StartStreaming();
    return handover_.Pop("the binary log stream");
  }

  void Confirm(const Position&) override {}  // the server keeps its log by age, not by replica

  bool finished() const override { return finished_; }

  const std::vector<CapturedTable>& tables() const override { return captured_; }

  int64_t BytesBehind(const Position& position) const override {
    std::lock_guard lock(logs_mu_);
    const std::string file = position.value("file", "");
    int64_t behind = -1;
    for (const auto& [name, size] : logs_) {  // the server's files in order, as last listed
      if (name == file)
        behind = std::max<int64_t>(0, size - position.value("pos", int64_t{0}));
      else if (behind >= 0)
        behind += size;
    }
    return behind;
  }

 private:
  // --- the snapshot --------------------------------------------------------------------------

  /// A transaction that sees one point of the log, and that point. MariaDB says where its
  /// consistent snapshot stands without a lock; MySQL needs the global read lock for a moment.
  Result<Snapshot> OpenSnapshot() {
    Snapshot s;
    NILUS_ASSIGN_OR_RAISE(std::shared_ptr<MyConnection> conn, MyConnection::Connect(uri_, stop_));
    if (conn->is_mariadb()) {
      NILUS_RETURN_NOT_OK(conn->Exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
      NILUS_RETURN_NOT_OK(conn->Exec("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"));
      NILUS_ASSIGN_OR_RAISE(MyRows rows, conn->Query("SHOW STATUS LIKE 'binlog_snapshot_%'"));
      for (const auto& r : rows) {
        if (r[0] == "Binlog_snapshot_file") s.file = r[1].value_or("");
        if (r[0] == "Binlog_snapshot_position") ParseBigint(r[1].value_or("0"), &s.position);
      }
      NILUS_ASSIGN_OR_RAISE(MyRows gtid, conn->Query("SELECT @@gtid_binlog_pos"));
      if (!gtid.empty()) s.gtid = gtid[0][0].value_or("");
      s.conn = std::move(conn);
    } else {
      NILUS_ASSIGN_OR_RAISE(auto consistent, MyConsistentSnapshot::Open(uri_, stop_, 1));
      s.conn = consistent->connections[0];
      s.file = consistent->binlog_file;
      s.position = consistent->binlog_position;
      s.gtid = consistent->gtid_set;
    }
    if (s.file.empty()) return Status::FailedPrecondition("the server did not say where its binary log stands");
    return s;
  }

  Result<std::optional<ChangeChunk>> NextSnapshotChunk() {
    if (!snapshot_.conn) {
      if (tables_to_snapshot_.empty() && plan_ == Start::kResumeSnapshot) return EndSnapshot();
      NILUS_ASSIGN_OR_RAISE(snapshot_, OpenSnapshot());
      snapshot_lsn_ = LogLsn(snapshot_.file, static_cast<uint64_t>(snapshot_.position));
      if (plan_ == Start::kResumeSnapshot) {
        for (const auto& t : tables_to_snapshot_) skip_[t.schema + "." + t.name] = snapshot_lsn_;
        spdlog::info("resuming the snapshot: {} tables loaded before, {} to read from a new snapshot at {}:{}",
                     tables_done_.size(), tables_to_snapshot_.size(), snapshot_.file, snapshot_.position);
      } else {
        file_ = snapshot_.file;
        offset_ = snapshot_.position;
        gtid_ = snapshot_.gtid;
        spdlog::info("snapshot at binary log {}:{} (GTID {})", file_, offset_, gtid_.empty() ? "-" : gtid_);
      }
    }
    if (!snapshot_reader_) {
      if (next_snapshot_table_ == tables_to_snapshot_.size()) return EndSnapshot();
      NILUS_RETURN_NOT_OK(OpenSnapshotTable(tables_to_snapshot_[next_snapshot_table_++]));
      if (resnapshot_) {
        ChangeChunk chunk;
        chunk.changes.push_back(TruncateChanges(SnapshotRecord("t"), snapshot_key_));
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
      snapshot_rows_ += batch->num_rows();
      chunk.changes.push_back(SnapshotChanges(*batch, SnapshotRecord("r"), snapshot_key_));
    }
    chunk.position = SnapshotPosition();
    return std::optional<ChangeChunk>(std::move(chunk));
  }

  /// The change record of the snapshot's rows of the table being read (`op` r), or of the
  /// truncate before them (t): at the snapshot's position, sequence 0.
  ChangeRecord SnapshotRecord(std::string_view op) const {
    const int64_t now = NowMillis();
    return ChangeRecord{op,
                        snapshot_lsn_,
                        snapshot_lsn_,
                        0,
                        0,
                        now,
                        now,
                        "true",
                        snapshot_table_.schema,
                        snapshot_table_.schema,
                        snapshot_table_.name,
                        std::nullopt,
                        std::nullopt};
  }

  Status OpenSnapshotTable(const MyTableName& table) {
    NILUS_ASSIGN_OR_RAISE(auto columns, MyTableColumns(*snapshot_.conn, table));
    NILUS_ASSIGN_OR_RAISE(snapshot_key_, MyPrimaryKey(*snapshot_.conn, table));
    std::vector<MyColumn> kept;
    std::string list;
    for (auto& c : columns) {
      if (!cfg_.IncludesColumn(table.schema, table.name, c.name)) continue;
      c.type = cfg_.Travel(c.type);
      if (!list.empty()) list += ", ";
      list += c.type.widen ? fmt::format("CAST({0} AS DOUBLE) AS {0}", QuoteIdent(c.name)) : QuoteIdent(c.name);
      kept.push_back(std::move(c));
    }
    NILUS_ASSIGN_OR_RAISE(MYSQL_RES * res, snapshot_.conn->Stream(fmt::format("SELECT {} FROM {}", list, table.Ref())));
    snapshot_reader_ = NewMysqlReader(snapshot_.conn, res, kept, "table " + table.schema + "." + table.name,
                                      cfg_.page_size, zero_dates_);
    snapshot_table_ = table;
    snapshot_rows_ = 0;
    return Status::OK();
  }

  /// Where a snapshot stands: the log position the stream starts from, and the tables loaded whole.
  Position SnapshotPosition() const {
    Position p = LogPosition("started");
    p["tables_done"] = tables_done_;
    if (resnapshot_) p["resnapshot"] = true;
    return p;
  }

  Position LogPosition(const char* snapshot) const {
    Position p = {{"file", file_}, {"pos", offset_}, {"snapshot", snapshot}};
    if (!gtid_.empty()) p["gtid"] = gtid_;
    if (!skip_.empty()) p["skip"] = skip_;
    return p;
  }

  Result<std::optional<ChangeChunk>> EndSnapshot() {
    if (snapshot_.conn) {
      NILUS_RETURN_NOT_OK(snapshot_.conn->Exec("COMMIT"));
      snapshot_.conn.reset();
    }
    ChangeChunk chunk;
    chunk.position = LogPosition("done");
    chunk.at_boundary = true;
    if (plan_ == Start::kSnapshotOnly) finished_ = true;
    plan_ = Start::kStream;
    return std::optional<ChangeChunk>(std::move(chunk));
  }

  // --- streaming -----------------------------------------------------------------------------

  void StartStreaming() {
    spdlog::info("streaming the binary log from {}:{} as replica {}", file_, offset_, cfg_.server_id);
    committed_lsn_ = LogLsn(file_, static_cast<uint64_t>(offset_));
    handover_.Start([this] { return Stream(); });
  }

  /// Opens the dump of the log from the committed position on `conn`.
  Result<MARIADB_RPL*> OpenDump(MyConnection& conn) {
    // Checksummed events as the server writes them, MariaDB's GTID events, a heartbeat every
    // second while the log is idle.
    NILUS_RETURN_NOT_OK(
        conn.Exec("SET @master_binlog_checksum = @@global.binlog_checksum, @mariadb_slave_capability = 4, "
                  "@master_heartbeat_period = 1000000000"));
    MARIADB_RPL* rpl = mariadb_rpl_init(conn.get());
    if (!rpl) return Status::Internal("cannot start reading the binary log");
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_SERVER_ID, cfg_.server_id);
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_FILENAME, file_.c_str(), file_.size());
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_START, static_cast<unsigned long>(offset_));
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_FLAGS, 0);
    if (mariadb_rpl_open(rpl) != 0) {
      Status st = conn.ErrorStatus("reading the binary log");
      mariadb_rpl_close(rpl);
      return st;
    }
    return rpl;
  }

  /// The reader thread: reads the log, turns it into chunks of whole transactions.
  Status Stream() {
    NILUS_ASSIGN_OR_RAISE(std::unique_ptr<MyConnection> conn, MyConnection::Connect(uri_, stop_));
    NILUS_ASSIGN_OR_RAISE(catalog_, MyConnection::Connect(uri_, stop_));
    NILUS_ASSIGN_OR_RAISE(MARIADB_RPL * rpl, OpenDump(*conn));
    MARIADB_RPL_EVENT* event = nullptr;
    struct Closer {
      MARIADB_RPL* rpl;
      MARIADB_RPL_EVENT*& event;
      ~Closer() {
        if (event) mariadb_free_rpl_event(event);
        mariadb_rpl_close(rpl);
      }
    } closer{rpl, event};
    auto push = [&](ChangeChunk chunk) { return handover_.Push(std::move(chunk), stop_); };
    auto last_heartbeat = Clock::now(), last_listed = Clock::now() - kListLogsInterval;
    while (!stop_.stop_requested() && !handover_.closed()) {
      if (Clock::now() - last_listed >= kListLogsInterval) {
        last_listed = Clock::now();
        NILUS_RETURN_NOT_OK(ListLogs());
      }
      event = mariadb_rpl_fetch(rpl, event);
      if (!event) {
        if (stop_.stop_requested()) break;
        Status st = conn->ErrorStatus("reading the binary log");
        return st.ok() ? Status::Unavailable("the server ended the binary log stream") : st;
      }
      std::string_view raw(reinterpret_cast<const char*>(event->raw_data) + event->raw_data_ofs,
                           event->raw_data_size - event->raw_data_ofs);
      binlog::Header h;
      NILUS_RETURN_NOT_OK(binlog::ParseHeader(raw, &h));
      const size_t body_end = raw.size() - std::min<size_t>(raw.size() - binlog::kHeaderSize,
                                                            h.type == binlog::kFormatDescription ? 0 : checksum_bytes_);
      std::string_view body = raw.substr(binlog::kHeaderSize, body_end - binlog::kHeaderSize);
      if (h.type == binlog::kHeartbeat) {
        // Idle: everything before the read position may be committed (a heartbeat) so that a
        // restart does not read the log of other tables again.
        if (!in_transaction_ && pending_rows_ > 0) NILUS_RETURN_NOT_OK(push(TakeChunk(true)));
        if (!in_transaction_ && cfg_.heartbeat_ms > 0 &&
            LogLsn(file_, static_cast<uint64_t>(offset_)) > committed_lsn_ &&
            Clock::now() - last_heartbeat >= std::chrono::milliseconds(cfg_.heartbeat_ms)) {
          last_heartbeat = Clock::now();
          committed_lsn_ = LogLsn(file_, static_cast<uint64_t>(offset_));
          ChangeChunk beat;
          beat.position = LogPosition("done");
          beat.at_boundary = true;
          NILUS_RETURN_NOT_OK(push(std::move(beat)));
        }
        continue;
      }
      Status st = Handle(h, body);
      if (!st.ok()) return st.WithContext(fmt::format("at binary log {}:{}", file_, h.next_position - h.length));
      // (A format description sent at a resumed start says where it stands in the file: earlier.)
      if (h.type != binlog::kRotate) event_end_ = std::max<int64_t>(event_end_, h.next_position);
      if (!in_transaction_) offset_ = event_end_;
      if (ended_transaction_) {
        ended_transaction_ = false;
        committed_lsn_ = LogLsn(file_, static_cast<uint64_t>(offset_));
        std::erase_if(skip_, [&](const auto& e) { return e.second <= committed_lsn_; });
        if (pending_rows_ >= kChunkRows || (pending_rows_ > 0 && Clock::now() - chunk_started_ >= kChunkAge)) {
          NILUS_RETURN_NOT_OK(push(TakeChunk(true)));
        }
      } else if (in_transaction_ && pending_rows_ >= cfg_.page_size) {
        NILUS_RETURN_NOT_OK(push(TakeChunk(false)));  // a large transaction, in parts
      }
    }
    return Status::Cancelled("interrupted");
  }

  /// The server's binary log files and their sizes, for the lag in bytes.
  Status ListLogs() {
    NILUS_ASSIGN_OR_RAISE(MyRows rows, catalog_->Query("SHOW BINARY LOGS"));
    std::vector<std::pair<std::string, int64_t>> logs;
    for (const auto& r : rows) {
      int64_t size = 0;
      ParseBigint(r[1].value_or("0"), &size);
      logs.emplace_back(r[0].value_or(""), size);
    }
    std::lock_guard lock(logs_mu_);
    logs_ = std::move(logs);
    return Status::OK();
  }

  ChangeChunk TakeChunk(bool at_boundary) {
    ChangeChunk chunk;
    chunk.changes = std::move(done_);
    done_.clear();
    for (auto& [name, t] : tables_) {
      if (t.builder && t.builder->num_rows() > 0) chunk.changes.push_back(Finish(t));
    }
    chunk.position = LogPosition("done");
    chunk.at_boundary = at_boundary;
    pending_rows_ = 0;
    chunk_started_ = Clock::now();
    return chunk;
  }

  TableChanges Finish(Table& t) { return TableChanges{t.db, t.name, t.key, t.builder->Finish(), false}; }

  void BeginTransaction(const binlog::Header& h) {
    in_transaction_ = true;
    tx_start_lsn_ = LogLsn(file_, h.next_position - h.length);
    commit_ts_ = static_cast<int64_t>(h.timestamp) * 1000;
    read_ts_ = NowMillis();  // once per transaction: a clock read per row would cost more than the row
    seq_ = 0;
    if (pending_rows_ == 0) chunk_started_ = Clock::now();
  }

  void EndTransaction() {
    in_transaction_ = gtid_seen_ = false;
    ended_transaction_ = true;
    if (!tx_gtid_.empty()) gtid_ = tx_gtid_;
  }

  Status Handle(const binlog::Header& h, std::string_view body) {
    switch (h.type) {
      case binlog::kRotate: {
        uint64_t position = 0;
        NILUS_RETURN_NOT_OK(binlog::ParseRotate(body, &file_, &position));
        offset_ = event_end_ = static_cast<int64_t>(position);
        return Status::OK();
      }
      case binlog::kMariaGtid: {
        binlog::MariaGtid g;
        NILUS_RETURN_NOT_OK(binlog::ParseMariaGtid(body, &g));
        BeginTransaction(h);
        gtid_seen_ = true;
        in_transaction_ = !g.standalone;
        tx_id_ = static_cast<int64_t>(g.sequence);
        tx_gtid_ = MergeMariaGtid(gtid_, g.domain, h.server_id, g.sequence);
        return Status::OK();
      }
      case binlog::kMysqlGtid:
      case binlog::kMysqlAnonymousGtid: {
        tx_gtid_.clear();
        if (h.type == binlog::kMysqlGtid) NILUS_RETURN_NOT_OK(binlog::ParseMysqlGtid(body, &tx_gtid_));
        tx_id_ = 0;
        if (size_t colon = tx_gtid_.rfind(':'); colon != std::string::npos) {
          ParseBigint(tx_gtid_.substr(colon + 1), &tx_id_);
        }
        BeginTransaction(h);
        gtid_seen_ = true;
        in_transaction_ = false;  // the BEGIN query follows, or the DDL alone
        return Status::OK();
      }
      case binlog::kQuery: {
        binlog::Query q;
        NILUS_RETURN_NOT_OK(binlog::ParseQuery(body, &q));
        const std::string sql = ToLower(Trim(q.sql.substr(0, 64)));
        if (sql == "begin" || StartsWith(sql, "xa start")) {
          if (!gtid_seen_) BeginTransaction(h);  // a log without GTIDs: the transaction starts here
          in_transaction_ = true;
          return Status::OK();
        }
        if (sql == "commit" || sql == "rollback" || StartsWith(sql, "xa commit")) {
          EndTransaction();
          return Status::OK();
        }
        NILUS_RETURN_NOT_OK(OnStatement(q, h));
        if (!in_transaction_) EndTransaction();  // DDL commits alone
        return Status::OK();
      }
      case binlog::kXid:
        EndTransaction();
        return Status::OK();
      case binlog::kTableMap:
        return OnTableMap(body);
      case binlog::kTransactionPayload:
        return Status::FailedPrecondition(
            "the server compresses its transactions in the binary log (binlog_transaction_compression=ON), which "
            "nilus does not read; set binlog_transaction_compression=OFF");
      case binlog::kPartialUpdateRows:
        return Status::FailedPrecondition(
            "the server logs partial JSON updates (binlog_row_value_options=PARTIAL_JSON), which carry no whole "
            "value; set binlog_row_value_options to '' on the server");
      default:
        if (binlog::IsRows(h.type)) return OnRows(h, body);
        if (h.type >= binlog::kMariaQueryCompressed && h.type <= binlog::kMariaDeleteRowsCompressedV1) {
          return Status::FailedPrecondition(
              "the server compresses its binary log (log_bin_compress=ON), which nilus does not read; set "
              "log_bin_compress=OFF");
        }
        return Status::OK();  // format description, GTID lists, checkpoints, annotations
    }
  }

  /// MariaDB's GTID position after a transaction of `domain`: the last GTID of each domain.
  static std::string MergeMariaGtid(const std::string& position, uint32_t domain, uint32_t server, uint64_t seq) {
    std::vector<std::string> out;
    const std::string prefix = fmt::format("{}-", domain);
    for (const auto& g : SplitList(position)) {
      if (!StartsWith(g, prefix)) out.push_back(g);
    }
    out.push_back(fmt::format("{}-{}-{}", domain, server, seq));
    std::sort(out.begin(), out.end());
    return Join(out, ",");
  }

  /// A statement in the log (DDL, and statements of tables not logged by row): TRUNCATE of an
  /// included table becomes a truncate change; the next TABLE_MAP of a table whose DDL changed
  /// it carries its new columns.
  Status OnStatement(const binlog::Query& q, const binlog::Header& h) {
    static const RE2 kTruncate(
        R"((?is)\s*truncate\s+(?:table\s+)?(?:`([^`]+)`|(\w+))(?:\s*\.\s*(?:`([^`]+)`|(\w+)))?\s*;?\s*)");
    static const RE2 kRowChange(R"((?is)\s*(insert|update|delete|replace|load\s+data)\b.*)");
    std::string a1, a2, b1, b2;
    if (RE2::FullMatch(q.sql, kRowChange)) {
      // A session that logs statements (binlog_format STATEMENT or MIXED) writes rows the stream
      // cannot see: stop rather than miss them, when the statement names a captured table.
      const std::string sql = ToLower(q.sql);
      for (const auto& c : captured_) {
        if (sql.find(ToLower(c.table)) == std::string::npos) continue;
        return Status::FailedPrecondition(
            "the binary log holds a statement, not its rows, that may change {}.{} (a session with binlog_format "
            "STATEMENT or MIXED): its changes cannot be captured. Make every writer log rows (binlog_format = ROW "
            "globally, and no SET SESSION binlog_format), then take a new snapshot (nilus state reset <pipeline>). "
            "The statement: {}",
            c.schema, c.table, Excerpt(q.sql, 120));
      }
      return Status::OK();
    }
    if (!RE2::FullMatch(q.sql, kTruncate, &a1, &a2, &b1, &b2)) return Status::OK();
    std::string first = a1.empty() ? a2 : a1, second = b1.empty() ? b2 : b1;
    std::string db = second.empty() ? q.db : first, name = second.empty() ? first : second;
    if (!cfg_.IncludesTable(db, name)) return Status::OK();
    if (!in_transaction_) BeginTransaction(h);
    const std::string qualified = db + "." + name;
    if (auto skip = skip_.find(qualified); skip != skip_.end() && tx_start_lsn_ < skip->second) return Status::OK();
    std::vector<std::string> key;
    if (auto it = tables_.find(qualified); it != tables_.end()) {
      if (it->second.builder && it->second.builder->num_rows() > 0) done_.push_back(Finish(it->second));
      key = it->second.key;
    } else {  // not seen in this run's log yet: its key as the stream opened
      for (const auto& c : captured_) {
        if (c.schema == db && c.table == name) key = c.key;
      }
    }
    ChangeRecord r{"t",
                   LogLsn(file_, h.next_position - h.length),
                   tx_start_lsn_,
                   ++seq_,
                   tx_id_,
                   commit_ts_,
                   read_ts_,
                   "false",
                   db,
                   db,
                   name,
                   std::nullopt,
                   std::nullopt};
    done_.push_back(TruncateChanges(r, key));
    ++pending_rows_;
    return Status::OK();
  }

  /// A TABLE_MAP event: the columns of the table the next row events change.
  Status OnTableMap(std::string_view body) {
    binlog::TableMap map;
    NILUS_RETURN_NOT_OK(binlog::ParseTableMap(body, &map));
    if (!cfg_.IncludesTable(map.db, map.table)) {
      by_id_.erase(map.table_id);
      ignored_.insert(map.table_id);
      return Status::OK();
    }
    ignored_.erase(map.table_id);
    if (!map.has_names) {
      return Status::FailedPrecondition(
          "the binary log's TABLE_MAP of {}.{} carries no column names: it was written while binlog_row_metadata was "
          "not FULL. Set binlog_row_metadata = FULL on the server; the changes logged before cannot be read by name, "
          "so take a new snapshot (nilus state reset <pipeline>)",
          map.db, map.table);
    }
    const std::string qualified = map.db + "." + map.table;
    Table& t = tables_[qualified];
    by_id_[map.table_id] = &t;
    if (t.builder && SameColumns(t.map, map)) {
      t.map.table_id = map.table_id;
      return Status::OK();
    }
    // New, or changed by DDL: a new shape from here on.
    if (t.builder && t.builder->num_rows() > 0) done_.push_back(Finish(t));
    t = Table{map.db, map.table, std::move(map), {}, {}, {}, {}, {}, {}, nullptr, 0};
    if (auto skip = skip_.find(qualified); skip != skip_.end()) t.skip_before = skip->second;
    for (int k : t.map.key) t.key.push_back(t.map.columns[static_cast<size_t>(k)].name);
    t.key_index = t.map.key;
    // Types as the snapshot reads them, from the catalog by name; a column the catalog no longer
    // has (dropped since) is typed from the log.
    std::map<std::string, MyColumnType> catalog;
    auto columns = MyTableColumns(*catalog_, MyTableName{t.db, t.name});
    if (!columns.ok() && columns.status().code() != StatusCode::kNotFound) return columns.status();
    if (columns.ok()) {
      for (auto& c : *columns) catalog[c.name] = c.type;
    }
    Schema schema;
    for (size_t i = 0; i < t.map.columns.size(); ++i) {
      const binlog::Column& col = t.map.columns[i];
      if (!cfg_.IncludesColumn(t.db, t.name, col.name)) continue;
      auto it = catalog.find(col.name);
      MyColumnType type = cfg_.Travel(it != catalog.end() ? it->second : TypeFromLog(col));
      t.kept.push_back(static_cast<int>(i));
      t.names.push_back(col.name);
      auto cs = charsets_.find(col.collation);
      t.charsets.push_back(cs == charsets_.end() ? "" : cs->second);
      schema.AddField({col.name, type.logical, true, type.native});
      t.types.push_back(std::move(type));
    }
    for (auto& f : ChangeFields()) schema.AddField(std::move(f));
    t.builder = std::make_unique<BatchBuilder>(std::move(schema));
    return Status::OK();
  }

  static bool SameColumns(const binlog::TableMap& a, const binlog::TableMap& b) {
    if (a.columns.size() != b.columns.size() || a.key != b.key) return false;
    for (size_t i = 0; i < a.columns.size(); ++i) {
      const auto &x = a.columns[i], &y = b.columns[i];
      if (x.name != y.name || x.type != y.type || x.meta != y.meta || x.max_length != y.max_length ||
          x.is_unsigned != y.is_unsigned || x.collation != y.collation || x.values != y.values) {
        return false;
      }
    }
    return true;
  }

  /// The type of a column the catalog does not know, from what the log says of it.
  static MyColumnType TypeFromLog(const binlog::Column& col) {
    MyFieldInfo f;
    f.type = col.type == binlog::kEnum || col.type == binlog::kSet ? static_cast<int>(MYSQL_TYPE_STRING)
                                                                   : static_cast<int>(col.type);
    if (col.type == binlog::kTimestamp2) f.type = MYSQL_TYPE_TIMESTAMP;
    if (col.type == binlog::kDatetime2) f.type = MYSQL_TYPE_DATETIME;
    if (col.type == binlog::kTime2) f.type = MYSQL_TYPE_TIME;
    f.flags = (col.is_unsigned ? UNSIGNED_FLAG : 0) | (col.type == binlog::kEnum ? ENUM_FLAG : 0) |
              (col.type == binlog::kSet ? SET_FLAG : 0);
    f.charsetnr = col.collation == 63 ? 63 : 45;
    if (col.type == binlog::kNewDecimal) {
      const unsigned precision = col.meta >> 8, scale = col.meta & 0xff;
      f.decimals = scale;
      f.length = precision + (scale > 0 ? 1 : 0) + (col.is_unsigned ? 0 : 1);
    }
    if (col.type == binlog::kBit) f.length = col.max_length;
    if (col.type == binlog::kTimestamp2 || col.type == binlog::kDatetime2 || col.type == binlog::kTime2) {
      f.decimals = col.meta;
    }
    return ClassifyMyField(f, "");
  }

  Status OnRows(const binlog::Header& h, std::string_view body) {
    binlog::Rows rows;
    NILUS_RETURN_NOT_OK(binlog::ParseRows(h.type, body, &rows));
    auto it = by_id_.find(rows.table_id);
    if (it == by_id_.end()) {
      if (ignored_.count(rows.table_id)) return Status::OK();
      return Status::IOError("a row event of table id {} before its TABLE_MAP", rows.table_id);
    }
    Table& t = *it->second;
    if (tx_start_lsn_ < t.skip_before) return Status::OK();
    const bool full_before = std::all_of(rows.present.begin(), rows.present.end(), [](bool b) { return b; });
    ChangeRecord r{"c",           LogLsn(file_, h.next_position - h.length),
                   tx_start_lsn_, 0,
                   tx_id_,        commit_ts_,
                   read_ts_,      "false",
                   t.db,          t.db,
                   t.name,        std::nullopt,
                   std::nullopt};
    std::string_view rest = rows.images;
    while (!rest.empty()) {
      NILUS_RETURN_NOT_OK(binlog::ReadImage(t.map, rows.present, rest, &image_));
      if (binlog::IsWrite(h.type)) {
        r.op = "c";
        NILUS_RETURN_NOT_OK(AppendRow(t, image_, nullptr, r));
        continue;
      }
      if (mirror_ && t.key.empty() && !full_before) {
        return Status::FailedPrecondition(
            "table {0}.{1} has no primary key and the server logs no whole old row (binlog_row_image is not FULL), so "
            "the mirror cannot find the row a change applies to; set binlog_row_image = FULL on the server, or add a "
            "primary key to {0}.{1}",
            t.db, t.name);
      }
      r.before = full_before ? std::optional<std::string>(BeforeJson(t, image_)) : std::nullopt;
      if (binlog::IsDelete(h.type)) {
        r.op = "d";
        NILUS_RETURN_NOT_OK(AppendRow(t, image_, nullptr, r));
        r.before.reset();
        continue;
      }
      NILUS_RETURN_NOT_OK(binlog::ReadImage(t.map, rows.present_after, rest, &after_));
      r.op = "u";
      // A changed key: the row under the old key goes, as Debezium reports it (a delete, then a
      // create). A keyless table's whole row is its key in a mirror.
      if (t.key.empty() ? mirror_ : KeyChanged(t, image_, after_)) {
        ChangeRecord del = r;
        del.op = "d";
        NILUS_RETURN_NOT_OK(AppendRow(t, image_, nullptr, del));
        r.op = "c";
      }
      NILUS_RETURN_NOT_OK(AppendRow(t, after_, &image_, r));
      r.before.reset();
    }
    return Status::OK();
  }

  static bool KeyChanged(const Table& t, const binlog::Image& before, const binlog::Image& after) {
    for (int i : t.key_index) {
      const size_t k = static_cast<size_t>(i);
      if (after.state[k] == binlog::Image::kAbsent) continue;  // a minimal image: unchanged
      if (before.state[k] != after.state[k] || before.data[k] != after.data[k]) return true;
    }
    return false;
  }

  /// The text of map column `i` of `image` (converted to UTF-8), in `text`.
  Status Text(const Table& t, size_t k, std::string_view data, std::string_view* text) {
    const size_t i = static_cast<size_t>(t.kept[k]);
    const binlog::Column& col = t.map.columns[i];
    NILUS_RETURN_NOT_OK(binlog::ValueText(col, data, scratch_, text));
    const std::string& native = t.types[k].native;
    if (StartsWith(native, "mysql:uuid")) {
      converted_ = UuidText(*text);
      *text = converted_;
    } else if (StartsWith(native, "mysql:inet6")) {
      converted_ = Inet6Text(*text);
      *text = converted_;
    } else if (!Utf8Converter::Passes(t.charsets[k]) && t.types[k].decode != MyDecode::kBinary &&
               (col.type == binlog::kString || col.type == binlog::kVarchar || col.type == binlog::kBlob ||
                col.type == binlog::kEnum || col.type == binlog::kSet)) {
      NILUS_RETURN_NOT_OK(converter_.Convert(t.charsets[k], *text, converted_));
      *text = converted_;
    }
    return Status::OK();
  }

  /// Appends one row: the values of `image`; a column the image leaves out comes from `old`
  /// (a minimal image's key) or is NULL and listed in _cdc_unchanged.
  Status AppendRow(Table& t, const binlog::Image& image, const binlog::Image* old, ChangeRecord& r) {
    BatchBuilder& b = *t.builder;
    std::string unchanged;
    for (size_t k = 0; k < t.kept.size(); ++k) {
      const size_t i = static_cast<size_t>(t.kept[k]);
      const binlog::Image* from = &image;
      if (image.state[i] == binlog::Image::kAbsent) {
        if (old && old->state[i] != binlog::Image::kAbsent) {
          from = old;
        } else {
          unchanged += (unchanged.empty() ? "[" : ",") + nlohmann::json(t.names[k]).dump();
          b.column(k).AppendNull();
          continue;
        }
      }
      if (from->state[i] == binlog::Image::kNull) {
        b.column(k).AppendNull();
        continue;
      }
      std::string_view text;
      Status st = Text(t, k, from->data[i], &text);
      if (st.ok()) st = AppendMyValue(t.types[k], text.data(), text.size(), zero_dates_, b.column(k));
      if (!st.ok()) return st.WithContext(fmt::format("column {} of {}.{}", t.names[k], t.db, t.name));
    }
    r.unchanged = unchanged.empty() ? std::nullopt : std::optional<std::string>(unchanged + "]");
    r.seq = ++seq_;
    AppendRecord(b, t.kept.size(), r);
    ++pending_rows_;
    return Status::OK();
  }

  /// The whole old row as a JSON object of text values (binary values as they are, replaced
  /// where not UTF-8).
  std::string BeforeJson(const Table& t, const binlog::Image& old) {
    nlohmann::json out = nlohmann::json::object();
    for (size_t k = 0; k < t.kept.size(); ++k) {
      const size_t i = static_cast<size_t>(t.kept[k]);
      std::string_view text;
      if (old.state[i] != binlog::Image::kValue || !Text(t, k, old.data[i], &text).ok()) {
        out[t.names[k]] = nullptr;
      } else {
        out[t.names[k]] = std::string(text);
      }
    }
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  Uri uri_;
  std::stop_token stop_;
  Config cfg_;
  bool mirror_;
  ZeroDates zero_dates_;
  size_t checksum_bytes_;
  std::map<uint32_t, std::string> charsets_;  // collation id -> character set
  std::vector<CapturedTable> captured_;

  // Where the stream stands: the file and offset after the last whole transaction, its GTID.
  std::string file_;
  int64_t offset_ = 0;
  std::string gtid_;
  /// schema.table -> where the snapshot it was loaded from stands, when later than the stream's
  /// start: its transactions that start before that are in the snapshot and skipped.
  std::map<std::string, int64_t> skip_;

  // The snapshot.
  Start plan_ = Start::kStream;
  bool resnapshot_ = false, finished_ = false;
  std::vector<MyTableName> tables_to_snapshot_;
  std::vector<std::string> tables_done_;
  size_t next_snapshot_table_ = 0;
  Snapshot snapshot_;
  int64_t snapshot_lsn_ = 0;
  std::unique_ptr<BatchReader> snapshot_reader_;
  MyTableName snapshot_table_;
  std::vector<std::string> snapshot_key_;
  int64_t snapshot_rows_ = 0;

  // The stream (the reader thread's).
  std::unique_ptr<MyConnection> catalog_;
  mutable std::mutex logs_mu_;
  std::vector<std::pair<std::string, int64_t>> logs_;  // SHOW BINARY LOGS, every kListLogsInterval
  ChunkHandOver handover_;
  int64_t committed_lsn_ = 0, tx_start_lsn_ = -1, event_end_ = 0;
  int64_t tx_id_ = 0, commit_ts_ = 0, read_ts_ = 0, seq_ = 0;
  std::string tx_gtid_;
  bool in_transaction_ = false, ended_transaction_ = false, gtid_seen_ = false;
  int64_t pending_rows_ = 0;
  Clock::time_point chunk_started_ = Clock::now();
  std::map<std::string, Table> tables_;  // by schema.table
  std::map<uint64_t, Table*> by_id_;
  std::set<uint64_t> ignored_;
  std::vector<TableChanges> done_;
  binlog::Image image_, after_;
  std::string scratch_, converted_;
  Utf8Converter converter_;
};

class MyChangeSource final : public ChangeSource {
 public:
  MyChangeSource(Uri uri, std::stop_token stop) : uri_(std::move(uri)), stop_(std::move(stop)) {}

  Result<std::unique_ptr<ChangeStream>> Open(const SourceOptions& options, const Position& position,
                                             bool mirror) override {
    NILUS_RETURN_NOT_OK(CheckMysqlChangeOptions(options));
    Config cfg = Config::From(options, uri_);
    NILUS_ASSIGN_OR_RAISE(ZeroDates zero_dates, ZeroDatesOf(uri_));
    NILUS_ASSIGN_OR_RAISE(auto conn, MyConnection::Connect(uri_, stop_));
    NILUS_ASSIGN_OR_RAISE(int checksum_bytes, CheckServer(*conn));
    NILUS_ASSIGN_OR_RAISE(auto tables, IncludedTables(*conn, cfg));
    NILUS_ASSIGN_OR_RAISE(MyRows row_image, conn->Query("SELECT @@binlog_row_image"));
    const bool whole_old_row = !row_image.empty() && ToLower(row_image[0][0].value_or("")) == "full";
    std::vector<CapturedTable> captured;
    for (const auto& t : tables) {
      NILUS_ASSIGN_OR_RAISE(auto key, MyPrimaryKey(*conn, t));
      captured.push_back({t.schema, t.name, std::move(key), whole_old_row});
    }
    std::map<uint32_t, std::string> charsets;
    NILUS_ASSIGN_OR_RAISE(MyRows collations,
                          conn->Query("SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS"));
    for (const auto& r : collations) {
      int64_t id = 0;
      if (r[0] && ParseBigint(*r[0], &id)) charsets[static_cast<uint32_t>(id)] = r[1].value_or("");
    }
    auto stream =
        std::make_unique<MyChangeStream>(uri_, stop_, cfg, mirror, zero_dates, checksum_bytes, std::move(charsets));
    auto prepared = [&](Plan plan) -> Result<std::unique_ptr<ChangeStream>> {
      stream->Prepare(position, std::move(plan), std::move(captured));
      return std::unique_ptr<ChangeStream>(std::move(stream));
    };

    const std::string state = position.value("snapshot", "");
    std::set<std::string> done;
    for (const auto& t : position.value("tables_done", Position::array())) {
      if (t.is_string()) done.insert(t.get<std::string>());
    }
    std::vector<MyTableName> unread;
    for (const auto& t : tables) {
      if (!done.count(t.schema + "." + t.name)) unread.push_back(t);
    }
    if (cfg.snapshot_mode == "initial_only") {
      if (state == "done") {
        return Status::FailedPrecondition(
            "the snapshot of this pipeline (snapshot.mode: initial_only) was loaded already; reset it to load it "
            "again: nilus state reset <pipeline>");
      }
      return prepared({Start::kSnapshotOnly, state == "started" ? unread : tables, false});
    }
    const bool resnapshot = position.value("resnapshot", false);
    if ((state == "done" || state == "started") && position.contains("file")) {
      const std::string file = position.value("file", "");
      NILUS_ASSIGN_OR_RAISE(MyRows logs, conn->Query("SHOW BINARY LOGS"));
      const bool kept = std::any_of(logs.begin(), logs.end(), [&](const auto& r) { return r[0] == file; });
      if (kept) return prepared({state == "done" ? Start::kStream : Start::kResumeSnapshot, unread, resnapshot});
      if (cfg.snapshot_mode != "when_needed") {
        return Status::FailedPrecondition(
            "the binary log file {} that this pipeline reads from (position {}) is no longer on the server (purged "
            "by binlog_expire_logs_seconds / expire_logs_days, or PURGE BINARY LOGS), and carrying on would lose its "
            "changes silently. To load the tables again from a new snapshot, set snapshot.mode: when_needed (or "
            "reset the pipeline with nilus state reset <pipeline>, which starts it afresh)",
            file, position.value("pos", int64_t{0}));
      }
      spdlog::warn("binary log file {} is gone; snapshot.mode is when_needed: taking a new snapshot", file);
      return prepared({Start::kSnapshot, tables, true});
    }
    if (cfg.snapshot_mode == "no_data") tables.clear();
    return prepared({Start::kSnapshot, tables, resnapshot});
  }

 private:
  /// Checks the server's log settings and the user's privileges; the checksum's size.
  Result<int> CheckServer(MyConnection& conn) {
    auto vars = conn.Query("SELECT @@log_bin, @@binlog_format, @@binlog_row_metadata, @@binlog_checksum");
    if (!vars.ok()) {
      return Status::FailedPrecondition(
          "{} has no binlog_row_metadata setting ({}): change data capture needs MariaDB 10.5 or MySQL 8.0 or later",
          uri_.Masked(), vars.status().message());
    }
    const auto& v = (*vars)[0];
    if (v[0].value_or("0") != "1") {
      return Status::FailedPrecondition(
          "the binary log of {} is off: start the server with log_bin (e.g. --log-bin=mysql-bin), binlog_format=ROW "
          "and binlog_row_metadata=FULL",
          uri_.Masked());
    }
    if (ToLower(v[1].value_or("")) != "row") {
      return Status::FailedPrecondition(
          "the server logs changes as {} (binlog_format), from which the rows a statement changed cannot be read; "
          "set binlog_format = ROW in the server's configuration (and SET GLOBAL binlog_format = 'ROW')",
          v[1].value_or(""));
    }
    if (ToLower(v[2].value_or("")) != "full") {
      return Status::FailedPrecondition(
          "binlog_row_metadata is {} on the server: nilus reads the column names of each logged row from the log, "
          "which the server writes with binlog_row_metadata = FULL; set it in the server's configuration (and SET "
          "GLOBAL binlog_row_metadata = 'FULL')",
          v[2].value_or(""));
    }
    Status logs = conn.Query("SHOW BINARY LOGS").status();
    if (!logs.ok()) {
      if (logs.code() != StatusCode::kFailedPrecondition) return logs;
      return Status::FailedPrecondition(
          "the user of {} may not read the binary log ({}); grant it: GRANT REPLICATION SLAVE, REPLICATION CLIENT, "
          "SELECT ON *.* TO <user> (MariaDB 10.5 and later: GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT ON *.* "
          "TO <user>)",
          uri_.Masked(), logs.message());
    }
    return ToLower(v[3].value_or("none")) == "crc32" ? 4 : 0;
  }

  static Result<std::vector<MyTableName>> IncludedTables(MyConnection& conn, const Config& cfg) {
    NILUS_ASSIGN_OR_RAISE(MyRows rows, conn.Query("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
                                                  "WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY 1, 2"));
    std::vector<MyTableName> out;
    for (const auto& r : rows) {
      std::string db = r[0].value_or(""), name = r[1].value_or("");
      if (cfg.IncludesTable(db, name)) out.push_back({db, name});
    }
    if (out.empty()) {
      return Status::InvalidInput(
          "no table of the server matches database.include.list / table.include.list (and the exclude lists, and "
          "the address's database); the patterns are regular expressions matching whole names like shop.orders");
    }
    return out;
  }

  Uri uri_;
  std::stop_token stop_;
};

}  // namespace

Status CheckMysqlChangeOptions(const SourceOptions& o) {
  NILUS_RETURN_NOT_OK(CheckChangeOptions(o, {"database", "table", "column"}));
  auto it = o.cdc.find("snapshot.mode");
  if (it != o.cdc.end() && it->second == "always") {
    return Status::InvalidInput(
        "{}snapshot.mode 'always' is not supported by the MySQL change source: a snapshot at every start would load "
        "rows twice into a change log; use initial, when_needed, no_data or initial_only",
        OptionAt(o, "snapshot.mode"));
  }
  it = o.cdc.find("database.server.id");
  if (it != o.cdc.end()) {
    int64_t id = 0;
    if (!ParseBigint(it->second, &id) || id < 1 || id > 4294967295LL) {
      return Status::InvalidInput(
          "{}database.server.id '{}' must be a number from 1 to 4294967295, unique among the "
          "server's replicas",
          OptionAt(o, "database.server.id"), it->second);
    }
  }
  if (o.extract_parallelism > 1) {
    return Status::InvalidInput(
        "extract-parallelism does not apply to the MySQL change source: its snapshot reads each table on the one "
        "connection whose snapshot matches the binary log position");
  }
  return Status::OK();
}

Result<std::unique_ptr<ChangeSource>> OpenMysqlChangeSource(const Uri& uri, std::stop_token stop) {
  return std::unique_ptr<ChangeSource>(new MyChangeSource(uri, std::move(stop)));
}

}  // namespace nilus
