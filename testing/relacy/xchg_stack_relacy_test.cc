// The xchg strategy's stack (pool/internal/xchg_stack.h), its source and its
// memory orders as written, checked against Relacy's model of the C++11
// memory model (Debian's relacy-dev): BasicXchgStack is instantiated with
// RelacyStackAtomics, which maps each operation to rl::atomic with the same
// order. Relacy explores thread interleavings and, for each, every value a
// load may return under that model, and reports a data race on rl::var
// (the objects' contents) that no happens-before orders.
//
// Scenarios (those of testing/models/*.pml, where the Promela models assume
// sequential consistency and cannot see orders):
//   publish:  a thread writes an object and pushes it; another pops it and
//             reads it.
//   handover: one thread pushes B then A; two threads pop; the second pop
//             reaches B through the first pop's unlocking store.
//   cycle:    two threads each pop, write and push back the same objects.
// Weakenings, one at a time (this file's main fails if a weakening is not
// caught by a scenario listed for it, or if the stack as written fails):
//   push CAS release -> relaxed     caught by publish, handover and cycle
//   pop exchange acquire -> relaxed caught by publish, handover and cycle
// What this cannot check:
//   - pop unlock store release -> relaxed. By the C++ rules the second pop
//     of handover then races with the pusher (a plain store by another
//     thread ends the pusher's release sequence), but Relacy (Debian's
//     0.0+git20191025) does not report it: its model lets a relaxed store
//     pass on what its thread acquired. Checked with the bare litmus test
//     (UnlockLitmus below: T0 data=1, x.store(1, release); T1 exchange
//     acquire, then x.store(3, relaxed); T2 load acquire == 3, read data):
//     Relacy finds no race in 200000 iterations. The weakening is run and
//     its result printed, not required to fail.
//   - the seed-003 argument (a pop never reads the link of an object
//     another thread may have freed) is about the plain FreeItem links,
//     which Relacy does not instrument; that one is the spin model's
//     (testing/models) and the deterministic seed003_race_test's.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "pool/internal/free_item.h"
#include "pool/internal/xchg_stack.h"
// After poolkit's and the standard headers: Relacy defines macros ($).
#include <relacy/relacy.hpp>

namespace poolkit::internal {
namespace {

enum class Weakening {
  kNone,
  kPushCasRelease,
  kPopExchangeAcquire,
  kPopUnlockStoreRelease,
};

const char* Name(Weakening weakening) {
  switch (weakening) {
    case Weakening::kNone:
      return "none";
    case Weakening::kPushCasRelease:
      return "push CAS release -> relaxed";
    case Weakening::kPopExchangeAcquire:
      return "pop exchange acquire -> relaxed";
    case Weakening::kPopUnlockStoreRelease:
      return "pop unlock store release -> relaxed";
  }
  return "?";
}

// The weakening of the current run (Relacy runs one test type at a time).
Weakening g_weakening = Weakening::kNone;

rl::memory_order ToRelacy(arch::MemoryOrder order) {
  switch (order) {
    case arch::MemoryOrder::kRelaxed:
      return rl::mo_relaxed;
    case arch::MemoryOrder::kAcquire:
      return rl::mo_acquire;
    case arch::MemoryOrder::kRelease:
      return rl::mo_release;
    case arch::MemoryOrder::kAcqRel:
      return rl::mo_acq_rel;
    case arch::MemoryOrder::kSeqCst:
      return rl::mo_seq_cst;
  }
  return rl::mo_seq_cst;
}

rl::memory_order Weakened(arch::MemoryOrder order, arch::MemoryOrder weak_one,
                          Weakening this_site) {
  if (g_weakening == this_site && order == weak_one) return rl::mo_relaxed;
  return ToRelacy(order);
}

// The XchgStack's only RMW with release is the push CAS, its only acquire
// exchange the pop's lock, and its release stores the unlocks; so weakening
// by (operation, order) weakens exactly the site named.
struct RelacyStackAtomics {
  using Word = rl::atomic<std::uintptr_t>;
  struct Waiter {
    void Wait() { rl::yield(1, $); }
  };
  static void Init(Word* word, std::uintptr_t value) {
    word->store(value, rl::mo_relaxed, $);
  }
  static std::uintptr_t Load(const Word* word, arch::MemoryOrder order) {
    return word->load(ToRelacy(order), $);
  }
  static void Store(Word* word, std::uintptr_t value, arch::MemoryOrder order) {
    word->store(value,
                Weakened(order, arch::MemoryOrder::kRelease,
                         Weakening::kPopUnlockStoreRelease),
                $);
  }
  static std::uintptr_t Exchange(Word* word, std::uintptr_t value,
                                 arch::MemoryOrder order) {
    return word->exchange(value,
                          Weakened(order, arch::MemoryOrder::kAcquire,
                                   Weakening::kPopExchangeAcquire),
                          $);
  }
  static bool CompareExchange(Word* word, std::uintptr_t* expected,
                              std::uintptr_t desired, arch::MemoryOrder order) {
    return word->compare_exchange_strong(
        *expected, desired,
        Weakened(order, arch::MemoryOrder::kRelease,
                 Weakening::kPushCasRelease),
        $, ToRelacy(arch::FailureOrder(order)), $);
  }
};

using Stack = BasicXchgStack<RelacyStackAtomics>;

// A free object: the stack's links first, then contents Relacy watches.
struct Object {
  FreeItem item;
  rl::var<int> contents;
};

Object* AsObject(FreeItem* item) { return reinterpret_cast<Object*>(item); }

FreeItem* PopUntilFound(Stack& stack) {
  for (;;) {
    if (FreeItem* item = stack.Pop()) return item;
    rl::yield(1, $);
  }
}

struct Publish : rl::test_suite<Publish, 2> {
  Stack stack;
  Object a;
  void before() {
    a.item.next = nullptr;
    a.contents($) = 0;
  }
  void thread(unsigned index) {
    if (index == 0) {
      a.contents($) = 1;
      stack.Push(&a.item);
    } else {
      Object* object = AsObject(PopUntilFound(stack));
      RL_ASSERT(object->contents($) == 1);
    }
  }
};

struct Handover : rl::test_suite<Handover, 3> {
  Stack stack;
  Object a, b;
  void before() {
    a.item.next = b.item.next = nullptr;
    a.contents($) = 0;
    b.contents($) = 0;
  }
  void thread(unsigned index) {
    if (index == 0) {
      b.contents($) = 2;
      stack.Push(&b.item);
      a.contents($) = 1;
      stack.Push(&a.item);
    } else {
      Object* object = AsObject(PopUntilFound(stack));
      const int seen = object->contents($);
      RL_ASSERT(seen == (object == &a ? 1 : 2));
    }
  }
};

// The checker's own blind spot, named above (not a poolkit scenario).
struct UnlockLitmus : rl::test_suite<UnlockLitmus, 3> {
  rl::atomic<int> x;
  rl::var<int> data;
  void before() {
    x.store(0, rl::mo_relaxed, $);
    data($) = 0;
  }
  void thread(unsigned index) {
    if (index == 0) {
      data($) = 1;
      x.store(1, rl::mo_release, $);
    } else if (index == 1) {
      while (x.load(rl::mo_relaxed, $) != 1) rl::yield(1, $);
      x.exchange(2, rl::mo_acquire, $);
      x.store(3, rl::mo_relaxed, $);
    } else {
      while (x.load(rl::mo_acquire, $) != 3) rl::yield(1, $);
      RL_ASSERT(data($) == 1);
    }
  }
};

struct Cycle : rl::test_suite<Cycle, 2> {
  Stack stack;
  Object a, b;
  void before() {
    a.item.next = b.item.next = nullptr;
    a.contents($) = 0;
    b.contents($) = 0;
    stack.Push(&a.item);
    stack.Push(&b.item);
  }
  void thread(unsigned index) {
    for (int round = 0; round < 2; ++round) {
      Object* object = AsObject(PopUntilFound(stack));
      object->contents($) = static_cast<int>(index * 10 + round);
      stack.Push(&object->item);
    }
  }
};

// Relacy's report goes to a file: Relacy tracks the heap while it runs,
// and a string stream growing inside the simulation trips it.
std::string ReportPath() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/relacy_report.txt";
}

template <typename Test>
bool Passes(const char* scenario, std::string* report) {
  rl::test_params params;
  params.iteration_count = 200000;
  bool ok;
  {
    std::ofstream output(ReportPath(), std::ios::trunc);
    params.output_stream = &output;
    params.progress_stream = &output;
    ok = rl::simulate<Test>(params);
  }
  if (!ok) {
    // The first lines name the failure (data race, assertion) and the
    // iteration.
    std::ifstream lines(ReportPath());
    std::string line;
    *report += std::string("    ") + scenario + ":";
    for (int i = 0; i < 3 && std::getline(lines, line); ++i) {
      if (!line.empty()) *report += " " + line;
    }
    *report += "\n";
  }
  return ok;
}

}  // namespace
}  // namespace poolkit::internal

int main() {
  using poolkit::internal::Weakening;
  namespace pi = poolkit::internal;
  struct Expectation {
    Weakening weakening;
    bool publish_fails, handover_fails, cycle_fails;
  };
  // What each weakening must break; false means "not required to" (a
  // scenario that cannot see it), not "must pass".
  const Expectation expectations[] = {
      {Weakening::kNone, false, false, false},
      {Weakening::kPushCasRelease, true, true, true},
      {Weakening::kPopExchangeAcquire, true, true, true},
      // Not caught by Relacy (see the top of this file).
      {Weakening::kPopUnlockStoreRelease, false, false, false},
  };
  int problems = 0;
  {
    std::string report;
    const bool litmus = pi::Passes<pi::UnlockLitmus>("litmus", &report);
    std::printf("Relacy's blind spot (unlock litmus): %s\n",
                litmus ? "no race reported, as documented"
                       : "race reported: Relacy now sees it, require "
                         "handover to catch the unlock weakening");
  }
  for (const Expectation& e : expectations) {
    pi::g_weakening = e.weakening;
    std::string report;
    const bool publish = pi::Passes<pi::Publish>("publish", &report);
    const bool handover = pi::Passes<pi::Handover>("handover", &report);
    const bool cycle = pi::Passes<pi::Cycle>("cycle", &report);
    std::printf("%-38s publish %s, handover %s, cycle %s\n",
                pi::Name(e.weakening), publish ? "passes" : "FAILS",
                handover ? "passes" : "FAILS", cycle ? "passes" : "FAILS");
    std::fputs(report.c_str(), stdout);
    if (e.weakening == Weakening::kNone) {
      if (!publish || !handover || !cycle) {
        std::printf("PROBLEM: the stack as written fails\n");
        ++problems;
      }
      continue;
    }
    if ((e.publish_fails && publish) || (e.handover_fails && handover) ||
        (e.cycle_fails && cycle)) {
      std::printf("PROBLEM: this weakening was not caught where expected\n");
      ++problems;
    }
  }
  std::printf("%d problems\n", problems);
  return problems == 0 ? 0 : 1;
}
