#include "nilus/connectors/postgres/pg_connection.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <cerrno>

#include "nilus/core/secrets.h"
#include "nilus/core/strings.h"

namespace nilus {

namespace {

std::string Trimmed(const char* msg) { return std::string(Trim(msg ? msg : "")); }

constexpr char kQueryCanceled[] = "57014";

Status StatusForSqlState(std::string_view state, std::string message) {
  auto code = [&]() -> StatusCode {
    if (StartsWith(state, "08") || state == "57P01" || state == "57P02" || state == "57P03" || state == "53300") {
      return StatusCode::kUnavailable;  // connection problems, shutdowns, too many connections
    }
    if (state == "55006") return StatusCode::kUnavailable;  // in use (a slot its last reader held): retried
    if (state == "40001" || state == "40P01") return StatusCode::kAborted;
    if (state == "28P01" || state == "28000" || state == "42501") return StatusCode::kFailedPrecondition;
    if (state == "42P01" || state == "3D000" || state == "42703" || state == "3F000") return StatusCode::kNotFound;
    if (StartsWith(state, "22") || StartsWith(state, "23")) return StatusCode::kInvalidInput;  // data, constraints
    return StatusCode::kIOError;
  }();
  return {code, std::move(message)};
}

}  // namespace

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const Uri& uri, std::stop_token stop) {
  std::string where =
      fmt::format("{}:{}{}", uri.host().empty() ? "localhost" : uri.host(), uri.port() ? uri.port() : 5432, uri.path());
  // libpq understands postgresql:// and postgres:// URIs itself, with every parameter.
  PGconn* conn = PQconnectdb(uri.text().c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = MaskSecrets(Trimmed(PQerrorMessage(conn)));
    PQfinish(conn);
    if (msg.find("password authentication failed") != std::string::npos ||
        msg.find("no password supplied") != std::string::npos) {
      return Status::InvalidInput(
          "cannot log in to PostgreSQL at {}: {}; check the user and password in the address (or the "
          "environment variable it comes from)",
          where, msg);
    }
    if (msg.find("does not exist") != std::string::npos) {
      return Status::InvalidInput("cannot connect to PostgreSQL at {}: {}; check the address", where, msg);
    }
    return Status::Unavailable(
        "cannot connect to PostgreSQL at {}: {}; check that the server runs and the host and port are right", where,
        msg);
  }
  // Server notices ("relation already exists, skipping") are for the debug log, not the terminal.
  PQsetNoticeProcessor(
      conn, [](void*, const char* message) { spdlog::debug("postgresql: {}", Trimmed(message)); }, nullptr);
  auto out = std::unique_ptr<PgConnection>(new PgConnection(conn, where, std::move(stop)));
  NILUS_RETURN_NOT_OK(
      out->Exec("SET client_encoding = 'UTF8'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3").status());
  return out;
}

Status PgConnection::ErrorStatus(const PGresult* res, std::string_view what) const {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = Trimmed(res ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
  if (msg.empty()) msg = Trimmed(PQerrorMessage(conn_));
  if (!state) {
    // No SQLSTATE: the connection itself broke.
    return Status::Unavailable("{} on PostgreSQL {}: {}", what, where_, MaskSecrets(msg));
  }
  if (std::string_view(state) == kQueryCanceled && stop_.stop_requested()) return Status::Cancelled("interrupted");
  std::string fix;
  if (std::string_view(state) == "42501") fix = "; grant the privilege to the user of the address";
  return StatusForSqlState(
      state, fmt::format("{} on PostgreSQL {}: {} (SQLSTATE {}){}", what, where_, MaskSecrets(msg), state, fix));
}

void PgConnection::SendCancel() {
  PGcancel* cancel = PQgetCancel(conn_);
  if (!cancel) return;
  char err[256];
  if (!PQcancel(cancel, err, sizeof(err))) spdlog::debug("postgresql: cancel request failed: {}", err);
  PQfreeCancel(cancel);
}

Status PgConnection::AwaitInput(std::string_view what) {
  pollfd pfd{PQsocket(conn_), POLLIN, 0};
  if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
    return Status::Unavailable("{}: waiting for PostgreSQL {}", what, where_);
  if (!PQconsumeInput(conn_)) return ErrorStatus(nullptr, what);
  return Status::OK();
}

Result<PgResult> PgConnection::Collect(std::string_view what, bool interruptible) {
  bool cancel_sent = false;
  PgResult last;
  std::optional<Status> error;
  while (true) {
    while (PQisBusy(conn_)) {
      if (interruptible && !cancel_sent && stop_.stop_requested()) {
        SendCancel();
        cancel_sent = true;
      }
      NILUS_RETURN_NOT_OK(AwaitInput(what));
    }
    PgResult res(PQgetResult(conn_));
    if (!res.get()) break;
    ExecStatusType st = PQresultStatus(res.get());
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) return res;  // the caller moves the data
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
      last = std::move(res);
    } else if (!error) {
      error = ErrorStatus(res.get(), what);
    }
  }
  if (error) return *error;
  return last;
}

Result<PgResult> PgConnection::Exec(const std::string& sql) { return Exec(sql, {}); }

Result<PgResult> PgConnection::Exec(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  std::string what = fmt::format("running '{}'", Excerpt(Trim(sql), 80));
  if (stop_.stop_requested()) return Status::Cancelled("interrupted");
  // Without parameters, the simple protocol: it allows several statements in one string.
  int sent = values.empty() ? PQsendQuery(conn_, sql.c_str())
                            : PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                                values.data(), nullptr, nullptr, 0);
  if (!sent) return ErrorStatus(nullptr, what);
  return Collect(what, true);
}

Result<PgResult> PgConnection::ExecToEnd(const std::string& sql) {
  std::string what = fmt::format("running '{}'", Excerpt(Trim(sql), 80));
  if (!PQsendQuery(conn_, sql.c_str())) return ErrorStatus(nullptr, what);
  return Collect(what, false);
}

Result<int> PgConnection::GetCopyData(char** row, std::string_view what) {
  while (true) {
    int len = PQgetCopyData(conn_, row, 1);
    if (len > 0) return len;
    if (len == -1) return -1;
    if (len < -1) return ErrorStatus(nullptr, what);
    if (stop_.stop_requested()) return Status::Cancelled("interrupted");
    NILUS_RETURN_NOT_OK(AwaitInput(what));
  }
}

}  // namespace nilus
