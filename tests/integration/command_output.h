#pragma once

#include <cstdio>
#include <string>

namespace nilus {

/// What the shell command `cmd` prints (stdout and stderr).
inline std::string CommandOutput(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return "cannot run: " + cmd;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

}  // namespace nilus
