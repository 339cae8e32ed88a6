// Pools declared at start-up from any translation unit, like HAProxy's
// DECLARE_POOL:
//
//   POOLKIT_DECLARE_POOL(pool_head_session, "session", sizeof(Session));
//   ... pool_head_session->Alloc() ...
//
// The pool is created during static initialisation (the registry is safe to
// use from there), and a static initialiser of another translation unit may
// use it even before this one's have run (it is then made at that first
// use). Declared pools are shared: two declarations of compatible pools
// merge. An invalid declaration is a programming error: start-up stops
// with a message naming the pool and the bad field.
#ifndef POOLKIT_POOL_DECLARE_POOL_H_
#define POOLKIT_POOL_DECLARE_POOL_H_

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "arch/cxx17_required.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace poolkit {

class DeclaredPool {
 public:
  // Makes (or merges into) the pool now.
  explicit DeclaredPool(PoolOptions options)
      : make_options_(nullptr), pool_(Create(std::move(options))) {}

  // POOLKIT_DECLARE_POOL's form: constant-initialised (no code runs to make
  // the object), so another translation unit's static initialiser may use
  // it before this one's have run; the pool is made at its first use, or at
  // this translation unit's start-up, whichever comes first.
  constexpr explicit DeclaredPool(PoolOptions (*make_options)())
      : make_options_(make_options), pool_(nullptr) {}

  DeclaredPool(const DeclaredPool&) = delete;
  DeclaredPool& operator=(const DeclaredPool&) = delete;

  Pool* get() const {
    // Acquire: pairs with the release in GetSlow(), so the pool is seen
    // whole.
    Pool* pool = pool_.load(std::memory_order_acquire);
    return pool != nullptr ? pool : GetSlow();
  }
  Pool* operator->() const { return get(); }
  Pool& operator*() const { return *get(); }

 private:
  static Pool* Create(PoolOptions options) {
    options.flags |= kPoolShared;
    absl::StatusOr<Pool*> pool = CreatePool(options);
    if (!pool.ok()) {
      std::fprintf(stderr, "poolkit: cannot declare pool '%s': %s\n",
                   options.name.c_str(), pool.status().ToString().c_str());
      std::abort();
    }
    return *pool;
  }
  Pool* GetSlow() const {
    // One mutex for every declared pool: first uses are rare and happen at
    // start-up. A function-local static std::mutex is constant-initialised.
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    Pool* pool = pool_.load(std::memory_order_relaxed);
    if (pool == nullptr) {
      pool = Create(make_options_());
      pool_.store(pool, std::memory_order_release);
    }
    return pool;
  }

  PoolOptions (*const make_options_)();
  mutable std::atomic<Pool*> pool_;
};

// The options POOLKIT_DECLARE_POOL uses: a shared pool of `size` bytes.
inline PoolOptions SharedPoolOptions(const char* name, std::size_t size) {
  PoolOptions options;
  options.name = name;
  options.object_size = size;
  options.flags = kPoolShared;
  return options;
}

}  // namespace poolkit

// The pool object is constant-initialised; the bool's initialiser makes the
// pool at this translation unit's start-up (if nothing used it earlier).
#define POOLKIT_DECLARE_POOL(variable, name, size)                   \
  ::poolkit::DeclaredPool variable(+[]() -> ::poolkit::PoolOptions { \
    return ::poolkit::SharedPoolOptions((name), (size));             \
  });                                                                \
  [[maybe_unused]] static const bool poolkit_declared_##variable =   \
      (variable.get(), true)

#define POOLKIT_DECLARE_POOL_WITH_OPTIONS(variable, options)       \
  ::poolkit::DeclaredPool variable(                                \
      +[]() -> ::poolkit::PoolOptions { return (options); });      \
  [[maybe_unused]] static const bool poolkit_declared_##variable = \
      (variable.get(), true)

#endif  // POOLKIT_POOL_DECLARE_POOL_H_
