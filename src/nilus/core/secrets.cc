#include "nilus/core/secrets.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <vector>

namespace nilus {

namespace {

struct SecretList {
  std::mutex mu;
  std::vector<std::string> values;  // longest first, so a secret inside another is masked whole
};

SecretList& Secrets() {
  static SecretList list;
  return list;
}

}  // namespace

void RegisterSecret(const std::string& secret) {
  // Very short values would mask ordinary words; they are still never logged on purpose.
  if (secret.size() < 3) return;
  auto& s = Secrets();
  std::lock_guard lock(s.mu);
  if (std::find(s.values.begin(), s.values.end(), secret) != s.values.end()) return;
  s.values.push_back(secret);
  std::sort(s.values.begin(), s.values.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

bool IsSecretName(std::string_view name) {
  std::string n(name);
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* part : {"password", "passwd", "token", "secret"}) {
    if (n.find(part) != std::string::npos) return true;
  }
  for (const char* key : {"apikey", "api_key", "api-key", "access_key", "access-key", "private_key", "private-key"}) {
    if (n.size() >= std::strlen(key) && n.compare(n.size() - std::strlen(key), std::string::npos, key) == 0) {
      return true;
    }
  }
  return false;
}

std::string MaskSecrets(std::string_view text) {
  std::string out(text);
  auto& s = Secrets();
  std::lock_guard lock(s.mu);
  for (const auto& secret : s.values) {
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), "***");
      pos += 3;
    }
  }
  return out;
}

}  // namespace nilus
