// relive/burst_port.hpp — burst logging for a whole host: a local log port any program can
// send to (`relive burst --listen ...`).
//
// The port receives log records over unix datagram and stream sockets, UDP and TCP on
// loopback (newline-, NUL- or RFC 6587 octet-count-framed), and puts them through one burst
// LineFilter (relive/burst_filter.hpp) with one buffer per sender — per connection, per
// datagram source (address, or the sending process for unix datagrams), or per the key the
// filter's key options name. Syslog (RFC 3164 and 5424; the level is the PRI's severity),
// JSON lines and the filter's other presets are understood. What the filter writes goes to
// stdout, a file (reopened on SIGHUP), or another syslog address.
//
// One thread, one epoll loop; no sender can stop or slow another: reads are non-blocking
// and bounded per wakeup, a record is at most `max_record` bytes (longer ones are cut and
// counted), a connection that never sends costs one fd.
//
// Example:
//   relive::burst::PortOptions port;
//   port.listen = {"unix:/run/app/log.sock", "udp:127.0.0.1:5140"};
//   return relive::burst::run_port(port, filter_options);   // until SIGINT/SIGTERM
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "relive/burst_filter.hpp"

namespace relive::burst {

struct PortOptions {
  // Addresses to receive on: "unix:PATH" (datagram, like /dev/log), "unix-stream:PATH",
  // "udp:HOST:PORT", "tcp:HOST:PORT" (HOST an IPv4 address or "localhost"), and "systemd"
  // for the sockets passed by socket activation (LISTEN_FDS; their types are read from the
  // sockets). A unix path is replaced if a socket is already there (a stale one from a
  // previous run), and removed at exit.
  std::vector<std::string> listen;
  // Where written lines go: "" or "-" for stdout, else a file path (appended to; reopened
  // on SIGHUP, for logrotate).
  std::string output;
  // Forward written lines to another syslog receiver instead: "udp:HOST:PORT",
  // "unix:PATH" (datagram) or "tcp:HOST:PORT" (newline-framed). One line, one message.
  std::string forward;
  // Longest record (datagram, frame or line) taken whole; longer ones are cut to this size
  // and counted as oversized.
  size_t max_record = 64 * 1024;
  // Most stream connections at once; more are closed at once and counted as refused.
  size_t max_connections = 1024;
  // Period of the stats line on stderr (every counter, every drop); 0: none (one line is
  // still printed at exit).
  std::chrono::milliseconds stats_every{0};
};

// Runs the port until SIGINT or SIGTERM (then writes what is buffered per
// FilterOptions::flush_at_end — stopped by a signal counts as End::failure — and returns
// 0). SIGUSR1 writes every buffer now; SIGHUP reopens the output file. Returns 2 with one
// line on stderr when an address cannot be parsed or bound, or the output opened.
// Blocks those signals in the calling thread (they are read through a signalfd).
int run_port(const PortOptions& port, FilterOptions filter);

}  // namespace relive::burst
