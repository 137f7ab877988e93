#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "nilus/core/status.h"
#include "nilus/storage/sigv4.h"

namespace nilus::s3 {

/// Where requests go and how they are signed.
struct Config {
  std::string endpoint;  ///< scheme://host[:port] of an S3-compatible server; "" for AWS
  std::string region;
  Credentials credentials;

  /// From the environment as the AWS tools read it: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
  /// AWS_SESSION_TOKEN, AWS_REGION (or AWS_DEFAULT_REGION; `region` overrides both, us-east-1
  /// without any) and AWS_ENDPOINT (or AWS_ENDPOINT_URL) for an S3-compatible server.
  static Result<Config> FromEnvironment(const std::string& region);
};

/// The S3 REST API for one bucket over libcurl (one connection, kept alive), signed with
/// Signature Version 4: path-style requests to a configured endpoint, virtual-host style to AWS.
/// Requests that fail on the way or with a server error are retried (all are idempotent).
/// Errors name the object and what to fix, never a secret.
class Client {
 public:
  Client(Config config, std::string bucket);
  ~Client();

  Status Put(const std::string& key, std::string_view body);
  /// Uploads the file at `path` (up to 5 GiB, one request) as `key`.
  Status PutFile(const std::string& key, const std::string& path);
  /// The object, or `length` bytes of it from `offset` (fewer at its end) when `length` is not
  /// negative. NotFound when there is no such object.
  Result<std::string> Get(const std::string& key, int64_t offset = 0, int64_t length = -1);
  /// The object's size in bytes (NotFound when there is none).
  Result<int64_t> Size(const std::string& key);
  /// The keys that start with `prefix`, all pages of them.
  Result<std::vector<std::string>> List(const std::string& prefix);
  Status Delete(const std::string& key);

 private:
  struct Body;
  struct Response {
    long status = 0;
    std::string body;
    int64_t content_length = -1;
  };
  /// Sends a signed request; `range` (a Range header's value, unsigned) when not empty.
  Result<Response> Send(const std::string& method, const std::string& key,
                        const std::vector<std::pair<std::string, std::string>>& query, Body& body,
                        const std::string& range = "");
  /// The error of a response that is not 2xx, for `what`.
  Status Failure(const Response& response, const std::string& what) const;

  Config config_;
  std::string bucket_, host_, base_url_, path_prefix_;
  std::mutex mutex_;
  void* curl_ = nullptr;
};

}  // namespace nilus::s3
