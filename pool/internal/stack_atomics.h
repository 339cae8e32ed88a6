// The atomic operations a shared-cache stack performs, as a policy type, so
// that the same stack source compiles against another implementation of
// them: //testing/relacy checks BasicXchgStack, with its memory orders as
// written, against Relacy's model of the C++ memory model.
//
// NativeStackAtomics is what the library uses: a word is a plain
// std::uintptr_t accessed through arch/atomics.h, and a wait spins, then
// yields (lock_wait.h). Every function is inline and forwards directly, so
// the stacks compile to the same instructions as with direct arch:: calls.
#ifndef POOLKIT_POOL_INTERNAL_STACK_ATOMICS_H_
#define POOLKIT_POOL_INTERNAL_STACK_ATOMICS_H_

#include <cstdint>

#include "arch/atomics.h"
#include "pool/internal/lock_wait.h"

namespace poolkit::internal {

struct NativeStackAtomics {
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
};

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_STACK_ATOMICS_H_
