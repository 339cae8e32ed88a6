#include "pool/internal/thread_cache.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <mutex>

#include "pool/internal/memory_cap.h"
#include "pool/internal/registry.h"
#include "pool/internal/thread_state.h"
#include "pool/pool.h"

namespace poolkit::internal {

POOLKIT_TLS LocalHead tls_local_heads[kMaxPools];
POOLKIT_TLS std::int64_t tls_cache_bytes_left;

namespace {

std::atomic<std::size_t> g_budget{kDefaultThreadCacheBudget};
std::atomic<std::uint64_t> g_dead_epoch{0};

// Slow-path data: the default TLS model. (initial-exec on these
// variables broke in a shared library here: binutils 2.40 + glibc 2.36
// placed them at an offset that did not match the module's TLS block,
// corrupting the neighbouring variable.)
__thread bool tls_exited;

}  // namespace

// A thread_local with a destructor: the one piece of per-thread data that
// needs the C++ TLS machinery (and its init check), touched only when a
// thread is set up. Its destructor hands the thread's cache back.
class ThreadExitHook {
 public:
  ~ThreadExitHook() {
    ThreadState* state = tls_thread_state;
    if (state == nullptr) return;
    state->ReleaseEverything();
    tls_thread_state = nullptr;
    tls_exited = true;
    // From here on every Free() of this thread goes to the slow path, which
    // sends the object straight to the shared cache or the OS.
    tls_cache_bytes_left = INT64_MIN / 4;
    delete state;
  }
  bool armed = false;
};

namespace {
thread_local ThreadExitHook tls_exit_hook;
}  // namespace

void SetThreadCacheBudget(std::size_t bytes) {
  // Clamped so that per-pool counts (32 bits) and the signed byte counter
  // cannot overflow.
  g_budget.store(std::min(bytes, kMaxThreadCacheBudget),
                 std::memory_order_relaxed);
}

std::size_t ThreadCacheBudget() {
  return g_budget.load(std::memory_order_relaxed);
}

__thread ThreadState* tls_thread_state;

ThreadState* ThreadState::SetUpCurrent() {
  ThreadState* state = tls_thread_state;
  if (state != nullptr || tls_exited) return state;
  state = new ThreadState();
  tls_thread_state = state;
  tls_exit_hook.armed = true;  // constructs the hook: its destructor runs
  return state;
}

ThreadState::ThreadState() : heads_(tls_local_heads) {
  budget_ = static_cast<std::int64_t>(ThreadCacheBudget());
  limit_ = budget_;
  // The first Free() of a thread may already have charged an object.
  tls_cache_bytes_left += limit_;
  seen_dead_epoch_ = g_dead_epoch.load(std::memory_order_acquire);
  Registry& registry = Registry::Global();
  std::lock_guard<std::mutex> lock(registry.threads_mutex());
  // The home bucket: the one with the fewest live threads. Numbering threads
  // in order of arrival instead put a long-lived producer and a consumer
  // thread in the same bucket every other time, and the cross-thread
  // benchmark swung between 17 and 70 ns per 64-byte pair with it.
  std::uint32_t* users = registry.bucket_threads();
  index_ = 0;
  for (std::uint32_t i = 1; i < SharedBucketCount(); ++i) {
    if (users[i] < users[index_]) index_ = i;
  }
  ++users[index_];
  registry_next_ = registry.threads_head();
  if (registry_next_ != nullptr) registry_next_->registry_prev_ = this;
  registry.threads_head() = this;
}

ThreadState::~ThreadState() {
  Registry& registry = Registry::Global();
  std::lock_guard<std::mutex> lock(registry.threads_mutex());
  --registry.bucket_threads()[index_];
  if (registry_prev_ != nullptr) {
    registry_prev_->registry_next_ = registry_next_;
  } else {
    registry.threads_head() = registry_next_;
  }
  if (registry_next_ != nullptr)
    registry_next_->registry_prev_ = registry_prev_;
}

void ThreadState::NoteDeadPool() {
  // Release: a thread that sees the new epoch also sees the pool's dead_
  // flag, set before.
  g_dead_epoch.fetch_add(1, std::memory_order_release);
}

void ThreadState::ForgetOtherThreadsAfterFork() {
  Registry& registry = Registry::Global();
  ThreadState* self = tls_thread_state;
  ThreadState* state = registry.threads_head();
  while (state != nullptr) {
    ThreadState* next = state->registry_next_;
    if (state != self) {
      for (std::uint32_t slot = 0; slot < kMaxPools; ++slot) {
        LocalHead& head = state->heads_[slot];
        const std::uint32_t held = LoadCount(head) + LoadStashed(head);
        if (held == 0) continue;
        Pool* pool = registry.AtSlot(slot);
        if (pool != nullptr) {
          // Unreachable in the child: out of the pool's count and of the
          // process account (memory_cap.h) alike.
          pool->allocated_.fetch_sub(held, std::memory_order_relaxed);
          UnchargeMemory(held * pool->AllocationSize());
        }
        head.first = nullptr;
        head.stash = nullptr;
        StoreCount(head, 0);
        StoreStashed(head, 0);
      }
      --registry.bucket_threads()[state->index_];
      if (state->registry_prev_ != nullptr) {
        state->registry_prev_->registry_next_ = next;
      } else {
        registry.threads_head() = next;
      }
      if (next != nullptr) next->registry_prev_ = state->registry_prev_;
      // The state itself stays allocated: its thread, and so its exit hook,
      // does not exist here.
    }
    state = next;
  }
}

std::uint64_t ThreadState::CountCached(std::uint32_t slot) {
  Registry& registry = Registry::Global();
  std::lock_guard<std::mutex> lock(registry.threads_mutex());
  std::uint64_t total = 0;
  for (ThreadState* state = registry.threads_head(); state != nullptr;
       state = state->registry_next_) {
    total += LoadCount(state->heads_[slot]) + LoadStashed(state->heads_[slot]);
  }
  return total;
}

void ThreadState::LruUnlink(std::uint32_t slot) {
  std::uint16_t prev = lru_prev_[slot];
  std::uint16_t next = lru_next_[slot];
  if (prev != kNone) {
    lru_next_[prev] = next;
  } else {
    lru_first_ = next;
  }
  if (next != kNone) {
    lru_prev_[next] = prev;
  } else {
    lru_last_ = prev;
  }
  in_lru_[slot] = false;
}

void ThreadState::Touch(const Pool& pool) {
  std::int64_t budget = static_cast<std::int64_t>(ThreadCacheBudget());
  if (budget != budget_) {
    tls_cache_bytes_left += budget - limit_;
    budget_ = budget;
    limit_ = budget;
  }
  if (g_dead_epoch.load(std::memory_order_acquire) != seen_dead_epoch_ &&
      !InsideRegistry()) {
    HandBackDeadPools();
  }
  // Move to the front of the LRU: recency is tracked on slow paths only, so
  // the fast path stays free of list updates. A pool served from the fast
  // path for a long time drifts to the back, gets halved at the next
  // eviction, and comes back to the front at its next refill.
  std::uint32_t slot = pool.slot_;
  if (lru_first_ == slot) return;
  if (in_lru_[slot]) LruUnlink(slot);
  lru_prev_[slot] = kNone;
  lru_next_[slot] = lru_first_;
  if (lru_first_ != kNone)
    lru_prev_[lru_first_] = static_cast<std::uint16_t>(slot);
  lru_first_ = static_cast<std::uint16_t>(slot);
  if (lru_last_ == kNone) lru_last_ = lru_first_;
  in_lru_[slot] = true;
}

void ThreadState::EvictHalf(Pool& pool, bool everything) {
  LocalHead& head = heads_[pool.slot_];
  std::uint32_t count = LoadCount(head);
  if (count == 0) return;
  const std::uint32_t leave = everything ? count : count - count / 2;
  // The newer half leaves: the objects just freed, at the front of the
  // LIFO list, whose lines are still in cache, so cutting them into
  // clusters touches nothing cold. (Evicting the older half walked the
  // whole list, a cache miss per object for big objects: with batches of
  // 1000 16 KiB objects, 13% of the time in that walk and 8% in the walk to
  // the older half, measured with perf.)
  // The charge first: EvictFront() may be the last access to a destroyed
  // pool (another thread may free it once its objects are back).
  const std::int64_t charge = pool.charge_.load(std::memory_order_relaxed);
  StoreCount(head, count - leave);
  head.first = pool.EvictFront(head.first, leave, this);
  tls_cache_bytes_left += static_cast<std::int64_t>(leave) * charge;
}

void ThreadState::NoteRefill(const Pool& pool, std::int64_t bytes) {
  refilled_[pool.slot_] = true;
  if (limit_ >= budget_) return;
  // A thread that allocates again earns its cache back, a refill at a time.
  std::int64_t grow = std::min(bytes, budget_ - limit_);
  limit_ += grow;
  tls_cache_bytes_left += grow;
}

void ThreadState::Evict(Pool& freeing) {
  if (tls_cache_bytes_left >= 0) return;
  // A pool this thread only frees into (the consumer of a producer/consumer
  // pair: no refill since its last eviction) gains nothing from a big cache
  // here; holding the whole budget of its objects only spreads the pair's
  // objects over more memory than the caches hold. Halve what the thread
  // may cache, down to an eighth of the budget (at least two clusters of
  // the pool). Measured with poolbench, cross 64 B on 2 threads: the
  // consumer held 8192 objects (512 KiB) before; tcmalloc's adaptive
  // per-class lists hold far fewer, and were 1.2x faster.
  if (!refilled_[freeing.slot_]) {
    const std::int64_t cluster_bytes =
        static_cast<std::int64_t>(freeing.cluster_objects()) *
        freeing.charge_.load(std::memory_order_relaxed);
    const std::int64_t least =
        std::min(budget_, std::max(budget_ / 8, 2 * cluster_bytes));
    const std::int64_t limit = std::max(limit_ / 2, least);
    if (limit < limit_) {
      tls_cache_bytes_left -= limit_ - limit;
      limit_ = limit;
    }
  }
  refilled_[freeing.slot_] = false;
  // Aim for 7/8 of the limit so that the next evictions are a while off.
  const std::int64_t floor = limit_ / 8;
  // The pool that went over is usually the one growing: if it holds a fair
  // share (a quarter of the budget) it gives up its older half first.
  std::uint32_t count = LoadCount(heads_[freeing.slot_]);
  if (count >= 2 * freeing.cluster_objects() &&
      static_cast<std::int64_t>(count) *
              freeing.charge_.load(std::memory_order_relaxed) >=
          limit_ / 4) {
    EvictHalf(freeing, false);
  }
  Registry& registry = Registry::Global();
  // Then the least recently used pools, halving each in turn; a pool with
  // one cluster or less gives everything.
  while (tls_cache_bytes_left < floor) {
    bool progress = false;
    for (std::uint16_t slot = lru_last_;
         slot != kNone && tls_cache_bytes_left < floor;) {
      std::uint16_t prev = lru_prev_[slot];
      std::uint32_t held = LoadCount(heads_[slot]);
      Pool* pool = registry.AtSlot(slot);
      if (held > 0 && pool != nullptr) {
        EvictHalf(*pool, held <= pool->cluster_objects());
        progress = true;
      }
      slot = prev;
    }
    if (progress) continue;
    // Objects of pools this thread only ever freed into (never through a
    // slow path) are not in the LRU yet.
    for (std::uint32_t slot = 0; slot < kMaxPools; ++slot) {
      if (LoadCount(heads_[slot]) == 0) continue;
      Pool* pool = registry.AtSlot(slot);
      if (pool == nullptr) continue;
      EvictHalf(*pool, true);
      progress = true;
      if (tls_cache_bytes_left >= floor) break;
    }
    if (!progress) break;
  }
}

void ThreadState::FlushPool(Pool& pool) { HandBackPool(pool); }

void ThreadState::HandBackPool(Pool& pool) {
  EvictHalf(pool, true);
  FreeItem* stash = TakeAllStashed(heads_[pool.slot_]);
  if (stash != nullptr) pool.EvictFront(stash, UINT32_MAX, this);
}

void ThreadState::HandBackDeadPools() {
  seen_dead_epoch_ = g_dead_epoch.load(std::memory_order_acquire);
  Registry& registry = Registry::Global();
  for (std::uint32_t slot = 0; slot < kMaxPools; ++slot) {
    if (LoadCount(heads_[slot]) == 0 && LoadStashed(heads_[slot]) == 0) {
      continue;
    }
    Pool* pool = registry.AtSlot(slot);
    if (pool == nullptr || !pool->dead_.load(std::memory_order_acquire)) {
      continue;
    }
    HandBackPool(*pool);
    if (in_lru_[slot]) LruUnlink(slot);
    registry.ReapIfDrained(pool);
  }
}

void ThreadState::ReleaseEverything() {
  Registry& registry = Registry::Global();
  for (std::uint32_t slot = 0; slot < kMaxPools; ++slot) {
    if (LoadCount(heads_[slot]) == 0 && LoadStashed(heads_[slot]) == 0) {
      continue;
    }
    Pool* pool = registry.AtSlot(slot);
    if (pool == nullptr) continue;
    bool dead = pool->dead_.load(std::memory_order_acquire);
    HandBackPool(*pool);
    if (dead) registry.ReapIfDrained(pool);
  }
}

}  // namespace poolkit::internal
