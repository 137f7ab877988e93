#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nilus/core/status.h"

namespace nilus {

// The messages of PostgreSQL's logical replication output plugin `pgoutput` (protocol version
// 1, text values), decoded from the payload of one XLogData message. Every read is bounds-checked:
// a malformed message is an error, never a read past its end.

/// A log sequence number: a byte position in the server's write-ahead log.
using Lsn = uint64_t;

/// "16/B374D848", as PostgreSQL prints an LSN.
std::string FormatLsn(Lsn lsn);
/// Parses "16/B374D848"; false when it is not an LSN.
bool ParseLsn(std::string_view text, Lsn* out);

namespace pgoutput {

/// One column of a relation as the Relation message describes it.
struct RelationColumn {
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;
  bool key = false;  ///< part of the replica identity
};

struct Relation {
  uint32_t oid = 0;
  std::string schema;  ///< "pg_catalog" when the message leaves it empty
  std::string name;
  char replica_identity = 'd';  ///< d default, n nothing, f full, i index
  std::vector<RelationColumn> columns;
};

/// One column value of a tuple.
struct Value {
  enum Kind : char { kNull = 'n', kUnchanged = 'u', kText = 't', kBinary = 'b' };
  Kind kind = kNull;
  std::string_view data;  ///< into the message, valid while it lives
};
using Tuple = std::vector<Value>;

struct Begin {
  Lsn final_lsn = 0;
  int64_t commit_time = 0;  ///< microseconds since 2000-01-01 UTC
  uint32_t xid = 0;
};

struct Commit {
  Lsn commit_lsn = 0;
  Lsn end_lsn = 0;
  int64_t commit_time = 0;
};

/// Insert ('I'), Update ('U') or Delete ('D') of one row.
struct RowChange {
  char kind = 'I';
  uint32_t relation = 0;
  /// The old row: its replica identity columns ('K') or the whole row ('O', REPLICA IDENTITY
  /// FULL); empty for an insert and for an update that changed no key column.
  char old_kind = 0;
  Tuple old_tuple;
  Tuple new_tuple;  ///< empty for a delete
};

struct Truncate {
  std::vector<uint32_t> relations;
  bool cascade = false;
  bool restart_identity = false;
};

/// A decoded message. `type` is the message's first byte: B, C, R, Y, I, U, D, T, O, M.
struct Message {
  char type = 0;
  Begin begin;
  Commit commit;
  Relation relation;
  RowChange change;
  Truncate truncate;
  /// Type ('Y') and Origin ('O') messages carry only names; Message ('M') a prefix and content.
  std::string name;
};

/// Decodes one pgoutput message (the XLogData payload). Views into `data` stay valid while it does.
Status Decode(std::string_view data, Message* out);

}  // namespace pgoutput

}  // namespace nilus
