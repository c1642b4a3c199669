// The front end's per-thread record ring (relive/internal/burst_record.hpp, detail::Ring):
// the cold parts.
#include <algorithm>

#include "relive/internal/burst_record.hpp"

namespace relive::burst::detail {

Ring::Ring(size_t bytes, size_t max_records)
    // At least room for a few records, so that any header-only record fits.
    : data_(),
      taken_(),
      capacity_(std::max(round_up8(bytes), 4 * sizeof(RecordHeader))),
      max_records_(std::max<size_t>(1, max_records)) {
  data_ = std::make_unique<std::byte[]>(capacity_);
  taken_ = std::make_unique<uint32_t[]>(max_records_);
}

}  // namespace relive::burst::detail
