#include "tools/poolbench/allocators.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "pool/pool_options.h"
#include "pool/pool_stats.h"
#include "pool/registry.h"

namespace poolkit::poolbench {

absl::StatusOr<Pool*> CreateBenchPool(SharedCacheStrategy strategy,
                                      std::size_t object_size) {
  // Relaxed: only uniqueness matters.
  static std::atomic<int> serial{0};
  PoolOptions options;
  options.name =
      absl::StrFormat("pb-%s-%d-%d", StrategyName(strategy), object_size,
                      serial.fetch_add(1, std::memory_order_relaxed));
  options.object_size = object_size;
  options.strategy = strategy;
  return CreatePool(options);
}

std::uint64_t PoolUnderTest::OsCalls() const {
  PoolStats stats = pool_->Stats();
  return stats.os_allocs + stats.os_releases;
}

}  // namespace poolkit::poolbench
