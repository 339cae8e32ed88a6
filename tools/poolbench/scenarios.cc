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
// Bytes a batch or a ring may hold: enough for 64 or 256 objects up to
// 512 KiB or 128 KiB, small enough that 2 MiB objects do not turn the
// pattern into a memory-bandwidth test.
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

absl::string_view PatternDescription(Pattern pattern) {
  switch (pattern) {
    case Pattern::kHot:
      return "alloc, touch, free on each thread; ns per alloc+free pair per "
             "thread";
    case Pattern::kBatch:
      return "alloc a batch (64 objects, at most 32 MiB), then free it; ns "
             "per alloc+free pair per thread";
    case Pattern::kCross:
      return "producers alloc, consumers free, through one bounded ring per "
             "pair; ns per object per producer+consumer pair";
    case Pattern::kSpike:
      return "fresh process: alloc the spike volume touching every page, free "
             "it all, release; ns per alloc+free pair per thread";
  }
  return "";
}

std::vector<Pattern> AllPatterns() {
  return {Pattern::kHot, Pattern::kBatch, Pattern::kCross, Pattern::kSpike};
}

std::size_t BatchObjects(std::size_t object_size) {
  return std::clamp<std::size_t>(kInFlightBytes / object_size, 1, 64);
}

std::size_t CrossRingCapacity(std::size_t object_size) {
  return std::clamp<std::size_t>(kInFlightBytes / object_size, 4, 256);
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
  return absl::StrFormat("%s %s, %d thread%s", PatternName(scenario.pattern),
                         SizeLabel(scenario.object_size), scenario.threads,
                         scenario.threads == 1 ? "" : "s");
}

std::vector<Scenario> BuildScenarios(const std::vector<Pattern>& patterns,
                                     const std::vector<std::size_t>& sizes,
                                     const std::vector<int>& threads) {
  std::vector<Scenario> scenarios;
  for (Pattern pattern : patterns) {
    std::vector<int> counts;
    for (int count : threads) {
      if (pattern == Pattern::kCross) count -= count % 2;
      if (count < 1) continue;
      if (std::find(counts.begin(), counts.end(), count) == counts.end()) {
        counts.push_back(count);
      }
    }
    for (int count : counts) {
      for (std::size_t size : sizes) {
        scenarios.push_back({pattern, size, count});
      }
    }
  }
  return scenarios;
}

}  // namespace poolkit::poolbench
