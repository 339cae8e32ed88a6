// What poolbench measures: allocation patterns, and the scenarios (pattern x
// object size x thread count) of a run's matrix.
#ifndef POOLKIT_TOOLS_POOLBENCH_SCENARIOS_H_
#define POOLKIT_TOOLS_POOLBENCH_SCENARIOS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace poolkit::poolbench {

enum class Pattern : int {
  // Each thread allocates one object, touches it and frees it, again and
  // again: the steady state of a request handler.
  kHot = 0,
  // Each thread allocates BatchObjects(size) objects, touching each, then
  // frees them in allocation order.
  kBatch,
  // Producer threads allocate and touch objects and hand them through a
  // bounded single-producer single-consumer ring to a consumer thread that
  // reads and frees them: threads / 2 such pairs.
  kCross,
  // In a fresh process: threads allocate SpikeBytes between them, touching
  // every page, free everything, and the allocator is asked to give memory
  // back; resident memory is read before, at the peak and after.
  kSpike,
};
inline constexpr int kNumPatterns = 4;

absl::string_view PatternName(Pattern pattern);  // "hot", "batch", ...
// The inverse of PatternName(); false if `name` names no pattern.
bool ParsePattern(absl::string_view name, Pattern* pattern);
// One line: what the pattern does and what one operation is.
absl::string_view PatternDescription(Pattern pattern);
std::vector<Pattern> AllPatterns();

// Objects per batch: 64, or fewer so that a batch stays within 32 MiB
// (2 MiB objects: 16 per batch).
std::size_t BatchObjects(std::size_t object_size);
// Slots in a cross-thread ring: 256, or fewer so that the objects in flight
// stay within 32 MiB; at least 4.
std::size_t CrossRingCapacity(std::size_t object_size);

struct Scenario {
  Pattern pattern = Pattern::kHot;
  std::size_t object_size = 0;
  // Threads that allocate or free (cross: producers + consumers).
  int threads = 1;
};

// "64 B", "1 KiB", "48 KiB", "2 MiB", "1536 B" (exact values only: a size
// that is not a whole number of KiB stays in bytes).
std::string SizeLabel(std::size_t bytes);
// "hot 64 B, 1 thread"
std::string ScenarioLabel(const Scenario& scenario);

// The run's matrix, pattern by pattern, then threads, then size. Cross
// needs pairs of threads: a thread count of 1 is left out and an odd count
// runs one thread fewer (duplicates dropped).
std::vector<Scenario> BuildScenarios(const std::vector<Pattern>& patterns,
                                     const std::vector<std::size_t>& sizes,
                                     const std::vector<int>& threads);

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_SCENARIOS_H_
