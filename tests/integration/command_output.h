#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
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

/// DuckDB's answer to `sql` (test_formats.sh sets NILUS_DUCKDB_QUERY to its query script): rows
/// as lines, values separated by '|'.
inline std::string DuckDb(const std::string& sql) {
  const char* script = std::getenv("NILUS_DUCKDB_QUERY");
  if (!script) ADD_FAILURE() << "NILUS_DUCKDB_QUERY is not set: run tests/integration/test_formats.sh";
  std::string quoted = "'";
  for (char c : sql) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  return CommandOutput(std::string("node ") + (script ? script : "missing") + " " + quoted);
}

}  // namespace nilus
