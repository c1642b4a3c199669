#include "relive/error.hpp"

#include <cstring>

namespace relive {

std::string errno_message(int err, std::string_view what) {
  char buf[256];
  // GNU strerror_r returns the message pointer (which may or may not be buf).
  const char* text = strerror_r(err, buf, sizeof buf);
  std::string out(what);
  out += ": ";
  out += text;
  return out;
}

Error errno_error(int err, std::string_view what) {
  ErrorKind kind = err == ENOENT                 ? ErrorKind::NotFound
                   : err == EACCES || err == EPERM ? ErrorKind::PermissionDenied
                                                   : ErrorKind::System;
  return Error{errno_message(err, what), kind, err};
}

}  // namespace relive
