#pragma once

#include <cstdint>
#include <vector>

#include "nilus/connectors/postgres/pg_types.h"
#include "nilus/core/record_batch.h"
#include "nilus/core/status.h"

namespace nilus {

/// Decodes the rows of a `COPY … TO STDOUT (FORMAT binary)` stream, one COPY data message at a
/// time, into record batch columns. Everything is bounds-checked: a malformed stream is an
/// error naming what is wrong, never a read past the message.
class PgBinaryCopyDecoder {
 public:
  explicit PgBinaryCopyDecoder(std::vector<PgColumnType> columns) : columns_(std::move(columns)) {}

  /// Decodes one message (the header before the first row, a row, or the trailer), appending a
  /// row's values to `out`'s columns, which match the decoder's columns.
  Status Decode(const char* data, int64_t len, BatchBuilder& out);
  /// Whether the trailer was seen: the stream is complete.
  bool finished() const { return finished_; }

 private:
  Status DecodeHeader(const char*& p, const char* end);

  std::vector<PgColumnType> columns_;
  bool header_seen_ = false;
  bool finished_ = false;
};

}  // namespace nilus
