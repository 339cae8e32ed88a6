// The process-wide account of the bytes pools hold from their backings, and
// its cap (SetMemoryCap, registry.h). Touched only when a pool calls its
// backing, never in a steady state.
#ifndef POOLKIT_POOL_INTERNAL_MEMORY_CAP_H_
#define POOLKIT_POOL_INTERNAL_MEMORY_CAP_H_

#include <cstddef>
#include <cstdint>

namespace poolkit::internal {

// Charges up to `*count` objects of `unit` bytes: all of them, or as many
// as the cap leaves room for (`*count` is lowered). False, with nothing
// charged, if not even one fits.
bool ChargeMemory(std::size_t unit, std::uint32_t* count);
// Gives back what a charge took (objects the backing did not deliver, or
// returned to it).
void UnchargeMemory(std::size_t bytes);

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_MEMORY_CAP_H_
