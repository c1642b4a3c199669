// Internal to the burst port (relive/burst_port.hpp): cutting a stream connection's bytes
// into records, and checking one record before the filter sees it. Unit-tested in
// tests/burst/test_port_framer.cpp.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace relive::burst::port_internal {

// Receives what a StreamFramer cuts.
class FrameSink {
 public:
  // One line of a newline/NUL-framed stream, ending with '\n' (a NUL terminator becomes
  // '\n'); consecutive lines of one sender may continue one record (a traceback).
  virtual void line(std::string_view line) = 0;
  // One RFC 6587 octet-counted frame: a whole record (it may hold several lines).
  virtual void frame(std::string_view frame) = 0;

 protected:
  ~FrameSink() = default;
};

// Frames one stream connection. The first byte decides the framing for the connection:
// a digit means RFC 6587 octet counting ("LEN SP MSG"), anything else lines ended by '\n'
// or '\0' (RFC 6587 non-transparent framing, as logger(1) and rsyslog send; Python's
// SysLogHandler ends each message with '\0'). A record longer than `max_record` is cut to
// it (the rest up to the end of the record is skipped) and counted. A malformed count
// turns the connection to line framing. Memory: at most max_record bytes held.
class StreamFramer {
 public:
  explicit StreamFramer(size_t max_record) : max_record_(max_record) {}
  void feed(std::string_view bytes, FrameSink& sink);
  // End of the connection: a partial last line is handed on (with '\n' added).
  void finish(FrameSink& sink);
  size_t oversized() const { return oversized_; }
  size_t malformed() const { return malformed_; }

 private:
  void feed_lines(std::string_view bytes, FrameSink& sink);
  void feed_octets(std::string_view bytes, FrameSink& sink);

  enum class Mode : unsigned char { unknown, lines, octets };
  size_t max_record_;
  Mode mode_ = Mode::unknown;
  std::string pending_;   // a partial line, or a frame's bytes so far
  bool skipping_ = false;  // lines: inside an over-long line's rest
  size_t frame_left_ = 0;  // octets: bytes of the current frame still to come (0: reading a count)
  size_t skip_after_ = 0;  // octets: bytes of an over-long frame to skip after its head
  size_t skip_left_ = 0;   // octets: of those, still to skip
  size_t oversized_ = 0;
  size_t malformed_ = 0;
};

// What a record is, as the port counts it. Replaces bytes that would garble the output
// (control characters other than tab and newline, DEL) with '?', in place.
struct RecordCheck {
  bool binary = false;     // had such bytes
  bool malformed = false;  // starts like syslog ('<') without a valid <PRI> (0-191)
};
RecordCheck check_record(std::string& record);

}  // namespace relive::burst::port_internal
