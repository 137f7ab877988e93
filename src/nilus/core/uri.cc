#include "nilus/core/uri.h"

#include <algorithm>
#include <cctype>
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
    if (IsSecretName(key)) {
      RegisterSecret(value);
      RegisterSecret(std::string(pair.substr(eq == std::string_view::npos ? pair.size() : eq + 1)));
    }
    if (!key.empty()) uri.query_.emplace_back(std::move(key), std::move(value));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return uri;
}

namespace {

bool IsPlaceholder(std::string_view s) {
  if (s.size() < 3 || s.front() != '{' || s.back() != '}') return false;
  return std::all_of(s.begin() + 1, s.end() - 1,
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

}  // namespace

std::string Uri::Masked() const {
  // The password by its place, whatever its length (MaskSecrets spares values under 3
  // characters, which would mask ordinary words), then every registered secret.
  std::string out = text_;
  size_t start = out.find("://");
  if (start != std::string::npos) {
    start += 3;
    size_t end = out.find_first_of("/?#", start);
    size_t at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
    size_t colon = out.find(':', start);
    if (at != std::string::npos && at >= start && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  return MaskSecrets(out);
}

std::string AddressWithoutPassword(std::string_view address) {
  std::string out(address);
  size_t start = out.find("://");
  if (start == std::string::npos) return out;
  start += 3;
  size_t end = out.find_first_of("/?#", start);
  size_t at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at != std::string::npos && at >= start) {
    size_t colon = out.find(':', start);
    if (colon < at && !IsPlaceholder(std::string_view(out).substr(colon + 1, at - colon - 1)))
      out.erase(colon, at - colon);
  }
  // Query parameters whose name says they hold a secret.
  size_t query = out.find('?');
  while (query != std::string::npos && query < out.size()) {
    size_t begin = query + 1;
    size_t amp = out.find('&', begin);
    size_t stop = amp == std::string::npos ? out.size() : amp;
    size_t eq = out.find('=', begin);
    if (eq < stop && IsSecretName(std::string_view(out).substr(begin, eq - begin)) &&
        !IsPlaceholder(std::string_view(out).substr(eq + 1, stop - eq - 1))) {
      out.erase(eq + 1, stop - eq - 1);
      stop = eq + 1;
    }
    query = stop < out.size() ? stop : std::string::npos;
  }
  return out;
}

}  // namespace nilus
