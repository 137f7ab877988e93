// The destination contract (connectors/connector.h), tested against each SQL destination: one
// transaction over several tables with one state row, rows that carry an operation, rollback,
// and the pipeline lock. What landed is read back with the databases' own client libraries.
// Run by tests/integration/test_destinations.sh, which starts PostgreSQL and MariaDB and sets
// NILUS_TEST_PG_URI and NILUS_TEST_MY_URI, NILUS_TEST_MY_SOCKET.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "nilus/connectors/registry.h"
#include "nilus/core/uri.h"

namespace nilus {
namespace {

/// One destination under test and a client of its own to read it back.
class Target {
 public:
  virtual ~Target() = default;
  virtual std::string uri() const = 0;
  /// The rows of `sql`, one line each, columns joined by '|'.
  virtual std::string Query(const std::string& sql) = 0;
  /// The reference of `schema.table` in the database.
  virtual std::string Ref(const std::string& schema, const std::string& table) const = 0;
  virtual std::string Bookkeeping(const std::string& schema, const std::string& table) const = 0;
};

class SqliteTarget final : public Target {
 public:
  SqliteTarget() {
    dir_ = std::filesystem::temp_directory_path() /
           ("nilus-dest-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "dest.db").string();
  }
  ~SqliteTarget() override { std::filesystem::remove_all(dir_); }
  std::string uri() const override { return "sqlite:///" + path_; }
  std::string Query(const std::string& sql) override {
    sqlite3* db = nullptr;
    sqlite3_open(path_.c_str(), &db);
    std::string out;
    char* err = nullptr;
    sqlite3_exec(
        db, sql.c_str(),
        [](void* o, int n, char** values, char**) {
          auto* text = static_cast<std::string*>(o);
          if (!text->empty()) *text += '\n';
          for (int i = 0; i < n; ++i) *text += (i ? "|" : "") + std::string(values[i] ? values[i] : "");
          return 0;
        },
        &out, &err);
    if (err) {
      out = std::string("error: ") + err;
      sqlite3_free(err);
    }
    sqlite3_close(db);
    return out;
  }
  std::string Ref(const std::string& schema, const std::string& table) const override { return schema + "__" + table; }
  std::string Bookkeeping(const std::string&, const std::string& table) const override { return table; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::string path_;
};

class PostgresTarget final : public Target {
 public:
  explicit PostgresTarget(std::string uri) : uri_(std::move(uri)) {
    Query("DROP SCHEMA IF EXISTS raw CASCADE; DROP SCHEMA IF EXISTS other CASCADE");
  }
  std::string uri() const override { return uri_; }
  std::string Query(const std::string& sql) override {
    PGconn* conn = PQconnectdb(uri_.c_str());
    PGresult* res = PQexec(conn, sql.c_str());
    std::string out;
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
      for (int r = 0; r < PQntuples(res); ++r) {
        if (r) out += '\n';
        for (int c = 0; c < PQnfields(res); ++c) out += (c ? "|" : "") + std::string(PQgetvalue(res, r, c));
      }
    } else if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      out = std::string("error: ") + PQresultErrorMessage(res);
    }
    PQclear(res);
    PQfinish(conn);
    return out;
  }
  std::string Ref(const std::string& schema, const std::string& table) const override { return schema + "." + table; }
  std::string Bookkeeping(const std::string& schema, const std::string& table) const override {
    return schema + "." + table;
  }

 private:
  std::string uri_;
};

class MariadbTarget final : public Target {
 public:
  MariadbTarget(std::string uri, std::string socket) : uri_(std::move(uri)), socket_(std::move(socket)) {
    Query("DROP DATABASE IF EXISTS raw");
    Query("DROP DATABASE IF EXISTS other");
  }
  std::string uri() const override { return uri_; }
  std::string Query(const std::string& sql) override {
    MYSQL* conn = mysql_init(nullptr);
    std::string out;
    if (!mysql_real_connect(conn, nullptr, "root", "", nullptr, 0, socket_.c_str(), 0) ||
        mysql_query(conn, "SET sql_mode = 'ANSI_QUOTES'") != 0 || mysql_query(conn, sql.c_str()) != 0) {
      out = std::string("error: ") + mysql_error(conn);
    } else if (MYSQL_RES* res = mysql_store_result(conn)) {
      bool first = true;
      while (MYSQL_ROW row = mysql_fetch_row(res)) {
        if (!first) out += '\n';
        first = false;
        for (unsigned c = 0; c < mysql_num_fields(res); ++c) out += (c ? "|" : "") + std::string(row[c] ? row[c] : "");
      }
      mysql_free_result(res);
    }
    mysql_close(conn);
    return out;
  }
  std::string Ref(const std::string& schema, const std::string& table) const override { return schema + "." + table; }
  std::string Bookkeeping(const std::string& schema, const std::string& table) const override {
    return schema + "." + table;
  }

 private:
  std::string uri_;
  std::string socket_;
};

/// A batch of (id, name) rows, with an operation column when `ops` is given.
std::shared_ptr<const RecordBatch> Rows(const std::vector<std::pair<int64_t, std::string>>& rows,
                                        const std::vector<std::string>& ops = {}) {
  Schema schema({{"id", LogicalType::Bigint()}, {"name", LogicalType::Text()}});
  if (!ops.empty()) schema.AddField({kOperationColumn, LogicalType::Text()});
  BatchBuilder b(schema);
  for (size_t i = 0; i < rows.size(); ++i) {
    b.column(0).AppendInt64(rows[i].first);
    b.column(1).AppendBytes(rows[i].second);
    if (!ops.empty()) b.column(2).AppendBytes(ops[i]);
  }
  return b.Finish();
}

TableSpec Table(const std::string& schema, const std::string& name, WriteDisposition strategy) {
  TableSpec t;
  t.schema = schema;
  t.name = name;
  t.strategy = strategy;
  if (strategy == WriteDisposition::kMerge) t.primary_key = {"id"};
  return t;
}

LoadSpec Spec(const std::string& load_id, std::chrono::seconds lock_timeout = std::chrono::seconds(30)) {
  return {"p", "raw.events", load_id, "2026-01-01 00:00:00+00:00", lock_timeout};
}

class DestinationTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      target_ = std::make_unique<SqliteTarget>();
    } else if (GetParam() == "mariadb") {
      const char* uri = std::getenv("NILUS_TEST_MY_URI");
      const char* socket = std::getenv("NILUS_TEST_MY_SOCKET");
      ASSERT_TRUE(uri && socket) << "NILUS_TEST_MY_URI is not set; tests/integration/test_destinations.sh sets it";
      target_ = std::make_unique<MariadbTarget>(uri, socket);
    } else {
      const char* uri = std::getenv("NILUS_TEST_PG_URI");
      ASSERT_NE(uri, nullptr) << "NILUS_TEST_PG_URI is not set; tests/integration/test_destinations.sh sets it";
      target_ = std::make_unique<PostgresTarget>(uri);
    }
  }

  std::unique_ptr<Destination> Open(std::stop_token stop = {}) {
    auto uri = Uri::Parse(target_->uri());
    EXPECT_TRUE(uri.ok());
    auto dest = ConnectorRegistry::Builtin().OpenDestination(*uri, std::move(stop));
    EXPECT_TRUE(dest.ok()) << dest.status().ToString();
    return dest.MoveValue();
  }

  /// Runs one load: batches per table, then a commit with one record per root table.
  Status LoadOnce(Destination& dest, const std::string& load_id,
                  const std::vector<std::pair<TableSpec, std::shared_ptr<const RecordBatch>>>& writes,
                  const nlohmann::json& state) {
    NILUS_ASSIGN_OR_RAISE(auto load, dest.Begin(Spec(load_id)));
    std::vector<LoadRecord> records;
    for (const auto& [table, batch] : writes) {
      NILUS_RETURN_NOT_OK(load->Write(table, *batch));
      records.push_back({table, batch->num_rows(), batch->byte_size(), {}});
    }
    return load->Commit(records, state);
  }

  std::string Q(const std::string& sql) { return target_->Query(sql); }

  std::unique_ptr<Target> target_;
};

TEST_P(DestinationTest, ALoadOverSeveralTablesCommitsOneStateRow) {
  auto dest = Open();
  Status st = LoadOnce(*dest, "load-1",
                       {{Table("raw", "events", WriteDisposition::kAppend), Rows({{1, "a"}, {2, "b"}})},
                        {Table("raw", "users", WriteDisposition::kMerge), Rows({{7, "x"}})},
                        {Table("other", "audit", WriteDisposition::kAppend), Rows({{9, "z"}})}},
                       {{"offset", 42}});
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Q("SELECT id, name, _nilus_load_id FROM " + target_->Ref("raw", "events") + " ORDER BY id"),
            "1|a|load-1\n2|b|load-1");
  EXPECT_EQ(Q("SELECT id FROM " + target_->Ref("raw", "users")), "7");
  EXPECT_EQ(Q("SELECT id FROM " + target_->Ref("other", "audit")), "9");
  EXPECT_EQ(Q("SELECT table_name, \"rows\", load_id FROM " + target_->Bookkeeping("raw", "_nilus_loads") +
              " ORDER BY table_name"),
            "other.audit|1|load-1\nraw.events|2|load-1\nraw.users|1|load-1");
  EXPECT_EQ(Q("SELECT count(*) FROM " + target_->Bookkeeping("raw", "_nilus_state")), "1");

  // The next load of the pipeline reads that state inside its transaction.
  auto load = dest->Begin(Spec("load-2"));
  ASSERT_TRUE(load.ok()) << load.status().ToString();
  EXPECT_EQ((*load)->prior_state(), (nlohmann::json{{"offset", 42}}));
}

TEST_P(DestinationTest, ALoadNotCommittedLeavesNothing) {
  auto dest = Open();
  ASSERT_TRUE(LoadOnce(*dest, "load-1", {{Table("raw", "events", WriteDisposition::kAppend), Rows({{1, "a"}})}},
                       {{"offset", 1}})
                  .ok());
  {
    auto load = dest->Begin(Spec("load-2"));
    ASSERT_TRUE(load.ok());
    ASSERT_TRUE((*load)->Write(Table("raw", "events", WriteDisposition::kAppend), *Rows({{2, "b"}})).ok());
    ASSERT_TRUE((*load)->Write(Table("raw", "users", WriteDisposition::kMerge), *Rows({{3, "c"}})).ok());
  }  // destroyed without Commit
  EXPECT_EQ(Q("SELECT id FROM " + target_->Ref("raw", "events")), "1");
  EXPECT_NE(Q("SELECT count(*) FROM " + target_->Ref("raw", "users")), "1");
  EXPECT_EQ(Q("SELECT count(*) FROM " + target_->Bookkeeping("raw", "_nilus_loads")), "1");
}

TEST_P(DestinationTest, RowsWithAnOperationUpsertAndDeleteByKey) {
  auto dest = Open();
  TableSpec users = Table("raw", "users", WriteDisposition::kMerge);
  ASSERT_TRUE(
      LoadOnce(*dest, "load-1", {{users, Rows({{1, "a"}, {2, "b"}, {3, "c"}, {4, "d"}})}}, nlohmann::json::object())
          .ok());
  // 2 updated twice (the last wins), 3 deleted, 5 inserted, 6 inserted then deleted in one load,
  // 8 deleted without ever existing, 4 untouched.
  Status st = LoadOnce(*dest, "load-2",
                       {{users, Rows({{2, "b1"}, {3, ""}, {5, "e"}, {6, "f"}, {2, "b2"}, {6, ""}, {8, ""}},
                                     {"u", "d", "c", "c", "u", "d", "d"})}},
                       nlohmann::json::object());
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Q("SELECT id, name FROM " + target_->Ref("raw", "users") + " ORDER BY id"), "1|a\n2|b2\n4|d\n5|e");
  // The operation column is not stored.
  EXPECT_EQ(Q("SELECT count(*) FROM " + target_->Ref("raw", "users") + " WHERE id = 1"), "1");
  EXPECT_NE(Q("SELECT _nilus_op FROM " + target_->Ref("raw", "users")).rfind("error", 0), std::string::npos);
}

TEST_P(DestinationTest, LoadsOfOneConnectionKeepTheirTablesButForgetWhatARollbackUndid) {
  auto dest = Open();
  TableSpec users = Table("raw", "users", WriteDisposition::kMerge);
  ASSERT_TRUE(LoadOnce(*dest, "load-1", {{users, Rows({{1, "a"}, {2, "b"}})}}, nlohmann::json::object()).ok());
  // A load that adds a column, then rolls back: the column goes with it.
  Schema wider({{"id", LogicalType::Bigint()}, {"name", LogicalType::Text()}, {"extra", LogicalType::Text()}});
  auto wide = [&](int64_t id, const std::string& extra) {
    BatchBuilder b(wider);
    b.column(0).AppendInt64(id);
    b.column(1).AppendBytes("w");
    b.column(2).AppendBytes(extra);
    return b.Finish();
  };
  {
    auto load = dest->Begin(Spec("load-2"));
    ASSERT_TRUE(load.ok());
    ASSERT_TRUE((*load)->Write(users, *wide(3, "rolled back")).ok());
  }
  if (GetParam() == "mariadb") {
    // Where DDL commits, the column stays, and holds nothing of the load.
    EXPECT_EQ(Q("SELECT count(*) FROM " + target_->Ref("raw", "users") + " WHERE extra IS NOT NULL OR id = 3"), "0");
  } else {
    EXPECT_NE(Q("SELECT extra FROM " + target_->Ref("raw", "users")).rfind("error", 0), std::string::npos);
  }
  // The same connection's next loads add it again, and reuse the staging table, which holds
  // none of the earlier loads' rows.
  Status st = LoadOnce(*dest, "load-3", {{users, wide(1, "x")}}, nlohmann::json::object());
  ASSERT_TRUE(st.ok()) << st.ToString();
  st = LoadOnce(*dest, "load-4", {{users, Rows({{4, "d"}})}}, nlohmann::json::object());
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Q("SELECT id, name, extra, _nilus_load_id FROM " + target_->Ref("raw", "users") + " ORDER BY id"),
            "1|w|x|load-3\n2|b||load-1\n4|d||load-4");
}

TEST_P(DestinationTest, AMergeKeyMustBeSet) {
  auto dest = Open();
  auto load = dest->Begin(Spec("load-1"));
  ASSERT_TRUE(load.ok());
  BatchBuilder b(Schema({{"id", LogicalType::Bigint()}, {"name", LogicalType::Text()}}));
  b.column(0).AppendNull();
  b.column(1).AppendBytes("no key");
  Status st = (*load)->Write(Table("raw", "users", WriteDisposition::kMerge), *b.Finish());
  EXPECT_EQ(st.code(), StatusCode::kInvalidInput);
  EXPECT_NE(st.message().find("primary-key column 'id'"), std::string::npos) << st.message();
}

TEST_P(DestinationTest, ASecondLoadOfThePipelineWaitsForTheFirst) {
  auto first = Open();
  auto second = Open();
  auto load = first->Begin(Spec("load-1"));
  ASSERT_TRUE(load.ok()) << load.status().ToString();
  ASSERT_TRUE((*load)->Write(Table("raw", "events", WriteDisposition::kAppend), *Rows({{1, "a"}})).ok());
  std::atomic<bool> committed{false};
  nlohmann::json seen;
  std::thread waiter([&] {
    auto next = second->Begin(Spec("load-2"));
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    EXPECT_TRUE(committed.load()) << "the second load began before the first committed";
    seen = (*next)->prior_state();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  committed = true;
  ASSERT_TRUE((*load)->Commit({{Table("raw", "events", WriteDisposition::kAppend), 1, 1, {}}}, {{"offset", 1}}).ok());
  waiter.join();
  EXPECT_EQ(seen, (nlohmann::json{{"offset", 1}}));

  // A load that cannot get the lock in time fails clearly.
  auto holder = first->Begin(Spec("load-3"));
  ASSERT_TRUE(holder.ok());
  auto late = second->Begin(Spec("load-4", std::chrono::seconds(1)));
  EXPECT_EQ(late.status().code(), StatusCode::kFailedPrecondition);
}

TEST_P(DestinationTest, AStopInterruptsAWaitForTheLock) {
  auto first = Open();
  std::stop_source stop;
  auto second = Open(stop.get_token());
  auto holder = first->Begin(Spec("load-1"));
  ASSERT_TRUE(holder.ok());
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.request_stop();
  });
  // The lock timeout is 30 s: Cancelled, not FailedPrecondition, says the stop ended the wait.
  auto late = second->Begin(Spec("load-2"));
  stopper.join();
  EXPECT_EQ(late.status().code(), StatusCode::kCancelled) << late.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(SqlDestinations, DestinationTest, testing::Values("sqlite", "postgresql", "mariadb"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace nilus
