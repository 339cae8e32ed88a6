// The slow-path half of a thread's cache (see thread_cache.h): its byte
// budget, the LRU order of the pools it uses, eviction, and the hand-back of
// everything it holds when the thread exits.
#ifndef POOLKIT_POOL_INTERNAL_THREAD_STATE_H_
#define POOLKIT_POOL_INTERNAL_THREAD_STATE_H_

#include <cstddef>
#include <cstdint>

#include "pool/internal/thread_cache.h"

namespace poolkit {
class Pool;
}  // namespace poolkit

namespace poolkit::internal {

inline constexpr std::size_t kDefaultThreadCacheBudget = 512 * 1024;
inline constexpr std::size_t kMaxThreadCacheBudget = std::size_t{1} << 30;

// The per-thread byte budget for thread caches. Threads pick a change up at
// their next slow-path call.
void SetThreadCacheBudget(std::size_t bytes);
std::size_t ThreadCacheBudget();

class ThreadState {
 public:
  // The calling thread's state, set up (and registered) on first use.
  // nullptr once the thread has handed its cache back at exit: callers then
  // bypass the thread cache.
  static ThreadState* Current();

  // Called by every slow path of `pool`: refreshes the budget, moves the
  // pool to the front of the LRU, hands back objects of destroyed pools.
  void Touch(const Pool& pool);
  // Brings the thread's cache down to 7/8 of its budget; `freeing` is the
  // pool whose Free() went over.
  void Evict(Pool& freeing);
  // Sends every object this thread caches for `pool` to the shared cache.
  void FlushPool(Pool& pool);

  std::uint32_t index() const { return index_; }
  LocalHead* heads() const { return heads_; }

  // Sum of LocalHead counts of `slot` over every live thread (relaxed reads).
  static std::uint64_t CountCached(std::uint32_t slot);
  // Raised by the registry when a pool dies, so that threads look for its
  // objects at their next slow path.
  static void NoteDeadPool();

 private:
  friend class ThreadExitHook;
  ThreadState();
  ~ThreadState();
  void ReleaseEverything();
  void EvictOlderHalf(Pool& pool, bool everything);
  void HandBackDeadPools();
  void LruUnlink(std::uint32_t slot);

  static constexpr std::uint16_t kNone = 0xffff;

  LocalHead* const heads_;
  std::uint32_t index_ = 0;  // home shared-cache bucket
  std::int64_t budget_ = 0;
  std::uint64_t seen_dead_epoch_ = 0;
  std::uint16_t lru_first_ = kNone;
  std::uint16_t lru_last_ = kNone;
  std::uint16_t lru_prev_[kMaxPools];
  std::uint16_t lru_next_[kMaxPools];
  bool in_lru_[kMaxPools] = {};
  ThreadState* registry_prev_ = nullptr;
  ThreadState* registry_next_ = nullptr;
};

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_THREAD_STATE_H_
