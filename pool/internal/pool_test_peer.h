// What tests reach inside a pool: switches that take a production pool's
// safety away, and views that are exact only while nothing else runs. Kept
// out of the public Pool class so that no user switches them by accident;
// only targets in this library's test visibility may depend on it
// (//pool:test_peer).
#ifndef POOLKIT_POOL_INTERNAL_POOL_TEST_PEER_H_
#define POOLKIT_POOL_INTERNAL_POOL_TEST_PEER_H_

#include <cstddef>
#include <cstdint>

#include "pool/internal/registry.h"
#include "pool/internal/release_clock.h"
#include "pool/internal/shared_cache.h"
#include "pool/internal/stack_words.h"
#include "pool/internal/thread_cache.h"
#include "pool/pool.h"

namespace poolkit::internal {

struct PoolTestPeer {
  // The seed-003 race made reproducible: a callback in the dwcas and xchg
  // strategies' pop, between taking the head and reading its link (see
  // dwcas_stack.h); no effect on other strategies.
  static void SetPopHook(Pool& pool, PopHook hook, void* arg) {
    pool.shared_->SetPopHookForTesting(hook, arg);
  }
  // false: the dwcas strategy runs without its flush lock (seed 001: pops
  // do not take it, releases to the OS do not wait for pops).
  static void SetDwcasFlushLock(Pool& pool, bool enabled) {
    pool.shared_->SetFlushLockForTesting(enabled);
  }
  // false: every object leaving a thread cache goes to the OS at once, as
  // if the pool kept no spares.
  static void SetKeepSpares(Pool& pool, bool enabled) {
    pool.keep_spares_ = enabled;
  }
  // Objects in the shared cache, found by walking it. Exact only while no
  // other thread uses the pool.
  static std::size_t CountShared(const Pool& pool) {
    return static_cast<std::size_t>(pool.shared_->CountByWalkingForTesting());
  }
  // Runs the release rule now, as if its interval had just ended.
  static void RunReleaseRule(Pool& pool) { pool.ReleaseSpares(0); }

  // What an eviction does that saw the pool alive just before another
  // thread destroyed it: the calling thread's cached objects of `pool` go
  // to its shared cache, without looking at whether the pool is dead.
  static void EvictCacheIgnoringDeath(Pool& pool) {
    LocalHead& head = tls_local_heads[pool.slot_];
    const std::uint32_t count = LoadCount(head);
    if (count == 0) return;
    FreeItem* run = head.first;
    head.first = nullptr;
    StoreCount(head, 0);
    tls_cache_bytes_left += static_cast<std::int64_t>(count) *
                            pool.charge_.load(std::memory_order_relaxed);
    SetClusterCount(run, count);
    pool.shared_->Push(0, run, count);
  }
  // A pool's slot, and the pool that holds a slot (live, or destroyed and
  // not yet freed; nullptr for a free slot).
  static std::uint32_t SlotOf(const Pool& pool) { return pool.slot_; }
  static const Pool* AtSlot(std::uint32_t slot) {
    return Registry::Global().AtSlot(slot);
  }
};

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_POOL_TEST_PEER_H_
