// The atomic operations poolkit's shared-cache stacks and small locks
// perform, as a policy type, so that the same source compiles against
// another implementation of them: //testing/relacy checks BasicXchgStack,
// BasicSpinlockStack, BasicSpinLock and BasicSharedSpinLock, with their
// memory orders as written, against Relacy's model of the C++ memory model.
//
// NativeSyncAtomics is what the library uses: a word is a plain
// std::uintptr_t accessed through arch/atomics.h, a wait spins then yields,
// and sleeping is a futex (lock_wait.h). Every function is inline and
// forwards directly (objdump of shared_cache.o before and after: the same
// instruction counts per function, except that gcc lays the locks' wait
// loops out differently, on the waiting path only; see README).
#ifndef POOLKIT_POOL_INTERNAL_SYNC_ATOMICS_H_
#define POOLKIT_POOL_INTERNAL_SYNC_ATOMICS_H_

#include <cstdint>

#include "arch/atomics.h"
#include "arch/word_pair.h"
#include "pool/internal/lock_wait.h"

namespace poolkit::internal {

struct NativeSyncAtomics {
  using Word = std::uintptr_t;
  // What a waiting loop calls between two looks at a word.
  using Waiter = SpinThenYield;

  // Before any other access (a constructor's).
  static void Init(Word* word, std::uintptr_t value) { *word = value; }
  static std::uintptr_t Load(const Word* word, arch::MemoryOrder order) {
    return arch::LoadWord(word, order);
  }
  static void Store(Word* word, std::uintptr_t value, arch::MemoryOrder order) {
    arch::StoreWord(word, value, order);
  }
  static std::uintptr_t Exchange(Word* word, std::uintptr_t value,
                                 arch::MemoryOrder order) {
    return arch::ExchangeWord(word, value, order);
  }
  static bool CompareExchange(Word* word, std::uintptr_t* expected,
                              std::uintptr_t desired, arch::MemoryOrder order) {
    return arch::CompareExchangeWord(word, expected, desired, order);
  }
  // A pair of words changed together by a double-word CAS; its halves are
  // read one at a time (a load of each word, as the hardware does).
  using Pair = arch::WordPair;
  static void InitPair(Pair* pair, arch::WordPair value) { *pair = value; }
  static std::uintptr_t LoadPairLo(const Pair* pair, arch::MemoryOrder order) {
    return arch::LoadWord(&pair->lo, order);
  }
  static std::uintptr_t LoadPairHi(const Pair* pair, arch::MemoryOrder order) {
    return arch::LoadWord(&pair->hi, order);
  }
  static bool CompareExchangePair(Pair* pair, arch::WordPair* expected,
                                  arch::WordPair desired,
                                  arch::MemoryOrder order) {
    return arch::CompareExchangePair(pair, expected, desired, order);
  }
  // The spin-wait hint.
  static void Relax() { arch::CpuRelax(); }
  // Sleeps while the word's low half reads `expected` (may return early,
  // as a futex does); wakes up to `waiters` sleepers.
  static void SleepWhile(Word* word, std::uint32_t expected) {
    FutexWait(word, expected);
  }
  static void WakeSleepers(Word* word, int waiters) {
    FutexWake(word, waiters);
  }
};

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_SYNC_ATOMICS_H_
