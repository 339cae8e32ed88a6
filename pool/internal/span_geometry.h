// How big a pool's spans are, for its object size.
#ifndef POOLKIT_POOL_INTERNAL_SPAN_GEOMETRY_H_
#define POOLKIT_POOL_INTERNAL_SPAN_GEOMETRY_H_

#include <cstddef>

namespace poolkit::internal {

struct SpanGeometry {
  std::size_t stride = 0;      // bytes from one object to the next in a row
  std::size_t span_bytes = 0;  // a multiple of PageMap::kGranule
  std::size_t objects = 0;     // per span, >= 1
  std::size_t alignment = 0;   // of each span's start
  // Objects are laid out in rows of `row_objects` at `stride`, one row
  // every `row_bytes` (the rest of a row is a gap of one cache line);
  // row_objects == objects when there are no gaps.
  std::size_t row_objects = 0;
  std::size_t row_bytes = 0;

  // Where object `index` starts, in bytes from the span's start.
  std::size_t OffsetOf(std::size_t index) const {
    if (row_objects == objects) return index * stride;  // no gaps
    return index / row_objects * row_bytes + index % row_objects * stride;
  }
  // The index of the object holding byte `offset` of the span, or `objects`
  // if the byte is in a gap or the tail.
  std::size_t IndexAt(std::size_t offset) const {
    const std::size_t row = offset / row_bytes;
    const std::size_t in_row = offset % row_bytes;
    if (in_row >= row_objects * stride) return objects;
    const std::size_t index = row * row_objects + in_row / stride;
    return index < objects ? index : objects;
  }
};

// The smallest span of whole 64 KiB granules (at least one object) whose
// unused bytes (tail, the cache-line pad of page-multiple strides from
// 8 KiB to 60 KiB, and the row gaps of strides that are multiples of
// 512 below 8 KiB: span_backing.cc) are at most 1/128 of it, searching up
// to 64 granules beyond the first that fits one object; failing that, the
// least waste found. Spans of 2 MiB and more are 2 MiB-aligned
// (transparent huge pages).
SpanGeometry ChooseSpanGeometry(std::size_t size, std::size_t alignment);

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_SPAN_GEOMETRY_H_
