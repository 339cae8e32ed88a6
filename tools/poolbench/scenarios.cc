#include "tools/poolbench/scenarios.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace poolkit::poolbench {
namespace {

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = 1024 * kKiB;
// Bytes one thread's batch or one ring may hold: enough for 64 or 256
// objects up to 512 KiB or 128 KiB (1000 up to 32 KiB), small enough that
// 2 MiB objects do not turn the pattern into a memory-bandwidth test.
constexpr std::size_t kInFlightBytes = 32 * kMiB;

}  // namespace

absl::string_view PatternName(Pattern pattern) {
  switch (pattern) {
    case Pattern::kHot:
      return "hot";
    case Pattern::kBatch:
      return "batch";
    case Pattern::kCross:
      return "cross";
    case Pattern::kSpike:
      return "spike";
  }
  return "invalid";
}

bool ParsePattern(absl::string_view name, Pattern* pattern) {
  for (Pattern candidate : AllPatterns()) {
    if (PatternName(candidate) == name) {
      *pattern = candidate;
      return true;
    }
  }
  return false;
}

std::vector<Pattern> AllPatterns() {
  return {Pattern::kHot, Pattern::kBatch, Pattern::kCross, Pattern::kSpike};
}

std::size_t BatchObjects(std::size_t object_size, std::size_t batch) {
  return std::clamp<std::size_t>(kInFlightBytes / object_size, 1,
                                 std::max<std::size_t>(batch, 1));
}

std::size_t CrossRingCapacity(std::size_t object_size) {
  const std::size_t fit =
      std::clamp<std::size_t>(kInFlightBytes / object_size, 4, 256);
  // Rounded down to a power of two.
  std::size_t capacity = 4;
  while (capacity * 2 <= fit) capacity *= 2;
  return capacity;
}

std::size_t MaxObjectsInFlight(const Scenario& scenario) {
  const std::size_t threads = static_cast<std::size_t>(scenario.threads);
  switch (scenario.pattern) {
    case Pattern::kHot:
      return threads;
    case Pattern::kBatch:
      return threads * BatchObjects(scenario.object_size, scenario.batch);
    case Pattern::kCross:
      // Per pair: a full ring, the object the producer waits to push and
      // the one the consumer has popped.
      return threads / 2 * (CrossRingCapacity(scenario.object_size) + 2);
    case Pattern::kSpike:
      return 0;
  }
  return 0;
}

PatternVariant VariantOf(const Scenario& scenario) {
  PatternVariant variant;
  variant.pattern = scenario.pattern;
  if (scenario.pattern == Pattern::kBatch) variant.batch = scenario.batch;
  return variant;
}

std::vector<PatternVariant> AllVariants(
    const std::vector<Pattern>& patterns,
    const std::vector<std::size_t>& batches) {
  std::vector<PatternVariant> variants;
  for (Pattern pattern : AllPatterns()) {
    if (std::find(patterns.begin(), patterns.end(), pattern) ==
        patterns.end()) {
      continue;
    }
    if (pattern != Pattern::kBatch) {
      variants.push_back({pattern, 0});
      continue;
    }
    for (std::size_t batch : batches) variants.push_back({pattern, batch});
  }
  return variants;
}

std::string VariantLabel(const PatternVariant& variant) {
  if (variant.pattern == Pattern::kBatch) {
    return absl::StrFormat("batch x%d", variant.batch);
  }
  return std::string(PatternName(variant.pattern));
}

std::string VariantDescription(const PatternVariant& variant) {
  switch (variant.pattern) {
    case Pattern::kHot:
      return "alloc, touch, free on each thread; ns per alloc+free pair per "
             "thread";
    case Pattern::kBatch: {
      // What the 32 MiB cap does to this batch size at 2 MiB (the largest
      // default size), so that a reader of the table need not work it out.
      const std::size_t capped = BatchObjects(2 * kMiB, variant.batch);
      return absl::StrFormat(
          "alloc %d objects%s, then free them in allocation order; ns per "
          "alloc+free pair per thread",
          variant.batch,
          capped < variant.batch
              ? absl::StrFormat(" (fewer past 32 MiB a batch: %d of 2 MiB)",
                                capped)
              : "");
    }
    case Pattern::kCross:
      return "producers alloc, consumers free, through one bounded ring per "
             "pair; ns per object per producer+consumer pair";
    case Pattern::kSpike:
      return "fresh process: alloc the spike volume touching every page, free "
             "it all, release; ns per alloc+free pair per thread";
  }
  return "";
}

std::string SizeLabel(std::size_t bytes) {
  if (bytes >= kMiB && bytes % kMiB == 0) {
    return absl::StrFormat("%d MiB", bytes / kMiB);
  }
  if (bytes >= kKiB && bytes % kKiB == 0) {
    return absl::StrFormat("%d KiB", bytes / kKiB);
  }
  return absl::StrFormat("%d B", bytes);
}

std::string ScenarioLabel(const Scenario& scenario) {
  return absl::StrFormat("%s%s %s, %d thread%s",
                         VariantLabel(VariantOf(scenario)),
                         scenario.pattern == Pattern::kBatch ? " of" : "",
                         SizeLabel(scenario.object_size), scenario.threads,
                         scenario.threads == 1 ? "" : "s");
}

std::vector<Scenario> BuildScenarios(const std::vector<Pattern>& patterns,
                                     const std::vector<std::size_t>& sizes,
                                     const std::vector<int>& threads,
                                     const std::vector<std::size_t>& batches) {
  std::vector<Scenario> scenarios;
  for (const PatternVariant& variant : AllVariants(patterns, batches)) {
    std::vector<int> counts;
    for (int count : threads) {
      if (variant.pattern == Pattern::kCross) count -= count % 2;
      if (count < 1) continue;
      if (std::find(counts.begin(), counts.end(), count) == counts.end()) {
        counts.push_back(count);
      }
    }
    for (int count : counts) {
      for (std::size_t size : sizes) {
        scenarios.push_back({variant.pattern, size, count, variant.batch});
      }
    }
  }
  return scenarios;
}

}  // namespace poolkit::poolbench
