#include "nilus/core/status.h"

#include <cstdio>
#include <cstdlib>

namespace nilus {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidInput:
      return "invalid input";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kAborted:
      return "aborted";
    case StatusCode::kFailedPrecondition:
      return "failed precondition";
    case StatusCode::kNotFound:
      return "not found";
    case StatusCode::kIOError:
      return "I/O error";
    case StatusCode::kCancelled:
      return "cancelled";
    case StatusCode::kInternal:
      return "internal error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return fmt::format("{}: {}", StatusCodeName(code_), message_);
}

namespace internal {
void DcheckFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "nilus: internal invariant broken: %s at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace internal

}  // namespace nilus
