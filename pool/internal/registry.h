// The process-wide registry of pools: creation with merging, destruction,
// lookup, the slot table that thread caches index, and the list of threads
// that hold caches.
#ifndef POOLKIT_POOL_INTERNAL_REGISTRY_H_
#define POOLKIT_POOL_INTERNAL_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pool/internal/thread_cache.h"
#include "pool/pool.h"
#include "pool/pool_options.h"
#include "pool/pool_stats.h"

namespace poolkit::internal {

class ThreadState;

// Shared-cache buckets per pool: one per core, 2 to kMaxSharedBuckets, a
// power of two (reference.md: HAProxy uses 8-64 by thread count).
inline constexpr std::uint32_t kMaxSharedBuckets = 16;
std::uint32_t SharedBucketCount();

// True while the calling thread is inside a registry operation that holds
// the registry lock. Such an operation may call a user's ObjectAllocator,
// which may itself use a pool: that pool's slow path must then not re-enter
// the registry (it would deadlock on the lock it already holds).
bool InsideRegistry();

class Registry {
 public:
  // Never destroyed: pools may be used from static destructors and from
  // threads that exit after main() returns.
  static Registry& Global();

  absl::StatusOr<Pool*> Create(const PoolOptions& options);
  absl::Status Destroy(Pool* pool);
  Pool* Find(std::string_view name);
  // Live (not destroyed) pools, in creation order.
  std::vector<Pool*> Pools();
  // The name of the pool at this address (live or draining), or "" if none:
  // for debug reports, which may hold a pointer to anything.
  std::string NameOfPoolForReport(const void* address);

  // Statistics of one pool / of every live pool, registry fields included.
  PoolStats StatsOf(const Pool& pool);
  std::vector<PoolStats> AllStats();

  // Trims every live pool to its minavail spare objects.
  void TrimAll();

  // The pool that owns `slot`, live or dead-but-draining; nullptr if none.
  Pool* AtSlot(std::uint32_t slot) const {
    return slots_[slot].load(std::memory_order_acquire);
  }
  // Frees a destroyed pool once no thread caches hold its objects.
  void ReapIfDrained(Pool* pool);
  // Frees every drained destroyed pool, if the registry lock is free right
  // now (never waits: called from slow paths).
  void ReapDrainedIfFree();
  // RunMaintenance(): the release rule of every live pool whose interval is
  // over, then the reaping of drained destroyed pools.
  void Maintain();

  // Threads with caches (see ThreadState). Guarded by threads_mutex().
  std::mutex& threads_mutex() { return threads_mu_; }
  ThreadState*& threads_head() { return threads_head_; }
  // Live threads per shared-cache bucket index; guarded by threads_mutex().
  std::uint32_t* bucket_threads() { return bucket_threads_; }

  // fork() (pthread_atfork, registered when the registry is made): before
  // the fork, every lock poolkit has (the registry's, every pool's shared
  // cache, the guarded-object tables) is taken by the forking thread; after
  // it, released in the parent, and in the child too once the thread states
  // of the threads the child does not have are dropped (their cached
  // objects stay unreachable there: the child owns only the forking
  // thread's cache).
  void LockForFork();
  void UnlockAfterFork(bool child);

 private:
  Registry() = default;
  Pool* FindByName(std::string_view name) const;
  // The best pool to merge with, among all pools or only `only` if given.
  Pool* FindMergeCandidate(const PoolOptions& options, std::size_t size,
                           std::size_t alignment, const Pool* only);
  void FreeSlot(Pool* pool);
  // Frees every dead pool whose objects have all come back. Holds mu_.
  void ReapDrainedLocked();

  std::mutex mu_;  // pools_, slots_ writes, Pool::users_ and aliases_
  std::vector<Pool*> pools_;
  std::vector<Pool*> dead_pools_;
  std::atomic<Pool*> slots_[kMaxPools] = {};

  std::mutex threads_mu_;
  ThreadState* threads_head_ = nullptr;
  std::uint32_t bucket_threads_[kMaxSharedBuckets] = {};
};

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_REGISTRY_H_
