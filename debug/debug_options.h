// Which debugging aids a pool uses: the options struct, and its text form
// (the POOLKIT_DEBUG environment variable, e.g. "uaf,tag,caller,fail=5").
//
// Everything here is plain data and parsing; the pool applies the options on
// its slow paths (a pool with any aid on bypasses thread caches, so the
// release fast path never tests a debug flag).
#ifndef POOLKIT_DEBUG_DEBUG_OPTIONS_H_
#define POOLKIT_DEBUG_DEBUG_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "arch/cxx17_required.h"

namespace poolkit {

struct DebugOptions {
  // One object per anonymous mapping, against the end of its data pages, with
  // an inaccessible guard page before and after; objects released to the OS
  // are made inaccessible and kept in a quarantine (see guarded_objects.h).
  bool guarded = false;
  // `guarded`, and every free releases the object to the OS at once (no
  // caching anywhere), so any later access faults: HAProxy's DEBUG_UAF.
  bool uaf = false;
  // Each object records its owning pool and whether it is free: a free into
  // the wrong pool, a double free or a clobbered tag stops the program.
  bool tag = false;
  // Free objects are filled with a pattern (past the two cache links); an
  // allocation verifies it and reports the first corrupted offset.
  bool integrity = false;
  // The last alloc and free caller of each object is recorded and shown in
  // every report.
  bool caller = false;
  // Allocated objects are filled with `poison_byte` (unless zeroed).
  bool poison = false;
  std::uint8_t poison_byte = 0x50;  // 'P'
  // No per-thread cache: every alloc and free takes the shared path.
  bool no_cache = false;
  // CreatePool never merges this pool with another.
  bool no_merge = false;
  // Reuse the least recently freed object first (a FIFO instead of the
  // shared stack): freed objects stay untouched as long as possible, so a late
  // write is more likely caught.
  bool cold_first = false;
  // Fault injection: this share of allocations (0 to 100 percent) fails,
  // returning nullptr and counting as a failure. Which ones is a function of
  // `fail_seed`, the pool's name and the allocation's sequence number in the
  // pool: a single-threaded run replays exactly.
  double fail_percent = 0;
  std::uint64_t fail_seed = 0;
  // Released guarded objects kept inaccessible (address space only) before
  // their address space is unmapped and may be reused.
  std::size_t quarantine = 1024;

  // True if any aid that changes how objects are handled is on (everything
  // but no_merge, which only matters to CreatePool).
  bool AnyObjectAid() const {
    return guarded || uaf || tag || integrity || caller || poison || no_cache ||
           cold_first || fail_percent > 0;
  }
  bool Guarded() const { return guarded || uaf; }

  friend bool operator==(const DebugOptions& a, const DebugOptions& b);
  friend bool operator!=(const DebugOptions& a, const DebugOptions& b) {
    return !(a == b);
  }
};

// Most objects a quarantine may hold.
inline constexpr std::size_t kMaxQuarantine = std::size_t{1} << 20;

// Parses a comma-separated list of options (see DebugOptionsHelp()); an empty
// string gives the defaults. InvalidArgument names the bad item and lists
// the valid ones. "help" is not accepted here (see DebugOptionsFromEnv).
absl::StatusOr<DebugOptions> ParseDebugOptions(std::string_view text);

// The options in the form ParseDebugOptions() reads; "" when none are on.
std::string FormatDebugOptions(const DebugOptions& options);

// The same options with the fields that have no effect reset (the seed
// without a failure rate, the poison byte without poison, the quarantine of
// an unguarded pool), so that equal behaviour compares equal.
DebugOptions NormalizeDebugOptions(const DebugOptions& options);

// Every aid switched on in either (numbers: the larger rate and quarantine,
// `a`'s seed and poison byte when both set them).
DebugOptions CombineDebugOptions(const DebugOptions& a, const DebugOptions& b);

// The list of options with one line each, for errors and "help".
std::string DebugOptionsHelp();

// The process-wide options from the POOLKIT_DEBUG environment variable, read
// once. A malformed value prints the error and the valid options to stderr
// and exits with status 2; "help" prints them and exits with status 0. The
// pool registry calls this during start-up (static initialisation), so a bad
// value stops the program before main().
const DebugOptions& DebugOptionsFromEnv();

}  // namespace poolkit

#endif  // POOLKIT_DEBUG_DEBUG_OPTIONS_H_
