// Creating, finding and destroying pools; process-wide maintenance.
#ifndef POOLKIT_POOL_REGISTRY_H_
#define POOLKIT_POOL_REGISTRY_H_

#include <chrono>
#include <cstddef>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "arch/cxx17_required.h"
#include "pool/pool.h"
#include "pool/pool_options.h"

namespace poolkit {

// Creates a pool, or returns a compatible existing one when both are created
// with kPoolShared (the pool then counts one more user). Merging, as in
// HAProxy: same strategy, allocator and limit, alignment at least the one
// asked for, and either the same object size or (neither exact, the
// candidate has nothing allocated) a size within 1% or 16 bytes of the
// average size its users asked for. An exact size match is preferred, then a
// pool that need not grow, then the nearest size.
//
// Errors: InvalidArgument naming the bad field; AlreadyExists if another
// pool has this name and cannot be merged with; ResourceExhausted past
// internal::kMaxPools pools. Nothing is created on error.
absl::StatusOr<Pool*> CreatePool(const PoolOptions& options);

// Drops one user. The last user's call flushes the pool's caches (the
// calling thread's and the shared one) and frees the pool, unless objects are
// still in use: then it returns FailedPrecondition and the pool stays usable.
// Objects other live threads still cache are handed back to the OS as those
// threads next take a slow path or exit; the pool's memory goes with the last
// of them.
absl::Status DestroyPool(Pool* pool);

// The live pool with this name (or merged alias), or nullptr.
Pool* FindPool(std::string_view name);

// Every live pool, in creation order.
std::vector<Pool*> ListPools();

struct GcOptions {
  // Also ask the C library to give free memory back to the kernel
  // (malloc_trim). Off by default: on large heaps it can take a long time
  // (HAProxy issues #1884, #2091).
  bool trim_os = false;
};

// Trims every pool's shared cache down to its `minavail` spare objects.
// Safe while other threads allocate and free.
void Gc(const GcOptions& options = {});

// A process-wide cap on the bytes pools hold from their backings (HAProxy's
// -m), counted as each pool's objects times their size (with the debug tag
// where pools record one). An allocation that would pass it first has
// every pool give its spare objects back (as Gc() does), then, still over,
// fails: Alloc() returns nullptr, counted in the pool's `failed` and
// `cap_failures`. 0, the default, is no cap. Lowering the cap below what
// pools hold frees nothing by itself; allocations fail until it is under.
void SetMemoryCap(std::size_t bytes);
std::size_t MemoryCap();
// What that cap counts, now: the bytes every pool holds from its backing.
std::size_t PoolMemoryBytes();

// The per-thread cache budget in bytes (default 512 KiB). Each thread picks
// up a change at its next slow-path call. Pools created later decide from
// it whether their objects fit in thread caches (8 objects must); objects
// too big for that are still kept per thread, up to budget / size of them
// (at least one) and one more per pool, outside the budget.
void SetThreadCacheBudget(std::size_t bytes);
std::size_t ThreadCacheBudget();

// fork() is safe at any time: poolkit's locks are held across it
// (pthread_atfork), and the child owns only the forking thread's cache; the
// objects other threads cached are unreachable there.
//
// Hands every object the calling thread caches, of every pool, back to the
// pools' shared caches, as the thread's exit does. A thread about to sit idle
// calls it, so that its cache holds no memory and keeps no destroyed pool
// alive: a destroyed pool is freed, and its slot reused, once every object
// is back, and objects cached by a thread that takes no slow path again
// would never come back. At most 512 pools (live, or destroyed and not yet
// drained) exist at once; CreatePool() past that is RESOURCE_EXHAUSTED.
void ReleaseThreadCache();

// One maintenance pass: every live pool whose release interval is over runs
// the release rule (as its own next slow path would), and destroyed pools
// whose objects have all come back are freed. Pools that nobody uses still
// give their spare memory back this way. Safe from any thread at any time.
void RunMaintenance();

// A background thread that runs RunMaintenance() once per release interval,
// so that a pool that took a spike and went quiet returns its spares (the
// release rule's decay) with no call from the program. poolkit never starts it
// by itself. Start is idempotent; Stop wakes the thread and joins it.
void StartMaintenanceThread();
void StopMaintenanceThread();

// How often a pool looks at what its load needed and returns the spare
// objects beyond that (plus 25%) to the OS (default 1 s). The look is taken
// by a slow path of the pool once the interval is over, so memory goes back
// within two intervals of activity after a load falls; Gc() returns it at
// once. Nothing else sends objects to the OS while a pool keeps spares.
void SetSpareReleaseInterval(std::chrono::milliseconds interval);

}  // namespace poolkit

#endif  // POOLKIT_POOL_REGISTRY_H_
