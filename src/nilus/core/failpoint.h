#pragma once

#include <string_view>

namespace nilus {

/// Fault injection for the crash tests: when the environment variable NILUS_FAILPOINT names
/// `point`, the process kills itself there with SIGKILL, exactly as a crash or `kill -9` at that
/// moment would end it. Costs one comparison when the variable is not set.
void Failpoint(std::string_view point);

}  // namespace nilus
