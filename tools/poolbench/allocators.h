// The allocators under test, as the measured loops see them, and what the
// loops do to each object.
//
// The loops are templates on these types, so that no indirect call sits
// between a loop and the allocator it measures.
#ifndef POOLKIT_TOOLS_POOLBENCH_ALLOCATORS_H_
#define POOLKIT_TOOLS_POOLBENCH_ALLOCATORS_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/status/statusor.h"
#include "pool/pool.h"
#include "pool/pool_options.h"
#include "tools/poolbench/contenders.h"
#include "tools/poolbench/scenarios.h"
#include "tools/poolbench/spinlock_free_list.h"

namespace poolkit::poolbench {

// A poolkit pool.
class PoolUnderTest {
 public:
  explicit PoolUnderTest(Pool* pool) : pool_(pool) {}
  void* Alloc() { return pool_->Alloc(); }
  void Free(void* object) { pool_->Free(object); }
  // Calls to the pool's OS allocator (allocations + releases) so far.
  std::uint64_t OsCalls() const;
  static constexpr bool kCountsOsCalls = true;

 private:
  Pool* pool_;
};

// A pool for a poolkit contender: default options, the contender's
// strategy and backing, a name unique in the process ("pb-xchg-spans-64-3").
absl::StatusOr<Pool*> CreateBenchPool(ContenderId id, std::size_t object_size);

// The simple contender: a SpinlockFreeList in poolbench's process.
class SimpleUnderTest {
 public:
  explicit SimpleUnderTest(SpinlockFreeList* list) : list_(list) {}
  void* Alloc() { return list_->Alloc(); }
  void Free(void* object) { list_->Free(object); }
  // Allocs that found the list empty and went to malloc.
  std::uint64_t OsCalls() const { return list_->FallbackAllocs(); }
  static constexpr bool kCountsOsCalls = true;

 private:
  SpinlockFreeList* list_;
};

// A list for the simple contender in `scenario`, prefilled with
// SimplePrefillObjects(scenario) objects.
absl::StatusOr<std::unique_ptr<SpinlockFreeList>> CreateSimpleList(
    const Scenario& scenario);
// What the scenario's threads hold at once (MaxObjectsInFlight) plus a few
// per thread: a handful each in hot, a batch each plus a few in batch, a
// ring plus a few per pair in cross. None for the spike: its volume comes
// from malloc, as a free list's first fill would.
std::size_t SimplePrefillObjects(const Scenario& scenario);

// malloc()/free(): glibc's, or the peer LD_PRELOADed into the process.
class MallocUnderTest {
 public:
  explicit MallocUnderTest(std::size_t size) : size_(size) {}
  void* Alloc() { return std::malloc(size_); }
  void Free(void* object) { std::free(object); }
  std::uint64_t OsCalls() const { return 0; }
  static constexpr bool kCountsOsCalls = false;

 private:
  std::size_t size_;
};

// Writes the object's first and last words, as a user initialising it
// would: an allocator that hands out untouched memory pays its page faults
// here, as it would in a real program. `size` is at least a pointer's.
inline void Touch(void* object, std::size_t size) {
  auto* bytes = static_cast<unsigned char*>(object);
  std::uintptr_t mark = reinterpret_cast<std::uintptr_t>(object);
  std::memcpy(bytes, &mark, sizeof(mark));
  std::memcpy(bytes + size - sizeof(mark), &mark, sizeof(mark));
  // The object escapes: the compiler may neither drop the writes nor, seeing
  // memory nobody reads, delete a malloc/free pair.
  asm volatile("" : : "r"(object) : "memory");
}

// True if the object still carries the mark Touch() wrote.
inline bool CarriesMark(const void* object) {
  std::uintptr_t mark;
  std::memcpy(&mark, object, sizeof(mark));
  return mark == reinterpret_cast<std::uintptr_t>(object);
}

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_ALLOCATORS_H_
