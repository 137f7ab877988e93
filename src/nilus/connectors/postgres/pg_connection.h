#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nilus/core/status.h"
#include "nilus/core/uri.h"

namespace nilus {

/// A query result; cleared on destruction.
class PgResult {
 public:
  explicit PgResult(PGresult* res) : res_(res) {}
  PgResult(PgResult&& o) noexcept : res_(o.res_) { o.res_ = nullptr; }
  PgResult& operator=(PgResult&&) = delete;
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
/// privileges FailedPrecondition, missing objects NotFound.
class PgConnection {
 public:
  /// Connects with a postgresql:// URI; every libpq parameter is accepted in its query string.
  static Result<std::unique_ptr<PgConnection>> Connect(const Uri& uri);
  ~PgConnection() { PQfinish(conn_); }

  Result<PgResult> Exec(const std::string& sql);
  /// Runs `sql` with text parameters ($1, $2 …); nullopt is NULL.
  Result<PgResult> Exec(const std::string& sql, const std::vector<std::optional<std::string>>& params);
  PGconn* get() const { return conn_; }
  /// The status for a failed result (or the connection's last error when `res` is null).
  Status ErrorStatus(const PGresult* res, std::string_view what) const;

 private:
  PgConnection(PGconn* conn, std::string where) : conn_(conn), where_(std::move(where)) {}
  PGconn* conn_;
  std::string where_;  // host:port/db for messages
};

}  // namespace nilus
