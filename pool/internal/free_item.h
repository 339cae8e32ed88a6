// The overlay a pool writes into an object while the object is free.
#ifndef POOLKIT_POOL_INTERNAL_FREE_ITEM_H_
#define POOLKIT_POOL_INTERNAL_FREE_ITEM_H_

#include <cstddef>

namespace poolkit::internal {

// A free object holds two links in its first two words; this is why every
// pool object is at least kMinObjectSize bytes.
//
// `next` links free objects in the order a thread uses them: a thread
// cache's LIFO list (hottest first), and the objects of one cluster in a
// shared cache (null-terminated). `next_cluster`, meaningful only in the
// first object of a cluster, links the clusters of a shared-cache stack.
// A cluster therefore moves between a thread cache and a shared cache as it
// is: evicting cuts a run of the thread's list (one write, at the cut) and a
// refill makes the run the thread's list, with no per-object rewriting.
struct FreeItem {
  FreeItem* next;
  FreeItem* next_cluster;
};

inline constexpr std::size_t kMinObjectSize = sizeof(FreeItem);

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_FREE_ITEM_H_
