// What a pool is made of: the options a caller passes to CreatePool().
#ifndef POOLKIT_POOL_POOL_OPTIONS_H_
#define POOLKIT_POOL_POOL_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "arch/cxx17_required.h"
#include "debug/debug_options.h"
#include "pool/object_allocator.h"

namespace poolkit {

// How a pool's threads exchange free objects. Every strategy sits behind the
// same per-thread caches; they differ in what happens when a thread cache
// overflows or runs dry.
enum class SharedCacheStrategy : std::uint8_t {
  kSpinlock = 0,  // one lock around the shared list (seed 002)
  kDwcas = 1,     // lock-free {head, generation} list, flush lock (seeds 000/1)
  kXchg = 2,      // self-locked head swapped with BUSY (seed 003), default
  kNone = 3,      // no shared cache: thread caches talk to the OS allocator
};

inline constexpr int kNumSharedCacheStrategies = 4;

// Where a pool's objects come from when its caches are empty. The default
// stays malloc until poolbench has measured spans against it in every cell
// (issue 11, open).
enum class PoolBacking : std::uint8_t {
  // Carved from mmap'd spans sized for the object size, no per-object
  // header; a span whose objects have all come back returns to the OS.
  // PoolOf() and poolkit::Free() know these objects.
  kSpans = 0,
  // One malloc() (aligned_alloc()) per object.
  kMalloc = 1,
};

// "spans", "malloc"; "invalid" for anything else.
std::string_view BackingName(PoolBacking backing);
bool ParseBacking(std::string_view name, PoolBacking* backing);

// "spinlock", "dwcas", "xchg", "none"; "invalid" for anything else.
std::string_view StrategyName(SharedCacheStrategy strategy);
// The inverse of StrategyName(); false if `name` names no strategy.
bool ParseStrategy(std::string_view name, SharedCacheStrategy* strategy);

// Pool flags (a bit set).
enum PoolFlag : std::uint32_t {
  // May be merged with a compatible pool created with kShared too.
  kPoolShared = 1u << 0,
  // Use the object size as given: no rounding up to 16 bytes, and merge only
  // with a pool of exactly this size.
  kPoolExact = 1u << 1,
  // Span backing: madvise(MADV_HUGEPAGE) on spans of 2 MiB and more (they
  // are 2 MiB-aligned), for transparent huge pages where the system has
  // them in "madvise" mode.
  kPoolHugePages = 1u << 2,
};
inline constexpr std::uint32_t kAllPoolFlags =
    kPoolShared | kPoolExact | kPoolHugePages;

// Limits enforced by ValidatePoolOptions().
inline constexpr std::size_t kMaxPoolNameLength = 31;
inline constexpr std::size_t kMaxObjectSize = std::size_t{1} << 30;  // 1 GiB
inline constexpr std::size_t kMaxAlignment = 4096;
inline constexpr std::size_t kMaxLimit = std::size_t{1} << 48;
inline constexpr int kMaxNumaNode = 1023;

struct PoolOptions {
  // 1 to 31 characters of [A-Za-z0-9_.-].
  std::string name;
  // Bytes per object; 1 to kMaxObjectSize.
  std::size_t object_size = 0;
  // 0 means natural (alignof(std::max_align_t)); else a power of two up to
  // kMaxAlignment.
  std::size_t alignment = 0;
  // PoolFlag bits.
  std::uint32_t flags = 0;
  SharedCacheStrategy strategy = SharedCacheStrategy::kXchg;
  // Spare objects the pool may keep beyond what the needed-average rule
  // allows; Gc() trims down to this.
  std::size_t minavail = 0;
  // Most objects allocated at once; 0 = no limit. Alloc() past it returns
  // nullptr and counts a failure.
  std::size_t limit = 0;
  // Most bytes of objects (object_size() each, after rounding) allocated at
  // once; 0 = no limit. With `limit` too, the lower of the two holds.
  std::size_t limit_bytes = 0;
  // Where objects come from, unless `allocator` is set.
  PoolBacking backing = PoolBacking::kMalloc;
  // Span backing only: the NUMA node whose memory the pool's spans prefer
  // (mbind(MPOL_PREFERRED) on each span before its first touch; a full
  // node falls back to others rather than failing). -1, the default: the
  // thread's policy. A node that is not online here is INVALID_ARGUMENT;
  // spans whose mbind() fails (a kernel without NUMA) are counted in
  // PoolStats::numa_failures and used anyway. Guarded debug pools map
  // their objects themselves and ignore it.
  int numa_node = -1;
  // A caller's allocator, used instead of `backing` (which must then be
  // left at kMalloc, its default); must outlive the pool. Guarded debug pools
  // map their objects themselves whatever the backing.
  ObjectAllocator* allocator = nullptr;
  // Runs on each object once each time it comes from the backing (what
  // `os_allocs` counts), before any allocation returns it: rte_mempool's
  // obj_init, for state that survives from one use of an object to the
  // next. While an object is free the pool keeps two links in its first
  // 16 bytes (2 pointers), so what `init` writes there does not last; the
  // bytes after them keep what their last user left. The poison and
  // integrity aids rewrite the whole object on every use. Pools merge only
  // with pools of the same init and init_arg. Called with no poolkit lock
  // held; it must not call into this pool.
  void (*init)(void* object, void* arg) = nullptr;
  void* init_arg = nullptr;
  // Debugging aids for this pool, added to those of POOLKIT_DEBUG. Pools
  // merge only with pools that have the same aids.
  DebugOptions debug;
};

// OK, or InvalidArgument naming the offending field.
absl::Status ValidatePoolOptions(const PoolOptions& options);

}  // namespace poolkit

#endif  // POOLKIT_POOL_POOL_OPTIONS_H_
