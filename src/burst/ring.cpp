// The front end's per-thread record ring (relive/burst.hpp, detail::Ring): the cold parts.
#include <algorithm>

#include "relive/burst.hpp"

namespace relive::burst::detail {

Ring::Ring(size_t bytes, size_t max_records)
    // At least room for a few records, so that any header-only record fits.
    : capacity_(std::max(round_up8(bytes), 4 * sizeof(RecordHeader))),
      max_records_(std::max<size_t>(1, max_records)) {
  data_ = std::make_unique<std::byte[]>(capacity_);
}

void Ring::wrap() {
  if (used_ == 0) {  // empty: just start over at the beginning, no padding needed
    head_ = tail_ = 0;
    return;
  }
  // The record would straddle the end of the storage: pad the rest so that it starts at 0.
  const size_t waste = capacity_ - head_;
  while (capacity_ - used_ < waste) pop_oldest();
  new (data_.get() + head_) RecordPrefix{static_cast<uint32_t>(waste), 0, 0, 0};
  used_ += waste;
  head_ = 0;
}

}  // namespace relive::burst::detail
