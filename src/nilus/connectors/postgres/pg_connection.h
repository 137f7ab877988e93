#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "nilus/core/status.h"
#include "nilus/core/uri.h"

namespace nilus {

/// A query result; cleared on destruction.
class PgResult {
 public:
  explicit PgResult(PGresult* res = nullptr) : res_(res) {}
  PgResult(PgResult&& o) noexcept : res_(o.res_) { o.res_ = nullptr; }
  PgResult& operator=(PgResult&& o) noexcept {
    std::swap(res_, o.res_);
    return *this;
  }
  ~PgResult() { PQclear(res_); }

  int rows() const { return PQntuples(res_); }
  bool IsNull(int r, int c) const { return PQgetisnull(res_, r, c) != 0; }
  std::string Get(int r, int c) const { return std::string(PQgetvalue(res_, r, c), PQgetlength(res_, r, c)); }
  PGresult* get() const { return res_; }

 private:
  PGresult* res_;
};

/// A libpq connection. Errors carry the SQLSTATE's meaning as a status code: connection
/// problems and shutdowns are Unavailable, serialization failures and deadlocks Aborted,
/// privileges FailedPrecondition, missing objects NotFound. A statement running when the
/// connection's stop token is requested is cancelled on the server (a cancel request), and
/// returns Cancelled within a fraction of a second.
class PgConnection {
 public:
  /// Connects with a postgresql:// URI; every libpq parameter is accepted in its query string.
  static Result<std::unique_ptr<PgConnection>> Connect(const Uri& uri, std::stop_token stop = {});
  ~PgConnection() { PQfinish(conn_); }

  Result<PgResult> Exec(const std::string& sql);
  /// Runs `sql` with text parameters ($1, $2 …); nullopt is NULL.
  Result<PgResult> Exec(const std::string& sql, const std::vector<std::optional<std::string>>& params);
  /// Runs `sql` to its end even when a stop is requested meanwhile (a COMMIT once begun).
  Result<PgResult> ExecToEnd(const std::string& sql);
  /// The next row of a COPY … TO STDOUT in progress: its length (and `*row`, to free with
  /// PQfreemem), or -1 at the end of the copy.
  Result<int> GetCopyData(char** row, std::string_view what);
  PGconn* get() const { return conn_; }
  const std::stop_token& stop() const { return stop_; }
  /// The status for a failed result (or the connection's last error when `res` is null).
  Status ErrorStatus(const PGresult* res, std::string_view what) const;

 private:
  PgConnection(PGconn* conn, std::string where, std::stop_token stop)
      : conn_(conn), where_(std::move(where)), stop_(std::move(stop)) {}
  /// Waits for the results of the query just sent; cancels it on a stop request when
  /// `interruptible`. Returns the last result, or the COPY that the query started.
  Result<PgResult> Collect(std::string_view what, bool interruptible);
  /// Waits until the socket is readable (or 100 ms passed) and reads what arrived.
  Status AwaitInput(std::string_view what);
  void SendCancel();

  PGconn* conn_;
  std::string where_;  // host:port/db for messages
  std::stop_token stop_;
};

}  // namespace nilus
