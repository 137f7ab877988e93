#include "nilus/core/failpoint.h"

#include <csignal>
#include <cstdlib>
#include <string>

namespace nilus {

void Failpoint(std::string_view point) {
  static const std::string armed = [] {
    const char* v = std::getenv("NILUS_FAILPOINT");
    return std::string(v ? v : "");
  }();
  if (!armed.empty() && armed == point) std::raise(SIGKILL);
}

}  // namespace nilus
