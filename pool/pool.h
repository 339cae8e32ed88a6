// A pool of fixed-size objects: the object a caller allocates from.
//
//   absl::StatusOr<poolkit::Pool*> pool = poolkit::CreatePool(
//       {.name = "session", .object_size = sizeof(Session)});
//   void* p = (*pool)->Alloc();   // nullptr on failure, never throws
//   (*pool)->Free(p);
//
// Alloc() and Free() are thread-safe. Objects may be freed by any thread.
// The fast path (inline below) serves both from the calling thread's cache;
// everything else is in pool.cc.
//
// Not async-signal-safe: the fast path updates the thread's list in two
// steps and the slow paths take locks, so no poolkit call belongs in a
// signal handler. The thread caches are initial-exec TLS: link poolkit into
// the program, do not dlopen() a library that contains it. fork() is safe
// (registry.h).
#ifndef POOLKIT_POOL_POOL_H_
#define POOLKIT_POOL_POOL_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "arch/cxx17_required.h"
#include "arch/owned_counter.h"
#include "debug/debug_options.h"
#include "debug/object_tag.h"
#include "pool/internal/backing.h"
#include "pool/internal/free_item.h"
#include "pool/internal/thread_cache.h"
#include "pool/pool_options.h"
#include "pool/pool_stats.h"

#if defined(__GNUC__)
#define POOLKIT_PREDICT_FALSE(x) (__builtin_expect(!!(x), 0))
// Inlined even at -O0: the fast path must be the same code in every build,
// and a slow path's return address must be the caller's code (caller
// tracing), not a poolkit function.
#define POOLKIT_ALWAYS_INLINE inline __attribute__((always_inline))
#define POOLKIT_NOINLINE __attribute__((noinline))
#else
#define POOLKIT_PREDICT_FALSE(x) (x)
#define POOLKIT_ALWAYS_INLINE inline
#define POOLKIT_NOINLINE
#endif

namespace poolkit {

namespace internal {
class ObjectLookup;
class Registry;
class SharedCache;
class ThreadState;
struct PoolDebugState;
struct PoolTestPeer;
}  // namespace internal

class Pool {
 public:
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // One object of object_size() bytes, aligned to alignment(); nullptr if the
  // pool is at its limit, the OS allocator failed or a failure was injected
  // (all counted).
  //
  // Pools with debugging aids (PoolOptions::debug, POOLKIT_DEBUG) never
  // cache objects per thread, so both calls below always take their slow
  // path for them, where the aids live: the fast path has no debug test.
  POOLKIT_ALWAYS_INLINE void* Alloc() {
    internal::LocalHead& head = ThisThreadsHead();
    internal::FreeItem* item = head.first;
    if (POOLKIT_PREDICT_FALSE(item == nullptr)) return AllocSlow();
    head.first = item->next;
    arch::OwnerAdd(&head.count, -1);
    internal::tls_cache_bytes_left += charge_.load(std::memory_order_relaxed);
    return item;
  }

  // Like Alloc(), with the object's bytes set to zero.
  POOLKIT_ALWAYS_INLINE void* AllocZeroed() {
    void* object = Alloc();
    if (object != nullptr) ZeroObject(object);
    return object;
  }

  // Gives back an object of this pool. Free(nullptr) does nothing.
  POOLKIT_ALWAYS_INLINE void Free(void* object) {
    if (object == nullptr) return;
    // Charge first: over budget, or an object that thread caches never hold
    // (too big, or a pool with debugging aids: their charge exceeds any
    // budget), goes to the slow path before anything is written into it.
    if (POOLKIT_PREDICT_FALSE((internal::tls_cache_bytes_left -=
                               charge_.load(std::memory_order_relaxed)) < 0)) {
      FreeSlow(object);
      return;
    }
    internal::LocalHead& head = ThisThreadsHead();
    internal::FreeItem* item = static_cast<internal::FreeItem*>(object);
    item->next = head.first;
    head.first = item;
    arch::OwnerAdd(&head.count, 1);
  }

  // Bulk calls (DPDK's get_bulk / put_bulk): `n` objects in one call, from
  // and to the calling thread's cache, and past it as whole clusters (one
  // shared-cache operation per cluster, one backing call per carved
  // cluster).
  //
  // AllocBulk is all or nothing: true with out[0..n) set to n distinct
  // objects, or false (limit, OS allocator, injected failure; counted as one
  // failure) with nothing allocated and `out` unspecified.
  bool AllocBulk(std::size_t n, void** out);
  // Gives back n objects of this pool; nullptr entries are skipped. Past the
  // thread's budget the objects go to the shared cache in clusters, each
  // checked like a slow-path Free() (wrong-pool free: abort with a report).
  void FreeBulk(std::size_t n, void* const* objects);

  // Prefill (HAProxy's preallocation): allocates from the backing until the
  // shared cache holds at least `n` free objects, and keeps at least `n`
  // spare from then on, as `minavail` does (the release rule and Gc() leave
  // them; Trim() and Flush() release what they are told). The calling
  // thread's next n allocations then never reach the OS. Across threads, a
  // refill takes a whole cluster into the refilling thread's cache, so n
  // allocations spread over t threads need Reserve(n + t *
  // cluster_objects()). Reserve(0) drops the floor. False if the limit or
  // the backing stopped it short (counted as one failure; what it got stays
  // in the cache).
  bool Reserve(std::size_t n);
  // The floor set by the last Reserve() (0 if none).
  std::size_t reserved() const {
    return reserved_.load(std::memory_order_relaxed);
  }

  // Returns every object in the shared cache to the OS allocator; the
  // calling thread's cached objects of this pool go first to the shared
  // cache. Safe while other threads allocate and free.
  void Flush();

  // Returns shared-cache objects to the OS allocator until at most
  // `keep_spare` remain. Safe while other threads allocate and free.
  void Trim(std::size_t keep_spare);

  PoolStats Stats() const;

  const std::string& name() const { return name_; }
  // The size objects really have (after rounding and merging).
  std::size_t object_size() const {
    return size_.load(std::memory_order_relaxed);
  }
  std::size_t alignment() const { return alignment_; }
  SharedCacheStrategy strategy() const { return strategy_; }
  // The debugging aids in force (the pool's options with POOLKIT_DEBUG's).
  const DebugOptions& debug_options() const { return debug_options_; }
  std::uint32_t flags() const { return flags_; }
  std::size_t minavail() const { return minavail_; }
  std::size_t limit() const { return limit_; }
  std::size_t limit_bytes() const { return limit_bytes_; }
  // False for objects too large for a cluster of them to fit a thread's
  // byte budget: each thread keeps at most a few of them (stash_capacity())
  // beside its budget, and the rest go through the shared cache.
  bool thread_cacheable() const {
    return charge_.load(std::memory_order_relaxed) < kUncacheableCharge;
  }
  // Objects a thread may keep of an uncacheable pool (0 for cacheable pools
  // and pools with debugging aids).
  std::uint32_t stash_capacity() const {
    return stash_capacity_.load(std::memory_order_relaxed);
  }
  // Objects per cluster moved between a thread and the shared cache.
  std::uint32_t cluster_objects() const {
    return cluster_objects_.load(std::memory_order_relaxed);
  }

 private:
  friend class internal::ObjectLookup;
  friend class internal::Registry;
  friend class internal::ThreadState;
  friend struct internal::PoolTestPeer;

  // Charge of objects too large for thread caches: larger than any budget,
  // so that Free() always takes the slow path for them.
  static constexpr std::int64_t kUncacheableCharge = std::int64_t{1} << 48;
  // What one object of `size` bytes charges a thread cache of `budget`
  // bytes: its size if kMinClusterObjects of them fit the budget (a refill
  // brings a cluster), else kUncacheableCharge.
  static std::int64_t ChargeFor(std::size_t size, std::int64_t budget);
  // allocated_ while the registry grows a never-used pool.
  static constexpr std::int64_t kResizing = INT64_MIN / 2;
  // Objects per cluster: at least this many, more for small objects.
  static constexpr std::uint32_t kMinClusterObjects = 8;

  // OS-call counts of the threads of one bucket (statistics only; touched
  // only when the pool calls its allocator, never in a steady state). Per
  // bucket, so that threads of a pool without a shared cache do not all
  // write one line.
  struct alignas(64) OsCounters {
    std::atomic<std::uint64_t> allocs{0};
    std::atomic<std::uint64_t> releases{0};
  };

  // tls_local_heads[slot_] of the calling thread. With initial-exec TLS the
  // distance from the thread pointer to a TLS variable is the same in every
  // thread, so one precomputed offset reaches it in a single
  // thread-pointer-relative load (`mov %fs:(reg)` / `mrs; ldr [tp, reg]`).
  internal::LocalHead& ThisThreadsHead() const {
    return *reinterpret_cast<internal::LocalHead*>(
        static_cast<char*>(__builtin_thread_pointer()) + head_offset_);
  }

  Pool(const PoolOptions& options, std::size_t size, std::size_t alignment,
       std::uint32_t slot, std::int64_t thread_cache_budget);
  ~Pool();

  // Recomputes charge_, cluster_objects_ and stash_capacity_ for size_ (at
  // construction, and when the registry grows a never-used pool).
  void SizeCaches(std::int64_t thread_cache_budget);

  // Stats() without the registry-owned fields (users, aliases).
  PoolStats CounterStats() const;

  // Out of line and never inlined: their return address is the caller's
  // (caller tracing).
  POOLKIT_NOINLINE void* AllocSlow();
  POOLKIT_NOINLINE void FreeSlow(void* object);
  void ZeroObject(void* object);
  // An object from the shared cache or the OS; a refill also fills the
  // calling thread's cache with the rest of the cluster (a pool with a
  // stash refills it in RefillStash instead).
  // `reused` says whether it came from the shared cache. nullptr on
  // failure (counted). `ts` may be null (a thread past its exit).
  internal::FreeItem* TakeObject(internal::ThreadState* ts, bool* reused);
  // The stash path of a pool too big for the byte budget, for a thread that
  // is set up: an empty stash refilled from one cluster (the first object is
  // returned, a slot left free), and a full one sent on as one cluster
  // with `item` kept in its place.
  internal::FreeItem* RefillStash(internal::LocalHead& head,
                                  internal::ThreadState* ts);
  void SendStashOn(internal::LocalHead& head, internal::FreeItem* item,
                   internal::ThreadState* ts);

  // Debugging aids (pool_debug.cc), only for pools with debug_state_.
  void* AllocDebug(const void* caller);
  void FreeDebug(void* object, const void* caller);
  // The tag of one of our objects (guarded record or trailer).
  debug::ObjectTag* TagOf(void* object) const;
  [[noreturn]] void ReportMisuse(const char* fault, const void* object,
                                 const char* detail,
                                 const debug::ObjectTag* tag) const;
  // Bytes asked of the OS allocator per object: the object, and the debug
  // tag after it when the pool records tags in objects.
  std::size_t AllocationSize() const;

  std::uint32_t HomeBucket(const internal::ThreadState* ts) const;
  // The most objects allocated at once: `limit` and `limit_bytes` (of
  // object_size() each) together; 0 for none.
  std::size_t ObjectLimit() const;

  // From / to the backing, with accounting. AllocFromOs() returns up to
  // `want` objects as one cluster (linked by next, counted), or nullptr
  // (counted in `failed`).
  internal::FreeItem* AllocFromOs(std::uint32_t bucket, std::uint32_t want);
  // Objects one refill takes from the backing: a whole cluster from spans
  // (one lock for all of them), one from an allocator (a call each), one
  // for pools with debugging aids (whose checks expect every object in the
  // shared cache to have been freed).
  std::uint32_t CarveCount() const;
  // Every object of a list of clusters (linked by next_cluster, each a
  // null-terminated run) back to the backing, after one barrier: the
  // objects may have been in the shared cache.
  void ReleaseClustersToOs(internal::FreeItem* clusters, std::uint32_t bucket);
  // Release-mode check on the slow free path: aborts, naming both pools,
  // if `object` lies in another pool's span, or in none while this pool
  // is span-backed.
  void CheckOwner(const void* object) const;

  // Sends the first `objects` objects of a list (linked by next) that leave
  // a thread cache or a user to the shared cache, in clusters; returns the
  // rest of the list, not walked. Nothing goes to the OS here unless the
  // pool keeps no spares (strategy kNone, a destroyed pool, the uaf aid):
  // the release rule runs apart.
  internal::FreeItem* EvictFront(internal::FreeItem* list,
                                 std::uint32_t objects,
                                 internal::ThreadState* ts);
  bool KeepsSpares() const;
  // The release rule, at most once per release interval (see pool.cc).
  // Returns true if it ran.
  bool MaybeReleaseSpares(internal::ThreadState* ts);
  // Counts a slow path toward the next look at the release clock.
  void TickReleaseClock(internal::ThreadState* ts);
  void ReleaseSpares(std::uint32_t bucket);

  // Objects out of the shared cache (with users or in thread caches).
  std::int64_t UsedTotal() const;
  std::uint64_t OsAllocsTotal() const;
  std::uint64_t OsReleasesTotal() const;
  std::uint64_t ThreadCachedTotal() const;

  // Hot: read by every Alloc()/Free().
  const std::intptr_t head_offset_;
  // Changes only while the pool has never allocated (merge growth); atomic
  // (relaxed: plain moves) so that readers racing with that are defined.
  std::atomic<std::int64_t> charge_;
  const std::uint32_t slot_;
  // Set with charge_, and atomic for the same reason (relaxed).
  std::atomic<std::uint32_t> cluster_objects_{kMinClusterObjects};
  std::atomic<std::uint32_t> stash_capacity_{0};

  // Changes only while the pool has never allocated (merge growth), while
  // other threads may read it (statistics, a racing first allocation that
  // then waits in AllocFromOs): atomic, relaxed, like charge_.
  std::atomic<std::size_t> size_;
  const std::size_t alignment_;
  const SharedCacheStrategy strategy_;
  const std::uint32_t flags_;
  const std::size_t minavail_;
  const std::size_t limit_;
  const std::size_t limit_bytes_;
  void (*const init_)(void* object, void* arg);
  void* const init_arg_;
  const int numa_node_;
  // The caller's allocator or MallocAllocator(); nullptr for spans.
  ObjectAllocator* const allocator_;
  const std::string name_;

  std::unique_ptr<internal::SharedCache> shared_;
  std::unique_ptr<internal::Backing> backing_;
  // Objects come from spans (PageMap knows them); false for guarded pools,
  // whose objects map themselves.
  bool span_backed_ = false;
  std::unique_ptr<OsCounters[]> os_counters_;
  std::uint32_t bucket_mask_ = 0;
  // The debugging aids in force (normalised), and the state of those that
  // handle objects (null unless the pool has any).
  const DebugOptions debug_options_;
  std::unique_ptr<internal::PoolDebugState> debug_state_;
  bool keep_spares_ = true;  // PoolTestPeer::SetKeepSpares

  // Reserve()'s floor of spare objects (relaxed: read by the release rule
  // and Gc(), which only bound what they give back by it).
  std::atomic<std::size_t> reserved_{0};
  // What the release rule always leaves in the shared cache.
  std::size_t SpareFloor() const { return std::max(minavail_, reserved()); }
  // Trim() keeping whole clusters: up to `at_most` objects, and past that
  // until at least `at_least` are kept (Gc(): minavail at most, as before,
  // and the reservation at least).
  void TrimKeeping(std::size_t at_most, std::size_t at_least);

  std::atomic<std::int64_t> allocated_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> limit_failures_{0};
  std::atomic<std::uint64_t> cap_failures_{0};
  std::atomic<std::uint64_t> oom_gc_retries_{0};
  std::atomic<std::uint64_t> oom_gc_recovered_{0};
  // The release rule's state (written once per interval): when it next
  // runs, the need it last computed, and what the load had out in each of
  // the last kNeedWindow intervals.
  static constexpr std::uint32_t kNeedWindow = 4;
  std::atomic<std::int64_t> next_release_check_ns_{0};
  std::atomic<std::int64_t> need_{0};
  std::atomic<std::uint32_t> need_intervals_{0};
  std::atomic<std::int64_t> need_window_[kNeedWindow] = {};

  // Registry-owned (under the registry lock).
  int users_ = 1;
  std::size_t requested_size_sum_ = 0;
  std::vector<std::string> aliases_;
  std::atomic<bool> dead_{false};
};

}  // namespace poolkit

#endif  // POOLKIT_POOL_POOL_H_
