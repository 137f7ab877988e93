#include "nilus/storage/storage.h"

#include "nilus/core/strings.h"
#include "nilus/storage/local_storage.h"
#include "nilus/storage/s3_storage.h"

namespace nilus {

Result<std::unique_ptr<Storage>> OpenStorage(const std::string& root, const std::string& region) {
  if (!StartsWith(root, "s3://")) return OpenLocalStorage();
  const std::string rest = root.substr(5);
  const std::string bucket = rest.substr(0, rest.find('/'));
  if (bucket.empty()) return Status::InvalidInput("{}: an S3 address names its bucket: s3://bucket/prefix", root);
  auto config = s3::Config::FromEnvironment(region);
  if (!config.ok()) return config.status().WithContext(root);
  return OpenS3Storage(config.MoveValue(), bucket);
}

}  // namespace nilus
