#include "nilus/formats/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

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
  // On disk before anything that refers to it is committed: the data, then its name.
  bool synced = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  if (std::fclose(f) != 0 || !synced) {
    std::remove(path_.c_str());
    return Status::IOError("writing {}: {}", path_, std::strerror(errno));
  }
  std::string dir = std::filesystem::path(path_).parent_path().string();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return Status::OK();
}

}  // namespace nilus
