// Pools declared at start-up from any translation unit, like HAProxy's
// DECLARE_POOL:
//
//   POOLKIT_DECLARE_POOL(pool_head_session, "session", sizeof(Session));
//   ... pool_head_session->Alloc() ...
//
// The pool is created during static initialisation (the registry is safe to
// use from there). Declared pools are shared: two declarations of compatible
// pools merge. An invalid declaration is a programming error: start-up stops
// with a message naming the pool and the bad field.
#ifndef POOLKIT_POOL_DECLARE_POOL_H_
#define POOLKIT_POOL_DECLARE_POOL_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace poolkit {

class DeclaredPool {
 public:
  explicit DeclaredPool(PoolOptions options) {
    options.flags |= kPoolShared;
    absl::StatusOr<Pool*> pool = CreatePool(options);
    if (!pool.ok()) {
      std::fprintf(stderr, "poolkit: cannot declare pool '%s': %s\n",
                   options.name.c_str(), pool.status().ToString().c_str());
      std::abort();
    }
    pool_ = *pool;
  }
  DeclaredPool(const DeclaredPool&) = delete;
  DeclaredPool& operator=(const DeclaredPool&) = delete;

  Pool* get() const { return pool_; }
  Pool* operator->() const { return pool_; }
  Pool& operator*() const { return *pool_; }

 private:
  Pool* pool_;
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

#define POOLKIT_DECLARE_POOL(variable, name, size) \
  ::poolkit::DeclaredPool variable(::poolkit::SharedPoolOptions((name), (size)))

#define POOLKIT_DECLARE_POOL_WITH_OPTIONS(variable, options) \
  ::poolkit::DeclaredPool variable(options)

#endif  // POOLKIT_POOL_DECLARE_POOL_H_
