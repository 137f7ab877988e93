#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "nilus/connectors/postgres/pg_connection.h"
#include "nilus/connectors/postgres/pgoutput.h"
#include "nilus/core/status.h"
#include "nilus/core/uri.h"

namespace nilus {

/// A logical replication connection (`replication=database`) to PostgreSQL: creates slots and
/// streams a slot's changes with the streaming replication protocol. Values arrive as text in
/// a session pinned to UTC and ISO dates, so that they read the same whatever the server's
/// defaults.
class PgReplication {
 public:
  static Result<std::unique_ptr<PgReplication>> Connect(const Uri& uri, std::stop_token stop);

  /// What CREATE_REPLICATION_SLOT … EXPORT_SNAPSHOT returns: where the slot's changes begin and
  /// a snapshot of the database at that point, importable (SET TRANSACTION SNAPSHOT) until this
  /// connection runs its next command.
  struct Slot {
    Lsn consistent_point = 0;
    std::string snapshot;
  };
  /// A temporary slot lives as long as this connection: it serves only for its snapshot and
  /// the position that snapshot stands at.
  Result<Slot> CreateSlot(const std::string& name, bool temporary = false);

  /// Starts streaming `slot` from `from` with pgoutput, protocol 1, for `publication`.
  Status Start(const std::string& slot, Lsn from, const std::string& publication);

  /// One message from the server: a pgoutput message (`wal_start` its position) or a keepalive.
  struct Event {
    bool keepalive = false;
    Lsn wal_start = 0;
    Lsn wal_end = 0;  ///< the server's end of WAL (for lag) or, for a keepalive, how far it has sent
    bool reply_requested = false;
    std::string_view payload;  ///< valid until the next call to Next
  };
  /// The next message, waiting at most `wait`; nullopt when none came. Fails when the
  /// connection breaks or the server ends the stream.
  Result<std::optional<Event>> Next(std::chrono::milliseconds wait);

  /// Sends a standby status update: everything up to `flushed` is durable downstream, so the
  /// server may release the WAL before it.
  Status SendStatus(Lsn received, Lsn flushed, bool reply_requested = false);

  PgConnection& connection() { return *conn_; }

 private:
  explicit PgReplication(std::unique_ptr<PgConnection> conn) : conn_(std::move(conn)) {}

  std::unique_ptr<PgConnection> conn_;
  std::unique_ptr<char, void (*)(void*)> owned_{nullptr, PQfreemem};
};

}  // namespace nilus
