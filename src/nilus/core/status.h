#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace nilus {

/// What the caller should do about a failure.
enum class StatusCode {
  kOk,
  kInvalidInput,        ///< the user must fix the manifest, a flag or the data (exit 2)
  kUnavailable,         ///< retry this call: connection lost, timeout, busy
  kAborted,             ///< retry the transaction: serialization failure, deadlock
  kFailedPrecondition,  ///< the environment must be fixed: privileges, server settings
  kNotFound,
  kIOError,
  kCancelled,  ///< interrupted by SIGINT/SIGTERM (exit 130)
  kInternal,   ///< a bug in Nilus
};

std::string_view StatusCodeName(StatusCode code);

/// The outcome of an operation that can fail. Cheap to pass when OK.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return {}; }
  template <typename... Args>
  static Status InvalidInput(fmt::format_string<Args...> f, Args&&... args) {
    return {StatusCode::kInvalidInput, fmt::format(f, std::forward<Args>(args)...)};
  }
  template <typename... Args>
  static Status Unavailable(fmt::format_string<Args...> f, Args&&... args) {
    return {StatusCode::kUnavailable, fmt::format(f, std::forward<Args>(args)...)};
  }
  template <typename... Args>
  static Status Aborted(fmt::format_string<Args...> f, Args&&... args) {
    return {StatusCode::kAborted, fmt::format(f, std::forward<Args>(args)...)};
  }
  template <typename... Args>
  static Status FailedPrecondition(fmt::format_string<Args...> f, Args&&... args) {
    return {StatusCode::kFailedPrecondition, fmt::format(f, std::forward<Args>(args)...)};
  }
  template <typename... Args>
  static Status NotFound(fmt::format_string<Args...> f, Args&&... args) {
    return {StatusCode::kNotFound, fmt::format(f, std::forward<Args>(args)...)};
  }
  template <typename... Args>
  static Status IOError(fmt::format_string<Args...> f, Args&&... args) {
    return {StatusCode::kIOError, fmt::format(f, std::forward<Args>(args)...)};
  }
  template <typename... Args>
  static Status Cancelled(fmt::format_string<Args...> f, Args&&... args) {
    return {StatusCode::kCancelled, fmt::format(f, std::forward<Args>(args)...)};
  }
  template <typename... Args>
  static Status Internal(fmt::format_string<Args...> f, Args&&... args) {
    return {StatusCode::kInternal, fmt::format(f, std::forward<Args>(args)...)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  /// True for failures that a retry may cure (Unavailable, Aborted).
  bool IsTransient() const { return code_ == StatusCode::kUnavailable || code_ == StatusCode::kAborted; }

  /// Prefixes the message with where it happened: "loading raw.orders: <message>".
  Status WithContext(std::string_view context) const {
    if (ok()) return *this;
    return {code_, fmt::format("{}: {}", context, message_)};
  }

  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

/// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : value_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(value_); }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(value_); }

  T& operator*() & { return std::get<T>(value_); }
  const T& operator*() const& { return std::get<T>(value_); }
  T* operator->() { return &std::get<T>(value_); }
  const T* operator->() const { return &std::get<T>(value_); }
  T MoveValue() { return std::move(std::get<T>(value_)); }

 private:
  std::variant<T, Status> value_;
};

}  // namespace nilus

#define NILUS_CONCAT_IMPL(a, b) a##b
#define NILUS_CONCAT(a, b) NILUS_CONCAT_IMPL(a, b)

#define NILUS_RETURN_NOT_OK(expr)          \
  do {                                     \
    ::nilus::Status _nilus_st = (expr);    \
    if (!_nilus_st.ok()) return _nilus_st; \
  } while (false)

#define NILUS_ASSIGN_OR_RAISE_IMPL(result_name, lhs, rexpr) \
  auto result_name = (rexpr);                               \
  if (!result_name.ok()) return result_name.status();       \
  lhs = result_name.MoveValue()

#define NILUS_ASSIGN_OR_RAISE(lhs, rexpr) NILUS_ASSIGN_OR_RAISE_IMPL(NILUS_CONCAT(_nilus_result_, __LINE__), lhs, rexpr)

/// Checks an invariant of Nilus's own code (never user input); aborts when it is broken.
#define NILUS_DCHECK(cond)                                                   \
  do {                                                                       \
    if (!(cond)) ::nilus::internal::DcheckFailed(#cond, __FILE__, __LINE__); \
  } while (false)

namespace nilus::internal {
[[noreturn]] void DcheckFailed(const char* expr, const char* file, int line);
}
