// What the shared-cache stacks have in common: a stack head is a word, and
// the test hook that makes the seed-003 race reproducible.
#ifndef POOLKIT_POOL_INTERNAL_STACK_WORDS_H_
#define POOLKIT_POOL_INTERNAL_STACK_WORDS_H_

#include <cstdint>

#include "pool/internal/free_item.h"

namespace poolkit::internal {

inline std::uintptr_t ToWord(FreeItem* item) {
  return reinterpret_cast<std::uintptr_t>(item);
}
inline FreeItem* ToItem(std::uintptr_t word) {
  return reinterpret_cast<FreeItem*>(word);
}

// Test hook (the seed-003 race made reproducible): called by a pop between
// taking the head and reading its `next_cluster`, with that head.
using PopHook = void (*)(void* arg, FreeItem* head);

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_STACK_WORDS_H_
