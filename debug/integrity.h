// The integrity pattern of free objects: written when an object is freed,
// verified when it is handed out again, so that a write after free that did
// not fault is still caught (and located).
#ifndef POOLKIT_DEBUG_INTEGRITY_H_
#define POOLKIT_DEBUG_INTEGRITY_H_

#include <cstddef>
#include <cstdint>

#include "arch/cxx17_required.h"

namespace poolkit::debug {

// Fills bytes [skip, size) of `object`. `skip` covers what the cache writes
// into free objects (its links). Each byte depends on its address, so an
// object copied over another is caught too.
void FillIntegrityPattern(void* object, std::size_t size, std::size_t skip);

struct PatternBreach {
  std::size_t offset;
  std::uint8_t expected;
  std::uint8_t found;
};

// The first byte of [skip, size) that differs from the pattern; false if
// none does.
bool FindIntegrityBreach(const void* object, std::size_t size, std::size_t skip,
                         PatternBreach* breach);

// The pattern byte for an address (exposed for tests).
inline std::uint8_t IntegrityPatternByte(std::uintptr_t address) {
  // 0xA5 mixed with the address: never all zero, never the poison byte at
  // every offset, different in neighbouring objects.
  return static_cast<std::uint8_t>(0xA5 ^ (address * 0x9E3779B1u >> 24));
}

}  // namespace poolkit::debug

#endif  // POOLKIT_DEBUG_INTEGRITY_H_
