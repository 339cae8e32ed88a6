#include "tools/poolbench/allocators.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "pool/pool_options.h"
#include "pool/pool_stats.h"
#include "pool/registry.h"
#include "tools/poolbench/scenarios.h"
#include "tools/poolbench/spinlock_free_list.h"

namespace poolkit::poolbench {

absl::StatusOr<Pool*> CreateBenchPool(ContenderId id, std::size_t object_size) {
  // Relaxed: only uniqueness matters.
  static std::atomic<int> serial{0};
  PoolOptions options;
  options.name =
      absl::StrFormat("pb-%s-%d-%d", ContenderName(id), object_size,
                      serial.fetch_add(1, std::memory_order_relaxed));
  options.object_size = object_size;
  options.strategy = StrategyOf(id);
  options.backing = BackingOf(id);
  return CreatePool(options);
}

namespace {

// Slack per thread on top of what the threads hold at once.
constexpr std::size_t kSimpleSlackPerThread = 4;

}  // namespace

std::size_t SimplePrefillObjects(const Scenario& scenario) {
  if (scenario.pattern == Pattern::kSpike) return 0;
  return MaxObjectsInFlight(scenario) +
         kSimpleSlackPerThread * static_cast<std::size_t>(scenario.threads);
}

absl::StatusOr<std::unique_ptr<SpinlockFreeList>> CreateSimpleList(
    const Scenario& scenario) {
  auto list = std::make_unique<SpinlockFreeList>(scenario.object_size);
  if (!list->Prefill(SimplePrefillObjects(scenario))) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "simple: malloc failed prefilling %d objects of %d bytes",
        SimplePrefillObjects(scenario), scenario.object_size));
  }
  return list;
}

std::uint64_t PoolUnderTest::OsCalls() const {
  PoolStats stats = pool_->Stats();
  return stats.os_allocs + stats.os_releases;
}

}  // namespace poolkit::poolbench
