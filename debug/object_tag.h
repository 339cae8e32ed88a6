// What the debug layer records per object: its owner and state, and its
// last alloc and free callers.
#ifndef POOLKIT_DEBUG_OBJECT_TAG_H_
#define POOLKIT_DEBUG_OBJECT_TAG_H_

#include <cstdint>

#include "arch/cxx17_required.h"

namespace poolkit::debug {

// Ordinary objects carry the tag right after their bytes (so an overflow
// clobbers it and is caught at free); guarded objects keep it in their
// guarded-object record, outside the mapping.
struct ObjectTag {
  // The owner's address with the low bit set while the object is free
  // (owners are at least 2-byte aligned). Anything else is corruption.
  std::uintptr_t owner_word;
  // Return addresses of the last Alloc()/Free() callers (or null).
  const void* alloc_caller;
  const void* free_caller;
};

inline constexpr std::uintptr_t kTagFreeBit = 1;

inline std::uintptr_t LiveTagWord(const void* owner) {
  return reinterpret_cast<std::uintptr_t>(owner);
}
inline std::uintptr_t FreeTagWord(const void* owner) {
  return reinterpret_cast<std::uintptr_t>(owner) | kTagFreeBit;
}

}  // namespace poolkit::debug

#endif  // POOLKIT_DEBUG_OBJECT_TAG_H_
