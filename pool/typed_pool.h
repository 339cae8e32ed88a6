// A pool of objects of one C++ type: construction, destruction and a
// unique_ptr deleter on top of Pool.
#ifndef POOLKIT_POOL_TYPED_POOL_H_
#define POOLKIT_POOL_TYPED_POOL_H_

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "arch/cxx17_required.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace poolkit {

template <typename T>
class TypedPool;

// Destroys the object and gives its memory back to the pool.
template <typename T>
class PoolDeleter {
 public:
  PoolDeleter() = default;
  explicit PoolDeleter(Pool* pool) : pool_(pool) {}
  void operator()(T* object) const {
    if (object == nullptr) return;
    object->~T();
    pool_->Free(object);
  }

 private:
  Pool* pool_ = nullptr;
};

template <typename T>
using PoolPtr = std::unique_ptr<T, PoolDeleter<T>>;

template <typename T>
class TypedPool {
 public:
  // A pool named `name` for T, with T's size and alignment (other options
  // as given). With kPoolShared it may merge with a compatible pool.
  static absl::StatusOr<TypedPool> Create(std::string name,
                                          PoolOptions options = {}) {
    options.name = std::move(name);
    options.object_size = sizeof(T);
    if (options.alignment < alignof(T)) options.alignment = alignof(T);
    absl::StatusOr<Pool*> pool = CreatePool(options);
    if (!pool.ok()) return pool.status();
    return TypedPool(*pool);
  }

  // Wraps an existing pool whose objects fit a T; a pool too small or too
  // little aligned for T is a programming error and stops the program.
  explicit TypedPool(Pool* pool) : pool_(pool) {
    if (pool->object_size() < sizeof(T) || pool->alignment() < alignof(T)) {
      std::fprintf(stderr,
                   "poolkit: TypedPool: pool '%s' (%zu bytes, aligned %zu) "
                   "cannot hold a %zu-byte object aligned %zu\n",
                   pool->name().c_str(), pool->object_size(), pool->alignment(),
                   sizeof(T), alignof(T));
      std::abort();
    }
  }

  // A T built from `args`, or nullptr if the pool cannot allocate. If T's
  // constructor throws, the memory goes back and the exception propagates.
  template <typename... Args>
  T* New(Args&&... args) {
    void* memory = pool_->Alloc();
    if (memory == nullptr) return nullptr;
    struct Guard {
      Pool* pool;
      void* memory;
      ~Guard() {
        if (memory != nullptr) pool->Free(memory);
      }
    } guard{pool_, memory};
    T* object = new (memory) T(std::forward<Args>(args)...);
    guard.memory = nullptr;
    return object;
  }

  // Destroys and frees an object from New(). Delete(nullptr) does nothing.
  void Delete(T* object) { deleter()(object); }

  // New() owned by a unique_ptr whose deleter gives it back to this pool.
  template <typename... Args>
  PoolPtr<T> MakeUnique(Args&&... args) {
    return PoolPtr<T>(New(std::forward<Args>(args)...), deleter());
  }

  PoolDeleter<T> deleter() const { return PoolDeleter<T>(pool_); }
  Pool* pool() const { return pool_; }

 private:
  Pool* pool_;
};

}  // namespace poolkit

#endif  // POOLKIT_POOL_TYPED_POOL_H_
