// The per-thread cache that sits in front of every pool.
//
// Each thread has, in static TLS, one LocalHead per pool slot: a LIFO list
// of free objects (hottest first) and its length. Pool::Alloc() and
// Pool::Free() touch only that head and one per-thread byte counter, which
// keeps the fast path near 20 instructions for an alloc+free pair.
//
// Everything else about the thread (its budget, its pool LRU, its place in
// the registry so that its objects go back when it exits) lives in a
// ThreadState, set up by the first slow-path call.
#ifndef POOLKIT_POOL_INTERNAL_THREAD_CACHE_H_
#define POOLKIT_POOL_INTERNAL_THREAD_CACHE_H_

#include <cstddef>
#include <cstdint>

#include "arch/cxx17_required.h"
#include "arch/owned_counter.h"
#include "pool/internal/free_item.h"

namespace poolkit::internal {

// Most pools that can exist at once (each owns a slot in every thread's TLS
// array: 16 bytes per slot and thread).
inline constexpr std::size_t kMaxPools = 512;

struct LocalHead {
  FreeItem* first;
  // Written only by the owning thread; read (relaxed) by statistics from
  // other threads, hence atomic accesses that compile to plain moves.
  std::uint32_t count;
  // Objects of an uncacheable pool in the thread's stash, beside the
  // budget: their count (written by the owner, read by statistics) and
  // their list, linked by next. Never touched by the fast path.
  std::uint32_t stashed;
  FreeItem* stash;
};

// The hot per-thread data. Plain __thread PODs, zero-initialised, so access
// is one %fs- or tpidr_el0-relative address with no TLS wrapper call;
// initial-exec keeps it so even when poolkit is linked into a shared library
// loaded at start-up (a library dlopen()ed late would need the dynamic
// model; poolkit does not support that).
#define POOLKIT_TLS __thread __attribute__((tls_model("initial-exec")))
extern POOLKIT_TLS LocalHead tls_local_heads[kMaxPools];
// Bytes the thread may still cache before it must evict. Starts at 0, so a
// new thread's first free takes the slow path, which sets the thread up.
extern POOLKIT_TLS std::int64_t tls_cache_bytes_left;

// The count is an owned counter (arch/owned_counter.h): only the owning
// thread writes it, statistics read it from other threads.
inline std::uint32_t LoadCount(const LocalHead& head) {
  return arch::ReadOwnedCounter(&head.count);
}
inline void StoreCount(LocalHead& head, std::uint32_t count) {
  __atomic_store_n(&head.count, count, __ATOMIC_RELAXED);
}
inline std::uint32_t LoadStashed(const LocalHead& head) {
  return __atomic_load_n(&head.stashed, __ATOMIC_RELAXED);
}
inline void StoreStashed(LocalHead& head, std::uint32_t count) {
  __atomic_store_n(&head.stashed, count, __ATOMIC_RELAXED);
}

// The stash (LocalHead::stash and ::stashed): objects of a pool too big for
// the byte budget, at most the pool's stash capacity (Pool::SizeCaches),
// owned by the thread like the rest of its LocalHead.
inline FreeItem* PopStashed(LocalHead& head) {
  FreeItem* item = head.stash;
  if (item != nullptr) {
    head.stash = item->next;
    StoreStashed(head, LoadStashed(head) - 1);
  }
  return item;
}
// False (and nothing done) if the stash already holds `capacity` objects.
inline bool PushStashed(LocalHead& head, FreeItem* item,
                        std::uint32_t capacity) {
  const std::uint32_t count = LoadStashed(head);
  if (count >= capacity) return false;
  item->next = head.stash;
  head.stash = item;
  StoreStashed(head, count + 1);
  return true;
}
// Stashes objects of a null-terminated run while there is room; returns
// the part that did not fit (null-terminated) and adds to *stashed.
inline FreeItem* StashRun(LocalHead& head, FreeItem* run,
                          std::uint32_t capacity, std::uint32_t* stashed) {
  while (run != nullptr) {
    FreeItem* next = run->next;
    if (!PushStashed(head, run, capacity)) break;
    ++*stashed;
    run = next;
  }
  return run;
}
// Empties the stash: its objects, null-terminated.
inline FreeItem* TakeAllStashed(LocalHead& head) {
  FreeItem* all = head.stash;
  head.stash = nullptr;
  StoreStashed(head, 0);
  return all;
}

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_THREAD_CACHE_H_
