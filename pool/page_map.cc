#include "pool/internal/page_map.h"

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace poolkit::internal {

// Zero-initialised (bss): untouched root pages cost no memory.
std::atomic<PageMap::Leaf*> PageMap::root_[PageMap::kRootEntries];

PageMap::Leaf* PageMap::LeafFor(std::uintptr_t granule) {
  std::atomic<Leaf*>& slot = root_[granule >> kLeafBits];
  Leaf* leaf = slot.load(std::memory_order_acquire);
  if (leaf != nullptr) return leaf;
  // mmap's pages are zero: every entry starts empty. Not malloc: the map
  // must not depend on the allocator poolkit may sit beside.
  void* fresh = mmap(nullptr, sizeof(Leaf), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (fresh == MAP_FAILED) return nullptr;
  // Release: a reader that finds the leaf sees its (zero) entries; acquire
  // on failure: we then use the winner's leaf.
  if (slot.compare_exchange_strong(leaf, static_cast<Leaf*>(fresh),
                                   std::memory_order_acq_rel,
                                   std::memory_order_acquire)) {
    return static_cast<Leaf*>(fresh);
  }
  munmap(fresh, sizeof(Leaf));
  return leaf;
}

bool PageMap::Insert(const void* start, std::size_t bytes, Pool* pool,
                     Span* span) {
  const std::uintptr_t first =
      reinterpret_cast<std::uintptr_t>(start) >> kGranuleShift;
  const std::uintptr_t end = first + (bytes >> kGranuleShift);
  if (end > (std::uintptr_t{1} << (kRootBits + kLeafBits))) return false;
  // Make every leaf first, so that a failure leaves nothing half-recorded.
  for (std::uintptr_t g = first; g < end; g = (g | (kLeafEntries - 1)) + 1) {
    if (LeafFor(g) == nullptr) return false;
  }
  for (std::uintptr_t g = first; g < end; ++g) {
    Entry& entry = *EntryAt(g);  // made above
    // Only the span's owner writes these entries (spans do not overlap).
    // Release: orders the span entry before the pool (PoolAt's acquire).
    entry.span.store(span, std::memory_order_relaxed);
    entry.pool.store(pool, std::memory_order_release);
  }
  return true;
}

void PageMap::Erase(const void* start, std::size_t bytes) {
  const std::uintptr_t first =
      reinterpret_cast<std::uintptr_t>(start) >> kGranuleShift;
  const std::uintptr_t end = first + (bytes >> kGranuleShift);
  for (std::uintptr_t g = first; g < end; ++g) {
    Entry& entry = *EntryAt(g);  // Insert() made it
    // Relaxed: a lookup racing with the span's release may see either
    // value; no object of the span is live, so no caller may rely on it.
    entry.pool.store(nullptr, std::memory_order_relaxed);
    entry.span.store(nullptr, std::memory_order_relaxed);
  }
}

}  // namespace poolkit::internal
