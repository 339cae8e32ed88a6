// Fault injection: decides which allocations fail, reproducibly.
#ifndef POOLKIT_DEBUG_FAULT_INJECTION_H_
#define POOLKIT_DEBUG_FAULT_INJECTION_H_

#include <atomic>
#include <cstdint>
#include <string_view>

#include "arch/cxx17_required.h"

namespace poolkit::debug {

class FaultInjector {
 public:
  // `percent` from 0 to 100. The k-th decision of an injector is a pure
  // function of (seed, stream, k): a single-threaded run with the same seed
  // fails the same allocations; with several threads the same sequence
  // numbers fail, whichever thread draws them.
  FaultInjector(double percent, std::uint64_t seed, std::string_view stream);

  bool enabled() const { return threshold_ != 0; }

  // Thread-safe.
  bool ShouldFail() {
    // Relaxed: the counter only has to hand out distinct numbers.
    std::uint64_t k = sequence_.fetch_add(1, std::memory_order_relaxed);
    return Decide(k);
  }

  // The decision for sequence number k (for tests and replay).
  bool Decide(std::uint64_t k) const;

 private:
  // Fails when the top 32 bits of the draw are below this; 2^32 = always.
  std::uint64_t threshold_;
  std::uint64_t key_;
  std::atomic<std::uint64_t> sequence_{0};
};

}  // namespace poolkit::debug

#endif  // POOLKIT_DEBUG_FAULT_INJECTION_H_
