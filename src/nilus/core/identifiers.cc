#include "nilus/core/identifiers.h"

#include <fmt/format.h>
#include <openssl/evp.h>

namespace nilus {

namespace {

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string NormalizeIdentifier(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 4);
  auto underscore = [&] {
    if (out.empty() || out.back() != '_') out += '_';
  };
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (IsUpper(c)) {
      char prev = i > 0 ? name[i - 1] : '\0';
      char next = i + 1 < name.size() ? name[i + 1] : '\0';
      // fooBar -> foo_bar, HTTPServer -> http_server, v2Api -> v2_api
      if (IsLower(prev) || IsDigit(prev) || (IsUpper(prev) && IsLower(next))) underscore();
      out += static_cast<char>(c - 'A' + 'a');
    } else if (IsLower(c) || IsDigit(c)) {
      out += c;
    } else {
      // '_', punctuation, spaces and every byte of a non-ASCII character.
      underscore();
      // Skip the continuation bytes of a multi-byte UTF-8 character.
      if (static_cast<unsigned char>(c) >= 0x80) {
        while (i + 1 < name.size() && (static_cast<unsigned char>(name[i + 1]) & 0xC0) == 0x80) ++i;
      }
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (!name.empty() && name[0] != '_' && !out.empty() && out[0] == '_') out.erase(0, 1);
  if (out.empty()) out = name.empty() || name[0] != '_' ? "unnamed" : "_";
  if (IsDigit(out[0])) out.insert(0, "_");
  return ShortenIdentifier(out);
}

std::string NormalizeColumnName(std::string_view name) {
  std::string out;
  while (true) {
    size_t sep = name.find(kNestingSeparator);
    std::string part = NormalizeIdentifier(name.substr(0, sep));
    out = out.empty() ? part : NestedName(out, part);
    if (sep == std::string_view::npos) break;
    name.remove_prefix(sep + kNestingSeparator.size());
  }
  return out;
}

std::string ShortenIdentifier(std::string_view name, size_t max_length) {
  if (name.size() <= max_length) return std::string(name);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(name.data(), name.size(), digest, &n, EVP_sha256(), nullptr);
  std::string tag = fmt::format("_{:02x}{:02x}{:02x}{:02x}", digest[0], digest[1], digest[2], digest[3]);
  std::string head(name.substr(0, max_length - tag.size()));
  while (!head.empty() && head.back() == '_') head.pop_back();
  return head + tag;
}

std::string NestedName(std::string_view parent, std::string_view child) {
  std::string name(parent);
  name += kNestingSeparator;
  name += child;
  return ShortenIdentifier(name);
}

}  // namespace nilus
