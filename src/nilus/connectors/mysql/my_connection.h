#pragma once

#include <mysql.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "nilus/core/status.h"
#include "nilus/core/uri.h"

namespace nilus {

/// The rows of a small result as text; nullopt is NULL.
using MyRows = std::vector<std::vector<std::optional<std::string>>>;

/// A MySQL or MariaDB connection through MariaDB Connector/C, with the session nilus needs:
/// UTF-8 (utf8mb4) text, the time zone UTC, and an SQL mode that reports rather than rounds.
/// Errors carry the server error's meaning as a status code: connection problems Unavailable,
/// deadlocks and lock waits Aborted, log-in and privileges FailedPrecondition, missing objects
/// NotFound. When the stop token is requested, the socket is shut down: a statement or a read
/// in progress ends at once with Cancelled, and the server rolls the session back.
class MyConnection {
 public:
  /// Connects with a mysql:// or mariadb:// URI: user, password, host, port, database, and the
  /// parameters listed in kMyUriParameters (TLS, the socket, zero dates).
  static Result<std::unique_ptr<MyConnection>> Connect(const Uri& uri, std::stop_token stop = {});
  ~MyConnection();

  /// Runs one statement (or several, separated by ';') and discards any rows.
  Status Exec(const std::string& sql);
  /// Runs one statement and returns its rows as text.
  Result<MyRows> Query(const std::string& sql);
  /// Runs `sql` and starts streaming its rows (mysql_use_result): read them with mysql_fetch_row
  /// on the result, then call EndStream.
  Result<MYSQL_RES*> Stream(const std::string& sql);
  /// The status after mysql_fetch_row returned null: OK at the end of the rows, the error when
  /// the read broke.
  Status EndStream(std::string_view what);
  /// Shuts the connection's socket down: a result left unread is not drained, and the server
  /// rolls the session back. Nothing works on the connection afterwards.
  void Abandon();
  /// Runs COMMIT to its end: a stop requested meanwhile does not interrupt it.
  Status CommitToEnd();
  /// `value` as a quoted string literal for this connection's character set and SQL mode.
  std::string Literal(std::string_view value) const;

  MYSQL* get() const { return conn_; }
  const std::stop_token& stop() const { return stop_; }
  /// "host:port/db", for messages.
  const std::string& where() const { return where_; }
  /// The server's version string (MariaDB's ends in "-MariaDB").
  std::string ServerVersion() const { return mysql_get_server_info(conn_); }
  bool is_mariadb() const { return ServerVersion().find("MariaDB") != std::string::npos; }
  /// The status for the connection's last error while doing `what`.
  Status ErrorStatus(std::string_view what) const;

 private:
  MyConnection(MYSQL* conn, std::string where, std::stop_token stop);
  /// Abandons the connection on a stop request, unless a COMMIT runs.
  void Interrupt();

  MYSQL* conn_;
  std::string where_;
  std::stop_token stop_;
  std::mutex mu_;  // the socket against the stop callback
  bool committing_ = false;
  std::atomic<bool> interrupted_{false};
  std::unique_ptr<std::stop_callback<std::function<void()>>> on_stop_;
};

/// The query parameters a mysql:// address takes.
inline constexpr const char* kMyUriParameters[] = {"ssl-mode",
                                                   "ssl-ca",
                                                   "ssl-capath",
                                                   "ssl-cert",
                                                   "ssl-key",
                                                   "ssl-cipher",
                                                   "ssl-crl",
                                                   "ssl-crlpath",
                                                   "ssl-verify-server-cert",
                                                   "socket",
                                                   "zeroDateTimeBehavior",
                                                   "connect-timeout"};

}  // namespace nilus
