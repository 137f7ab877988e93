#include "nilus/core/home.h"

#include <cstdlib>

namespace nilus {

std::string NilusHome() {
  if (const char* home = std::getenv("NILUS_HOME"); home && *home) return home;
  const char* user_home = std::getenv("HOME");
  return std::string(user_home && *user_home ? user_home : ".") + "/.nilus";
}

}  // namespace nilus
