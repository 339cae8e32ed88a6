#include "pool/internal/memory_cap.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "pool/registry.h"

namespace poolkit {
namespace {

// Relaxed throughout: these are counters that bound how much memory pools
// take; no data is published through them (the objects themselves are
// ordered by the backings and the shared caches).
std::atomic<std::size_t> g_held{0};
std::atomic<std::size_t> g_cap{0};

}  // namespace

namespace internal {

bool ChargeMemory(std::size_t unit, std::uint32_t* count) {
  const std::size_t cap = g_cap.load(std::memory_order_relaxed);
  if (cap == 0) {
    g_held.fetch_add(unit * *count, std::memory_order_relaxed);
    return true;
  }
  std::size_t held = g_held.load(std::memory_order_relaxed);
  for (;;) {
    const std::size_t room = held < cap ? (cap - held) / unit : 0;
    if (room == 0) return false;
    const std::uint32_t n =
        room < *count ? static_cast<std::uint32_t>(room) : *count;
    // A compare-and-swap, not an add: two threads near the cap must not
    // both pass it.
    if (g_held.compare_exchange_weak(held, held + unit * n,
                                     std::memory_order_relaxed)) {
      *count = n;
      return true;
    }
  }
}

void UnchargeMemory(std::size_t bytes) {
  g_held.fetch_sub(bytes, std::memory_order_relaxed);
}

}  // namespace internal

void SetMemoryCap(std::size_t bytes) {
  g_cap.store(bytes, std::memory_order_relaxed);
}

std::size_t MemoryCap() { return g_cap.load(std::memory_order_relaxed); }

std::size_t PoolMemoryBytes() { return g_held.load(std::memory_order_relaxed); }

}  // namespace poolkit
