#include "pool/object_allocator.h"

#include <cstddef>
#include <cstdlib>

namespace poolkit {
namespace {

class MallocObjectAllocator final : public ObjectAllocator {
 public:
  void* Allocate(std::size_t size, std::size_t alignment) override {
    if (alignment <= alignof(std::max_align_t)) return std::malloc(size);
    // aligned_alloc wants the size to be a multiple of the alignment.
    std::size_t rounded = (size + alignment - 1) & ~(alignment - 1);
    return std::aligned_alloc(alignment, rounded);
  }
  void Deallocate(void* object, std::size_t, std::size_t) override {
    std::free(object);
  }
  const char* Name() const override { return "malloc"; }
};

}  // namespace

ObjectAllocator& MallocAllocator() {
  static MallocObjectAllocator* const allocator = new MallocObjectAllocator();
  return *allocator;
}

}  // namespace poolkit
