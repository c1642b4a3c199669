// relive/internal/burst_record.hpp — how relive::burst::Logger captures a message without
// formatting it: the record layout, the per-thread ring of records, how each argument type
// is copied in and read back, and the format-string type behind burst::format_at. Not part
// of the API: it is installed only because Logger's templates (relive/burst.hpp) expand it
// in the caller's code; nothing outside relive includes it directly, and it may change in
// any release. The cold parts are in src/burst (ring.cpp, logger.cpp).
#pragma once

#include <fmt/core.h>
#include <time.h>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "relive/burst_location.hpp"

namespace relive::burst::detail {

// Formats one captured record: reads the arguments back from `args` and writes the text.
using FormatFn = void (*)(fmt::string_view format, const std::byte* args, fmt::appender out);

// The start of every entry in a Ring: a record, or padding that skips to the ring's start
// (padding may be as short as 8 bytes, hence this prefix is all that is read first).
struct RecordPrefix {
  uint32_t size;      // bytes of the entry, a multiple of 8
  uint8_t is_record;  // 0: padding
  uint8_t level;
  uint16_t unused;
};

// One buffered message, followed by its captured arguments. Records are 8-byte aligned.
struct RecordHeader {
  RecordPrefix prefix;
  FormatFn format_fn;
  const char* format_data;  // the format string is a compile-time string: static storage
  const char* file;         // the source location, from __builtin_FILE etc.
  const char* function;
  uint32_t format_size;
  int32_t line;
  int64_t time_ns;  // coarse real time, ns since the epoch
};
static_assert(sizeof(RecordHeader) % 8 == 0);

constexpr size_t round_up8(size_t n) { return (n + 7) & ~size_t{7}; }

// A FIFO of variable-size records in preallocated storage, bounded by bytes and by count.
// Allocating a record evicts the oldest ones until the new one fits. One thread only.
// The bytes each record took are also kept in a small side array, so that evicting the
// oldest record (once per message when full) never reads the far end of the storage.
class Ring {
 public:
  Ring(size_t bytes, size_t max_records);
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  size_t capacity() const { return capacity_; }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  void clear() { head_ = tail_ = used_ = first_ = count_ = 0; }

  // Room for a record of `bytes` (a multiple of 8, at most capacity()).
  std::byte* allocate(size_t bytes) {
    if (count_ == max_records_) pop_oldest();
    // A record never straddles the end of the storage: the rest of it becomes padding.
    size_t padding = head_ + bytes > capacity_ ? capacity_ - head_ : 0;
    while (capacity_ - used_ < padding + bytes) {
      if (count_ == 0) [[unlikely]] {  // empty: start over at the beginning, no padding
        head_ = tail_ = used_ = first_ = 0;
        padding = 0;
        break;
      }
      pop_oldest();
    }
    if (padding != 0) [[unlikely]] {
      new (data_.get() + head_) RecordPrefix{static_cast<uint32_t>(padding), 0, 0, 0};
      head_ = 0;
    }
    std::byte* p = data_.get() + head_;
    head_ += bytes;
    if (head_ == capacity_) head_ = 0;
    used_ += padding + bytes;
    size_t last = first_ + count_;
    if (last >= max_records_) last -= max_records_;
    taken_[last] = static_cast<uint32_t>(padding + bytes);
    ++count_;
    return p;
  }

  // Calls f(const RecordHeader&) for each record, oldest first.
  template <class F>
  void for_each(F&& f) const {
    size_t pos = tail_;
    for (size_t left = used_; left > 0;) {
      const auto* p = std::launder(reinterpret_cast<const RecordPrefix*>(data_.get() + pos));
      if (p->is_record) f(*std::launder(reinterpret_cast<const RecordHeader*>(data_.get() + pos)));
      left -= p->size;
      pos += p->size;
      if (pos == capacity_) pos = 0;
    }
  }

 private:
  void pop_oldest() {  // precondition: count_ > 0
    const size_t taken = taken_[first_];
    tail_ += taken;
    if (tail_ >= capacity_) tail_ -= capacity_;
    used_ -= taken;
    if (++first_ == max_records_) first_ = 0;
    --count_;
  }

  std::unique_ptr<std::byte[]> data_;
  std::unique_ptr<uint32_t[]> taken_;  // per record, oldest at first_: its bytes + padding before it
  size_t capacity_;
  size_t max_records_;
  size_t head_ = 0;   // where the next record goes
  size_t tail_ = 0;   // the oldest record, or the padding before it
  size_t used_ = 0;   // bytes between tail_ and head_, padding included
  size_t first_ = 0;  // index of the oldest record in taken_
  size_t count_ = 0;  // records
};

// What the hot path needs of a thread's state for one Logger (the rest is in the .cpp).
struct ThreadState {
  Ring* active;  // the innermost scope's buffer, or the thread's own
};

// The last Logger the thread used and its state there: one compare on the hot path.
struct ThreadCache {
  uint64_t logger_id = 0;
  ThreadState* state = nullptr;
};
inline constinit thread_local ThreadCache thread_cache{};

inline int64_t coarse_now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// How one argument type is captured (copied into the record) and read back.
template <class T>
struct Capture {
  static_assert(std::is_trivially_copyable_v<T>,
                "relive::burst: a buffered argument must be a string or trivially copyable "
                "(it is copied, not referenced); pass fmt::to_string(value) instead");
  using Stored = T;
  static size_t size(const T&) { return sizeof(T); }
  static std::byte* write(std::byte* p, const T& value) {
    std::memcpy(p, &value, sizeof(T));
    return p + sizeof(T);
  }
  static T read(const std::byte*& p) {
    std::array<std::byte, sizeof(T)> bytes;
    std::memcpy(bytes.data(), p, sizeof(T));
    p += sizeof(T);
    return std::bit_cast<T>(bytes);
  }
};

// Strings are copied into the record: a 4-byte length, then the bytes.
struct StringCapture {
  using Stored = std::string_view;
  static size_t size(std::string_view s) { return sizeof(uint32_t) + s.size(); }
  static std::byte* write(std::byte* p, std::string_view s) {
    const auto n = static_cast<uint32_t>(s.size());
    std::memcpy(p, &n, sizeof n);
    std::memcpy(p + sizeof n, s.data(), s.size());
    return p + sizeof n + s.size();
  }
  static std::string_view read(const std::byte*& p) {
    uint32_t n;
    std::memcpy(&n, p, sizeof n);
    std::string_view s(reinterpret_cast<const char*>(p + sizeof n), n);
    p += sizeof n + n;
    return s;
  }
};
// A null C string would make fmt throw when written; it is captured as "(null)".
inline std::string_view c_string_view(const char* s) { return s ? std::string_view(s) : "(null)"; }
struct CStringCapture : StringCapture {
  static size_t size(const char* s) { return StringCapture::size(c_string_view(s)); }
  static std::byte* write(std::byte* p, const char* s) { return StringCapture::write(p, c_string_view(s)); }
  using StringCapture::read;
};
template <> struct Capture<std::string> : StringCapture {};
template <> struct Capture<std::string_view> : StringCapture {};
template <> struct Capture<fmt::string_view> : StringCapture {
  static size_t size(fmt::string_view s) { return StringCapture::size({s.data(), s.size()}); }
  static std::byte* write(std::byte* p, fmt::string_view s) { return StringCapture::write(p, {s.data(), s.size()}); }
  using StringCapture::read;
};
template <> struct Capture<const char*> : CStringCapture {};
template <> struct Capture<char*> : CStringCapture {};

template <class T>
using CaptureOf = Capture<std::decay_t<T>>;

template <class... Captures>
void format_record(fmt::string_view format, const std::byte* args, fmt::appender out) {
  const std::byte* p = args;
  // Braced initialisation reads the arguments back left to right, in capture order.
  std::tuple<typename Captures::Stored...> values{Captures::read(p)...};
  (void)p;
  std::apply([&](const auto&... v) { fmt::vformat_to(out, format, fmt::make_format_args(v...)); },
             values);
}

// A compile-time checked format string with the caller's source location.
template <class... Args>
struct FormatAt {
  template <class S>
    requires std::is_convertible_v<const S&, fmt::string_view>
  consteval FormatAt(const S& s, const char* file = __builtin_FILE(),  // NOLINT: implicit by design
                     const char* function = __builtin_FUNCTION(), int line = __builtin_LINE())
      : format(s), location{file, function, line} {}
  fmt::format_string<Args...> format;
  SourceLocation location;
};

}  // namespace relive::burst::detail
