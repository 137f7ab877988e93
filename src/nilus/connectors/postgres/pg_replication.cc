#include "nilus/connectors/postgres/pg_replication.h"

#include <fmt/format.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include "nilus/connectors/postgres/pg_types.h"

namespace nilus {

namespace {

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
constexpr int64_t kPgEpochMicros = 946684800LL * 1000000;

int64_t PgNow() {
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return micros - kPgEpochMicros;
}

void Put64(std::string& buf, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) buf.push_back(static_cast<char>(v >> shift & 0xff));
}

}  // namespace

Result<std::unique_ptr<PgReplication>> PgReplication::Connect(const Uri& uri, std::stop_token stop) {
  std::string text = uri.text() + (uri.text().find('?') == std::string::npos ? "?" : "&") + "replication=database";
  NILUS_ASSIGN_OR_RAISE(Uri repl, Uri::Parse(text));
  NILUS_ASSIGN_OR_RAISE(auto conn, PgConnection::Connect(repl, std::move(stop)));
  // The output functions run in this session: pin what shapes their text.
  NILUS_RETURN_NOT_OK(
      conn->Exec("SET TimeZone = 'UTC'; SET bytea_output = 'hex'; SET IntervalStyle = 'postgres'").status());
  return std::unique_ptr<PgReplication>(new PgReplication(std::move(conn)));
}

Result<PgReplication::Slot> PgReplication::CreateSlot(const std::string& name, bool temporary) {
  NILUS_ASSIGN_OR_RAISE(PgResult res,
                        conn_->Exec(fmt::format("CREATE_REPLICATION_SLOT {}{} LOGICAL pgoutput EXPORT_SNAPSHOT", name,
                                                temporary ? " TEMPORARY" : "")));
  Slot slot;
  if (res.rows() != 1 || !ParseLsn(res.Get(0, 1), &slot.consistent_point)) {
    return Status::IOError("creating replication slot {}: unexpected answer from the server", name);
  }
  slot.snapshot = res.Get(0, 2);
  return slot;
}

Status PgReplication::Start(const std::string& slot, Lsn from, const std::string& publication) {
  std::string sql =
      fmt::format("START_REPLICATION SLOT {} LOGICAL {} (proto_version '1', publication_names '{}', messages 'true')",
                  slot, FormatLsn(from), publication);
  if (!PQsendQuery(conn_->get(), sql.c_str())) return conn_->ErrorStatus(nullptr, "starting replication");
  // The answer is CopyBoth, or an error.
  while (true) {
    while (PQisBusy(conn_->get())) {
      pollfd pfd{PQsocket(conn_->get()), POLLIN, 0};
      if (poll(&pfd, 1, 100) < 0 && errno != EINTR) return Status::Unavailable("waiting for the replication stream");
      if (!PQconsumeInput(conn_->get())) return conn_->ErrorStatus(nullptr, "starting replication");
      if (conn_->stop().stop_requested()) return Status::Cancelled("interrupted");
    }
    PgResult res(PQgetResult(conn_->get()));
    if (!res.get()) return Status::IOError("starting replication of slot {}: no answer", slot);
    if (PQresultStatus(res.get()) == PGRES_COPY_BOTH) return Status::OK();
    return conn_->ErrorStatus(res.get(), fmt::format("starting replication of slot {}", slot));
  }
}

Result<std::optional<PgReplication::Event>> PgReplication::Next(std::chrono::milliseconds wait) {
  owned_.reset();
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    char* buf = nullptr;
    int len = PQgetCopyData(conn_->get(), &buf, 1);
    if (len > 0) {
      owned_.reset(buf);
      Event e;
      if (buf[0] == 'w' && len >= 25) {
        e.wal_start = Be64(buf + 1);
        e.wal_end = Be64(buf + 9);
        e.payload = std::string_view(buf + 25, static_cast<size_t>(len - 25));
        return std::optional<Event>(e);
      }
      if (buf[0] == 'k' && len >= 18) {
        e.keepalive = true;
        e.wal_end = Be64(buf + 1);
        e.reply_requested = buf[17] != 0;
        return std::optional<Event>(e);
      }
      return Status::IOError("replication stream: unexpected message '{}' of {} bytes", buf[0], len);
    }
    if (len == -1) {
      PgResult res(PQgetResult(conn_->get()));
      if (PQresultStatus(res.get()) == PGRES_COMMAND_OK || PQresultStatus(res.get()) == PGRES_COPY_OUT) {
        return Status::Unavailable("the server ended the replication stream");
      }
      return conn_->ErrorStatus(res.get(), "reading the replication stream");
    }
    if (len < -1) return conn_->ErrorStatus(nullptr, "reading the replication stream");
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || conn_->stop().stop_requested()) return std::optional<Event>();
    pollfd pfd{PQsocket(conn_->get()), POLLIN, 0};
    int ready = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
    if (ready < 0 && errno != EINTR) return Status::Unavailable("waiting for the replication stream");
    if (!PQconsumeInput(conn_->get())) return conn_->ErrorStatus(nullptr, "reading the replication stream");
  }
}

Status PgReplication::SendStatus(Lsn received, Lsn flushed, bool reply_requested) {
  std::string msg = "r";
  Put64(msg, received);
  Put64(msg, flushed);
  Put64(msg, flushed);
  Put64(msg, static_cast<uint64_t>(PgNow()));
  msg.push_back(reply_requested ? 1 : 0);
  if (PQputCopyData(conn_->get(), msg.data(), static_cast<int>(msg.size())) != 1 || PQflush(conn_->get()) < 0) {
    return conn_->ErrorStatus(nullptr, "sending a standby status update");
  }
  return Status::OK();
}

}  // namespace nilus
