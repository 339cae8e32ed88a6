#include "pool/registry.h"

#include <malloc.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "absl/strings/str_format.h"
#include "debug/guarded_objects.h"
#include "pool/internal/backing.h"
#include "pool/internal/registry.h"
#include "pool/internal/release_clock.h"
#include "pool/internal/shared_cache.h"
#include "pool/internal/thread_state.h"

namespace poolkit {
namespace internal {
namespace {

std::size_t EffectiveSize(const PoolOptions& options) {
  std::size_t size = options.object_size;
  // Without kPoolExact, sizes round up to 16 bytes so that near sizes share.
  if ((options.flags & kPoolExact) == 0) size = (size + 15) & ~std::size_t{15};
  return std::max(size, kMinObjectSize);
}

std::size_t EffectiveAlignment(const PoolOptions& options) {
  // At least the natural alignment: free objects hold pointer links, and
  // every allocator then returns suitably aligned memory.
  return std::max(options.alignment, alignof(std::max_align_t));
}

std::size_t Distance(std::size_t a, std::size_t b) {
  return a > b ? a - b : b - a;
}

}  // namespace

std::uint32_t SharedBucketCount() {
  static const std::uint32_t count = [] {
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    std::uint32_t n = 2;
    while (n < cores && n < kMaxSharedBuckets) n <<= 1;
    return n;
  }();
  return count;
}

namespace {
__thread bool tls_inside_registry;

// Marks the calling thread as inside the registry for a scope.
class InsideRegistryScope {
 public:
  InsideRegistryScope() : outer_(tls_inside_registry) {
    tls_inside_registry = true;
  }
  ~InsideRegistryScope() { tls_inside_registry = outer_; }

 private:
  bool outer_;
};
}  // namespace

bool InsideRegistry() { return tls_inside_registry; }

Registry& Registry::Global() {
  static Registry* const registry = [] {
    Registry* made = new Registry();
    pthread_atfork([] { Global().LockForFork(); },
                   [] { Global().UnlockAfterFork(false); },
                   [] { Global().UnlockAfterFork(true); });
    return made;
  }();
  return *registry;
}

void Registry::LockForFork() {
  // The order every path takes them in: the registry lock (Trim under it
  // takes the stacks' locks, and releases guarded objects), then the thread
  // list's, then each pool's shared cache, then the guarded tables; the
  // backings' locks last (a leaf: held only for their own list work).
  mu_.lock();
  threads_mu_.lock();
  for (Pool* pool : pools_) pool->shared_->LockForFork();
  for (Pool* pool : dead_pools_) pool->shared_->LockForFork();
  debug::LockGuardedTablesForFork();
  for (Pool* pool : pools_) pool->backing_->LockForFork();
  for (Pool* pool : dead_pools_) pool->backing_->LockForFork();
}

void Registry::UnlockAfterFork(bool child) {
  for (Pool* pool : dead_pools_) pool->backing_->UnlockAfterFork();
  for (Pool* pool : pools_) pool->backing_->UnlockAfterFork();
  debug::UnlockGuardedTablesAfterFork();
  for (Pool* pool : dead_pools_) pool->shared_->UnlockAfterFork();
  for (Pool* pool : pools_) pool->shared_->UnlockAfterFork();
  if (child) ThreadState::ForgetOtherThreadsAfterFork();
  threads_mu_.unlock();
  mu_.unlock();
}

// POOLKIT_DEBUG is read during start-up (static initialisation of this
// library), so that a malformed value stops the program before main()
// rather than at its first CreatePool().
namespace {
const bool debug_env_read_at_start_up = (DebugOptionsFromEnv(), true);
}  // namespace

std::string Registry::NameOfPoolForReport(const void* address) {
  // A report from inside a registry operation must not wait for the lock
  // that operation holds.
  if (InsideRegistry()) return "";
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::vector<Pool*>* list : {&pools_, &dead_pools_}) {
    for (const Pool* pool : *list) {
      if (pool == address) return pool->name_;
    }
  }
  return "";
}

Pool* Registry::FindByName(std::string_view name) const {
  for (Pool* pool : pools_) {
    if (pool->name_ == name) return pool;
    for (const std::string& alias : pool->aliases_) {
      if (alias == name) return pool;
    }
  }
  return nullptr;
}

Pool* Registry::FindMergeCandidate(const PoolOptions& options, std::size_t size,
                                   std::size_t alignment, const Pool* only) {
  ObjectAllocator* allocator = AllocatorOf(options);
  const bool exact = (options.flags & kPoolExact) != 0;
  Pool* best = nullptr;
  // Ranks: 0 exact size, 1 no need to grow, 2 must grow; then distance.
  int best_rank = 3;
  std::size_t best_distance = 0;
  for (Pool* pool : pools_) {
    if (only != nullptr && pool != only) continue;
    if ((pool->flags_ & kPoolShared) == 0) continue;
    if (pool->strategy_ != options.strategy || pool->allocator_ != allocator ||
        pool->limit_ != options.limit ||
        pool->limit_bytes_ != options.limit_bytes ||
        pool->init_ != options.init || pool->init_arg_ != options.init_arg ||
        pool->numa_node_ != options.numa_node || pool->alignment_ < alignment ||
        pool->debug_options() != options.debug) {
      continue;
    }
    int rank;
    if (pool->object_size() == size) {
      rank = 0;
    } else {
      if (exact || (pool->flags_ & kPoolExact) != 0) continue;
      if (pool->allocated_.load(std::memory_order_relaxed) != 0) continue;
      std::size_t average = pool->requested_size_sum_ / pool->users_;
      std::size_t tolerance = std::max<std::size_t>(average / 100, 16);
      if (Distance(options.object_size, average) > tolerance) continue;
      rank = pool->object_size() >= size ? 1 : 2;
      // Growing is only for pools that never held an object (Create then
      // blocks their first allocation while it changes the size).
      if (rank == 2 && pool->OsAllocsTotal() != 0) {
        continue;
      }
    }
    std::size_t distance = Distance(pool->object_size(), size);
    if (rank < best_rank || (rank == best_rank && distance < best_distance)) {
      best = pool;
      best_rank = rank;
      best_distance = distance;
    }
  }
  return best;
}

absl::StatusOr<Pool*> Registry::Create(const PoolOptions& asked) {
  absl::Status valid = ValidatePoolOptions(asked);
  if (!valid.ok()) return valid;
  // The pool's own aids and the process-wide ones.
  PoolOptions options = asked;
  options.debug = NormalizeDebugOptions(
      CombineDebugOptions(asked.debug, DebugOptionsFromEnv()));
  // no-merge also lets a second shared pool of the same name exist, so that
  // a program that relies on merging still runs under it.
  const bool no_merge = options.debug.no_merge;
  const std::size_t size = EffectiveSize(options);
  const std::size_t alignment = EffectiveAlignment(options);

  std::lock_guard<std::mutex> lock(mu_);
  InsideRegistryScope inside_registry;
  // A name belongs to one pool: if it is taken, only its owner may be
  // merged with.
  Pool* owner = FindByName(options.name);
  if (no_merge && (options.flags & kPoolShared) != 0) owner = nullptr;
  if ((options.flags & kPoolShared) != 0 && !no_merge) {
    Pool* pool = FindMergeCandidate(options, size, alignment, owner);
    std::int64_t none = 0;
    if (pool != nullptr && pool->object_size() < size &&
        !pool->allocated_.compare_exchange_strong(none, Pool::kResizing,
                                                  std::memory_order_acquire)) {
      // It allocated since FindMergeCandidate looked: it can no longer
      // grow, so it cannot take this user.
      pool = nullptr;
    }
    if (pool != nullptr) {
      ++pool->users_;
      pool->requested_size_sum_ += options.object_size;
      if (pool->object_size() < size) {
        // allocated_ holds kResizing: AllocFromOs() waits, so no object of
        // the old size can exist (the pool never allocated, see
        // FindMergeCandidate) or come to exist.
        pool->size_.store(size, std::memory_order_relaxed);
        pool->SizeCaches(static_cast<std::int64_t>(ThreadCacheBudget()));
        // Release: the new size before any allocation (acquire in
        // AllocFromOs).
        pool->allocated_.store(0, std::memory_order_release);
      }
      if (options.name != pool->name_ &&
          std::find(pool->aliases_.begin(), pool->aliases_.end(),
                    options.name) == pool->aliases_.end()) {
        pool->aliases_.push_back(options.name);
      }
      return pool;
    }
  }
  if (owner != nullptr) {
    return absl::AlreadyExistsError(absl::StrFormat(
        "name: a pool named '%s' exists and cannot be merged with this one",
        options.name));
  }

  // Destroyed pools whose objects have all come back give their slots up.
  ReapDrainedLocked();
  std::uint32_t slot = 0;
  while (slot < kMaxPools && slots_[slot].load(std::memory_order_relaxed)) {
    ++slot;
  }
  if (slot == kMaxPools) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "too many pools: at most %d may exist at once", kMaxPools));
  }
  Pool* pool = new Pool(options, size, alignment, slot,
                        static_cast<std::int64_t>(ThreadCacheBudget()));
  pools_.push_back(pool);
  // Release: a thread that finds the pool through its slot sees it built.
  slots_[slot].store(pool, std::memory_order_release);
  return pool;
}

void Registry::FreeSlot(Pool* pool) {
  slots_[pool->slot_].store(nullptr, std::memory_order_release);
  delete pool;
}

absl::Status Registry::Destroy(Pool* pool) {
  std::lock_guard<std::mutex> lock(mu_);
  InsideRegistryScope inside_registry;
  auto it = std::find(pools_.begin(), pools_.end(), pool);
  if (pool == nullptr || it == pools_.end()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("pool %p is not a live pool (destroyed already?)",
                        static_cast<void*>(pool)));
  }
  if (pool->users_ > 1) {
    // Which user leaves is unknown: keep the average requested size (the
    // near-size merge rule's reference) as it was.
    pool->requested_size_sum_ -= pool->requested_size_sum_ / pool->users_;
    --pool->users_;
    return absl::OkStatus();
  }
  // Dead first (seq_cst): from here on, objects other threads evict go to
  // the OS, not into a shared cache nobody would empty again.
  pool->dead_.store(true, std::memory_order_seq_cst);
  pool->Flush();
  // `used` before the thread-cache counts: an eviction lowers its thread's
  // count before `used`, so in this order a concurrent eviction can only
  // make in_use look larger (a spurious refusal), never hide a live object.
  std::int64_t used = pool->UsedTotal();
  std::int64_t cached =
      static_cast<std::int64_t>(ThreadState::CountCached(pool->slot_));
  std::int64_t in_use = used - cached;
  if (in_use > 0) {
    pool->dead_.store(false, std::memory_order_seq_cst);
    return absl::FailedPreconditionError(absl::StrFormat(
        "pool '%s': %d objects still in use", pool->name_, in_use));
  }
  pools_.erase(it);
  // Anything evicted while we looked went to the shared cache or the OS.
  pool->Trim(0);
  if (cached == 0 && pool->allocated_.load(std::memory_order_acquire) == 0) {
    FreeSlot(pool);
    return absl::OkStatus();
  }
  // Other threads still cache some of its objects: they hand them back to
  // the OS at their next slow path or at exit, and the last one frees it
  // (or the next CreatePool or Gc that finds it drained).
  dead_pools_.push_back(pool);
  ThreadState::NoteDeadPool();
  return absl::OkStatus();
}

void Registry::ReapIfDrained(Pool* pool) {
  std::lock_guard<std::mutex> lock(mu_);
  InsideRegistryScope inside_registry;
  auto it = std::find(dead_pools_.begin(), dead_pools_.end(), pool);
  if (it == dead_pools_.end()) return;  // reaped by another thread already
  // Objects evicted by a thread that had not yet seen the pool die may have
  // reached its shared cache.
  pool->Trim(0);
  if (pool->allocated_.load(std::memory_order_acquire) != 0) return;
  dead_pools_.erase(it);
  FreeSlot(pool);
}

void Registry::ReapDrainedIfFree() {
  if (InsideRegistry()) return;
  std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
  if (!lock.owns_lock() || dead_pools_.empty()) return;
  InsideRegistryScope inside_registry;
  ReapDrainedLocked();
}

void Registry::Maintain() {
  std::lock_guard<std::mutex> lock(mu_);
  InsideRegistryScope inside_registry;
  for (Pool* pool : pools_) pool->MaybeReleaseSpares(nullptr);
  ReapDrainedLocked();
}

Pool* Registry::Find(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  return FindByName(name);
}

PoolStats Registry::StatsOf(const Pool& pool) {
  std::lock_guard<std::mutex> lock(mu_);
  PoolStats stats = pool.CounterStats();
  stats.users = pool.users_;
  stats.aliases = pool.aliases_;
  return stats;
}

std::vector<PoolStats> Registry::AllStats() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PoolStats> all;
  all.reserve(pools_.size());
  for (Pool* pool : pools_) {
    all.push_back(pool->CounterStats());
    all.back().users = pool->users_;
    all.back().aliases = pool->aliases_;
  }
  return all;
}

void Registry::TrimAll() {
  // Under the lock, so that no pool is destroyed while being trimmed.
  std::lock_guard<std::mutex> lock(mu_);
  InsideRegistryScope inside_registry;
  for (Pool* pool : pools_) {
    pool->TrimKeeping(pool->minavail(), pool->reserved());
  }
  ReapDrainedLocked();
}

void Registry::ReapDrainedLocked() {
  for (std::size_t i = 0; i < dead_pools_.size();) {
    Pool* dead = dead_pools_[i];
    dead->Trim(0);
    if (dead->allocated_.load(std::memory_order_acquire) == 0) {
      dead_pools_.erase(dead_pools_.begin() + static_cast<std::ptrdiff_t>(i));
      FreeSlot(dead);
    } else {
      ++i;
    }
  }
}

std::vector<Pool*> Registry::Pools() {
  std::lock_guard<std::mutex> lock(mu_);
  return pools_;
}

}  // namespace internal

absl::StatusOr<Pool*> CreatePool(const PoolOptions& options) {
  return internal::Registry::Global().Create(options);
}

absl::Status DestroyPool(Pool* pool) {
  return internal::Registry::Global().Destroy(pool);
}

Pool* FindPool(std::string_view name) {
  return internal::Registry::Global().Find(name);
}

std::vector<Pool*> ListPools() { return internal::Registry::Global().Pools(); }

void Gc(const GcOptions& options) {
  internal::Registry::Global().TrimAll();
  if (options.trim_os) malloc_trim(0);
}

void SetThreadCacheBudget(std::size_t bytes) {
  internal::SetThreadCacheBudget(bytes);
}

std::size_t ThreadCacheBudget() { return internal::ThreadCacheBudget(); }

void RunMaintenance() { internal::Registry::Global().Maintain(); }

namespace {

// The maintenance thread's state. Never destroyed (a program may stop the
// thread from a static destructor).
struct MaintenanceThread {
  std::mutex mu;
  std::condition_variable wake;
  bool stop = false;
  std::thread thread;
};

MaintenanceThread& Maintenance() {
  static MaintenanceThread* const maintenance = new MaintenanceThread();
  return *maintenance;
}

}  // namespace

void StartMaintenanceThread() {
  MaintenanceThread& m = Maintenance();
  std::lock_guard<std::mutex> lock(m.mu);
  if (m.thread.joinable()) return;
  m.stop = false;
  m.thread = std::thread([&m] {
    std::unique_lock<std::mutex> held(m.mu);
    while (!m.stop) {
      m.wake.wait_for(held, std::chrono::nanoseconds(
                                internal::SpareReleaseIntervalNanos()));
      if (m.stop) break;
      held.unlock();
      RunMaintenance();
      held.lock();
    }
  });
}

void StopMaintenanceThread() {
  MaintenanceThread& m = Maintenance();
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (!m.thread.joinable()) return;
    m.stop = true;
    thread = std::move(m.thread);
  }
  m.wake.notify_all();
  thread.join();
}

void ReleaseThreadCache() {
  internal::ThreadState* state = internal::tls_thread_state;
  if (state != nullptr) state->ReleaseEverything();
}

void SetSpareReleaseInterval(std::chrono::milliseconds interval) {
  internal::SetSpareReleaseIntervalNanos(
      std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count());
}

}  // namespace poolkit
