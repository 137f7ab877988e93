#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nilus/core/status.h"

namespace nilus {

/// Where a lakehouse keeps its files: a folder on local disk or a bucket on S3. Objects are
/// named by their full location (an absolute path, or `s3://bucket/key`), the form table
/// metadata refers to them by; the forms other engines write are read too (`file:///path`,
/// `file:/path`, `s3a://`, `s3n://`). Objects are written whole and never changed in place.
class Storage {
 public:
  virtual ~Storage() = default;

  /// The local file to write the new object `location` into (with OutputFile, or a writer built
  /// on it): the object's own path on local disk, a spool file of this process for S3.
  virtual Result<std::string> StagingPath(const std::string& location) = 0;
  /// Makes the closed file at StagingPath(location) the object `location` (S3: uploads it and
  /// removes the spool file).
  virtual Status Publish(const std::string& location) = 0;
  /// Writes the object `location` whole from memory (metadata, markers).
  virtual Status Write(const std::string& location, std::string_view bytes) = 0;
  /// The whole object (NotFound when there is none).
  virtual Result<std::string> Read(const std::string& location) = 0;
  /// The object's size in bytes (NotFound when there is none).
  virtual Result<int64_t> Size(const std::string& location) = 0;
  /// `length` bytes of the object from `offset` (fewer at its end): large objects are read in
  /// parts (Parquet files, column chunk by column chunk).
  virtual Result<std::string> ReadRange(const std::string& location, int64_t offset, int64_t length) = 0;
  /// The locations of the objects whose locations start with `prefix`.
  virtual Result<std::vector<std::string>> List(const std::string& prefix) = 0;
  /// Removes the object; one that is not there is no error.
  virtual Status Remove(const std::string& location) = 0;
};

/// The storage that holds `root`: `s3://bucket/prefix` (credentials, region and endpoint from
/// the environment as the AWS tools read them, `region` overriding AWS_REGION) or a local path.
Result<std::unique_ptr<Storage>> OpenStorage(const std::string& root, const std::string& region);

}  // namespace nilus
