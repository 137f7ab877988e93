#include "nilus/formats/output_file.h"

#include <cerrno>
#include <cstring>

namespace nilus {

OutputFile::~OutputFile() {
  if (!file_) return;
  std::fclose(file_);
  std::remove(path_.c_str());
}

Result<std::unique_ptr<OutputFile>> OutputFile::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Status::IOError("cannot create {}: {}", path, std::strerror(errno));
  return std::unique_ptr<OutputFile>(new OutputFile(f, path));
}

Status OutputFile::Write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    return Status::IOError("writing {}: {}", path_, std::strerror(errno));
  }
  size_ += static_cast<int64_t>(bytes.size());
  return Status::OK();
}

Status OutputFile::Close() {
  std::FILE* f = file_;
  file_ = nullptr;
  if (std::fclose(f) != 0) {
    std::remove(path_.c_str());
    return Status::IOError("closing {}: {}", path_, std::strerror(errno));
  }
  return Status::OK();
}

}  // namespace nilus
