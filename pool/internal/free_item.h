// The overlay a pool writes into an object while the object is free.
#ifndef POOLKIT_POOL_INTERNAL_FREE_ITEM_H_
#define POOLKIT_POOL_INTERNAL_FREE_ITEM_H_

#include <cstddef>
#include <cstdint>

namespace poolkit::internal {

// A free object holds two links in its first two words; this is why every
// pool object is at least kMinObjectSize bytes.
//
// `next` links free objects in the order a thread uses them: a thread
// cache's LIFO list (hottest first), and the objects of one cluster in a
// shared cache (null-terminated). `next_cluster` of the first object of a
// cluster links the clusters of a shared-cache stack; that of the second
// holds the cluster's count (SetClusterCount).
// A cluster therefore moves between a thread cache and a shared cache as it
// is: evicting cuts a run of the thread's list (one write, at the cut) and a
// refill makes the run the thread's list, with no per-object rewriting.
struct FreeItem {
  FreeItem* next;
  FreeItem* next_cluster;
};

inline constexpr std::size_t kMinObjectSize = sizeof(FreeItem);

// A cluster's object count, kept in its second object's next_cluster (a
// word only the first object of a cluster uses otherwise), so that whoever
// takes a cluster knows its size without walking it: a refill of 16 KiB
// objects spent three quarters of its time on that walk, one cache miss per
// object (perf, batches of 1000 past the thread budget). A cluster of one
// has no second object and needs none.
inline void SetClusterCount(FreeItem* cluster, std::uint32_t count) {
  if (count > 1) {
    cluster->next->next_cluster =
        reinterpret_cast<FreeItem*>(static_cast<std::uintptr_t>(count));
  }
}
inline std::uint32_t ClusterCount(const FreeItem* cluster) {
  if (cluster->next == nullptr) return 1;
  return static_cast<std::uint32_t>(
      reinterpret_cast<std::uintptr_t>(cluster->next->next_cluster));
}

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_FREE_ITEM_H_
