// What poolbench measures: allocation patterns, and the scenarios (pattern x
// object size x thread count, and for the batch pattern the batch size) of a
// run's matrix.
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
  // Each thread allocates BatchObjects(size, batch) objects, touching each,
  // then frees them in allocation order.
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
std::vector<Pattern> AllPatterns();

// Objects per batch: `batch` (--batch), or fewer so that one thread's batch
// stays within 32 MiB (2 MiB objects: 16 per batch); at least 1.
std::size_t BatchObjects(std::size_t object_size, std::size_t batch);
// Slots in a cross-thread ring: a power of two (the ring indexes with a
// mask), 256, or fewer so that the objects in flight stay within 32 MiB; at
// least 4.
std::size_t CrossRingCapacity(std::size_t object_size);

struct Scenario {
  Pattern pattern = Pattern::kHot;
  std::size_t object_size = 0;
  // Threads that allocate or free (cross: producers + consumers).
  int threads = 1;
  // kBatch: objects per batch as asked for (--batch); a thread's batch
  // holds BatchObjects(object_size, batch). 0 for the other patterns.
  std::size_t batch = 0;
};

// The most objects the scenario's threads hold at once: hot one per
// thread, batch a batch per thread, cross a full ring plus the object in
// each thread's hands per pair. 0 for the spike (its volume is
// --spike-mib, not part of the scenario).
std::size_t MaxObjectsInFlight(const Scenario& scenario);

// A pattern with its parameter: what one table section, one SVG column and
// one JSON family (with a contender) show. Batch sizes make different
// variants of the batch pattern; the other patterns have one each.
struct PatternVariant {
  Pattern pattern = Pattern::kHot;
  // kBatch: objects per batch as asked for; 0 for the other patterns.
  std::size_t batch = 0;

  bool operator==(const PatternVariant& other) const {
    return pattern == other.pattern && batch == other.batch;
  }
  bool operator!=(const PatternVariant& other) const {
    return !(*this == other);
  }
};
PatternVariant VariantOf(const Scenario& scenario);
// The run's variants in table order: AllPatterns() order, batch sizes
// ascending (as given: `batches` is sorted).
std::vector<PatternVariant> AllVariants(
    const std::vector<Pattern>& patterns,
    const std::vector<std::size_t>& batches);
// "hot", "batch x64", "batch x1000", "cross", "spike".
std::string VariantLabel(const PatternVariant& variant);
// One line: what the variant does and what one operation is.
std::string VariantDescription(const PatternVariant& variant);

// "64 B", "1 KiB", "48 KiB", "2 MiB", "1536 B" (exact values only: a size
// that is not a whole number of KiB stays in bytes).
std::string SizeLabel(std::size_t bytes);
// "hot 64 B, 1 thread", "batch x1000 of 64 B, 2 threads"
std::string ScenarioLabel(const Scenario& scenario);

// The run's matrix, variant by variant (AllVariants()), then threads, then
// size. Cross needs pairs of threads: a thread count of 1 is left out and
// an odd count runs one thread fewer (duplicates dropped). `batches` only
// matters to the batch pattern.
std::vector<Scenario> BuildScenarios(const std::vector<Pattern>& patterns,
                                     const std::vector<std::size_t>& sizes,
                                     const std::vector<int>& threads,
                                     const std::vector<std::size_t>& batches);

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_SCENARIOS_H_
