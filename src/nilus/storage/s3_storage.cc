#include "nilus/storage/s3_storage.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <random>

#include "nilus/core/strings.h"

namespace nilus {

namespace {

namespace fs = std::filesystem;

/// Removes the spool folders of runs that were killed (their process is gone).
void RemoveDeadSpools(const fs::path& tmp) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(tmp, ec)) {
    const std::string name = entry.path().filename().string();
    int pid = 0;
    if (std::sscanf(name.c_str(), "nilus-spool-%d-", &pid) != 1 || pid <= 0) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
  }
}

class S3Storage final : public Storage {
 public:
  S3Storage(s3::Config config, std::string bucket)
      : client_(std::move(config), bucket), prefix_("s3://" + bucket + "/") {}

  ~S3Storage() override {
    std::error_code ec;
    if (!spool_.empty()) fs::remove_all(spool_, ec);
  }

  Result<std::string> StagingPath(const std::string& location) override {
    NILUS_RETURN_NOT_OK(KeyOf(location).status());
    if (spool_.empty()) {
      std::error_code ec;
      const fs::path tmp = fs::temp_directory_path(ec);
      RemoveDeadSpools(tmp);
      fs::path dir = tmp / fmt::format("nilus-spool-{}-{:x}", ::getpid(), std::mt19937_64(std::random_device{}())());
      fs::create_directories(dir, ec);
      if (ec) return Status::IOError("cannot create the spool folder {}: {}", dir.string(), ec.message());
      spool_ = dir.string();
    }
    return (fs::path(spool_) / fs::path(location).filename()).string();
  }

  Status Publish(const std::string& location) override {
    NILUS_ASSIGN_OR_RAISE(std::string key, KeyOf(location));
    NILUS_ASSIGN_OR_RAISE(std::string staged, StagingPath(location));
    Status uploaded = client_.PutFile(key, staged);
    std::error_code ec;
    fs::remove(staged, ec);
    return uploaded;
  }

  Status Write(const std::string& location, std::string_view bytes) override {
    NILUS_ASSIGN_OR_RAISE(std::string key, KeyOf(location));
    return client_.Put(key, bytes);
  }

  Result<std::string> Read(const std::string& location) override {
    NILUS_ASSIGN_OR_RAISE(std::string key, KeyOf(location));
    return client_.Get(key);
  }

  Result<int64_t> Size(const std::string& location) override {
    NILUS_ASSIGN_OR_RAISE(std::string key, KeyOf(location));
    return client_.Size(key);
  }

  Result<std::string> ReadRange(const std::string& location, int64_t offset, int64_t length) override {
    NILUS_ASSIGN_OR_RAISE(std::string key, KeyOf(location));
    return client_.Get(key, offset, length);
  }

  Result<std::vector<std::string>> List(const std::string& prefix) override {
    NILUS_ASSIGN_OR_RAISE(std::string key, KeyOf(prefix));
    NILUS_ASSIGN_OR_RAISE(std::vector<std::string> keys, client_.List(key));
    for (auto& k : keys) k = prefix_ + k;
    return keys;
  }

  Status Remove(const std::string& location) override {
    NILUS_ASSIGN_OR_RAISE(std::string key, KeyOf(location));
    return client_.Delete(key);
  }

 private:
  Result<std::string> KeyOf(const std::string& given) const {
    // s3a:// and s3n:// (Hadoop's names, in metadata other engines write) are s3://.
    const std::string location =
        StartsWith(given, "s3a://") || StartsWith(given, "s3n://") ? "s3://" + given.substr(6) : given;
    if (!StartsWith(location, prefix_)) {
      return Status::InvalidInput("{} is not in the bucket of this warehouse ({})", given, prefix_);
    }
    return location.substr(prefix_.size());
  }

  s3::Client client_;
  std::string prefix_;
  std::string spool_;
};

}  // namespace

std::unique_ptr<Storage> OpenS3Storage(s3::Config config, std::string bucket) {
  return std::make_unique<S3Storage>(std::move(config), std::move(bucket));
}

}  // namespace nilus
