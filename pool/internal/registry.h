// The process-wide registry of pools: creation with merging, destruction,
// lookup, the slot table that thread caches index, and the list of threads
// that hold caches.
#ifndef POOLKIT_POOL_INTERNAL_REGISTRY_H_
#define POOLKIT_POOL_INTERNAL_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <mutex>
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

  // Threads with caches (see ThreadState). Guarded by threads_mutex().
  std::mutex& threads_mutex() { return threads_mu_; }
  ThreadState*& threads_head() { return threads_head_; }
  std::uint32_t NextThreadIndex() {
    return next_thread_index_.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  Registry() = default;
  Pool* FindByName(std::string_view name) const;
  // The best pool to merge with, among all pools or only `only` if given.
  Pool* FindMergeCandidate(const PoolOptions& options, std::size_t size,
                           std::size_t alignment, const Pool* only);
  void FreeSlot(Pool* pool);

  std::mutex mu_;  // pools_, slots_ writes, Pool::users_ and aliases_
  std::vector<Pool*> pools_;
  std::vector<Pool*> dead_pools_;
  std::atomic<Pool*> slots_[kMaxPools] = {};

  std::mutex threads_mu_;
  ThreadState* threads_head_ = nullptr;
  std::atomic<std::uint32_t> next_thread_index_{0};
};

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_REGISTRY_H_
