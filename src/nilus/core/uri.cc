#include "nilus/core/uri.h"

#include <charconv>

#include "nilus/core/secrets.h"
#include "nilus/core/strings.h"

namespace nilus {

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [ptr, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && ptr == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

Result<Uri> Uri::Parse(std::string_view text) {
  Uri uri;
  uri.text_ = std::string(text);
  size_t colon = text.find("://");
  if (colon == std::string_view::npos || colon == 0) {
    return Status::InvalidInput("'{}' is not an address: expected scheme://…, e.g. sqlite:///out.db",
                                Excerpt(text, 60));
  }
  uri.scheme_ = ToLower(text.substr(0, colon));
  std::string_view rest = text.substr(colon + 3);

  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  uri.path_ = slash == std::string_view::npos ? "" : PercentDecode(rest.substr(slash));

  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t c = userinfo.find(':');
    uri.user_ = PercentDecode(userinfo.substr(0, c));
    if (c != std::string_view::npos) {
      uri.password_ = PercentDecode(userinfo.substr(c + 1));
      RegisterSecret(uri.password_);
      RegisterSecret(std::string(userinfo.substr(c + 1)));
    }
  }
  std::string_view host = authority;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:5432
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidInput("unclosed '[' in the host of {}", uri.Masked());
    host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() == ':') {
      authority.remove_prefix(1);
    }
    if (!authority.empty()) {
      auto [p, ec] = std::from_chars(authority.data(), authority.data() + authority.size(), uri.port_);
      if (ec != std::errc() || p != authority.data() + authority.size()) {
        return Status::InvalidInput("the port in {} is not a number", uri.Masked());
      }
    }
  } else if (size_t c = authority.rfind(':'); c != std::string_view::npos) {
    host = authority.substr(0, c);
    std::string_view port = authority.substr(c + 1);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), uri.port_);
    if (ec != std::errc() || p != port.data() + port.size() || uri.port_ <= 0 || uri.port_ > 65535) {
      return Status::InvalidInput("the port '{}' in {} is not a number from 1 to 65535", port, uri.Masked());
    }
  }
  uri.host_ = PercentDecode(host);

  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    std::string key = PercentDecode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
    if (!key.empty()) uri.query_.emplace_back(std::move(key), std::move(value));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return uri;
}

std::string Uri::Masked() const { return MaskSecrets(text_); }

}  // namespace nilus
