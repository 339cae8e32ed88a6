// Which span-backed pool owns an address: a two-level radix tree over the
// address space at 64 KiB granularity, read without locks.
//
// Every span (span_backing.h) is aligned to and a multiple of kGranule, so
// each granule belongs to at most one span, and one entry per granule says
// which pool and span. Leaves (1 MiB of virtual memory each, touched only
// where spans are) are made on first use and never freed, so a lookup never
// reads freed memory, whatever it races with. Addresses at or above
// 2^kAddressBits are never spans (PoolAt answers nullptr).
#ifndef POOLKIT_POOL_INTERNAL_PAGE_MAP_H_
#define POOLKIT_POOL_INTERNAL_PAGE_MAP_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace poolkit {
class Pool;
}  // namespace poolkit

namespace poolkit::internal {

struct Span;

class PageMap {
 public:
  static constexpr int kGranuleShift = 16;
  static constexpr std::size_t kGranule = std::size_t{1} << kGranuleShift;
  // x86-64 and arm64 user space without 5-level paging / 52-bit VAs.
  static constexpr int kAddressBits = 48;

  // The pool whose span covers `address`, or nullptr. Lock-free: two
  // dependent loads.
  static Pool* PoolAt(const void* address) {
    const Entry* entry = Find(address);
    // Acquire: pairs with Insert()'s release, so that a reader that sees
    // the pool also sees the span entry written before it.
    return entry != nullptr ? entry->pool.load(std::memory_order_acquire)
                            : nullptr;
  }
  // The span covering `address`, or nullptr (for the owning pool, which
  // holds a live object of the span, so the span cannot go away meanwhile).
  static Span* SpanAt(const void* address) {
    const Entry* entry = Find(address);
    return entry != nullptr ? entry->span.load(std::memory_order_acquire)
                            : nullptr;
  }

  // Records [start, start + bytes) (granule-aligned) as `span` of `pool`.
  // False if the range is outside the map or a leaf could not be mapped;
  // nothing is recorded then.
  static bool Insert(const void* start, std::size_t bytes, Pool* pool,
                     Span* span);
  // Forgets the range, before its memory goes back to the OS.
  static void Erase(const void* start, std::size_t bytes);

 private:
  static constexpr int kLeafBits = 16;
  static constexpr int kRootBits = kAddressBits - kGranuleShift - kLeafBits;
  static constexpr std::size_t kLeafEntries = std::size_t{1} << kLeafBits;
  static constexpr std::size_t kRootEntries = std::size_t{1} << kRootBits;

  struct Entry {
    std::atomic<Pool*> pool;
    std::atomic<Span*> span;
  };
  struct Leaf {
    Entry entries[kLeafEntries];
  };

  // The entry of a granule inside the map, or nullptr if its leaf was
  // never made. The one place that walks the tree: lookups, Insert() and
  // Erase() all come here.
  static Entry* EntryAt(std::uintptr_t granule) {
    // Acquire: pairs with the release that published the leaf (LeafFor).
    Leaf* leaf = root_[granule >> kLeafBits].load(std::memory_order_acquire);
    if (leaf == nullptr) return nullptr;
    return &leaf->entries[granule & (kLeafEntries - 1)];
  }
  static const Entry* Find(const void* address) {
    const std::uintptr_t granule =
        reinterpret_cast<std::uintptr_t>(address) >> kGranuleShift;
    if (granule >> (kRootBits + kLeafBits) != 0) return nullptr;
    return EntryAt(granule);
  }
  // The leaf for a granule number, made if missing; nullptr if mmap failed.
  static Leaf* LeafFor(std::uintptr_t granule);

  static std::atomic<Leaf*> root_[kRootEntries];
};

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_PAGE_MAP_H_
