#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nilus::s3 {

/// The access key of an AWS identity (and its session token, for temporary credentials).
struct Credentials {
  std::string access_key, secret_key, session_token;
};

/// A request to be signed with AWS Signature Version 4: its method, its path (not yet
/// URI-encoded), its query parameters (not encoded) and the headers to sign (any case; `host`,
/// `x-amz-date` and `x-amz-content-sha256` among them).
struct Request {
  std::string method, path;
  std::vector<std::pair<std::string, std::string>> query, headers;
};

/// The value of the Authorization header of `request` for `service` in `region`; `amz_date` is
/// the request's time as x-amz-date gives it (YYYYMMDD'T'HHMMSS'Z') and `payload_hash` the hex
/// SHA-256 of its body (x-amz-content-sha256).
std::string Authorization(const Credentials& credentials, const std::string& region, const std::string& service,
                          const Request& request, const std::string& amz_date, const std::string& payload_hash);

/// RFC 3986 percent-encoding as Signature Version 4 wants it: every byte but A-Z a-z 0-9 - . _ ~
/// (and '/' unless `encode_slash`).
std::string UriEncode(std::string_view text, bool encode_slash);

std::string Sha256Hex(std::string_view bytes);
/// The hex SHA-256 of the rest of `file`, and its size in bytes.
std::string Sha256Hex(std::FILE* file, int64_t* size);

}  // namespace nilus::s3
