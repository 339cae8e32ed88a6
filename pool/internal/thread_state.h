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

class ThreadState;
// The calling thread's state (null until set up, and again after its exit
// hand-back). Slow-path data: the default TLS model (see thread_cache.cc).
extern __thread ThreadState* tls_thread_state;

class ThreadState {
 public:
  // The calling thread's state, set up (and registered) on first use.
  // nullptr once the thread has handed its cache back at exit: callers then
  // bypass the thread cache.
  static ThreadState* Current() {
    ThreadState* state = tls_thread_state;
    return state != nullptr ? state : SetUpCurrent();
  }

  // Called by every slow path of `pool`: refreshes the budget, moves the
  // pool to the front of the LRU, hands back objects of destroyed pools.
  void Touch(const Pool& pool);
  // Brings the thread's cache down to 7/8 of its budget; `freeing` is the
  // pool whose Free() went over.
  void Evict(Pool& freeing);
  // Sends every object this thread caches for `pool` to the shared cache.
  void FlushPool(Pool& pool);
  // Hands everything the thread caches back, of every pool (its exit, and
  // ReleaseThreadCache()); frees destroyed pools that are then drained.
  void ReleaseEverything();
  // A refill of `pool` from the shared cache just brought `bytes` (charged).
  void NoteRefill(const Pool& pool, std::int64_t bytes);

  std::uint32_t index() const { return index_; }
  LocalHead* heads() const { return heads_; }

  // Objects of `slot` held by every live thread, in its cache and stash
  // (relaxed reads).
  static std::uint64_t CountCached(std::uint32_t slot);
  // Raised by the registry when a pool dies, so that threads look for its
  // objects at their next slow path.
  static void NoteDeadPool();
  // In a child after fork(), with the thread list's lock held: drops every
  // thread state but the caller's. Their cached objects are unreachable in
  // the child (a thread may have been moving them when the process forked,
  // so adopting them could hand one out twice): they leave the pools'
  // `allocated` count, and the pools can be destroyed.
  static void ForgetOtherThreadsAfterFork();

 private:
  friend class ThreadExitHook;
  ThreadState();
  ~ThreadState();
  // Current() the first time (and after the thread's exit hand-back).
  static ThreadState* SetUpCurrent();
  void EvictHalf(Pool& pool, bool everything);
  void HandBackDeadPools();
  // Everything this thread holds of `pool`: cache and stash.
  void HandBackPool(Pool& pool);
  void LruUnlink(std::uint32_t slot);

  static constexpr std::uint16_t kNone = 0xffff;

  LocalHead* const heads_;
  std::uint32_t index_ = 0;  // home shared-cache bucket
  std::int64_t budget_ = 0;
  // What the thread caches at most now (<= budget_): halved when a pool the
  // thread only frees into (no refill since its last eviction) overflows,
  // grown back by refills. See Evict().
  std::int64_t limit_ = 0;
  bool refilled_[kMaxPools] = {};
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
