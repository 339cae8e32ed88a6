// Test-only: every atomics backend that the target CPU can run, each wrapped
// in a small struct so that GoogleTest typed tests can be instantiated over
// them (a namespace cannot be a template argument).
//
// The wrappers also check, at compile time, that each backend offers exactly
// the common interface with exactly the common signatures: the C++17
// stand-in for a concept.
//
//   x86-64:                    X86_64Backend, PortableBackend
//   aarch64 (ARMv8.0):         Aarch64LlscBackend, PortableBackend
//   aarch64 with LSE (v8.1+):  Aarch64LlscBackend, Aarch64LseBackend,
//                              PortableBackend

#ifndef POOLKIT_ARCH_BACKENDS_FOR_TEST_H_
#define POOLKIT_ARCH_BACKENDS_FOR_TEST_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <type_traits>

#include "arch/portable.h"
#include "arch/word_pair.h"
#include "gtest/gtest.h"

#if defined(__x86_64__)
#include "arch/x86_64.h"
#endif
#if defined(__aarch64__)
#include "arch/aarch64_llsc.h"
#if defined(__ARM_FEATURE_ATOMICS)
#include "arch/aarch64_lse.h"
#endif
#endif

namespace poolkit::arch::testing {

// The signatures every backend must have.
using CompareExchangePairFn = bool (*)(WordPair*, WordPair*, WordPair,
                                       MemoryOrder);
using LoadPairFn = WordPair (*)(const WordPair*, MemoryOrder);
using ExchangeWordFn = std::uintptr_t (*)(std::uintptr_t*, std::uintptr_t,
                                          MemoryOrder);
using CompareExchangeWordFn = bool (*)(std::uintptr_t*, std::uintptr_t*,
                                       std::uintptr_t, MemoryOrder);
using LoadWordFn = std::uintptr_t (*)(const std::uintptr_t*, MemoryOrder);
using StoreWordFn = void (*)(std::uintptr_t*, std::uintptr_t, MemoryOrder);
using VoidFn = void (*)();
using BoolFn = bool (*)();

// Defines struct ADAPTER forwarding to namespace NS, and checks NS's
// interface. The function pointers are constexpr, so calls through them are
// direct calls that inline as usual.
#define POOLKIT_ARCH_TEST_BACKEND_(ADAPTER, NS)                               \
  static_assert(                                                              \
      std::is_same_v<decltype(NS::kName), const char[sizeof(NS::kName)]>);    \
  static_assert(std::is_same_v<decltype(NS::kDwcasInstruction),               \
                               const char[sizeof(NS::kDwcasInstruction)]>);   \
  static_assert(std::is_same_v<decltype(NS::kDwcasLockFree), const bool>);    \
  static_assert(std::is_same_v<decltype(&NS::DwcasIsLockFree), BoolFn>);      \
  static_assert(std::is_same_v<decltype(&NS::CompareExchangePair),            \
                               CompareExchangePairFn>);                       \
  static_assert(std::is_same_v<decltype(&NS::LoadPair), LoadPairFn>);         \
  static_assert(std::is_same_v<decltype(&NS::ExchangeWord), ExchangeWordFn>); \
  static_assert(std::is_same_v<decltype(&NS::CompareExchangeWord),            \
                               CompareExchangeWordFn>);                       \
  static_assert(std::is_same_v<decltype(&NS::LoadWord), LoadWordFn>);         \
  static_assert(std::is_same_v<decltype(&NS::StoreWord), StoreWordFn>);       \
  static_assert(std::is_same_v<decltype(&NS::CpuRelax), VoidFn>);             \
  static_assert(std::is_same_v<decltype(&NS::FullBarrier), VoidFn>);          \
  static_assert(std::is_same_v<decltype(&NS::AcquireBarrier), VoidFn>);       \
  static_assert(std::is_same_v<decltype(&NS::ReleaseBarrier), VoidFn>);       \
  struct ADAPTER {                                                            \
    static constexpr const char* kName = NS::kName;                           \
    static constexpr const char* kDwcasInstruction = NS::kDwcasInstruction;   \
    static constexpr bool kDwcasLockFree = NS::kDwcasLockFree;                \
    static constexpr BoolFn DwcasIsLockFree = &NS::DwcasIsLockFree;           \
    static constexpr CompareExchangePairFn CompareExchangePair =              \
        &NS::CompareExchangePair;                                             \
    static constexpr LoadPairFn LoadPair = &NS::LoadPair;                     \
    static constexpr ExchangeWordFn ExchangeWord = &NS::ExchangeWord;         \
    static constexpr CompareExchangeWordFn CompareExchangeWord =              \
        &NS::CompareExchangeWord;                                             \
    static constexpr LoadWordFn LoadWord = &NS::LoadWord;                     \
    static constexpr StoreWordFn StoreWord = &NS::StoreWord;                  \
    static constexpr VoidFn CpuRelax = &NS::CpuRelax;                         \
    static constexpr VoidFn FullBarrier = &NS::FullBarrier;                   \
    static constexpr VoidFn AcquireBarrier = &NS::AcquireBarrier;             \
    static constexpr VoidFn ReleaseBarrier = &NS::ReleaseBarrier;             \
  }

#if defined(__x86_64__)
POOLKIT_ARCH_TEST_BACKEND_(X86_64Backend, ::poolkit::arch::x86_64);
#endif
#if defined(__aarch64__)
POOLKIT_ARCH_TEST_BACKEND_(Aarch64LlscBackend, ::poolkit::arch::aarch64_llsc);
#if defined(__ARM_FEATURE_ATOMICS)
POOLKIT_ARCH_TEST_BACKEND_(Aarch64LseBackend, ::poolkit::arch::aarch64_lse);
#endif
#endif
POOLKIT_ARCH_TEST_BACKEND_(PortableBackend, ::poolkit::arch::portable);

#undef POOLKIT_ARCH_TEST_BACKEND_

using AvailableBackends = ::testing::Types<
#if defined(__x86_64__)
    X86_64Backend,
#endif
#if defined(__aarch64__)
    Aarch64LlscBackend,
#if defined(__ARM_FEATURE_ATOMICS)
    Aarch64LseBackend,
#endif
#endif
    PortableBackend>;

// Names the typed-test instances after the backend ("AtomicsTest/x86_64").
struct BackendName {
  template <class Backend>
  static std::string GetName(int /*index*/) {
    return Backend::kName;
  }
};

inline constexpr MemoryOrder kAllOrders[] = {
    MemoryOrder::kRelaxed, MemoryOrder::kAcquire, MemoryOrder::kRelease,
    MemoryOrder::kAcqRel, MemoryOrder::kSeqCst};

inline const char* OrderName(MemoryOrder order) {
  switch (order) {
    case MemoryOrder::kRelaxed:
      return "kRelaxed";
    case MemoryOrder::kAcquire:
      return "kAcquire";
    case MemoryOrder::kRelease:
      return "kRelease";
    case MemoryOrder::kAcqRel:
      return "kAcqRel";
    case MemoryOrder::kSeqCst:
      return "kSeqCst";
  }
  return "invalid";
}

// A reusable barrier for the multi-threaded tests. Without it the threads of
// a short test often do not overlap at all: on a loaded machine, or under
// qemu, one thread can finish its whole loop within a single time slice, and
// a torture test without contention proves nothing. Calling Wait() every few
// hundred iterations keeps the threads in step, so they really race.
//
// It is test infrastructure, not code under test, so it uses std::atomic
// rather than a backend.
class Rendezvous {
 public:
  explicit Rendezvous(int threads) : threads_(threads) {}

  // Returns once all threads have called Wait. The last to arrive calls
  // `decide()` while the others still wait, and every thread returns its
  // result: a common decision, e.g. whether to run another round. Whatever
  // the threads wrote before Wait is visible to `decide`.
  template <class Decide>
  bool Wait(Decide decide) {
    const unsigned phase = phase_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == threads_) {
      // Last to arrive: decide, reset for the next round, then release the
      // others. Nobody touches arrived_ or decision_ again before seeing the
      // new phase.
      const bool decision = decide();
      decision_ = decision;
      arrived_.store(0, std::memory_order_relaxed);
      phase_.store(phase + 1, std::memory_order_release);
      return decision;
    }
    // Spin first, so that the waiters leave together (a wake-up from yield
    // takes longer than a whole step); yield after a while, so that it also
    // works with more threads than CPUs.
    for (int spins = 0; phase_.load(std::memory_order_acquire) == phase;
         ++spins) {
      if (spins >= kSpinsBeforeYield) std::this_thread::yield();
    }
    return decision_;
  }

  void Wait() {
    Wait([] { return true; });
  }

 private:
  static constexpr int kSpinsBeforeYield = 4096;

  const int threads_;
  std::atomic<int> arrived_{0};
  std::atomic<unsigned> phase_{0};
  bool decision_ = true;  // Written by the last arrival, read after phase_.
};

}  // namespace poolkit::arch::testing

#endif  // POOLKIT_ARCH_BACKENDS_FOR_TEST_H_
