// A snapshot of one pool's counters.
#ifndef POOLKIT_POOL_POOL_STATS_H_
#define POOLKIT_POOL_POOL_STATS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "arch/cxx17_required.h"
#include "pool/pool_options.h"

namespace poolkit {

// Counters are read without stopping other threads: while they run, the
// figures are a consistent-enough picture, not an atomic one. Once every
// thread using the pool is quiescent,
//   allocated == in_use + thread_cached + shared_cached
// holds exactly.
struct PoolStats {
  std::string name;
  // Names of the other pools merged into this one.
  std::vector<std::string> aliases;
  std::size_t object_size = 0;
  std::size_t alignment = 0;
  SharedCacheStrategy strategy = SharedCacheStrategy::kXchg;
  std::uint32_t flags = 0;
  std::size_t minavail = 0;
  // Reserve()'s floor of spare objects (0 if none).
  std::size_t reserved = 0;
  std::size_t limit = 0;
  std::size_t limit_bytes = 0;
  int users = 0;
  bool thread_cacheable = true;
  // The backing: "spans", or the allocator's name ("malloc", a caller's).
  const char* allocator = "";
  // The debugging aids in force, in POOLKIT_DEBUG's form ("" if none).
  std::string debug;

  // Objects obtained from the OS allocator and not yet given back.
  std::int64_t allocated = 0;
  std::int64_t allocated_bytes = 0;
  // Objects out of the shared cache: in_use + thread_cached.
  std::int64_t used = 0;
  // Objects held by the application.
  std::int64_t in_use = 0;
  // Objects in thread caches: each thread's count read without
  // synchronisation (approximate while threads run).
  std::int64_t thread_cached = 0;
  // Objects in the shared cache (allocated - used).
  std::int64_t shared_cached = 0;
  // How many objects the load needs, as the release rule last computed it
  // (the most objects out of the shared cache at once over the last four
  // intervals, or the previous need less a quarter; see README "Release to
  // the OS").
  std::int64_t needed_avg = 0;
  // Alloc() calls that returned nullptr (limit reached or OS failure).
  std::uint64_t failed = 0;
  // Of those, the ones refused because of `limit`.
  std::uint64_t limit_failures = 0;
  // Allocations refused by the process memory cap (SetMemoryCap).
  std::uint64_t cap_failures = 0;
  // OS allocator failures answered as seed 002 does: every pool's spare
  // objects go back (Gc()) and the call is tried once more. How often, and
  // how often the second try got memory (the others count in `failed`).
  std::uint64_t oom_gc_retries = 0;
  std::uint64_t oom_gc_recovered = 0;
  // Objects obtained from / given back to the OS allocator since creation:
  // in a steady state these stop moving.
  std::uint64_t os_allocs = 0;
  std::uint64_t os_releases = 0;
  // The span backing (zero for other backings): spans mapped now, bytes and
  // objects per span, bytes mapped, and spans mapped / unmapped since
  // creation (each a few OS calls: mmap and the cutting of its alignment
  // slack, or munmap).
  std::int64_t spans = 0;
  std::int64_t span_bytes = 0;
  std::int64_t objects_per_span = 0;
  std::int64_t mapped_bytes = 0;
  std::uint64_t span_maps = 0;
  std::uint64_t span_unmaps = 0;
  // The node spans prefer (-1: none) and spans whose mbind() failed.
  int numa_node = -1;
  std::uint64_t numa_failures = 0;
  // Allocations failed on purpose (fault injection); counted in `failed`.
  std::uint64_t injected_failures = 0;
};

}  // namespace poolkit

#endif  // POOLKIT_POOL_POOL_STATS_H_
