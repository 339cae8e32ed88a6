#include "pool/pool.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "debug/guarded_objects.h"
#include "debug/report.h"
#include "pool/internal/memory_cap.h"
#include "pool/internal/page_map.h"
#include "pool/internal/pool_debug.h"
#include "pool/internal/registry.h"
#include "pool/internal/release_clock.h"
#include "pool/internal/shared_cache.h"
#include "pool/internal/thread_state.h"

namespace poolkit {
namespace {

using internal::FreeItem;

// Objects per cluster: about this many bytes (and at most a quarter of the
// thread budget), so that a refill or an eviction of small objects moves
// many of them with one atomic operation. Clusters of 8 for every size, the
// rule before, made cross-thread hand-off cost one shared-cache operation
// (a cache line moved between the two cores) per 8 objects; with 4 KiB
// clusters, 1 KiB objects still spent 21% of a cross-thread run in the
// stack operations (perf), against tcmalloc's batches of 32.
constexpr std::size_t kClusterBytes = 32 * 1024;
constexpr std::uint32_t kMaxClusterObjects = 64;
// An uncacheable pool's stash holds up to budget / size objects, at most
// this many.
constexpr std::uint32_t kMaxStashObjects = 8;
// Slow paths per thread between two looks at the release clock.
constexpr std::uint32_t kReleaseTickMask = 63;
// Spare objects the release rule always allows beyond the need, in
// clusters (with a need of 2, 25% is no room at all).
constexpr std::int64_t kMinSpareClusters = 2;

// Slow paths this thread took since it last looked at the release clock.
// Slow path only: the default TLS model (see thread_cache.cc).
__thread std::uint32_t tls_release_ticks;

std::int64_t RealClockNanos() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

std::atomic<std::int64_t (*)()> g_release_clock{nullptr};
std::atomic<std::int64_t> g_release_interval_ns{1000000000};

}  // namespace

namespace internal {

std::int64_t ReleaseClockNanos() {
  std::int64_t (*clock)() = g_release_clock.load(std::memory_order_relaxed);
  return clock != nullptr ? clock() : RealClockNanos();
}

void SetReleaseClockForTesting(std::int64_t (*clock)()) {
  g_release_clock.store(clock, std::memory_order_relaxed);
}

std::int64_t SpareReleaseIntervalNanos() {
  return g_release_interval_ns.load(std::memory_order_relaxed);
}

void SetSpareReleaseIntervalNanos(std::int64_t nanos) {
  g_release_interval_ns.store(std::max<std::int64_t>(nanos, 1),
                              std::memory_order_relaxed);
}

}  // namespace internal

Pool::Pool(const PoolOptions& options, std::size_t size, std::size_t alignment,
           std::uint32_t slot, std::int64_t thread_cache_budget)
    : head_offset_(reinterpret_cast<char*>(&internal::tls_local_heads[slot]) -
                   static_cast<char*>(__builtin_thread_pointer())),
      charge_(kUncacheableCharge),
      slot_(slot),
      size_(size),
      alignment_(alignment),
      strategy_(options.strategy),
      flags_(options.flags),
      minavail_(options.minavail),
      limit_(options.limit),
      limit_bytes_(options.limit_bytes),
      init_(options.init),
      init_arg_(options.init_arg),
      numa_node_(options.numa_node),
      allocator_(internal::AllocatorOf(options)),
      name_(options.name),
      debug_options_(options.debug),
      requested_size_sum_(options.object_size) {
  std::uint32_t buckets = internal::SharedBucketCount();
  shared_ = internal::MakeSharedCache(options.strategy, buckets,
                                      options.debug.cold_first);
  os_counters_.reset(new OsCounters[buckets]);
  span_backed_ = allocator_ == nullptr && !options.debug.Guarded();
  backing_ =
      allocator_ != nullptr
          ? internal::MakeAllocatorBacking(allocator_)
          : internal::MakeSpanBacking(
                this, (options.flags & kPoolHugePages) != 0, options.numa_node);
  bucket_mask_ = buckets - 1;
  if (options.debug.AnyObjectAid()) {
    debug_state_ =
        std::make_unique<internal::PoolDebugState>(options.debug, name_);
  }
  SizeCaches(thread_cache_budget);
  next_release_check_ns_.store(
      internal::ReleaseClockNanos() + internal::SpareReleaseIntervalNanos(),
      std::memory_order_relaxed);
}

Pool::~Pool() = default;

std::int64_t Pool::ChargeFor(std::size_t size, std::int64_t budget) {
  // One cluster of the minimum size must fit: a refill brings one. (Two
  // clusters, the rule before, kept 48 KiB objects out of 512 KiB caches;
  // through the shared cache on every call they cost 27 ns per hot pair on
  // one thread and 150-300 ns on two, against glibc's 18: measured with
  // poolbench.)
  return static_cast<std::int64_t>(size) * kMinClusterObjects <= budget
             ? static_cast<std::int64_t>(size)
             : kUncacheableCharge;
}

void Pool::SizeCaches(std::int64_t budget) {
  // Pools with debugging aids bypass thread caches: their checks live on
  // the slow paths.
  const bool debug = debug_options_.AnyObjectAid();
  const std::int64_t charge =
      debug ? kUncacheableCharge : ChargeFor(object_size(), budget);
  charge_.store(charge, std::memory_order_relaxed);
  if (charge != kUncacheableCharge) {
    const std::size_t bytes = std::min<std::size_t>(
        kClusterBytes, static_cast<std::size_t>(budget) / 4);
    cluster_objects_.store(
        static_cast<std::uint32_t>(std::clamp<std::size_t>(
            bytes / object_size(), kMinClusterObjects, kMaxClusterObjects)),
        std::memory_order_relaxed);
    stash_capacity_.store(0, std::memory_order_relaxed);
    return;
  }
  // Too big for the byte budget (or debugging): a stash of a few objects per
  // thread, outside the budget (budget / size of them, 1 to 8, and one
  // more), so that a hot loop of 2 MiB objects touches no shared line; when
  // the stash overflows or runs dry, it moves as one cluster. A cluster is a
  // full stash, and a refill (one object for the caller, the rest stashed)
  // leaves one slot free for the next free (SendStashOn). Without the extra
  // slot, a stash of one would move two objects per cluster only if a
  // refill filled it, and then every free overflowed it; with clusters of
  // one object instead, batches of 2 MiB objects took a shared-cache
  // operation per object: 26-29 ns a pair against 18-19 (poolbench --quick
  // --patterns=batch --sizes=2M, this 2-vCPU VM).
  const std::uint32_t stash =
      debug ? 0
            : static_cast<std::uint32_t>(std::clamp<std::int64_t>(
                  budget / static_cast<std::int64_t>(object_size()), 1,
                  kMaxStashObjects)) +
                  1;
  stash_capacity_.store(stash, std::memory_order_relaxed);
  cluster_objects_.store(std::max<std::uint32_t>(stash, 1),
                         std::memory_order_relaxed);
}

std::size_t Pool::ObjectLimit() const {
  if (limit_bytes_ == 0) return limit_;
  // object_size() may still grow while the pool has never allocated (merge
  // growth): divided here, on the OS path, not once at creation.
  const std::size_t by_bytes = limit_bytes_ / object_size();
  return limit_ == 0 ? by_bytes : std::min(limit_, by_bytes);
}

std::uint32_t Pool::HomeBucket(const internal::ThreadState* ts) const {
  return (ts != nullptr ? ts->index() : 0) & bucket_mask_;
}

void Pool::ZeroObject(void* object) { std::memset(object, 0, object_size()); }

// ---------------------------------------------------------------------------
// The OS side.

std::uint32_t Pool::CarveCount() const {
  return span_backed_ && debug_state_ == nullptr ? cluster_objects() : 1;
}

FreeItem* Pool::AllocFromOs(std::uint32_t bucket, std::uint32_t want) {
  // Reserve first, so that racing threads cannot overshoot the limit.
  // Acquire: pairs with the registry's release when it finishes growing
  // the pool (size_, charge_), see Registry::Create.
  std::int64_t before = allocated_.fetch_add(want, std::memory_order_acquire);
  while (POOLKIT_PREDICT_FALSE(before < 0)) {
    // The registry is growing this never-used pool: wait for the new size.
    allocated_.fetch_sub(want, std::memory_order_relaxed);
    while (allocated_.load(std::memory_order_relaxed) < 0)
      std::this_thread::yield();
    before = allocated_.fetch_add(want, std::memory_order_acquire);
  }
  const std::size_t limit = ObjectLimit();
  if (limit != 0 && before + static_cast<std::int64_t>(want) >
                        static_cast<std::int64_t>(limit)) {
    // At the limit: what room is left, if any (a cluster may be cut short).
    const std::int64_t room = static_cast<std::int64_t>(limit) - before;
    if (room <= 0) {
      allocated_.fetch_sub(want, std::memory_order_relaxed);
      limit_failures_.fetch_add(1, std::memory_order_relaxed);
      failed_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    allocated_.fetch_sub(want - room, std::memory_order_relaxed);
    want = static_cast<std::uint32_t>(room);
  }
  // Outside any lock but the backing's own (seed 004): mmap, malloc and the
  // first touch of a fresh page may be slow; no shared-cache user waits.
  FreeItem* objects = nullptr;
  std::uint32_t got = 0;
  // The process cap first (memory_cap.h): a charge for what is asked, cut
  // to the room left, and the part the backing did not deliver given back.
  const std::size_t unit = AllocationSize();
  bool capped = false;
  auto allocate = [&] {
    std::uint32_t charged = want;
    capped = !internal::ChargeMemory(unit, &charged);
    if (capped) {
      got = 0;
      return;
    }
    if (debug_options_.Guarded()) {
      objects = static_cast<FreeItem*>(debug::AllocateGuarded(
          object_size(), alignment_, this, name_.c_str()));
      if (objects != nullptr) objects->next = nullptr;
      got = objects != nullptr ? 1 : 0;
    } else {
      got = backing_->Allocate(unit, alignment_, charged, &objects);
    }
    if (got < charged) internal::UnchargeMemory((charged - got) * unit);
  };
  allocate();
  if (got == 0 && !debug_options_.Guarded() && !internal::InsideRegistry()) {
    // Seed 002: before giving up, every pool returns its spare objects to
    // the OS once, and the call is tried again; memory another pool holds
    // spare may be what this one needs (a process-wide budget, a container
    // limit, the process cap). Not from inside a registry operation, which
    // holds the lock that Gc() takes.
    oom_gc_retries_.fetch_add(1, std::memory_order_relaxed);
    internal::Registry::Global().TrimAll();
    allocate();
    if (got != 0) oom_gc_recovered_.fetch_add(1, std::memory_order_relaxed);
  }
  if (got < want) allocated_.fetch_sub(want - got, std::memory_order_relaxed);
  if (got == 0) {
    // A failed call is counted in `failed`, not as an OS allocation.
    failed_.fetch_add(1, std::memory_order_relaxed);
    if (capped) cap_failures_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  os_counters_[bucket].allocs.fetch_add(got, std::memory_order_relaxed);
  if (init_ != nullptr) {
    // Outside every lock, as the run is still only ours. The initialiser
    // may write the link word: each link is put back after it.
    for (FreeItem* item = objects; item != nullptr;) {
      FreeItem* next = item->next;
      init_(item, init_arg_);
      item->next = next;
      item = next;
    }
  }
  SetClusterCount(objects, got);
  return objects;
}

void Pool::ReleaseClustersToOs(FreeItem* clusters, std::uint32_t bucket) {
  if (clusters == nullptr) return;
  // The objects may have come from a stack another thread is popping right
  // now, about to read a link inside one of them (dwcas, see DwcasStack):
  // one barrier for the whole batch (pops that start after it cannot reach
  // objects that have left the cache). Spans rely on it too: a span is
  // unmapped when its last object comes back here.
  shared_->ReleaseBarrier();
  std::uint32_t released = 0;
  while (clusters != nullptr) {
    FreeItem* next_cluster = clusters->next_cluster;
    if (debug_options_.Guarded()) {
      for (FreeItem* item = clusters; item != nullptr;) {
        FreeItem* next = item->next;
        debug::ReleaseGuarded(item, debug_options_.quarantine);
        item = next;
        ++released;
      }
    } else {
      released += backing_->Deallocate(AllocationSize(), alignment_, clusters);
    }
    clusters = next_cluster;
  }
  os_counters_[bucket].releases.fetch_add(released, std::memory_order_relaxed);
  internal::UnchargeMemory(released * AllocationSize());
  // Last access to the pool on this path: once a destroyed pool's count
  // reaches zero another thread may free it (Registry::ReapIfDrained, which
  // loads it with acquire). Release orders our earlier writes to the pool
  // (and its backing) before that.
  allocated_.fetch_sub(released, std::memory_order_release);
}

// ---------------------------------------------------------------------------
// Between thread caches and the shared cache.

bool Pool::KeepsSpares() const {
  return strategy_ != SharedCacheStrategy::kNone &&
         !dead_.load(std::memory_order_acquire) && keep_spares_ &&
         !debug_options_.uaf;
}

// Counts a slow path of this thread; every kReleaseTickMask + 1 of them, the
// release rule looks at the clock.
inline void Pool::TickReleaseClock(internal::ThreadState* ts) {
  if (POOLKIT_PREDICT_FALSE((++tls_release_ticks & kReleaseTickMask) == 0)) {
    MaybeReleaseSpares(ts);
  }
}

FreeItem* Pool::EvictFront(FreeItem* list, std::uint32_t objects,
                           internal::ThreadState* ts) {
  const std::uint32_t home = HomeBucket(ts);
  const bool keep = KeepsSpares();
  const std::uint32_t per_cluster = keep ? cluster_objects() : UINT32_MAX;
  FreeItem* release = nullptr;
  while (list != nullptr && objects > 0) {
    // Cut a run of up to per_cluster objects: they are already linked in
    // order, so only the last one (and the count) is written.
    FreeItem* cluster = list;
    FreeItem* last = list;
    const std::uint32_t limit = std::min(per_cluster, objects);
    std::uint32_t n = 1;
    while (n < limit && last->next != nullptr) {
      last = last->next;
      ++n;
    }
    list = last->next;
    last->next = nullptr;
    objects -= n;
    SetClusterCount(cluster, n);
    if (keep) {
      shared_->Push(home, cluster, n);
    } else {
      cluster->next_cluster = release;
      release = cluster;
    }
  }
  if (!keep) {
    // Last access to the pool: once its objects are back, a destroyed pool
    // may be freed by another thread (ReleaseClustersToOs).
    ReleaseClustersToOs(release, home);
    return list;
  }
  TickReleaseClock(ts);
  return list;
}

FreeItem* Pool::TakeObject(internal::ThreadState* ts, bool* reused) {
  if (ts != nullptr) ts->Touch(*this);
  TickReleaseClock(ts);
  const std::uint32_t home = HomeBucket(ts);
  FreeItem* cluster = shared_->Pop(home);
  *reused = cluster != nullptr;
  if (cluster == nullptr) {
    // A refill from the backing: a whole cluster where it carves one.
    cluster = AllocFromOs(home, CarveCount());
    if (cluster == nullptr) return nullptr;
  }
  // The first object is the caller's; the rest go to the thread's cache.
  // (Pools with a stash refill it in RefillStash.)
  const std::uint32_t objects = ClusterCount(cluster);
  FreeItem* rest = cluster->next;
  cluster->next = nullptr;
  std::uint32_t left = objects - 1;
  if (rest != nullptr && ts != nullptr) {
    if (thread_cacheable()) {
      internal::LocalHead& head = internal::tls_local_heads[slot_];
      if (head.first != nullptr) {
        // Refills come when the list is empty (AllocSlow); another caller
        // still gets a correct list.
        FreeItem* last = rest;
        while (last->next != nullptr) last = last->next;
        last->next = head.first;
      }
      head.first = rest;
      internal::StoreCount(head, internal::LoadCount(head) + left);
      const std::int64_t bytes = static_cast<std::int64_t>(left) *
                                 charge_.load(std::memory_order_relaxed);
      internal::tls_cache_bytes_left -= bytes;
      ts->NoteRefill(*this, bytes);
      rest = nullptr;
      left = 0;
    }
  }
  if (rest != nullptr) {
    // No room for the rest here: it goes back as one cluster.
    SetClusterCount(rest, left);
    shared_->Push(home, rest, left);
  }
  return cluster;
}

// The stash's own paths: with objects of 2 MiB (a stash of one, clusters of
// two), half of all pairs in a batch past the stash cross the shared cache,
// and the general paths (EvictFront's cutting loop, TakeObject's cases for
// thread caches and threads past their exit) cost 200 instructions a pair
// (callgrind, `poolbench --patterns=batch --batch=1000 --sizes=2M
// --contenders=xchg`). These know the stash's shape: it is empty on a refill
// and full when it is sent on, so neither walks it.
FreeItem* Pool::RefillStash(internal::LocalHead& head,
                            internal::ThreadState* ts) {
  ts->Touch(*this);
  TickReleaseClock(ts);
  const std::uint32_t home = HomeBucket(ts);
  FreeItem* cluster = shared_->Pop(home);
  if (cluster == nullptr) cluster = AllocFromOs(home, CarveCount());
  if (cluster == nullptr) return nullptr;
  FreeItem* rest = cluster->next;
  if (rest == nullptr) return cluster;
  std::uint32_t left = ClusterCount(cluster) - 1;
  cluster->next = nullptr;
  const std::uint32_t capacity = stash_capacity();
  if (left <= capacity) {
    // The run is null-terminated and linked by next, as the stash is.
    head.stash = rest;
    internal::StoreStashed(head, left);
    return cluster;
  }
  // A cluster bigger than the stash (pushed by a thread past its exit, or
  // before the budget changed): the rest goes back whole.
  std::uint32_t stashed = 0;
  rest = internal::StashRun(head, rest, capacity, &stashed);
  left -= stashed;
  SetClusterCount(rest, left);
  shared_->Push(home, rest, left);
  return cluster;
}

void Pool::SendStashOn(internal::LocalHead& head, FreeItem* item,
                       internal::ThreadState* ts) {
  // The full stash leaves as one cluster and the freed object stays. (Sent
  // along with the stash, it left the thread holding one object and an
  // empty stash; its next allocation refilled from the shared cache a
  // cluster that filled the stash again, and the next free sent it back:
  // two shared-cache operations per pair for a thread that allocates and
  // frees one object at a time. Measured on hot 2 MiB pairs on spans,
  // whose refills carve whole clusters: 23.8 ns a pair against 10.5 on the
  // malloc backing, which carved one object at a time.)
  const std::uint32_t objects = internal::LoadStashed(head);
  FreeItem* stashed = internal::TakeAllStashed(head);
  internal::PushStashed(head, item, stash_capacity());  // the stash is empty
  if (!KeepsSpares()) {
    EvictFront(stashed, UINT32_MAX, ts);  // to the OS
    return;
  }
  SetClusterCount(stashed, objects);
  shared_->Push(HomeBucket(ts), stashed, objects);
  TickReleaseClock(ts);
}

// ---------------------------------------------------------------------------
// The release rule.
//
// HAProxy decides per freed object: past 1.25 times a sliding average of
// the objects in use, the object goes back to the OS. Deciding per evicted
// cluster (poolkit's rule before) put a shared counter update and a sum over
// every bucket on each slow path, and sent objects to the OS whenever
// threads' phases did not line up (two threads batching 16 KiB objects: 0.2
// OS calls per 1000 pairs, and 200 ns a pair against tcmalloc's 56). Now
// nothing that leaves a thread cache goes to the OS; once per interval (1 s
// by default, SetSpareReleaseInterval), a slow path that finds the interval
// over looks at what the pool needed:
//
//   idle  = objects that sat in the shared cache for the whole interval
//           (the buckets' low-water marks),
//   need  = the most of allocated - idle (what the load had out at once, at
//           least) over the last kNeedWindow intervals, or, if higher, the
//           need of the interval before less a quarter,
//
// and, if the pool holds more than need + 50%, returns to the OS what it
// holds beyond need + 25% (at least two clusters more either way), keeping
// at least minavail spares. A steady load needs what it had out, so nothing
// goes back; after a spike N times the need, memory goes back within about
// kNeedWindow + log(N)/log(4/3) intervals of slow paths or RunMaintenance()
// (Gc() returns it at once).

bool Pool::MaybeReleaseSpares(internal::ThreadState* ts) {
  std::int64_t now = internal::ReleaseClockNanos();
  std::int64_t due = next_release_check_ns_.load(std::memory_order_relaxed);
  if (now < due) return false;
  // One thread per interval runs the rule. Relaxed: the rule's inputs are
  // statistics, and each release is ordered by the shared cache itself.
  if (!next_release_check_ns_.compare_exchange_strong(
          due, now + internal::SpareReleaseIntervalNanos(),
          std::memory_order_relaxed)) {
    return false;
  }
  ReleaseSpares(HomeBucket(ts));
  // Destroyed pools whose objects have come back (to their shared cache, by
  // a thread that evicted while the pool was being destroyed) are freed
  // here too, within an interval of any pool's activity, rather than only at
  // the next CreatePool() or Gc().
  if (!dead_.load(std::memory_order_acquire)) {
    internal::Registry::Global().ReapDrainedIfFree();
  }
  return true;
}

void Pool::ReleaseSpares(std::uint32_t bucket) {
  const std::int64_t allocated = allocated_.load(std::memory_order_relaxed);
  const std::int64_t idle = shared_->TakeLowWater();
  const std::int64_t need_now = allocated - idle;
  // The need is the highest of the last kNeedWindow intervals, and past
  // that it decays by a quarter per interval: a load whose peak recurs only
  // now and then (8 threads batching on 2 CPUs, a producer that gets a
  // batch ahead of its consumer) keeps what its peak needs, and a spike N
  // times the need is forgotten in about kNeedWindow + log(N)/log(4/3)
  // intervals. (With the decay alone, a peak had to recur within two
  // intervals: a burst every third interval lost 30% of its objects to the
  // OS before each next burst took them back, 13520 OS allocations in 24
  // intervals for a 4000-object burst; release_to_os_test's
  // ABurstEveryThirdIntervalKeepsItsMemory.)
  const std::uint32_t slot =
      need_intervals_.fetch_add(1, std::memory_order_relaxed) % kNeedWindow;
  need_window_[slot].store(need_now, std::memory_order_relaxed);
  std::int64_t window_peak = 0;
  for (const std::atomic<std::int64_t>& past : need_window_) {
    window_peak = std::max(window_peak, past.load(std::memory_order_relaxed));
  }
  const std::int64_t previous = need_.load(std::memory_order_relaxed);
  const std::int64_t need = std::max(window_peak, previous - previous / 4);
  need_.store(need, std::memory_order_relaxed);
  if (!KeepsSpares()) return;
  // Hysteresis: nothing goes back until the pool holds more than 1.5x the
  // need, then it comes down to 1.25x, so that a load whose peaks vary a
  // little from interval to interval does not allocate what the rule just
  // released (measured: 8 threads batching 2 KiB objects on 2 CPUs released
  // and reallocated ~10% of the pool per interval with a single 1.25x
  // threshold).
  const std::int64_t clusters =
      kMinSpareClusters * static_cast<std::int64_t>(cluster_objects());
  if (allocated <= need + std::max<std::int64_t>(need / 2, clusters)) return;
  const std::int64_t slack = std::max<std::int64_t>(need / 4, clusters);
  std::int64_t excess = allocated - (need + slack);
  // Never below the floor (minavail, Reserve()): clusters come whole, so
  // one that would cross it goes back.
  const std::int64_t above_floor =
      shared_->Objects() - static_cast<std::int64_t>(SpareFloor());
  excess = std::min(excess, above_floor);
  if (excess <= 0) return;
  FreeItem* release = nullptr;
  std::int64_t taken = 0;
  while (excess > 0) {
    FreeItem* cluster = shared_->Pop(bucket);
    if (cluster == nullptr) break;
    const std::uint32_t n = ClusterCount(cluster);
    if (taken + n > above_floor) {
      shared_->Push(bucket, cluster, n);
      break;
    }
    taken += n;
    cluster->next_cluster = release;
    release = cluster;
    excess -= n;
  }
  ReleaseClustersToOs(release, bucket);
}

// ---------------------------------------------------------------------------
// Slow paths.

void* Pool::AllocSlow() {
  if (debug_state_ != nullptr) return AllocDebug(__builtin_return_address(0));
  if (stash_capacity() != 0) {
    // Objects too big for the byte budget: the thread's stash first, reached
    // like the fast path through the thread pointer (a non-empty stash
    // implies the thread is set up). Measured with perf on hot 2 MiB pairs:
    // looking the ThreadState up first was a seventh of the pair.
    internal::LocalHead& head = ThisThreadsHead();
    FreeItem* item = internal::PopStashed(head);
    if (item != nullptr) return item;
    internal::ThreadState* ts = internal::tls_thread_state;
    if (ts == nullptr) ts = internal::ThreadState::Current();
    if (ts != nullptr) return RefillStash(head, ts);
    // A thread past its exit: no stash, one object from TakeObject.
  }
  bool reused;
  return TakeObject(internal::ThreadState::Current(), &reused);
}

void Pool::FreeSlow(void* object) {
  // Free() charged the object before coming here: take the charge back,
  // then either cache the object and evict, or send it on.
  internal::tls_cache_bytes_left += charge_.load(std::memory_order_relaxed);
  FreeItem* item = static_cast<FreeItem*>(object);
  const std::uint32_t stash_capacity = this->stash_capacity();
  if (stash_capacity != 0) {
    CheckOwner(object);
    // Too big for the byte budget (never a pool with debugging aids): into
    // the stash if the thread is set up (its exit hands the stash back); a
    // full stash leaves with this object as one cluster.
    internal::LocalHead& head = ThisThreadsHead();
    internal::ThreadState* ts = internal::tls_thread_state;
    if (ts != nullptr) {
      if (!internal::PushStashed(head, item, stash_capacity)) {
        SendStashOn(head, item, ts);
      }
      return;
    }
    ts = internal::ThreadState::Current();
    item->next = ts != nullptr ? internal::TakeAllStashed(head) : nullptr;
    EvictFront(item, UINT32_MAX, ts);
    return;
  }
  if (debug_state_ != nullptr) {
    FreeDebug(object, __builtin_return_address(0));
    return;
  }
  CheckOwner(object);
  internal::ThreadState* ts = internal::ThreadState::Current();
  if (ts == nullptr || !thread_cacheable()) {
    item->next = nullptr;
    EvictFront(item, UINT32_MAX, ts);
    return;
  }
  internal::LocalHead& head = internal::tls_local_heads[slot_];
  item->next = head.first;
  head.first = item;
  internal::StoreCount(head, internal::LoadCount(head) + 1);
  internal::tls_cache_bytes_left -= charge_.load(std::memory_order_relaxed);
  ts->Touch(*this);
  ts->Evict(*this);
}

void Pool::CheckOwner(const void* object) const {
  // Two dependent loads (PageMap): cheap beside a slow path, and the one
  // place a release build sees objects of another pool before they reach
  // the backing (the fast path stays without a check).
  const Pool* owner = internal::PageMap::PoolAt(object);
  if (POOLKIT_PREDICT_FALSE(owner != this) &&
      (owner != nullptr || span_backed_)) {
    char detail[96];
    if (owner != nullptr) {
      std::snprintf(detail, sizeof(detail), "the object belongs to pool '%s'",
                    owner->name_.c_str());
    } else {
      std::snprintf(detail, sizeof(detail),
                    "no span of any pool holds this address");
    }
    debug::FaultReport report;
    report.fault = "free to the wrong pool";
    report.pool = name_.c_str();
    report.object = object;
    report.object_size = object_size();
    report.detail = detail;
    debug::ReportFaultAndAbort(report);
  }
}

// ---------------------------------------------------------------------------
// Bulk calls and prefill.
//
// Pools whose objects thread caches never hold (debugging aids, objects
// past the byte budget) take them one at a time through their slow paths,
// where the aids live and the stash moves clusters. The others serve a
// bulk call from the thread's list with one count and budget update for
// the run, and go past it a cluster at a time: TakeObject() brings one
// from the shared cache or carves one from the backing, EvictFront() sends
// the objects past the budget back in clusters.

bool Pool::AllocBulk(std::size_t n, void** out) {
  if (debug_state_ != nullptr || stash_capacity() != 0) {
    const void* caller = __builtin_return_address(0);
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = debug_state_ != nullptr ? AllocDebug(caller) : AllocSlow();
      if (out[i] == nullptr) {
        FreeBulk(i, out);
        return false;
      }
    }
    return true;
  }
  const std::int64_t charge = charge_.load(std::memory_order_relaxed);
  internal::LocalHead& head = ThisThreadsHead();
  internal::ThreadState* ts = nullptr;
  std::size_t i = 0;
  for (;;) {
    FreeItem* item = head.first;
    std::uint32_t taken = 0;
    while (i < n && item != nullptr) {
      out[i++] = item;
      item = item->next;
      ++taken;
    }
    head.first = item;
    if (taken != 0) {
      arch::OwnerAdd(&head.count, -static_cast<std::int32_t>(taken));
      internal::tls_cache_bytes_left += charge * taken;
    }
    if (i == n) return true;
    // The list ran dry: one object of a new cluster, whose rest TakeObject
    // puts in the list for the next turn.
    if (ts == nullptr) ts = internal::ThreadState::Current();
    bool reused;
    FreeItem* object = TakeObject(ts, &reused);
    if (object == nullptr) {
      FreeBulk(i, out);
      return false;
    }
    out[i++] = object;
  }
}

void Pool::FreeBulk(std::size_t n, void* const* objects) {
  if (debug_state_ != nullptr) {
    const void* caller = __builtin_return_address(0);
    for (std::size_t i = 0; i < n; ++i) {
      if (objects[i] != nullptr) FreeDebug(objects[i], caller);
    }
    return;
  }
  if (stash_capacity() != 0) {
    for (std::size_t i = 0; i < n; ++i) Free(objects[i]);
    return;
  }
  // Into the thread's list while the budget lasts, as Free() would (and,
  // like it, unchecked).
  const std::int64_t charge = charge_.load(std::memory_order_relaxed);
  internal::LocalHead& head = ThisThreadsHead();
  std::int64_t left = internal::tls_cache_bytes_left;
  FreeItem* first = head.first;
  std::uint32_t pushed = 0;
  std::size_t i = 0;
  for (; i < n; ++i) {
    if (objects[i] == nullptr) continue;
    if (left - charge < 0) break;
    left -= charge;
    FreeItem* item = static_cast<FreeItem*>(objects[i]);
    item->next = first;
    first = item;
    ++pushed;
  }
  head.first = first;
  internal::tls_cache_bytes_left = left;
  if (pushed != 0)
    arch::OwnerAdd(&head.count, static_cast<std::int32_t>(pushed));
  if (i == n) return;
  // Past the budget: the rest, each checked like a slow-path free, in order
  // and in clusters to the shared cache.
  FreeItem* list = nullptr;
  FreeItem** tail = &list;
  std::uint32_t count = 0;
  for (; i < n; ++i) {
    if (objects[i] == nullptr) continue;
    CheckOwner(objects[i]);
    FreeItem* item = static_cast<FreeItem*>(objects[i]);
    *tail = item;
    tail = &item->next;
    ++count;
  }
  *tail = nullptr;
  if (count != 0) EvictFront(list, count, internal::ThreadState::Current());
}

bool Pool::Reserve(std::size_t n) {
  if (!KeepsSpares()) {
    // Strategy none and the uaf aid keep no free object to reserve.
    reserved_.store(0, std::memory_order_relaxed);
    return n == 0;
  }
  reserved_.store(n, std::memory_order_relaxed);
  if (debug_state_ != nullptr) {
    // Objects in a debug pool's shared cache must have been freed through
    // the aids (tags, patterns): n of them out, then all of them back. What
    // the cache held is among the n, so it ends with at least n.
    std::vector<void*> objects(n);
    if (!AllocBulk(n, objects.data())) return false;
    FreeBulk(n, objects.data());
    return true;
  }
  const std::int64_t held = shared_->Objects();
  std::int64_t missing = static_cast<std::int64_t>(n) - held;
  const std::uint32_t home = HomeBucket(internal::ThreadState::Current());
  // Whole clusters, so that each refill later moves a full one. Counted
  // once from the start: another thread taking objects meanwhile does not
  // make this loop chase it.
  while (missing > 0) {
    FreeItem* cluster = AllocFromOs(home, cluster_objects());
    if (cluster == nullptr) return false;
    const std::uint32_t got = ClusterCount(cluster);
    shared_->Push(home, cluster, got);
    missing -= got;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Maintenance.

void Pool::Flush() {
  internal::ThreadState* ts = internal::ThreadState::Current();
  if (ts != nullptr) ts->FlushPool(*this);
  Trim(0);
}

void Pool::Trim(std::size_t keep_spare) { TrimKeeping(keep_spare, 0); }

void Pool::TrimKeeping(std::size_t at_most, std::size_t at_least) {
  // Detach every bucket's list at once (each strategy's PopAll is safe
  // against concurrent pops and pushes), keep whole clusters up to
  // `at_most` objects, or past it until `at_least` are kept, put those
  // back, release the rest after one barrier.
  std::size_t kept = 0;
  FreeItem* release = nullptr;
  for (std::uint32_t b = 0; b < shared_->buckets(); ++b) {
    FreeItem* clusters = shared_->PopAll(b);
    while (clusters != nullptr) {
      FreeItem* next_cluster = clusters->next_cluster;
      const std::uint32_t n = ClusterCount(clusters);
      if (kept + n <= at_most || kept < at_least) {
        kept += n;
        shared_->Push(b, clusters, n);
      } else {
        clusters->next_cluster = release;
        release = clusters;
      }
      clusters = next_cluster;
    }
  }
  ReleaseClustersToOs(release, 0);
  // Trim is the explicit call: the empty span kept for reuse goes too.
  if (kept == 0) backing_->ReleaseUnused();
}

std::int64_t Pool::UsedTotal() const {
  // Objects out of the shared cache. Shared first: an eviction lowers its
  // thread's count before the shared count rises, so a reader that takes
  // the thread counts after this one can only overstate what is in use.
  std::int64_t shared = shared_->Objects();
  return allocated_.load(std::memory_order_acquire) - shared;
}

std::uint64_t Pool::OsAllocsTotal() const {
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i <= bucket_mask_; ++i) {
    total += os_counters_[i].allocs.load(std::memory_order_relaxed);
  }
  return total;
}

std::uint64_t Pool::OsReleasesTotal() const {
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i <= bucket_mask_; ++i) {
    total += os_counters_[i].releases.load(std::memory_order_relaxed);
  }
  return total;
}

std::uint64_t Pool::ThreadCachedTotal() const {
  return internal::ThreadState::CountCached(slot_);
}

PoolStats Pool::Stats() const {
  return internal::Registry::Global().StatsOf(*this);
}

PoolStats Pool::CounterStats() const {
  PoolStats stats;
  stats.name = name_;
  stats.object_size = object_size();
  stats.alignment = alignment_;
  stats.strategy = strategy_;
  stats.flags = flags_;
  stats.minavail = minavail_;
  stats.reserved = reserved();
  stats.limit = limit_;
  stats.limit_bytes = limit_bytes_;
  stats.thread_cacheable = thread_cacheable();
  stats.allocator = debug_options_.Guarded() ? "guarded" : backing_->Name();
  const internal::BackingStats backing = backing_->Stats();
  stats.spans = backing.spans;
  stats.span_bytes = backing.span_bytes;
  stats.objects_per_span = backing.objects_per_span;
  stats.mapped_bytes = backing.mapped_bytes;
  stats.span_maps = backing.maps;
  stats.span_unmaps = backing.unmaps;
  stats.numa_node = numa_node_;
  stats.numa_failures = backing.numa_failures;
  stats.allocated = allocated_.load(std::memory_order_relaxed);
  stats.allocated_bytes =
      stats.allocated * static_cast<std::int64_t>(object_size());
  stats.shared_cached = shared_->Objects();
  stats.used = stats.allocated - stats.shared_cached;
  stats.thread_cached = static_cast<std::int64_t>(ThreadCachedTotal());
  stats.in_use = stats.used - stats.thread_cached;
  stats.needed_avg = need_.load(std::memory_order_relaxed);
  stats.failed = failed_.load(std::memory_order_relaxed);
  stats.limit_failures = limit_failures_.load(std::memory_order_relaxed);
  stats.cap_failures = cap_failures_.load(std::memory_order_relaxed);
  stats.oom_gc_retries = oom_gc_retries_.load(std::memory_order_relaxed);
  stats.oom_gc_recovered = oom_gc_recovered_.load(std::memory_order_relaxed);
  stats.os_allocs = OsAllocsTotal();
  stats.os_releases = OsReleasesTotal();
  if (debug_state_ != nullptr) {
    stats.debug = FormatDebugOptions(debug_options_);
    stats.injected_failures =
        debug_state_->injected_failures.load(std::memory_order_relaxed);
  }
  return stats;
}

}  // namespace poolkit
