#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nilus/core/status.h"

namespace nilus {

/// A parsed connection address: `scheme://user:password@host:port/path?k=v&…`.
/// The password, and the value of every query parameter whose name says it is a secret
/// (IsSecretName), are registered as secrets on parse, so they are masked in every message.
class Uri {
 public:
  static Result<Uri> Parse(std::string_view text);

  const std::string& scheme() const { return scheme_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  /// The path, percent-decoded, including its leading '/'.
  const std::string& path() const { return path_; }
  const std::vector<std::pair<std::string, std::string>>& query() const { return query_; }
  /// The address as given.
  const std::string& text() const { return text_; }
  /// The address with the password replaced by "***", for messages.
  std::string Masked() const;

 private:
  std::string text_;
  std::string scheme_, user_, password_, host_, path_;
  int port_ = 0;
  std::vector<std::pair<std::string, std::string>> query_;
};

std::string PercentDecode(std::string_view s);

/// `address` (as written, placeholders and all) as it may be kept on disk: a password written in
/// its user part or in a `password=` parameter is left out; a `{NAME}` placeholder stays, as it
/// holds no secret itself.
std::string AddressWithoutPassword(std::string_view address);

}  // namespace nilus
