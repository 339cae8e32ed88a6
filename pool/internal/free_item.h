// The overlay a pool writes into an object while the object is free.
#ifndef POOLKIT_POOL_INTERNAL_FREE_ITEM_H_
#define POOLKIT_POOL_INTERNAL_FREE_ITEM_H_

#include <cstddef>

namespace poolkit::internal {

// A free object holds two links in its first two words; this is why every
// pool object is at least kMinObjectSize bytes.
//
// In a thread cache, `next` links the per-pool LIFO list (hottest first).
// In a shared cache, objects travel in clusters: `next` links the first
// objects of successive clusters and `down` links the objects of one cluster
// (null-terminated), so a whole cluster is pushed or popped with one atomic
// operation on the list head.
struct FreeItem {
  FreeItem* next;
  FreeItem* down;
};

inline constexpr std::size_t kMinObjectSize = sizeof(FreeItem);

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_FREE_ITEM_H_
