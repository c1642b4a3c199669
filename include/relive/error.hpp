// relive/error.hpp — how every relive part reports a recoverable failure.
//
// docs/architecture.md: a recoverable failure (a bad config file, a failed build, a dead server) is a
// value returned to the caller, carrying a message a user can act on — file, line, key and
// reason — never "parse error". Programming errors still fail loudly (assert/throw).
//
// Example:
//   relive::Result<int> parse_port(std::string_view s);
//   auto port = parse_port(arg);
//   if (!port) { fmt::print(stderr, "relive: {}\n", port.error().message); return 2; }
//   use(*port);
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace relive {

// What kind of failure an Error is, for callers that act on it (an exit status, a retry)
// without parsing the message text.
enum class ErrorKind {
  Other,             // anything not below; `message` says what
  InvalidInput,      // a bad argument, option, spec or file content
  NotFound,          // a program, file or interpreter that does not exist
  PermissionDenied,  // it exists but may not be run/read (EACCES, EPERM)
  System,            // a system call failed for another reason; `err` holds errno
};

// A failure a user can act on. `message` is one line, already naming where the problem
// is ("app.yaml:12:9: db.timeout: expected a duration, got \"fast\""). `kind` and `err`
// (the errno behind it, 0 if none) are for code; `message` is for people.
struct Error {
  std::string message;
  ErrorKind kind = ErrorKind::Other;
  int err = 0;
};

// "what: strerror(err)", e.g. "inotify_add_watch /src/a: No space left on device".
// Thread-safe (uses strerror_r).
std::string errno_message(int err, std::string_view what);

// errno_message(err, what) as an Error of the kind that errno means (ENOENT: NotFound,
// EACCES/EPERM: PermissionDenied, else System), with `err` set.
Error errno_error(int err, std::string_view what);

// Shorthand for errno_error(errno, what).
inline Error errno_error(std::string_view what) { return errno_error(errno, what); }

// Either a T or an Error. Deliberately small: test with `if (r)`, read with `*r`/`r->`,
// and `r.error()` only when `!r`. Reading the wrong side is a programming error (throws
// std::bad_variant_access).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT: implicit by design

  explicit operator bool() const noexcept { return v_.index() == 0; }
  bool ok() const noexcept { return v_.index() == 0; }

  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// A Result with nothing to return on success.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT: implicit
  explicit operator bool() const noexcept { return !failed_; }
  bool ok() const noexcept { return !failed_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

}  // namespace relive
