#pragma once

// The events of MySQL's and MariaDB's row-based binary log that change data capture reads, and
// the values of their row images, decoded from the bytes the replication stream carries (the
// layouts are MySQL's, with MariaDB's GTID events; MariaDB Connector/C only carries them).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nilus/core/status.h"

namespace nilus::binlog {

/// Event types (the header's type code).
enum EventType : uint8_t {
  kQuery = 2,
  kStop = 3,
  kRotate = 4,
  kFormatDescription = 15,
  kXid = 16,
  kTableMap = 19,
  kWriteRowsV1 = 23,
  kUpdateRowsV1 = 24,
  kDeleteRowsV1 = 25,
  kHeartbeat = 27,
  kWriteRows = 30,
  kUpdateRows = 31,
  kDeleteRows = 32,
  kMysqlGtid = 33,
  kMysqlAnonymousGtid = 34,
  kPartialUpdateRows = 39,
  kTransactionPayload = 40,  ///< MySQL's compressed transactions (binlog_transaction_compression)
  kMariaGtid = 162,
  kMariaQueryCompressed = 165,
  kMariaWriteRowsCompressed = 166,  ///< to 171: MariaDB's compressed row events (log_bin_compress)
  kMariaDeleteRowsCompressedV1 = 171,
};

/// Column types as the binary log writes them (MySQL's enum_field_types).
enum ColumnType : uint8_t {
  kDecimal = 0,
  kTiny = 1,
  kShort = 2,
  kLong = 3,
  kFloat = 4,
  kDouble = 5,
  kTimestamp = 7,
  kLongLong = 8,
  kInt24 = 9,
  kDate = 10,
  kTime = 11,
  kDatetime = 12,
  kYear = 13,
  kVarchar = 15,
  kBit = 16,
  kTimestamp2 = 17,
  kDatetime2 = 18,
  kTime2 = 19,
  kJson = 245,
  kNewDecimal = 246,
  kEnum = 247,
  kSet = 248,
  kTinyBlob = 249,
  kMediumBlob = 250,
  kLongBlob = 251,
  kBlob = 252,
  kVarString = 253,
  kString = 254,
  kGeometry = 255,
};

/// The common header of every event (19 bytes).
struct Header {
  uint32_t timestamp = 0;  ///< seconds since 1970
  uint8_t type = 0;
  uint32_t server_id = 0;
  uint32_t length = 0;         ///< of the whole event, checksum included
  uint32_t next_position = 0;  ///< where the next event starts in the file (0 for artificial events)
  uint16_t flags = 0;
};
constexpr size_t kHeaderSize = 19;
/// `event` is one whole event (as the stream carries it, without the leading OK byte).
Status ParseHeader(std::string_view event, Header* out);

/// One column of a table map: how its values are laid out, and what the optional metadata
/// (binlog_row_metadata=FULL) says of it.
struct Column {
  uint8_t type = 0;         ///< the real type (ENUM and SET, not STRING)
  uint32_t meta = 0;        ///< the type's metadata: fsp, pack length, (precision << 8) | scale, …
  uint32_t max_length = 0;  ///< CHAR/VARCHAR/ENUM/SET: bytes of the declared length; BIT: bits
  bool is_unsigned = false;
  uint32_t collation = 0;                ///< 0 when the log does not say; 63 binary
  std::string name = {};                 ///< "" when the log does not say
  std::vector<std::string> values = {};  ///< ENUM and SET: the members
};

/// A TABLE_MAP event: the table the next row events change, and its columns.
struct TableMap {
  uint64_t table_id = 0;
  std::string db, table;
  std::vector<Column> columns;
  std::vector<int> key;  ///< primary key columns (FULL metadata); empty when none or not logged
  bool has_names = false;
};
Status ParseTableMap(std::string_view body, TableMap* out);

/// A row event's header: which columns its images hold.
struct Rows {
  uint64_t table_id = 0;
  uint16_t flags = 0;
  size_t column_count = 0;
  std::vector<bool> present;        ///< columns in the (before) image
  std::vector<bool> present_after;  ///< update events: columns in the after image
  std::string_view images;          ///< the row images, one after another
};
/// `type` is one of the row event types (v1 or v2).
Status ParseRows(uint8_t type, std::string_view body, Rows* out);
/// Whether `type` writes (inserts), updates or deletes rows.
bool IsWrite(uint8_t type);
bool IsUpdate(uint8_t type);
bool IsDelete(uint8_t type);
bool IsRows(uint8_t type);

/// One row image: per column, absent (not in the image), NULL, or the value's bytes.
struct Image {
  enum State : uint8_t { kAbsent, kNull, kValue };
  std::vector<State> state;
  std::vector<std::string_view> data;
};
/// Reads one image from the front of `rest` (and moves it past the image).
Status ReadImage(const TableMap& map, const std::vector<bool>& present, std::string_view& rest, Image* out);

/// The value of a column as the text protocol writes it ("12.50", "2024-01-02 03:04:05.000001",
/// the raw bytes of strings in their character set, JSON text); `scratch` may hold the result.
Status ValueText(const Column& column, std::string_view data, std::string& scratch, std::string_view* out);

/// MySQL's binary JSON (the JSON type's storage) as JSON text.
Status JsonText(std::string_view data, std::string* out);

/// A QUERY event: the default database and the statement.
struct Query {
  std::string db;
  std::string_view sql;
};
Status ParseQuery(std::string_view body, Query* out);

/// A ROTATE event: the next file and the position in it.
Status ParseRotate(std::string_view body, std::string* file, uint64_t* position);

/// MariaDB's GTID event: the transaction's sequence number and domain; `standalone` when the
/// group is one statement (DDL) with no commit event of its own.
struct MariaGtid {
  uint64_t sequence = 0;
  uint32_t domain = 0;
  bool standalone = false;
};
Status ParseMariaGtid(std::string_view body, MariaGtid* out);

/// MySQL's GTID event: the source's UUID and the transaction's number ("uuid:n").
Status ParseMysqlGtid(std::string_view body, std::string* gtid);

/// The XID event's transaction id.
Status ParseXid(std::string_view body, uint64_t* xid);

}  // namespace nilus::binlog
