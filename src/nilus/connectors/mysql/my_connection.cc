#include "nilus/connectors/mysql/my_connection.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <mutex>

#include "nilus/core/secrets.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

StatusCode CodeForError(unsigned err) {
  switch (err) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case ER_CON_COUNT_ERROR:
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
      return StatusCode::kUnavailable;
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
      return StatusCode::kAborted;
    case ER_ACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
    case ER_TABLEACCESS_DENIED_ERROR:
    case ER_COLUMNACCESS_DENIED_ERROR:
    case ER_SPECIFIC_ACCESS_DENIED_ERROR:
    case ER_BAD_DB_ERROR:
      return StatusCode::kFailedPrecondition;
    case ER_NO_SUCH_TABLE:
    case ER_BAD_FIELD_ERROR:
      return StatusCode::kNotFound;
    case ER_PARSE_ERROR:
    case ER_TRUNCATED_WRONG_VALUE:
    case ER_DUP_ENTRY:
    case ER_WARN_DATA_OUT_OF_RANGE:
    case ER_DATA_TOO_LONG:
      return StatusCode::kInvalidInput;
    default:
      return StatusCode::kIOError;
  }
}

bool IsTrue(const std::string& v) { return v == "1" || v == "true" || v == "TRUE" || v == "on" || v == "ON"; }

}  // namespace

MyConnection::MyConnection(MYSQL* conn, std::string where, std::stop_token stop)
    : conn_(conn), where_(std::move(where)), stop_(std::move(stop)) {
  on_stop_ = std::make_unique<std::stop_callback<std::function<void()>>>(stop_, [this] { Interrupt(); });
}

MyConnection::~MyConnection() {
  on_stop_.reset();  // waits for a callback that runs now
  mysql_close(conn_);
}

void MyConnection::Interrupt() {
  std::lock_guard lock(mu_);
  if (committing_) return;
  interrupted_ = true;
  // A read blocked in recv() returns at once; the server sees the client gone and rolls back.
  my_socket fd = mysql_get_socket(conn_);
  if (fd >= 0) shutdown(fd, SHUT_RDWR);
}

void MyConnection::Abandon() {
  std::lock_guard lock(mu_);
  my_socket fd = mysql_get_socket(conn_);
  if (fd >= 0) shutdown(fd, SHUT_RDWR);
}

Result<std::unique_ptr<MyConnection>> MyConnection::Connect(const Uri& uri, std::stop_token stop) {
  const std::string host = uri.host().empty() ? "localhost" : uri.host();
  const unsigned port = uri.port() ? uri.port() : 3306;
  std::string db = uri.path().size() > 1 ? uri.path().substr(1) : "";
  std::string where = fmt::format("{}:{}{}", host, port, uri.path());
  // The library's global set-up is not thread-safe: once, before any connection.
  static std::once_flag library;
  std::call_once(library, [] { mysql_library_init(0, nullptr, nullptr); });
  MYSQL* conn = mysql_init(nullptr);
  if (!conn) return Status::Internal("out of memory starting a MySQL connection");
  unsigned timeout = 10;
  std::string socket;
  std::string mode;
  for (const auto& [key, value] : uri.query()) {
    if (std::find_if(std::begin(kMyUriParameters), std::end(kMyUriParameters),
                     [&](const char* p) { return key == p; }) == std::end(kMyUriParameters)) {
      mysql_close(conn);
      std::vector<std::string> known(std::begin(kMyUriParameters), std::end(kMyUriParameters));
      return Status::InvalidInput("unknown parameter '{}' in the address {}; the parameters of a {}:// address are: {}",
                                  key, uri.Masked(), uri.scheme(), Join(known, ", "));
    }
    if (key == "ssl-ca") mysql_optionsv(conn, MYSQL_OPT_SSL_CA, value.c_str());
    if (key == "ssl-capath") mysql_optionsv(conn, MYSQL_OPT_SSL_CAPATH, value.c_str());
    if (key == "ssl-cert") mysql_optionsv(conn, MYSQL_OPT_SSL_CERT, value.c_str());
    if (key == "ssl-key") mysql_optionsv(conn, MYSQL_OPT_SSL_KEY, value.c_str());
    if (key == "ssl-cipher") mysql_optionsv(conn, MYSQL_OPT_SSL_CIPHER, value.c_str());
    if (key == "ssl-crl") mysql_optionsv(conn, MYSQL_OPT_SSL_CRL, value.c_str());
    if (key == "ssl-crlpath") mysql_optionsv(conn, MYSQL_OPT_SSL_CRLPATH, value.c_str());
    if (key == "ssl-verify-server-cert") {
      my_bool verify = IsTrue(value);
      mysql_optionsv(conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    }
    if (key == "ssl-mode") mode = value;
    if (key == "socket") socket = value;
    if (key == "connect-timeout") {
      int64_t t = 0;
      if (!ParseBigint(value, &t) || t <= 0) {
        mysql_close(conn);
        return Status::InvalidInput("connect-timeout={} in {}: give a number of seconds", value, uri.Masked());
      }
      timeout = static_cast<unsigned>(t);
    }
  }
  std::string lower = ToLower(mode);
  if (!mode.empty()) {
    if (lower != "disabled" && lower != "preferred" && lower != "required" && lower != "verify_ca" &&
        lower != "verify_identity") {
      mysql_close(conn);
      return Status::InvalidInput("ssl-mode={} in {}: use DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY",
                                  mode, uri.Masked());
    }
    my_bool on = 1;
    if (lower == "required" || lower == "verify_ca" || lower == "verify_identity") {
      mysql_optionsv(conn, MYSQL_OPT_SSL_ENFORCE, &on);
    }
    if (lower == "verify_ca" || lower == "verify_identity") mysql_optionsv(conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
  }
  mysql_optionsv(conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_optionsv(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  // Connector/C reads no option files unless asked; LOAD DATA LOCAL is the destination's bulk path.
  unsigned local_infile = 1;
  mysql_optionsv(conn, MYSQL_OPT_LOCAL_INFILE, &local_infile);
  if (!mysql_real_connect(conn, host.c_str(), uri.user().c_str(), uri.password().c_str(),
                          db.empty() ? nullptr : db.c_str(), port, socket.empty() ? nullptr : socket.c_str(),
                          CLIENT_MULTI_STATEMENTS)) {
    unsigned err = mysql_errno(conn);
    std::string msg = MaskSecrets(mysql_error(conn));
    mysql_close(conn);
    if (err == ER_ACCESS_DENIED_ERROR || err == ER_DBACCESS_DENIED_ERROR) {
      return Status::InvalidInput(
          "cannot log in to {} at {}: {}; check the user and password in the address (or the environment variable "
          "it comes from)",
          uri.scheme(), where, msg);
    }
    if (err == ER_BAD_DB_ERROR) return Status::InvalidInput("cannot connect to {}: {}; check the address", where, msg);
    return Status::Unavailable(
        "cannot connect to {} at {}: {}; check that the server runs and the host and port are right", uri.scheme(),
        where, msg);
  }
  auto out = std::unique_ptr<MyConnection>(new MyConnection(conn, where, std::move(stop)));
  // UTC for TIMESTAMP values; an SQL mode that refuses what it would truncate; no limit on
  // GROUP_CONCAT and the like for the destination's statements; an hour before the server gives
  // up on a client that does not read (a streamed read waits while the destination is busy).
  NILUS_RETURN_NOT_OK(
      out->Exec("SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,ANSI_QUOTES,"
                "NO_AUTO_VALUE_ON_ZERO', group_concat_max_len = 1073741824, net_write_timeout = 3600, "
                "net_read_timeout = 3600"));
  return out;
}

Status MyConnection::ErrorStatus(std::string_view what) const {
  unsigned err = mysql_errno(conn_);
  if (interrupted_ || stop_.stop_requested()) return Status::Cancelled("interrupted");
  std::string msg = MaskSecrets(mysql_error(conn_));
  std::string fix;
  if (err == ER_SPECIFIC_ACCESS_DENIED_ERROR || err == ER_TABLEACCESS_DENIED_ERROR || err == ER_DBACCESS_DENIED_ERROR ||
      err == ER_COLUMNACCESS_DENIED_ERROR) {
    fix = "; grant the privilege to the user of the address";
  }
  return {CodeForError(err), fmt::format("{} on {}: {} (error {}){}", what, where_, msg, err, fix)};
}

Status MyConnection::Exec(const std::string& sql) {
  if (stop_.stop_requested()) return Status::Cancelled("interrupted");
  std::string what = fmt::format("running '{}'", Excerpt(Trim(sql), 80));
  if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) return ErrorStatus(what);
  // Every result of every statement is read, so that the connection is free for the next.
  while (true) {
    MYSQL_RES* res = mysql_store_result(conn_);
    if (res) mysql_free_result(res);
    if (!res && mysql_field_count(conn_) != 0) return ErrorStatus(what);
    int more = mysql_next_result(conn_);
    if (more > 0) return ErrorStatus(what);
    if (more < 0) return Status::OK();
  }
}

Result<MyRows> MyConnection::Query(const std::string& sql) {
  if (stop_.stop_requested()) return Status::Cancelled("interrupted");
  std::string what = fmt::format("running '{}'", Excerpt(Trim(sql), 80));
  if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) return ErrorStatus(what);
  MYSQL_RES* res = mysql_store_result(conn_);
  MyRows rows;
  if (!res) {
    if (mysql_field_count(conn_) != 0) return ErrorStatus(what);
    return rows;
  }
  unsigned n = mysql_num_fields(res);
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    unsigned long* lengths = mysql_fetch_lengths(res);
    auto& out = rows.emplace_back();
    for (unsigned c = 0; c < n; ++c) {
      out.push_back(row[c] ? std::optional<std::string>(std::string(row[c], lengths[c])) : std::nullopt);
    }
  }
  mysql_free_result(res);
  return rows;
}

Result<MYSQL_RES*> MyConnection::Stream(const std::string& sql) {
  if (stop_.stop_requested()) return Status::Cancelled("interrupted");
  std::string what = fmt::format("running '{}'", Excerpt(Trim(sql), 80));
  if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) return ErrorStatus(what);
  MYSQL_RES* res = mysql_use_result(conn_);
  if (!res) return ErrorStatus(what);
  return res;
}

Status MyConnection::EndStream(std::string_view what) {
  return mysql_errno(conn_) != 0 ? ErrorStatus(what) : Status::OK();
}

Status MyConnection::CommitToEnd() {
  {
    std::lock_guard lock(mu_);
    if (interrupted_) return Status::Cancelled("interrupted");
    committing_ = true;
  }
  bool ok = mysql_real_query(conn_, "COMMIT", 6) == 0;
  std::lock_guard lock(mu_);
  committing_ = false;
  if (!ok) {
    unsigned err = mysql_errno(conn_);
    return {CodeForError(err), fmt::format("committing on {}: {} (error {})", where_, mysql_error(conn_), err)};
  }
  return Status::OK();
}

std::string MyConnection::Literal(std::string_view value) const {
  std::string out(value.size() * 2 + 3, '\0');
  out[0] = '\'';
  unsigned long n = mysql_real_escape_string(conn_, out.data() + 1, value.data(), value.size());
  out.resize(n + 1);
  out += '\'';
  return out;
}

}  // namespace nilus
