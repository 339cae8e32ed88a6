// poolkit's stacks and locks, their source and their memory orders as
// written, checked against Relacy's model of the C++11 memory model
// (Debian's relacy-dev): BasicXchgStack, BasicSpinlockStack,
// BasicDwcasStack, BasicSpinLock and BasicSharedSpinLock are instantiated with
// RelacySyncAtomics, which maps each operation to rl::atomic with the same
// order (the library uses NativeSyncAtomics, pool/internal/sync_atomics.h).
// Relacy explores thread interleavings and, for each, the values a load may
// return under the model, and reports a data race on rl::var (objects'
// contents, counters) that no happens-before orders.
//
// DwcasStack's {head, generation} pair is one Relacy location (PairValue
// below says why that is faithful and what it hides).
//
// Scenarios (those of the spin models in testing/models, which assume
// sequential consistency and cannot see orders):
//   xchg publish:  a thread writes an object and pushes it; another pops it
//                  and reads it.
//   xchg handover: one thread pushes B then A; two threads pop; the second
//                  pop reaches B through the first pop's unlocking store.
//   xchg cycle:    two threads each pop, write and push back two objects.
//   spinlock stack publish: publish, on the spinlock strategy's stack.
//   SpinLock:      two threads increment a counter inside the lock.
//   SharedSpinLock: a writer writes inside Lock(), two readers read inside
//                  LockShared().
//   flush:         on every stack: one thread pushes two written objects,
//                  one flushes (PopAll) and reads them, one pops and reads;
//                  each object ends in exactly one place.
//   dwcas publish: publish, on the dwcas stack.
//   dwcas cycle:   three objects; one thread pops, writes (contents and
//                  links) and pushes back one, the other two at a time.
//   release:       (xchg, dwcas) one thread pops an object and returns it
//                  to the OS after ReleaseBarrier(); another pop reads the
//                  head's contents where it reads its link (seed 003's
//                  crash). dwcas also runs without the flush lock (seed
//                  001), which must fail. No weakening breaks xchg's: its
//                  argument (links read only while the head is BUSY) is in
//                  the code's shape, not in an order.
//   owned counter: one owner updates, two threads read; also with two
//                  writers and with plain accesses, which must fail.
// Code mutants of DwcasStack, one probe build each
// (sync_relacy_dwcas_mutant_N_test): 1, a pop reads the head before the
// generation; 2, a pop's DWCAS keeps the generation. Each must fail a
// dwcas scenario (both fail dwcas cycle).
// Weakenings: one (operation, order) class at a time set to relaxed at
// every site of that class (main() lists the sites); main() fails if the
// code as written fails a scenario, or if a weakening is not caught by the
// scenarios listed for it. Every class is caught.
// What this cannot check:
//   - xchg's unlocking store in Pop (release); the same class in Push, whose
//     store publishes the pushed cluster, is caught. By the C++ rules the
//     second pop of handover then races with the pusher (a plain store by
//     another thread ends the pusher's release sequence), but Relacy (Debian's
//     0.0+git20191025) does not report it: its model lets a relaxed store
//     pass on what its thread acquired. UnlockLitmus below is the bare case
//     (T0 data=1, x.store(1, release); T1 exchange acquire, then
//     x.store(3, relaxed); T2 load acquire == 3, read data): no race in
//     200000 iterations. main() prints whether that still holds.
//   - SpinLock's sleeper path (its exchange acquire), reached only after
//     128 failed spins, which these scenarios do not reach.
//   - the owned counter's x86-64 path (one unlocked `add` to memory, asm):
//     outside the C++ model; the portable protocol is checked (owned
//     counter, below) and TSan builds take it.
//   - a reordering of dwcas Pop's two half loads: the pair is one
//     location here, so they stay in order whatever their orders (on
//     arm64 it is their acquire that keeps them so; mutant 1 shows what
//     breaks when they are not). Their other job, ordering the read of
//     the head's link (before the DWCAS, so not ordered by its acquire)
//     after the pusher's writes, is checked: dwcas publish reads the
//     contents where the link is read.
//   - the stacks' counts (stack_counts.h): plain std::atomic here, not
//     instrumented; a lost update among racing pushes and pops is what
//     //pool:stacks_test's concurrent test checks instead.
//   - the seed-003 argument (a pop never reads the link of an object
//     another thread may have freed) on the links themselves: the
//     FreeItem links are plain memory, not instrumented; the spin models
//     (testing/models) and seed003_race_test check it. For xchg and dwcas,
//     release checks it through the pop hook, which reads an instrumented
//     field where the pop reads the link; the spinlock stack has no hook.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "arch/owned_counter.h"
#include "pool/internal/dwcas_stack.h"
#include "pool/internal/free_item.h"
#include "pool/internal/spin_lock.h"
#include "pool/internal/spinlock_stack.h"
#include "pool/internal/xchg_stack.h"
// After poolkit's and the standard headers: Relacy defines macros ($).
#include <relacy/relacy.hpp>

namespace poolkit::internal {
namespace {

// One (operation, order) weakened to relaxed per run, at every site that
// performs it: each of these sources uses few enough of each that a class
// names its sites (listed in the table in main()).
enum class Weakening {
  kNone,
  kLoadAcquire,
  kStoreRelease,
  kExchangeAcquire,
  kExchangeRelease,
  kCasAcquire,
  kCasRelease,
  kPairLoadAcquire,
  kPairCasAcquire,
  kPairCasRelease,
};

const char* Name(Weakening weakening) {
  switch (weakening) {
    case Weakening::kNone:
      return "as written";
    case Weakening::kLoadAcquire:
      return "load acquire -> relaxed";
    case Weakening::kStoreRelease:
      return "store release -> relaxed";
    case Weakening::kExchangeAcquire:
      return "exchange acquire -> relaxed";
    case Weakening::kExchangeRelease:
      return "exchange release -> relaxed";
    case Weakening::kCasAcquire:
      return "CAS acquire -> relaxed";
    case Weakening::kCasRelease:
      return "CAS release -> relaxed";
    case Weakening::kPairLoadAcquire:
      return "pair half load acquire -> relaxed";
    case Weakening::kPairCasAcquire:
      return "pair CAS acquire -> relaxed";
    case Weakening::kPairCasRelease:
      return "pair CAS release -> relaxed";
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

rl::memory_order Order(arch::MemoryOrder order, Weakening if_acquire,
                       Weakening if_release) {
  if (order == arch::MemoryOrder::kAcquire && g_weakening == if_acquire) {
    return rl::mo_relaxed;
  }
  if (order == arch::MemoryOrder::kRelease && g_weakening == if_release) {
    return rl::mo_relaxed;
  }
  return ToRelacy(order);
}

// The failure order a CAS of `success` may have (Relacy checks it).
rl::memory_order FailureOf(rl::memory_order success) {
  switch (success) {
    case rl::mo_acquire:
    case rl::mo_acq_rel:
      return rl::mo_acquire;
    case rl::mo_seq_cst:
      return rl::mo_seq_cst;
    default:
      return rl::mo_relaxed;
  }
}

// DwcasStack's {head, generation} as Relacy sees it: one location, written
// only whole (by the pair CAS, as cmpxchg16b, caspal or a successful
// ldaxp/stlxp pair write it: single-copy atomic), and read a half at a time
// by separate loads of that location. Two loads of one location cannot see
// its writes out of order (read-read coherence), which is what the
// hardware gives a pop's two acquire loads of the two halves of one
// single-copy-atomic write; what the model therefore cannot see is a
// reordering of those two loads (see kPairLoadAcquire in main()). A pop
// that reads the halves in the wrong order can pair a head with a newer
// generation here, as on hardware: mutant 1 below.
struct PairValue {
  std::uintptr_t lo;
  std::uintptr_t hi;
};
bool operator==(const PairValue& a, const PairValue& b) {
  return a.lo == b.lo && a.hi == b.hi;
}
// Relacy prints values in its history.
std::ostream& operator<<(std::ostream& out, const PairValue& value) {
  return out << "{" << value.lo << ", " << value.hi << "}";
}

struct RelacySyncAtomics {
  using Word = rl::atomic<std::uintptr_t>;
  struct Waiter {
    void Wait() { rl::yield(1, $); }
  };
  static void Init(Word* word, std::uintptr_t value) {
    word->store(value, rl::mo_relaxed, $);
  }
  static std::uintptr_t Load(const Word* word, arch::MemoryOrder order) {
    return word->load(Order(order, Weakening::kLoadAcquire, Weakening::kNone),
                      $);
  }
  static void Store(Word* word, std::uintptr_t value, arch::MemoryOrder order) {
    word->store(value, Order(order, Weakening::kNone, Weakening::kStoreRelease),
                $);
  }
  static std::uintptr_t Exchange(Word* word, std::uintptr_t value,
                                 arch::MemoryOrder order) {
    return word->exchange(
        value,
        Order(order, Weakening::kExchangeAcquire, Weakening::kExchangeRelease),
        $);
  }
  static bool CompareExchange(Word* word, std::uintptr_t* expected,
                              std::uintptr_t desired, arch::MemoryOrder order) {
    return word->compare_exchange_strong(
        *expected, desired,
        Order(order, Weakening::kCasAcquire, Weakening::kCasRelease), $,
        ToRelacy(arch::FailureOrder(order)), $);
  }
  using Pair = rl::atomic<PairValue>;
  static void InitPair(Pair* pair, arch::WordPair value) {
    pair->store(PairValue{value.lo, value.hi}, rl::mo_relaxed, $);
  }
  static std::uintptr_t LoadPairLo(const Pair* pair, arch::MemoryOrder order) {
    return pair
        ->load(Order(order, Weakening::kPairLoadAcquire, Weakening::kNone), $)
        .lo;
  }
  static std::uintptr_t LoadPairHi(const Pair* pair, arch::MemoryOrder order) {
    return pair
        ->load(Order(order, Weakening::kPairLoadAcquire, Weakening::kNone), $)
        .hi;
  }
  static bool CompareExchangePair(Pair* pair, arch::WordPair* expected,
                                  arch::WordPair desired,
                                  arch::MemoryOrder order) {
    const rl::memory_order success =
        Order(order, Weakening::kPairCasAcquire, Weakening::kPairCasRelease);
    PairValue seen{expected->lo, expected->hi};
    const bool swapped =
        pair->compare_exchange_strong(seen, PairValue{desired.lo, desired.hi},
                                      success, $, FailureOf(success), $);
    expected->lo = seen.lo;
    expected->hi = seen.hi;
    return swapped;
  }
  static void Relax() { rl::yield(1, $); }
  // A futex wait may return at any time; the callers loop.
  static void SleepWhile(Word*, std::uint32_t) { rl::yield(1, $); }
  static void WakeSleepers(Word*, int) {}
};

using Stack = BasicXchgStack<RelacySyncAtomics>;
using LockedStack = BasicSpinlockStack<RelacySyncAtomics>;
using PairStack = BasicDwcasStack<RelacySyncAtomics>;
using Lock = BasicSpinLock<RelacySyncAtomics>;
using SharedLock = BasicSharedSpinLock<RelacySyncAtomics>;

// A free object: the stack's links first, then contents Relacy watches.
struct Object {
  FreeItem item;
  rl::var<int> contents;
};

Object* AsObject(FreeItem* item) { return reinterpret_cast<Object*>(item); }

template <typename AnyStack>
FreeItem* PopUntilFound(AnyStack& stack) {
  for (;;) {
    if (FreeItem* item = stack.Pop()) return item;
    rl::yield(1, $);
  }
}

// A thread writes an object and pushes it; another pops it and reads it.
// On either stack (xchg: Publish; spinlock: LockedPublish).
template <typename AnyStack>
struct PublishOn : rl::test_suite<PublishOn<AnyStack>, 2> {
  AnyStack stack;
  Object a;
  // Where a pop reads the head's link, before its DWCAS (dwcas) or under
  // its lock (xchg; the spinlock stack has no hook): what a pusher wrote
  // must be visible there already, so the pop reads the contents too.
  static void ReadWhereTheLinkIsRead(void*, FreeItem* head) {
    RL_ASSERT(AsObject(head)->contents($) == 1);
  }
  void before() {
    a.item.next = nullptr;
    a.contents($) = 0;
    stack.SetPopHookForTesting(&ReadWhereTheLinkIsRead, nullptr);
  }
  void thread(unsigned index) {
    if (index == 0) {
      a.contents($) = 1;
      stack.Push(&a.item, 1);
    } else {
      Object* object = AsObject(PopUntilFound(stack));
      RL_ASSERT(object->contents($) == 1);
    }
  }
};

using Publish = PublishOn<Stack>;
using LockedPublish = PublishOn<LockedStack>;
using PairPublish = PublishOn<PairStack>;

// What a new owner leaves in a free object's links: a pop that uses a link
// it read from an object it does not own installs this as the head. (Links
// only: an rl::var cannot live outside a simulation.)
FreeItem g_scribble;

// dwcas cycle: three objects; one thread pops one, writes it (its contents
// and its links, as a new owner may) and pushes it back, twice; the other
// pops two, writes them and pushes them back in the same order, twice.
// Catches an ABA (a pop's DWCAS succeeding on a head that was popped and
// pushed back since it read the link: mutant 2) and a pop pairing an old
// head with a newer generation (mutant 1): either installs a link read from
// an object another thread owns, so an object is handed out twice (a race
// on its `contents`, or the assertion) or the scribble becomes the head.
struct PairCycle : rl::test_suite<PairCycle, 2> {
  PairStack stack;
  Object objects[3];
  void before() {
    g_scribble.next = g_scribble.next_cluster = nullptr;
    for (Object& object : objects) {
      object.item.next = nullptr;
      object.contents($) = 0;
    }
    for (Object& object : objects) stack.Push(&object.item, 1);
  }
  Object* Take(unsigned index) {
    FreeItem* item = PopUntilFound(stack);
    RL_ASSERT(item != &g_scribble);
    Object* object = AsObject(item);
    RL_ASSERT(object->contents($) == 0);
    object->contents($) = static_cast<int>(index + 1);
    object->item.next_cluster = &g_scribble;
    return object;
  }
  void Give(Object* object) {
    object->contents($) = 0;
    stack.Push(&object->item, 1);
  }
  void thread(unsigned index) {
    for (int round = 0; round < 2; ++round) {
      if (index == 0) {
        Give(Take(index));
      } else {
        Object* first = Take(index);
        Object* second = Take(index);
        Give(first);
        Give(second);
      }
    }
  }
  void after() {
    // Each object exactly once, nothing else.
    int found[3] = {0, 0, 0};
    int seen = 0;
    for (FreeItem* item = stack.Pop(); item != nullptr; item = stack.Pop()) {
      RL_ASSERT(++seen <= 3);
      const long at = AsObject(item) - objects;
      RL_ASSERT(at >= 0 && at < 3);
      ++found[at];
    }
    RL_ASSERT(found[0] == 1 && found[1] == 1 && found[2] == 1);
  }
};

// Whether the release scenarios run dwcas with its flush lock (seed 001:
// without).
bool g_flush_lock = true;

// release (seed 003's crash), on xchg and dwcas: one thread pops an object,
// waits on ReleaseBarrier() and returns it to the OS (a write to `contents`
// stands for the unmapping); the other pops, and between reading the head
// and reading its link (the pop hook, where the real read of the link is)
// reads `contents`. xchg's BUSY head and dwcas's flush lock order every
// such read before the release: without the flush lock (seed 001) Relacy
// reports the race, which is the use after free on hardware. (The spinlock
// stack reads links inside its lock and has no hook.)
template <typename AnyStack>
struct ReleaseOn : rl::test_suite<ReleaseOn<AnyStack>, 2> {
  AnyStack stack;
  Object a, b;
  static void ReadWhileHeadIsOurs(void*, FreeItem* head) {
    RL_ASSERT(AsObject(head)->contents($) == 0);
  }
  void before() {
    a.item.next = b.item.next = nullptr;
    a.contents($) = 0;
    b.contents($) = 0;
    stack.Push(&a.item, 1);
    stack.Push(&b.item, 1);
    stack.SetPopHookForTesting(&ReadWhileHeadIsOurs, nullptr);
    stack.SetFlushLockForTesting(g_flush_lock);
  }
  void thread(unsigned index) {
    Object* object = AsObject(PopUntilFound(stack));
    if (index == 0) {
      stack.ReleaseBarrier();
      object->contents($) = -1;  // gone to the OS
    }
  }
};
using XchgRelease = ReleaseOn<Stack>;
using PairRelease = ReleaseOn<PairStack>;

// flush, on every stack: one thread writes and pushes two objects, one
// flushes (PopAll) and reads what it detached, one pops once and reads
// what it got. Afterwards each object is in exactly one place.
template <typename AnyStack>
struct FlushOn : rl::test_suite<FlushOn<AnyStack>, 3> {
  AnyStack stack;
  Object a, b;
  FreeItem* flushed = nullptr;
  FreeItem* popped = nullptr;
  static int Expected(const Object* object, const Object* a) {
    return object == a ? 1 : 2;
  }
  void before() {
    a.item.next = b.item.next = nullptr;
    a.contents($) = 0;
    b.contents($) = 0;
    flushed = popped = nullptr;
  }
  void thread(unsigned index) {
    if (index == 0) {
      a.contents($) = 1;
      stack.Push(&a.item, 1);
      b.contents($) = 2;
      stack.Push(&b.item, 1);
    } else if (index == 1) {
      flushed = stack.PopAll();
      for (FreeItem* item = flushed; item != nullptr;
           item = item->next_cluster) {
        RL_ASSERT(AsObject(item)->contents($) == Expected(AsObject(item), &a));
      }
    } else {
      popped = stack.Pop();
      if (popped != nullptr) {
        RL_ASSERT(AsObject(popped)->contents($) ==
                  Expected(AsObject(popped), &a));
      }
    }
  }
  void after() {
    int found_a = 0;
    int found_b = 0;
    auto count = [&](FreeItem* item) {
      if (item == &a.item) ++found_a;
      if (item == &b.item) ++found_b;
    };
    int walked = 0;
    for (FreeItem* item = flushed; item != nullptr && ++walked <= 2;
         item = item->next_cluster) {
      count(item);
    }
    if (popped != nullptr) count(popped);
    for (FreeItem* item = stack.Pop(); item != nullptr && ++walked <= 4;
         item = stack.Pop()) {
      count(item);
    }
    RL_ASSERT(found_a == 1 && found_b == 1);
  }
};
using XchgFlush = FlushOn<Stack>;
using LockedFlush = FlushOn<LockedStack>;
using PairFlush = FlushOn<PairStack>;

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
      stack.Push(&b.item, 1);
      a.contents($) = 1;
      stack.Push(&a.item, 1);
    } else {
      Object* object = AsObject(PopUntilFound(stack));
      const int seen = object->contents($);
      RL_ASSERT(seen == (object == &a ? 1 : 2));
    }
  }
};

// SpinLock: two threads increment a plain counter inside the lock.
struct LockExcludes : rl::test_suite<LockExcludes, 2> {
  Lock lock;
  rl::var<int> counter;
  void before() { counter($) = 0; }
  void thread(unsigned) {
    lock.Lock();
    counter($) = counter($) + 1;
    lock.Unlock();
  }
  void after() { RL_ASSERT(counter($) == 2); }
};

// SharedSpinLock: two readers read, a writer writes (and then would free,
// as a release to the OS does after its exclusive section).
struct SharedLockExcludes : rl::test_suite<SharedLockExcludes, 3> {
  SharedLock lock;
  rl::var<int> data;
  void before() { data($) = 0; }
  void thread(unsigned index) {
    if (index == 0) {
      lock.Lock();
      data($) = 1;
      lock.Unlock();
    } else {
      lock.LockShared();
      const int seen = data($);
      RL_ASSERT(seen == 0 || seen == 1);
      lock.UnlockShared();
    }
  }
};

// The owned counter (arch/owned_counter.h: a thread cache's count, written
// by its thread, read by statistics), its portable protocol OwnerAddWith
// over Relacy's atomics. The owner adds +2, -1, +2; two readers read twice
// each: every value read is one the owner wrote (never torn), in the
// owner's order (no reader goes back), and the count ends exact. There is
// no order to weaken (all relaxed, as written); the protocol's two
// preconditions are what the variants break: two writers (updates lost:
// after() fails) and plain accesses (PlainCounterAccess: a data race).
struct RelacyCounterAccess {
  using Counter = rl::atomic<std::uint32_t>;
  static std::uint32_t Load(Counter* counter) {
    return counter->load(rl::mo_relaxed, $);
  }
  static void Store(Counter* counter, std::uint32_t value) {
    counter->store(value, rl::mo_relaxed, $);
  }
};
struct PlainCounterAccess {
  using Counter = rl::var<std::uint32_t>;
  static std::uint32_t Load(Counter* counter) { return (*counter)($); }
  static void Store(Counter* counter, std::uint32_t value) {
    (*counter)($) = value;
  }
};

template <typename Access, bool kTwoWriters>
struct OwnedCounterOf : rl::test_suite<OwnedCounterOf<Access, kTwoWriters>, 3> {
  typename Access::Counter count;
  // The values the owner writes, in its order.
  static int Position(std::uint32_t value) {
    const std::uint32_t written[] = {0, 2, 1, 3};
    for (int i = 0; i < 4; ++i) {
      if (written[i] == value) return i;
    }
    return -1;
  }
  void before() { Access::Store(&count, 0); }
  void thread(unsigned index) {
    if (index == 0) {
      arch::OwnerAddWith<Access>(&count, 2);
      arch::OwnerAddWith<Access>(&count, -1);
      arch::OwnerAddWith<Access>(&count, 2);
    } else if (kTwoWriters && index == 1) {
      arch::OwnerAddWith<Access>(&count, 1);
    } else {
      const int first = Position(Access::Load(&count));
      const int second = Position(Access::Load(&count));
      RL_ASSERT(first >= 0 && second >= first);
    }
  }
  void after() { RL_ASSERT(Access::Load(&count) == (kTwoWriters ? 4u : 3u)); }
};
using OwnedCounter = OwnedCounterOf<RelacyCounterAccess, false>;
using OwnedCounterTwoWriters = OwnedCounterOf<RelacyCounterAccess, true>;
using OwnedCounterPlain = OwnedCounterOf<PlainCounterAccess, false>;

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
    stack.Push(&a.item, 1);
    stack.Push(&b.item, 1);
  }
  void thread(unsigned index) {
    for (int round = 0; round < 2; ++round) {
      Object* object = AsObject(PopUntilFound(stack));
      object->contents($) = static_cast<int>(index * 10 + round);
      stack.Push(&object->item, 1);
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

namespace {

// A probe build with a code mutant of DwcasStack (POOLKIT_DWCAS_RELACY_MUTANT,
// see dwcas_stack.h): the stack's scenarios as written must fail.
int RunMutant() {
  namespace pi = poolkit::internal;
  std::string report;
  const bool publish = pi::Passes<pi::PairPublish>("dwcas publish", &report);
  const bool cycle = pi::Passes<pi::PairCycle>("dwcas cycle", &report);
  const bool release = pi::Passes<pi::PairRelease>("dwcas release", &report);
  std::printf("dwcas mutant %d: publish %s, cycle %s, release %s\n",
              POOLKIT_DWCAS_RELACY_MUTANT, publish ? "ok" : "FAIL",
              cycle ? "ok" : "FAIL", release ? "ok" : "FAIL");
  std::fputs(report.c_str(), stdout);
  // Both mutants break what dwcas cycle checks (a pop using a link it read
  // from an object another thread owned).
  if (cycle) {
    std::printf("PROBLEM: the mutant survives dwcas cycle\n");
    return 1;
  }
  std::printf("mutant killed by dwcas cycle\n");
  return 0;
}

}  // namespace

int main() {
  if (POOLKIT_DWCAS_RELACY_MUTANT != 0) return RunMutant();
  using poolkit::internal::Weakening;
  namespace pi = poolkit::internal;
  int problems = 0;
  {
    std::string report;
    const bool litmus = pi::Passes<pi::UnlockLitmus>("litmus", &report);
    std::printf("Relacy's blind spot (unlock litmus): %s\n",
                litmus ? "no race reported, as documented"
                       : "race reported: Relacy now sees it; require "
                         "xchg handover to catch the unlock store");
  }
  {
    std::string report;
    const bool exact = pi::Passes<pi::OwnedCounter>("owned counter", &report);
    const bool two =
        pi::Passes<pi::OwnedCounterTwoWriters>("two writers", &report);
    const bool plain = pi::Passes<pi::OwnedCounterPlain>("plain", &report);
    std::printf(
        "owned counter: as written %s; two writers %s; plain accesses %s\n",
        exact ? "ok" : "FAIL", two ? "ok" : "FAIL", plain ? "ok" : "RACE");
    std::fputs(report.c_str(), stdout);
    if (!exact || two || plain) {
      std::printf("PROBLEM: the owned counter's check\n");
      ++problems;
    }
  }
  {
    // Seed 001: pops without the flush lock, so a release can return an
    // object to the OS while a pop reads its link.
    std::string report;
    pi::g_flush_lock = false;
    const bool unlocked =
        pi::Passes<pi::PairRelease>("dwcas release, no flush lock", &report);
    pi::g_flush_lock = true;
    std::printf("dwcas release without the flush lock (seed 001): %s\n",
                unlocked ? "ok" : "RACE");
    std::fputs(report.c_str(), stdout);
    if (unlocked) {
      std::printf("PROBLEM: the seed-001 pop was not caught\n");
      ++problems;
    }
  }
  // The scenarios, run under every weakening.
  enum ScenarioIndex {
    kXchgPublish,
    kXchgHandover,
    kXchgCycle,
    kXchgRelease,
    kXchgFlush,
    kLockedPublish,
    kLockedFlush,
    kSpinLock,
    kSharedSpinLock,
    kPairPublish,
    kPairCycle,
    kPairRelease,
    kPairFlush,
    kScenarios,
  };
  struct Scenario {
    const char* name;
    bool (*passes)(const char*, std::string*);
  };
  const Scenario scenarios[kScenarios] = {
      {"xchg publish", &pi::Passes<pi::Publish>},
      {"xchg handover", &pi::Passes<pi::Handover>},
      {"xchg cycle", &pi::Passes<pi::Cycle>},
      {"xchg release", &pi::Passes<pi::XchgRelease>},
      {"xchg flush", &pi::Passes<pi::XchgFlush>},
      {"spinlock stack publish", &pi::Passes<pi::LockedPublish>},
      {"spinlock stack flush", &pi::Passes<pi::LockedFlush>},
      {"SpinLock", &pi::Passes<pi::LockExcludes>},
      {"SharedSpinLock", &pi::Passes<pi::SharedLockExcludes>},
      {"dwcas publish", &pi::Passes<pi::PairPublish>},
      {"dwcas cycle", &pi::Passes<pi::PairCycle>},
      {"dwcas release", &pi::Passes<pi::PairRelease>},
      {"dwcas flush", &pi::Passes<pi::PairFlush>},
  };
  // Per weakening, the scenarios that must catch it (they exercise a site
  // of that class and depend on it); the others are printed.
  struct Row {
    Weakening weakening;
    std::vector<int> must_fail;
    const char* sites;
  };
  const Row rows[] = {
      {Weakening::kNone, {}, "-"},
      {Weakening::kLoadAcquire,
       {kSharedSpinLock, kPairRelease},
       "SharedSpinLock::Lock's drain of the readers (also dwcas's flush "
       "lock)"},
      {Weakening::kStoreRelease,
       {kXchgPublish, kXchgHandover, kXchgCycle, kXchgFlush, kSharedSpinLock},
       "SharedSpinLock::Unlock; xchg's Push (its publishing unlock); xchg's "
       "Pop unlock (Relacy blind spot)"},
      {Weakening::kExchangeAcquire,
       {kXchgPublish, kXchgHandover, kXchgCycle, kXchgFlush},
       "xchg's Lock() and LockForPush(); SpinLock's sleeper path (after 128 "
       "failed spins)"},
      {Weakening::kExchangeRelease,
       {kLockedPublish, kLockedFlush, kSpinLock},
       "SpinLock::Unlock"},
      {Weakening::kCasAcquire,
       {kLockedPublish, kLockedFlush, kSpinLock, kSharedSpinLock},
       "SpinLock::Lock (both paths); SharedSpinLock::LockShared and Lock"},
      {Weakening::kCasRelease,
       {kSharedSpinLock, kPairRelease},
       "SharedSpinLock::UnlockShared (also dwcas's flush lock)"},
      {Weakening::kPairLoadAcquire,
       {kPairPublish},
       "dwcas Pop's two half loads (they order the link read before the "
       "DWCAS; their order among themselves is mutant 1's)"},
      {Weakening::kPairCasAcquire,
       {kPairCycle, kPairFlush},
       "dwcas Pop's and PopAll's DWCAS (publish: the half loads' acquire "
       "covers what it reads)"},
      {Weakening::kPairCasRelease,
       {kPairPublish, kPairCycle, kPairFlush},
       "dwcas Push's DWCAS"},
  };
  for (const Row& row : rows) {
    pi::g_weakening = row.weakening;
    std::string report;
    bool pass[kScenarios];
    std::string line;
    for (int i = 0; i < kScenarios; ++i) {
      pass[i] = scenarios[i].passes(scenarios[i].name, &report);
      line += std::string(i == 0 ? "" : ", ") + scenarios[i].name + " " +
              (pass[i] ? "ok" : "RACE");
    }
    std::printf("%s: %s  [sites: %s]\n", pi::Name(row.weakening), line.c_str(),
                row.sites);
    std::fputs(report.c_str(), stdout);
    for (int i = 0; i < kScenarios; ++i) {
      if (row.weakening == Weakening::kNone && !pass[i]) {
        std::printf("PROBLEM: %s fails as written\n", scenarios[i].name);
        ++problems;
      }
    }
    for (int i : row.must_fail) {
      if (pass[i]) {
        std::printf("PROBLEM: %s did not catch this weakening\n",
                    scenarios[i].name);
        ++problems;
      }
    }
  }
  std::printf("%d problems\n", problems);
  return problems == 0 ? 0 : 1;
}
