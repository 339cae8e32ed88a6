// Where a pool's objects come from and go back to ("the OS" in the pool's
// terms), behind the shared cache: the cache and the thread caches do not
// know which backing a pool sits on.
//
// Two backings: spans (span_backing.h, objects carved from mmap'd spans,
// no per-object header) and an ObjectAllocator (malloc by default, or the
// caller's), one call per object.
#ifndef POOLKIT_POOL_INTERNAL_BACKING_H_
#define POOLKIT_POOL_INTERNAL_BACKING_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "pool/internal/free_item.h"
#include "pool/object_allocator.h"
#include "pool/pool_options.h"

namespace poolkit {
class Pool;
}  // namespace poolkit

namespace poolkit::internal {

// What a backing holds, for PoolStats.
struct BackingStats {
  std::int64_t spans = 0;       // mapped now
  std::int64_t span_bytes = 0;  // bytes per span (0: not carved yet)
  std::int64_t objects_per_span = 0;
  std::int64_t mapped_bytes = 0;    // spans * span_bytes
  std::uint64_t maps = 0;           // spans mapped since creation
  std::uint64_t unmaps = 0;         // spans returned to the OS
  std::uint64_t numa_failures = 0;  // spans whose mbind() failed
};

class Backing {
 public:
  virtual ~Backing() = default;

  // Up to `count` (>= 1) objects of `size` bytes aligned to `alignment`,
  // linked by next into a null-terminated run at *out; returns how many
  // (0 on failure). Thread-safe. `size` and `alignment` are the same on
  // every call once one has succeeded.
  virtual std::uint32_t Allocate(std::size_t size, std::size_t alignment,
                                 std::uint32_t count, FreeItem** out) = 0;
  // Gives back a null-terminated run (linked by next) of objects that
  // Allocate() returned; returns how many. No other thread may still read
  // a link inside them (the shared cache's ReleaseBarrier()).
  virtual std::uint32_t Deallocate(std::size_t size, std::size_t alignment,
                                   FreeItem* run) = 0;
  // Returns memory kept for reuse (an empty span) to the OS.
  virtual void ReleaseUnused() {}
  // Whether PageMap knows this backing's objects (PoolOf()).
  virtual bool InPageMap() const { return false; }
  // True if `address` lies in one of this backing's spans; *start is then
  // the start of the object holding it (nullptr in a span's unused bytes:
  // a row gap or the tail).
  virtual bool ObjectStart(const void* address, const void** start) const {
    (void)address;
    (void)start;
    return false;
  }
  // fork(): held by the forking thread across the fork (Registry).
  virtual void LockForFork() {}
  virtual void UnlockAfterFork() {}
  virtual const char* Name() const = 0;
  virtual BackingStats Stats() const { return {}; }
};

// The allocator a pool with these options calls: the caller's,
// MallocAllocator() for PoolBacking::kMalloc, nullptr for spans.
inline ObjectAllocator* AllocatorOf(const PoolOptions& options) {
  if (options.allocator != nullptr) return options.allocator;
  return options.backing == PoolBacking::kMalloc ? &MallocAllocator() : nullptr;
}

// Objects from `allocator`, one call each.
std::unique_ptr<Backing> MakeAllocatorBacking(ObjectAllocator* allocator);
// Objects carved from spans recorded in PageMap as `pool`'s.
// `huge_pages`: madvise(MADV_HUGEPAGE) on spans of 2 MiB and more.
// numa_node: the node each span prefers (mbind MPOL_PREFERRED), -1 none.
std::unique_ptr<Backing> MakeSpanBacking(Pool* pool, bool huge_pages,
                                         int numa_node);

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_BACKING_H_
