// Framing a stream connection of the burst port (port_framer.hpp).
#include "port_framer.hpp"

#include <algorithm>
#include <cstring>

namespace relive::burst::port_internal {

namespace {

// The first '\n' or '\0' in [p, end), or end.
const char* find_terminator(const char* p, const char* end) {
  const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
  const char* stop = nl == nullptr ? end : nl;
  const char* nul = static_cast<const char*>(std::memchr(p, '\0', static_cast<size_t>(stop - p)));
  return nul == nullptr ? stop : nul;
}

}  // namespace

void StreamFramer::feed(std::string_view bytes, FrameSink& sink) {
  if (bytes.empty()) return;
  if (mode_ == Mode::unknown) mode_ = (bytes[0] >= '0' && bytes[0] <= '9') ? Mode::octets : Mode::lines;
  if (mode_ == Mode::octets) {
    feed_octets(bytes, sink);
  } else {
    feed_lines(bytes, sink);
  }
}

void StreamFramer::feed_lines(std::string_view bytes, FrameSink& sink) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (p < end) {
    const char* t = find_terminator(p, end);
    const bool complete = t < end;
    if (skipping_) {
      if (complete) skipping_ = false;
      p = complete ? t + 1 : end;
      continue;
    }
    const size_t room = max_record_ - std::min(max_record_, pending_.size());
    const size_t n = static_cast<size_t>(t - p);
    if (n > room) {  // over-long: hand on what fits, skip to its end
      pending_.append(p, room);
      pending_.push_back('\n');
      sink.line(pending_);
      pending_.clear();
      ++oversized_;
      skipping_ = !complete;
      p = complete ? t + 1 : end;
      continue;
    }
    if (!complete) {
      pending_.append(p, n);
      break;
    }
    if (pending_.empty() && *t == '\n') {
      sink.line(std::string_view(p, n + 1));  // the common case: no copy
    } else {
      pending_.append(p, n);
      pending_.push_back('\n');
      sink.line(pending_);
      pending_.clear();
    }
    p = t + 1;
  }
}

void StreamFramer::feed_octets(std::string_view bytes, FrameSink& sink) {
  size_t i = 0;
  while (i < bytes.size()) {
    if (skip_left_ > 0) {
      const size_t n = std::min(skip_left_, bytes.size() - i);
      skip_left_ -= n;
      i += n;
      continue;
    }
    if (frame_left_ == 0) {  // reading "LEN SP" into pending_
      const char c = bytes[i];
      if (c >= '0' && c <= '9' && pending_.size() < 9) {
        pending_.push_back(c);
        ++i;
        continue;
      }
      if (c == ' ' && !pending_.empty()) {
        const size_t length = std::stoul(pending_);
        pending_.clear();
        ++i;
        if (length == 0) continue;
        frame_left_ = std::min(length, max_record_);
        skip_after_ = length - frame_left_;  // an over-long frame: its head is kept
        if (skip_after_ > 0) ++oversized_;
        continue;
      }
      // Not a count: the sender does not frame this way after all.
      ++malformed_;
      mode_ = Mode::lines;
      std::string taken = std::move(pending_);
      pending_.clear();
      feed_lines(taken, sink);
      feed_lines(bytes.substr(i), sink);
      return;
    }
    const size_t n = std::min(frame_left_, bytes.size() - i);
    if (pending_.empty() && n == frame_left_) {
      sink.frame(bytes.substr(i, n));  // whole in this read: no copy
    } else {
      pending_.append(bytes.data() + i, n);
      if (n == frame_left_) {
        sink.frame(pending_);
        pending_.clear();
      }
    }
    frame_left_ -= n;
    i += n;
    if (frame_left_ == 0) {
      skip_left_ = skip_after_;
      skip_after_ = 0;
    }
  }
}

void StreamFramer::finish(FrameSink& sink) {
  if (mode_ == Mode::lines && !pending_.empty() && !skipping_) {
    pending_.push_back('\n');
    sink.line(pending_);
  } else if (mode_ == Mode::octets && frame_left_ > 0 && !pending_.empty()) {
    sink.frame(pending_);  // a frame cut short by the sender's end: what came
  }
  pending_.clear();
  skipping_ = false;
  frame_left_ = skip_left_ = skip_after_ = 0;
}

RecordCheck check_record(std::string& record) {
  RecordCheck check;
  for (char& c : record) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t' && c != '\n') || u == 0x7f) {
      if (c == '\r') continue;  // CRLF senders: harmless, the presets accept it
      c = '?';
      check.binary = true;
    }
  }
  if (!record.empty() && record[0] == '<') {
    size_t i = 1;
    int pri = 0;
    while (i < record.size() && i < 5 && record[i] >= '0' && record[i] <= '9') pri = pri * 10 + (record[i++] - '0');
    check.malformed = i == 1 || i >= record.size() || record[i] != '>' || pri > 191;
  }
  return check;
}

}  // namespace relive::burst::port_internal
