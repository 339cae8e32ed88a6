// How big a pool's spans are, for its object size.
#ifndef POOLKIT_POOL_INTERNAL_SPAN_GEOMETRY_H_
#define POOLKIT_POOL_INTERNAL_SPAN_GEOMETRY_H_

#include <cstddef>

namespace poolkit::internal {

struct SpanGeometry {
  std::size_t stride = 0;      // bytes from one object to the next
  std::size_t span_bytes = 0;  // a multiple of PageMap::kGranule
  std::size_t objects = 0;     // per span, >= 1
  std::size_t alignment = 0;   // of each span's start
};

// The smallest span of whole 64 KiB granules (at least one object) whose
// unused bytes (tail, and the cache-line pad of page-multiple strides from
// 8 KiB to 60 KiB: span_backing.cc) are at most 1/128 of it, searching up
// to 64 granules beyond the first that fits one object; failing that, the
// least waste found. Spans of 2 MiB and more are 2 MiB-aligned
// (transparent huge pages).
SpanGeometry ChooseSpanGeometry(std::size_t size, std::size_t alignment);

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_SPAN_GEOMETRY_H_
