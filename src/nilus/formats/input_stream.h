#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "nilus/core/status.h"

namespace nilus {

/// A sequential byte stream from a file, decompressed on the fly by its extension
/// (`.gz` with zlib, `.zst` with zstd).
class InputStream {
 public:
  virtual ~InputStream() = default;
  /// Reads up to `n` bytes; returns 0 at the end of the stream.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  /// Moves `n` bytes forward (decompressed bytes, for a compressed file); fails when the stream
  /// ends first.
  virtual Status Skip(uint64_t n);
};

Result<std::unique_ptr<InputStream>> OpenInputStream(const std::string& path);

/// The path without a compression extension: "orders.csv.gz" -> "orders.csv".
std::string StripCompressionExtension(const std::string& path);

/// A position in a stream: the byte offset of the next unread byte and the number of lines
/// before it, so a reader stopped part-way can continue there in a later run.
struct StreamPosition {
  int64_t offset = 0;
  int64_t line = 0;
};

/// Reads a stream line by line ('\n' or "\r\n"), keeping the line number. A line is a view
/// valid until the next call.
class LineReader {
 public:
  explicit LineReader(std::unique_ptr<InputStream> in) : in_(std::move(in)) {}

  /// The next line without its terminator; false at the end of the stream.
  Result<bool> Next(std::string_view* line);
  /// The number of the line `Next` returned last (from 1).
  int64_t line_number() const { return line_number_; }
  /// Where the line after the last one returned starts.
  StreamPosition position() const { return {base_ + static_cast<int64_t>(pos_), line_number_}; }
  /// Continues at `position` (of an earlier reader of the same file), which is ahead of here.
  Status SeekTo(const StreamPosition& position);

 private:
  std::unique_ptr<InputStream> in_;
  std::string buf_;
  std::unique_ptr<char[]> chunk_;  // what one read fills
  size_t pos_ = 0;
  int64_t base_ = 0;  // the stream offset of buf_[0]
  bool eof_ = false;
  int64_t line_number_ = 0;
};

}  // namespace nilus
