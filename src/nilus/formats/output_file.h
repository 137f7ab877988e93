#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "nilus/core/status.h"

namespace nilus {

/// A file being written whole: created (or truncated) at Open, complete only after Close, which
/// puts its bytes and its name on disk (fsync of the file and of its folder), so that a commit
/// that refers to it afterwards survives a power failure. One that is destroyed before Close is
/// removed, so that an abandoned write leaves no partial file behind.
class OutputFile {
 public:
  ~OutputFile();
  static Result<std::unique_ptr<OutputFile>> Open(const std::string& path);

  Status Write(std::string_view bytes);
  /// Bytes written so far.
  int64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  Status Close();

 private:
  OutputFile(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}

  std::FILE* file_;
  std::string path_;
  int64_t size_ = 0;
};

}  // namespace nilus
