// Which pool an object belongs to, and freeing without naming the pool.
//
//   void* p = pool->Alloc();
//   poolkit::PoolOf(p);   // == pool
//   poolkit::Free(p);     // pool->Free(p)
//
// Only span-backed pools (PoolBacking::kSpans) are known: their
// spans are recorded in a page map read without locks. Objects of pools on
// malloc or a caller's allocator, and of guarded debug pools, are foreign
// here.
#ifndef POOLKIT_POOL_POOL_OF_H_
#define POOLKIT_POOL_POOL_OF_H_

#include "arch/cxx17_required.h"
#include "pool/pool.h"

namespace poolkit {

// The span-backed pool whose span holds `address` (any byte of one of its
// objects, in use or free), or nullptr for any other address: memory of no
// pool, of a pool on another backing, or of a span already given back to
// the OS. Lock-free and safe on any address, including while pools are
// created and destroyed.
Pool* PoolOf(const void* address);

// Frees an object of a span-backed pool: PoolOf(object)->Free(object).
// Free(nullptr) does nothing. Aborts with a report naming the pointer (and
// the pool, if any) for an address no span-backed pool holds, or one inside
// an object rather than at its start.
void Free(void* object);

}  // namespace poolkit

#endif  // POOLKIT_POOL_POOL_OF_H_
