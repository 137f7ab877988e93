#include "nilus/normalize/name_map.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace nilus {

namespace {

/// Source names are shown with their nesting path joined by dots.
std::string Display(std::string_view source) {
  std::string out(source);
  for (char& c : out) {
    if (c == '\x1f') c = '.';
  }
  return out;
}

}  // namespace

void NameMap::Restore(const std::string& source, const std::string& dest) {
  names_[source] = dest;
  taken_.insert(dest);
}

const std::string& NameMap::Resolve(const Request& request) {
  const std::string& source = request.source;
  const std::string& wanted = request.wanted;
  if (auto it = names_.find(source); it != names_.end()) return it->second;
  std::string dest = wanted;
  for (int n = 2; taken_.count(dest); ++n) {
    std::string suffix = fmt::format("_{}", n);
    dest = ShortenIdentifier(wanted, kMaxIdentifierLength - suffix.size()) + suffix;
  }
  taken_.insert(dest);
  if (dest != request.plain) spdlog::warn("{} '{}' is stored as '{}'", what_, Display(source), dest);
  return names_.emplace(source, std::move(dest)).first->second;
}

std::vector<std::string> NameMap::ResolveAll(const std::vector<Request>& requests) {
  for (const auto& r : requests) {
    if (r.wanted == r.plain) Resolve(r);
  }
  std::vector<std::string> out;
  out.reserve(requests.size());
  for (const auto& r : requests) out.push_back(Resolve(r));
  return out;
}

}  // namespace nilus
