// The state a pool with debugging aids keeps beside its ordinary fields.
#ifndef POOLKIT_POOL_INTERNAL_POOL_DEBUG_H_
#define POOLKIT_POOL_INTERNAL_POOL_DEBUG_H_

#include <atomic>
#include <cstdint>
#include <string_view>

#include "arch/cxx17_required.h"
#include "debug/debug_options.h"
#include "debug/fault_injection.h"

namespace poolkit::internal {

struct PoolDebugState {
  // The options themselves are the pool's (Pool::debug_options()).
  PoolDebugState(const DebugOptions& options, std::string_view name)
      : injector(options.fail_percent, options.fail_seed, name) {}

  debug::FaultInjector injector;
  std::atomic<std::uint64_t> injected_failures{0};
  // (cold-first is a shared cache of its own: see shared_cache.cc.)
};

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_POOL_DEBUG_H_
