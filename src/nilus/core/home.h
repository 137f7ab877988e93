#pragma once

#include <string>

namespace nilus {

/// `$NILUS_HOME`, or ~/.nilus: where the local state store and the depot file live.
std::string NilusHome();

}  // namespace nilus
