// Where a pool's objects come from when its caches are empty, and where they
// go when the pool releases them: "the OS allocator" in poolkit's terms.
#ifndef POOLKIT_POOL_OBJECT_ALLOCATOR_H_
#define POOLKIT_POOL_OBJECT_ALLOCATOR_H_

#include <cstddef>

#include "arch/cxx17_required.h"

namespace poolkit {

class ObjectAllocator {
 public:
  virtual ~ObjectAllocator() = default;

  // One object of `size` bytes aligned to `alignment` (a power of two), or
  // nullptr. Must be thread-safe.
  virtual void* Allocate(std::size_t size, std::size_t alignment) = 0;
  // Gives back an object that Allocate(size, alignment) returned.
  virtual void Deallocate(void* object, std::size_t size,
                          std::size_t alignment) = 0;
  // For statistics and reports.
  virtual const char* Name() const = 0;
};

// malloc()/free(), or aligned_alloc() beyond malloc's natural alignment.
// A process-wide instance; never destroyed.
ObjectAllocator& MallocAllocator();

}  // namespace poolkit

#endif  // POOLKIT_POOL_OBJECT_ALLOCATOR_H_
