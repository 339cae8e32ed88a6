#include "pool/pool.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "debug/guarded_objects.h"
#include "pool/internal/pool_debug.h"
#include "pool/internal/registry.h"
#include "pool/internal/thread_state.h"

namespace poolkit {
namespace {

using internal::FreeItem;

// Samples in the needed-average window (HAProxy uses 1024 too): long enough
// to ride out bursts, short enough that memory falls back within a few
// thousand slow-path events after a spike.
constexpr std::int64_t kNeededSamples = 1024;
constexpr std::uint32_t kDecayBatch = 16;
// Spare objects the needed-average rule always allows (see KeepSpare).
constexpr std::int64_t kMinSpareSlack = 2;

// Samples this thread took since it last applied the decay (SampleNeeded).
// Slow path only: the default TLS model (see thread_cache.cc).
__thread std::uint32_t tls_need_decay_ticks;

}  // namespace

Pool::Pool(const PoolOptions& options, std::size_t size, std::size_t alignment,
           std::uint32_t slot, std::int64_t thread_cache_budget)
    : head_offset_(reinterpret_cast<char*>(&internal::tls_local_heads[slot]) -
                   static_cast<char*>(__builtin_thread_pointer())),
      // Pools with debugging aids bypass thread caches: their checks live
      // on the slow paths.
      charge_(options.debug.AnyObjectAid()
                  ? kUncacheableCharge
                  : ChargeFor(size, thread_cache_budget)),
      slot_(slot),
      size_(size),
      alignment_(alignment),
      strategy_(options.strategy),
      flags_(options.flags),
      minavail_(options.minavail),
      limit_(options.limit),
      allocator_(options.allocator != nullptr ? options.allocator
                                              : &MallocAllocator()),
      name_(options.name),
      debug_options_(options.debug),
      requested_size_sum_(options.object_size) {
  std::uint32_t buckets = internal::SharedBucketCount();
  buckets_.reset(new Bucket[buckets]);
  bucket_mask_ = buckets - 1;
  if (options.debug.AnyObjectAid()) {
    debug_state_ =
        std::make_unique<internal::PoolDebugState>(options.debug, name_);
  }
}

Pool::~Pool() = default;

std::int64_t Pool::ChargeFor(std::size_t size, std::int64_t budget) {
  // One cluster must fit: a refill brings one. (Two clusters, the rule
  // before, kept 48 KiB objects out of 512 KiB caches; through the shared
  // cache on every call they cost 27 ns per hot pair on one thread and
  // 150-300 ns on two, against glibc's 18: measured with poolbench.)
  return static_cast<std::int64_t>(size) * kClusterSize <= budget
             ? static_cast<std::int64_t>(size)
             : kUncacheableCharge;
}

Pool::Bucket& Pool::HomeBucket() const {
  internal::ThreadState* ts = internal::ThreadState::Current();
  std::uint32_t index = ts != nullptr ? ts->index() : 0;
  return buckets_[index & bucket_mask_];
}

void Pool::ZeroObject(void* object) { std::memset(object, 0, size_); }

// ---------------------------------------------------------------------------
// Shared cache dispatch. The strategy is fixed per pool, so these switches
// always go the same way.

void Pool::PushShared(FreeItem* cluster) {
  if (debug_options_.cold_first) {
    std::lock_guard<std::mutex> lock(debug_state_->cold_mu);
    for (FreeItem* item = cluster; item != nullptr; item = item->down) {
      debug_state_->cold.push_back(item);
    }
    return;
  }
  Bucket& bucket = HomeBucket();
  switch (strategy_) {
    case SharedCacheStrategy::kSpinlock:
      bucket.spinlock.Push(cluster);
      return;
    case SharedCacheStrategy::kDwcas:
      bucket.dwcas.Push(cluster);
      return;
    case SharedCacheStrategy::kXchg:
      bucket.xchg.Push(cluster);
      return;
    case SharedCacheStrategy::kNone:
      break;
  }
  ReleaseClusterToOs(cluster);
}

FreeItem* Pool::PopShared() {
  if (debug_options_.cold_first) {
    // The oldest free object: a cluster of one.
    std::lock_guard<std::mutex> lock(debug_state_->cold_mu);
    if (debug_state_->cold.empty()) return nullptr;
    FreeItem* item = debug_state_->cold.front();
    debug_state_->cold.pop_front();
    item->down = nullptr;
    return item;
  }
  if (strategy_ == SharedCacheStrategy::kNone) return nullptr;
  internal::ThreadState* ts = internal::ThreadState::Current();
  std::uint32_t start = ts != nullptr ? ts->index() : 0;
  // Our own bucket first (where this thread's evictions went), then the
  // others: objects freed by other threads end up in theirs.
  for (std::uint32_t i = 0; i <= bucket_mask_; ++i) {
    Bucket& bucket = buckets_[(start + i) & bucket_mask_];
    FreeItem* cluster = nullptr;
    switch (strategy_) {
      case SharedCacheStrategy::kSpinlock:
        cluster = bucket.spinlock.Pop();
        break;
      case SharedCacheStrategy::kDwcas:
        cluster = bucket.dwcas.Pop();
        break;
      case SharedCacheStrategy::kXchg:
        cluster = bucket.xchg.Pop();
        break;
      case SharedCacheStrategy::kNone:
        break;
    }
    if (cluster != nullptr) return cluster;
  }
  return nullptr;
}

FreeItem* Pool::PopAllShared(Bucket& bucket) {
  if (debug_options_.cold_first) {
    if (&bucket != &buckets_[0]) return nullptr;
    // Every FIFO object as a cluster of one, linked by `next`.
    std::lock_guard<std::mutex> lock(debug_state_->cold_mu);
    FreeItem* all = nullptr;
    while (!debug_state_->cold.empty()) {
      FreeItem* item = debug_state_->cold.back();
      debug_state_->cold.pop_back();
      item->down = nullptr;
      item->next = all;
      all = item;
    }
    return all;
  }
  switch (strategy_) {
    case SharedCacheStrategy::kSpinlock:
      return bucket.spinlock.PopAll();
    case SharedCacheStrategy::kDwcas:
      return bucket.dwcas.PopAll();
    case SharedCacheStrategy::kXchg:
      return bucket.xchg.PopAll();
    case SharedCacheStrategy::kNone:
      break;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------
// The OS side.

FreeItem* Pool::AllocFromOs() {
  // Reserve first, so that racing threads cannot overshoot the limit.
  // Acquire: pairs with the registry's release when it finishes growing
  // the pool (size_, charge_), see Registry::Create.
  std::int64_t before = allocated_.fetch_add(1, std::memory_order_acquire);
  while (POOLKIT_PREDICT_FALSE(before < 0)) {
    // The registry is growing this never-used pool: wait for the new size.
    allocated_.fetch_sub(1, std::memory_order_relaxed);
    while (allocated_.load(std::memory_order_relaxed) < 0)
      std::this_thread::yield();
    before = allocated_.fetch_add(1, std::memory_order_acquire);
  }
  if (limit_ != 0 && before >= static_cast<std::int64_t>(limit_)) {
    allocated_.fetch_sub(1, std::memory_order_relaxed);
    limit_failures_.fetch_add(1, std::memory_order_relaxed);
    failed_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  // Outside any lock (seed 004): the allocator, and the first touch of a
  // fresh page, may be slow; no other thread waits for us here.
  void* object =
      debug_options_.Guarded()
          ? debug::AllocateGuarded(size_, alignment_, this, name_.c_str())
          : allocator_->Allocate(AllocationSize(), alignment_);
  HomeBucket().os_allocs.fetch_add(1, std::memory_order_relaxed);
  if (object == nullptr) {
    allocated_.fetch_sub(1, std::memory_order_relaxed);
    failed_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  return static_cast<FreeItem*>(object);
}

void Pool::ReleaseToOs(FreeItem* object) {
  if (strategy_ == SharedCacheStrategy::kDwcas) {
    // The object may have come from a dwcas stack that another thread is
    // popping right now, about to read object->next (see DwcasStack).
    for (std::uint32_t i = 0; i <= bucket_mask_; ++i) {
      buckets_[i].dwcas.ReleaseBarrier();
    }
  }
  if (debug_options_.Guarded()) {
    debug::ReleaseGuarded(object, debug_options_.quarantine);
  } else {
    allocator_->Deallocate(object, AllocationSize(), alignment_);
  }
  HomeBucket().os_releases.fetch_add(1, std::memory_order_relaxed);
  // Last access to the pool on this path: once a destroyed pool's count
  // reaches zero another thread may free it (Registry::ReapIfDrained, which
  // loads it with acquire). Release orders our earlier writes to the pool
  // before that.
  allocated_.fetch_sub(1, std::memory_order_release);
}

void Pool::ReleaseClusterToOs(FreeItem* cluster) {
  while (cluster != nullptr) {
    FreeItem* down = cluster->down;
    ReleaseToOs(cluster);
    cluster = down;
  }
}

// ---------------------------------------------------------------------------
// Accounting and the needed-average rule.

std::int64_t Pool::UsedTotal() const {
  std::int64_t used = 0;
  for (std::uint32_t i = 0; i <= bucket_mask_; ++i) {
    used += buckets_[i].used.load(std::memory_order_relaxed);
  }
  return used;
}

std::uint64_t Pool::OsAllocsTotal() const {
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i <= bucket_mask_; ++i) {
    total += buckets_[i].os_allocs.load(std::memory_order_relaxed);
  }
  return total;
}

std::uint64_t Pool::OsReleasesTotal() const {
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i <= bucket_mask_; ++i) {
    total += buckets_[i].os_releases.load(std::memory_order_relaxed);
  }
  return total;
}

std::uint64_t Pool::ThreadCachedTotal() const {
  return internal::ThreadState::CountCached(slot_);
}

void Pool::SampleNeeded() {
  // The need is a decaying peak of `used`: it jumps to any higher sample and
  // otherwise loses 1/kNeededSamples per sample (a half-life of ~700
  // slow-path events). HAProxy keeps a sliding average instead; measured
  // here, an average sits at half the peak of a batch workload, so the
  // 1.25x rule sent part of every batch to the OS and the next batch
  // allocated it again (0.75 OS calls per pair for 48 KiB batches of 64).
  // A peak keeps what recurring peaks need and still decays after a spike.
  // Best effort, as in HAProxy: racing updates may lose a sample. A relaxed
  // load/store pair keeps it free of lock prefixes and of data races.
  std::int64_t scaled = needed_sum_.load(std::memory_order_relaxed);
  std::int64_t used_scaled = UsedTotal() * kNeededSamples;
  if (used_scaled >= scaled) {
    if (used_scaled != scaled) {
      needed_sum_.store(used_scaled, std::memory_order_relaxed);
    }
    return;
  }
  // The decay is batched: each thread applies kDecayBatch steps at once on
  // one sample in kDecayBatch. Storing on every sample made this line
  // bounce between threads that share a pool of big objects (two threads
  // in a hot loop of 48 KiB objects: ~700 ns per pair, measured).
  if ((++tls_need_decay_ticks & (kDecayBatch - 1)) != 0) return;
  needed_sum_.store(scaled - scaled / (kNeededSamples / kDecayBatch),
                    std::memory_order_relaxed);
}

bool Pool::KeepSpare() const {
  if (strategy_ == SharedCacheStrategy::kNone ||
      dead_.load(std::memory_order_relaxed) || !keep_spares_ ||
      debug_options_.uaf) {
    return false;
  }
  std::int64_t allocated = allocated_.load(std::memory_order_relaxed);
  std::int64_t needed =
      needed_sum_.load(std::memory_order_relaxed) / kNeededSamples;
  // While the pool holds no more than 1.25x what the load has needed lately,
  // every freed object may stay cached. (At most, not less than: with a need
  // of one object, "less than 1.25" sent the one object of a hot alloc/free
  // loop to the OS on every pair; measured, 2 OS calls per pair.)
  // The slack is at least kMinSpareSlack objects: with a need of 2 (two
  // threads each in a hot loop of big objects), 1.25x left no room for the
  // third object a race between them allocates, and 0.3 of every pair went
  // to the OS (measured).
  if (allocated <=
      needed + std::max<std::int64_t>(needed / 4, kMinSpareSlack)) {
    return true;
  }
  // Past that, keep only `minavail` spare objects. `used` already excludes
  // the objects being decided on, so `spare` includes them.
  std::int64_t spare = allocated - UsedTotal();
  return spare <= static_cast<std::int64_t>(minavail_);
}

void Pool::EvictChain(FreeItem* chain, std::uint32_t count) {
  // Sample the need before these objects count as spare: a thread cache
  // just held them, and in a producer/consumer flow they are what the other
  // side takes next.
  SampleNeeded();
  while (chain != nullptr && count > 0) {
    // Cut a cluster of up to kClusterSize objects, chained by `down`.
    FreeItem* cluster = chain;
    std::uint32_t n = std::min<std::uint32_t>(count, kClusterSize);
    FreeItem* item = cluster;
    for (std::uint32_t i = 1; i < n; ++i) {
      item->down = item->next;
      item = item->next;
    }
    chain = item->next;
    item->down = nullptr;
    count -= n;
    // Per cluster, so that the minavail test sees exactly the spares the
    // pool would hold with this cluster kept (not the rest of the chain).
    AddUsed(-static_cast<std::int64_t>(n));
    if (KeepSpare()) {
      PushShared(cluster);
    } else {
      ReleaseClusterToOs(cluster);
    }
  }
}

// ---------------------------------------------------------------------------
// Slow paths.

void* Pool::AllocSlow() {
  if (debug_state_ != nullptr) return AllocDebug(__builtin_return_address(0));
  bool reused;
  return TakeObject(&reused);
}

FreeItem* Pool::TakeObject(bool* reused) {
  internal::ThreadState* ts = internal::ThreadState::Current();
  if (ts != nullptr) ts->Touch(*this);
  internal::LocalHead& head = internal::tls_local_heads[slot_];

  FreeItem* cluster = PopShared();
  if (cluster != nullptr) {
    // Keep the rest of the cluster in the thread cache (if the pool and the
    // thread have one), return the first object.
    std::uint32_t n = 1;
    FreeItem* rest = cluster->down;
    if (ts != nullptr && thread_cacheable()) {
      std::uint32_t cached = internal::LoadCount(head);
      for (FreeItem* item = rest; item != nullptr;) {
        FreeItem* down = item->down;
        item->next = head.first;
        head.first = item;
        ++cached;
        ++n;
        internal::tls_cache_bytes_left -=
            charge_.load(std::memory_order_relaxed);
        item = down;
      }
      internal::StoreCount(head, cached);
    } else if (rest != nullptr) {
      // No thread cache to hold them: the rest goes back.
      rest->next = nullptr;
      PushShared(rest);
    }
    AddUsed(n);
    SampleNeeded();
    *reused = true;
    return cluster;
  }

  *reused = false;
  FreeItem* object = AllocFromOs();
  if (object == nullptr) return nullptr;
  AddUsed(1);
  SampleNeeded();
  return object;
}

void Pool::FreeSlow(void* object) {
  // Free() charged the object before coming here: take the charge back,
  // then either cache the object and evict, or send it on.
  internal::tls_cache_bytes_left += charge_.load(std::memory_order_relaxed);
  if (debug_state_ != nullptr) {
    FreeDebug(object, __builtin_return_address(0));
    return;
  }
  FreeItem* item = static_cast<FreeItem*>(object);
  internal::ThreadState* ts = internal::ThreadState::Current();
  if (ts == nullptr || !thread_cacheable()) {
    item->next = nullptr;
    EvictChain(item, 1);
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

// ---------------------------------------------------------------------------
// Maintenance.

void Pool::Flush() {
  internal::ThreadState* ts = internal::ThreadState::Current();
  if (ts != nullptr) ts->FlushPool(*this);
  Trim(0);
}

void Pool::Trim(std::size_t keep_spare) {
  // Detach every bucket's list at once (each strategy's PopAll is safe
  // against concurrent pops and pushes, see shared_stacks.h), keep up to
  // `keep_spare` objects, put those back, release the rest.
  std::size_t kept = 0;
  for (std::uint32_t i = 0; i <= bucket_mask_; ++i) {
    FreeItem* clusters = PopAllShared(buckets_[i]);
    while (clusters != nullptr) {
      FreeItem* next_cluster = clusters->next;
      std::size_t n = 0;
      for (FreeItem* item = clusters; item != nullptr; item = item->down) ++n;
      if (kept + n <= keep_spare) {
        kept += n;
        clusters->next = nullptr;
        PushShared(clusters);
      } else {
        ReleaseClusterToOs(clusters);
      }
      clusters = next_cluster;
    }
  }
}

PoolStats Pool::Stats() const {
  return internal::Registry::Global().StatsOf(*this);
}

PoolStats Pool::CounterStats() const {
  PoolStats stats;
  stats.name = name_;
  stats.object_size = size_;
  stats.alignment = alignment_;
  stats.strategy = strategy_;
  stats.flags = flags_;
  stats.minavail = minavail_;
  stats.limit = limit_;
  stats.thread_cacheable = thread_cacheable();
  stats.allocator = allocator_->Name();
  stats.allocated = allocated_.load(std::memory_order_relaxed);
  stats.allocated_bytes = stats.allocated * static_cast<std::int64_t>(size_);
  stats.used = UsedTotal();
  stats.thread_cached = static_cast<std::int64_t>(ThreadCachedTotal());
  stats.in_use = stats.used - stats.thread_cached;
  stats.shared_cached = stats.allocated - stats.used;
  stats.needed_avg =
      needed_sum_.load(std::memory_order_relaxed) / kNeededSamples;
  stats.failed = failed_.load(std::memory_order_relaxed);
  stats.limit_failures = limit_failures_.load(std::memory_order_relaxed);
  stats.os_allocs = OsAllocsTotal();
  stats.os_releases = OsReleasesTotal();
  if (debug_state_ != nullptr) {
    stats.debug = FormatDebugOptions(debug_options_);
    stats.injected_failures =
        debug_state_->injected_failures.load(std::memory_order_relaxed);
  }
  return stats;
}

std::size_t Pool::CountSharedForTesting() const {
  std::size_t count = 0;
  if (debug_options_.cold_first) {
    std::lock_guard<std::mutex> lock(debug_state_->cold_mu);
    return debug_state_->cold.size();
  }
  for (std::uint32_t i = 0; i <= bucket_mask_; ++i) {
    Bucket& bucket = buckets_[i];
    FreeItem* clusters = nullptr;
    switch (strategy_) {
      case SharedCacheStrategy::kSpinlock:
        clusters = bucket.spinlock.PeekForTesting();
        break;
      case SharedCacheStrategy::kDwcas:
        clusters = bucket.dwcas.PeekForTesting();
        break;
      case SharedCacheStrategy::kXchg:
        clusters = bucket.xchg.PeekForTesting();
        break;
      case SharedCacheStrategy::kNone:
        break;
    }
    for (; clusters != nullptr; clusters = clusters->next) {
      for (FreeItem* item = clusters; item != nullptr; item = item->down) {
        ++count;
      }
    }
  }
  return count;
}

void Pool::SetPopHookForTesting(internal::PopHook hook, void* arg) {
  for (std::uint32_t i = 0; i <= bucket_mask_; ++i) {
    buckets_[i].dwcas.SetPopHookForTesting(hook, arg);
    buckets_[i].xchg.SetPopHookForTesting(hook, arg);
  }
}

void Pool::SetDwcasFlushLockForTesting(bool enabled) {
  for (std::uint32_t i = 0; i <= bucket_mask_; ++i) {
    buckets_[i].dwcas.SetFlushLockForTesting(enabled);
  }
}

void Pool::SetKeepSparesForTesting(bool enabled) { keep_spares_ = enabled; }

}  // namespace poolkit
