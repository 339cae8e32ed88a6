// One object per anonymous mapping (seed 004, HAProxy's DEBUG_UAF), with
// guard pages:
//
//   | guard | slack (canary) | object | gap (canary) | guard |
//           ^ data pages ............................^
//
// The object sits against the end of its data pages (the gap is only what
// its alignment leaves), so an overflow faults at its first byte. An
// underflow faults once it passes the slack (none when the size is a whole
// number of pages); inside the slack it is caught by the canary when the
// object is released. A released object's pages are replaced by
// inaccessible ones, so any later access faults at the offending
// instruction; the address range stays reserved in a bounded quarantine
// (FIFO) before it is unmapped and may be reused.
//
// Faults on guard pages and released objects are reported by a SIGSEGV /
// SIGBUS handler naming the pool, the object, the offset and the callers.
//
// Records live outside the mappings, in chunks that are never freed, so the
// fault handler can scan them without locks.
#ifndef POOLKIT_DEBUG_GUARDED_OBJECTS_H_
#define POOLKIT_DEBUG_GUARDED_OBJECTS_H_

#include <cstddef>
#include <cstdint>

#include "arch/cxx17_required.h"
#include "debug/object_tag.h"

namespace poolkit::debug {

// A new guarded object of `size` bytes aligned to `alignment` (at most a
// page), owned by `owner` (a pool, for reports: `owner_name`, copied). Its
// first page is touched before the object is registered, outside the
// records' lock (see SetTouchInsideLockForBenchmark). nullptr if mmap fails.
void* AllocateGuarded(std::size_t size, std::size_t alignment,
                      const void* owner, const char* owner_name);

// Makes the object inaccessible and quarantines its address range; at most
// `quarantine` released objects stay reserved process-wide (the oldest is
// unmapped first). Checks the canaries first (a breach aborts with a report).
// `object` must be a live guarded object (anything else aborts).
void ReleaseGuarded(void* object, std::size_t quarantine);

enum class GuardedState {
  kUnknown,   // not a guarded object's start (or released long ago)
  kLive,      // allocated, not released
  kReleased,  // released, still in quarantine
};

// What `object` (an object's first byte) is. For a live or released object,
// `*tag` and `*owner_name` (either may be null) point at its record's tag and
// owner name, valid until the object leaves the quarantine.
GuardedState LookupGuarded(const void* object, ObjectTag** tag,
                           const char** owner_name);

// Counters, process-wide.
struct GuardedCounters {
  std::uint64_t live = 0;         // allocated, not released
  std::uint64_t quarantined = 0;  // released, range still reserved
  std::uint64_t mapped_total = 0;
  std::uint64_t unmapped_total = 0;
};
GuardedCounters GetGuardedCounters();

// For the seed-004 benchmark only: touch the first page while holding the
// records' lock (as HAProxy did before seed 004) instead of before taking
// it. Off by default.
void SetTouchInsideLockForBenchmark(bool inside);

// Installs the SIGSEGV/SIGBUS handler now (AllocateGuarded does on first
// use). Faults that do not hit a guarded range go to the previous handler.
void InstallGuardFaultHandler();

// fork(): held across a fork by the pool layer's pthread_atfork handlers, so
// that a child never inherits the tables' lock held by a thread it does not
// have. Lock before fork(), unlock after it in the parent and the child.
void LockGuardedTablesForFork();
void UnlockGuardedTablesAfterFork();

}  // namespace poolkit::debug

#endif  // POOLKIT_DEBUG_GUARDED_OBJECTS_H_
