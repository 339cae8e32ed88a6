// The one way the debug layer reports misuse: a message on stderr that names
// the fault, the pool, the pointer and, where known, the last callers, then
// abort(). Usable from the guard-page fault handler: fixed buffers, no
// allocation, write(2) and absl::Symbolize (snprintf is not on POSIX's
// async-signal-safe list, but glibc's needs no lock for these formats).
#ifndef POOLKIT_DEBUG_REPORT_H_
#define POOLKIT_DEBUG_REPORT_H_

#include <cstddef>

#include "arch/cxx17_required.h"
#include "debug/object_tag.h"

namespace poolkit::debug {

struct FaultReport {
  // What went wrong, e.g. "double free", "use after free".
  const char* fault = "";
  // The pool the object was given to (or freed into), may be null.
  const char* pool = nullptr;
  const void* object = nullptr;
  std::size_t object_size = 0;
  // One more line of detail (may be null): offsets, the other pool...
  const char* detail = nullptr;
  // Last alloc/free callers, if recorded (may be null).
  const ObjectTag* tag = nullptr;
};

// Prints the report and aborts.
[[noreturn]] void ReportFaultAndAbort(const FaultReport& report);

// For tests and fuzzers that provoke misuse on purpose: called with each
// report before anything is printed. An observer that throws takes the
// report over (nothing is printed, nothing aborts). The checks of a free
// report before the pool changes any state, so the pool stays consistent;
// the checks of an allocation that reuses a free object (a corrupted tag,
// an integrity breach) report after the object has left the shared cache,
// so after a throwing observer that object is in neither the cache nor the
// caller's hands, and counts as in use for ever.
// An observer that returns lets the report go on to abort. Not for the
// guard-page fault handler (a signal handler cannot throw).
using FaultObserver = void (*)(const FaultReport& report);
void SetFaultObserverForTesting(FaultObserver observer);

// Writes "name (0xADDR)" for a code address into `out`, or "unknown" for
// null. Async-signal-safe.
void DescribeCodeAddress(const void* address, char* out, std::size_t size);

}  // namespace poolkit::debug

#endif  // POOLKIT_DEBUG_REPORT_H_
