#include "debug/integrity.h"

namespace poolkit::debug {

void FillIntegrityPattern(void* object, std::size_t size, std::size_t skip) {
  unsigned char* bytes = static_cast<unsigned char*>(object);
  for (std::size_t i = skip; i < size; ++i) {
    bytes[i] =
        IntegrityPatternByte(reinterpret_cast<std::uintptr_t>(bytes + i));
  }
}

bool FindIntegrityBreach(const void* object, std::size_t size, std::size_t skip,
                         PatternBreach* breach) {
  const unsigned char* bytes = static_cast<const unsigned char*>(object);
  for (std::size_t i = skip; i < size; ++i) {
    std::uint8_t expected =
        IntegrityPatternByte(reinterpret_cast<std::uintptr_t>(bytes + i));
    if (bytes[i] != expected) {
      *breach = {i, expected, bytes[i]};
      return true;
    }
  }
  return false;
}

}  // namespace poolkit::debug
