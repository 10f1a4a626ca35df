// Status and Result<T>: how every layer reports a recoverable failure.
// A Status is ok or carries a code and a message a user can act on ("what failed, why, what to
// do"). Result<T> holds either a value or a non-ok Status. Debian 12's GCC has no std::expected,
// so this is ours: small, [[nodiscard]], no exceptions. Safe to copy between threads.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace mcpmem {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad input from the caller: fix the input
  kNotFound,            // the thing asked for does not exist
  kAlreadyExists,       // a duplicate (e.g. same content hash)
  kFailedPrecondition,  // the state does not allow it (e.g. DB made by another embedding model)
  kBusy,                // another writer held the database for longer than the timeout
  kIoError,             // disk, file or database failure
  kCorruption,          // a file or database is damaged
  kInternal,            // a bug: should never happen
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalid_argument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status already_exists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status failed_precondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status busy(std::string m) { return {StatusCode::kBusy, std::move(m)}; }
  static Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Adds context in front of the message: "storing memory: disk I/O error".
  Status with_context(const std::string& context) const {
    if (is_ok()) return *this;
    return {code_, context + ": " + message_};
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).is_ok() && "Result built from an ok Status has no value");
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }

  // The error; Status::ok() when the Result holds a value.
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

namespace detail {
inline Status status_of(const Status& s) { return s; }
template <typename T>
Status status_of(const Result<T>& r) {
  return r.status();
}
}  // namespace detail

// Returns early from a function returning Status or Result<U> when `expr` (a Status or a
// Result) is not ok.
#define MCP_RETURN_IF_ERROR(expr)                                              \
  do {                                                                         \
    auto&& _mcp_result = (expr);                                               \
    if (!_mcp_result.is_ok()) return ::mcpmem::detail::status_of(_mcp_result); \
  } while (0)

// Evaluates `expr` (a Result<T>); returns its Status from the enclosing function (returning
// Status or Result<U>) when not ok, else moves the value into `lhs`, which may declare a new
// variable or name an existing one:
//   MCP_ASSIGN_OR_RETURN(auto rows, db.list(options));
//   MCP_ASSIGN_OR_RETURN(existing, find(hash));
// It expands to several statements (it may declare `lhs` in the enclosing scope), so it cannot be
// the body of an unbraced if or loop. Each use has its own temporary, so many fit in one scope.
// `expr` may contain commas (template arguments); `lhs` may not (write `auto`).
#define MCP_ASSIGN_OR_RETURN(lhs, ...) \
  MCP_ASSIGN_OR_RETURN_IMPL_(MCP_STATUS_CONCAT_(_mcp_result_, __COUNTER__), lhs, __VA_ARGS__)

#define MCP_ASSIGN_OR_RETURN_IMPL_(result, lhs, ...) \
  auto result = (__VA_ARGS__);                       \
  if (!result.is_ok()) return result.status();       \
  lhs = std::move(result).value()

#define MCP_STATUS_CONCAT_(a, b) MCP_STATUS_CONCAT_INNER_(a, b)
#define MCP_STATUS_CONCAT_INNER_(a, b) a##b

}  // namespace mcpmem
