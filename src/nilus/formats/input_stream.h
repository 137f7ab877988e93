#pragma once

#include <cstddef>
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
};

Result<std::unique_ptr<InputStream>> OpenInputStream(const std::string& path);

/// The path without a compression extension: "orders.csv.gz" -> "orders.csv".
std::string StripCompressionExtension(const std::string& path);

/// Reads a stream line by line ('\n' or "\r\n"), keeping the line number. A line is a view
/// valid until the next call.
class LineReader {
 public:
  explicit LineReader(std::unique_ptr<InputStream> in) : in_(std::move(in)) {}

  /// The next line without its terminator; false at the end of the stream.
  Result<bool> Next(std::string_view* line);
  int64_t line_number() const { return line_number_; }

 private:
  std::unique_ptr<InputStream> in_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  int64_t line_number_ = 0;
};

}  // namespace nilus
