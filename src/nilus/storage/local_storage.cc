#include "nilus/storage/local_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nilus/core/strings.h"
#include "nilus/formats/output_file.h"

namespace nilus {

namespace {

namespace fs = std::filesystem;

/// The path of a location: itself, or the path of a `file:` URI (`file:///abs/path`,
/// `file:/abs/path`), the form other engines write into table metadata.
std::string PathOf(const std::string& location) {
  if (StartsWith(location, "file://")) return location.substr(7);
  if (StartsWith(location, "file:")) return location.substr(5);
  return location;
}

Status MakeParent(const std::string& location) {
  std::error_code ec;
  fs::create_directories(fs::path(location).parent_path(), ec);
  if (ec) return Status::IOError("cannot create {}: {}", fs::path(location).parent_path().string(), ec.message());
  return Status::OK();
}

class LocalStorage final : public Storage {
 public:
  Result<std::string> StagingPath(const std::string& given) override {
    const std::string location = PathOf(given);
    NILUS_RETURN_NOT_OK(MakeParent(location));
    return location;
  }

  Status Publish(const std::string&) override { return Status::OK(); }

  Status Write(const std::string& given, std::string_view bytes) override {
    const std::string location = PathOf(given);
    NILUS_RETURN_NOT_OK(MakeParent(location));
    NILUS_ASSIGN_OR_RAISE(auto file, OutputFile::Open(location));
    NILUS_RETURN_NOT_OK(file->Write(bytes));
    return file->Close();
  }

  Result<std::string> Read(const std::string& given) override {
    const std::string location = PathOf(given);
    std::ifstream in(location, std::ios::binary);
    if (!in) {
      if (errno == ENOENT) return Status::NotFound("{} does not exist", location);
      return Status::IOError("cannot read {}: {}", location, std::strerror(errno));
    }
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }

  Result<int64_t> Size(const std::string& given) override {
    const std::string location = PathOf(given);
    struct stat st;
    if (::stat(location.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::NotFound("{} does not exist", location);
      return Status::IOError("cannot read {}: {}", location, std::strerror(errno));
    }
    return static_cast<int64_t>(st.st_size);
  }

  Result<std::string> ReadRange(const std::string& given, int64_t offset, int64_t length) override {
    const std::string location = PathOf(given);
    int fd = ::open(location.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Status::NotFound("{} does not exist", location);
      return Status::IOError("cannot read {}: {}", location, std::strerror(errno));
    }
    std::string out(static_cast<size_t>(length), '\0');
    size_t got = 0;
    while (got < out.size()) {
      ssize_t n = ::pread(fd, out.data() + got, out.size() - got, offset + static_cast<int64_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        return Status::IOError("cannot read {}: {}", location, std::strerror(err));
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    ::close(fd);
    out.resize(got);
    return out;
  }

  Result<std::vector<std::string>> List(const std::string& given) override {
    // Listed in the form of the prefix given.
    const std::string prefix = PathOf(given), scheme = given.substr(0, given.size() - prefix.size());
    // The prefix ends in a folder or in the start of a file name.
    fs::path folder = EndsWith(prefix, "/") ? fs::path(prefix) : fs::path(prefix).parent_path();
    std::vector<std::string> out;
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) return out;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
      std::string path = entry.path().string();
      if (entry.is_regular_file(ec) && StartsWith(path, prefix)) out.push_back(scheme + path);
    }
    if (ec) return Status::IOError("cannot list {}: {}", folder.string(), ec.message());
    return out;
  }

  Status Remove(const std::string& given) override {
    const std::string location = PathOf(given);
    std::error_code ec;
    fs::remove(location, ec);
    if (ec) return Status::IOError("cannot remove {}: {}", location, ec.message());
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<Storage> OpenLocalStorage() { return std::make_unique<LocalStorage>(); }

}  // namespace nilus
