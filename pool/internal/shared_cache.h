// The shared cache behind a pool's thread caches: clusters of free objects,
// in one stack per bucket (threads are spread over the buckets, so that
// threads on different CPUs rarely meet on one stack). How the stacks are
// synchronised is the strategy; each is a type implementing this interface,
// chosen once when the pool is made (MakeSharedCache).
//
// A cluster is a run of free objects linked by `next` and null-terminated;
// `next_cluster` of its first object links the clusters of a stack (see
// FreeItem). Objects leave a shared cache only as whole clusters.
#ifndef POOLKIT_POOL_INTERNAL_SHARED_CACHE_H_
#define POOLKIT_POOL_INTERNAL_SHARED_CACHE_H_

#include <cstdint>
#include <memory>

#include "arch/cxx17_required.h"
#include "pool/internal/free_item.h"
#include "pool/internal/stack_words.h"
#include "pool/pool_options.h"

namespace poolkit::internal {

class SharedCache {
 public:
  virtual ~SharedCache() = default;

  // Keeps a cluster of `objects` objects in bucket `bucket` (masked). False
  // if this cache keeps nothing (strategy kNone): the caller releases it.
  virtual bool Push(std::uint32_t bucket, FreeItem* cluster,
                    std::uint32_t objects) = 0;
  // A whole cluster from bucket `home`, or failing that from another
  // bucket; nullptr if every bucket looked empty. The cache's counts
  // (Objects(), TakeLowWater()) follow every Push(), Pop() and PopAll().
  virtual FreeItem* Pop(std::uint32_t home) = 0;
  // Every cluster of one bucket, linked by next_cluster.
  virtual FreeItem* PopAll(std::uint32_t bucket) = 0;

  // Before objects that were ever in this cache go back to the OS: waits
  // until no pop can still read a link inside them. Once per batch of
  // releases is enough: pops that start later cannot reach objects that
  // are no longer in the cache.
  virtual void ReleaseBarrier() = 0;

  // Objects in the cache, summed over the buckets (exact while no other
  // thread moves objects).
  virtual std::int64_t Objects() const = 0;
  // The fewest objects each bucket held since the previous call, summed:
  // objects that sat unused for the whole interval. Starts a new interval.
  virtual std::int64_t TakeLowWater() = 0;

  virtual std::uint32_t buckets() const = 0;

  // fork(): takes every lock of the cache (the registry's pthread_atfork
  // handlers call it before fork(), and UnlockAfterFork() in the parent and
  // the child), so that the child has no lock held by a thread it lacks.
  virtual void LockForFork() = 0;
  virtual void UnlockAfterFork() = 0;

  // Test hooks (pool/internal/pool_test_peer.h): the objects found by
  // walking the cache (exact only while no other thread uses it), the
  // seed-003 pop hook and the dwcas flush-lock switch (no effect on the
  // strategies that have none).
  virtual std::int64_t CountByWalkingForTesting() const = 0;
  virtual void SetPopHookForTesting(PopHook hook, void* arg) = 0;
  virtual void SetFlushLockForTesting(bool enabled) = 0;
};

// The cache for `strategy` with `buckets` buckets (a power of two).
// cold_first: a FIFO of single objects instead (the debugging aid that
// reuses the oldest free object first).
std::unique_ptr<SharedCache> MakeSharedCache(SharedCacheStrategy strategy,
                                             std::uint32_t buckets,
                                             bool cold_first);

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_SHARED_CACHE_H_
