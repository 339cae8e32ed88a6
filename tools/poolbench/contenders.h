// The allocators poolbench compares: poolkit's four shared-cache strategies
// (on the malloc backing) and xchg on the span backing,
// `simple` (the floor of a shared path: a free list behind one spinlock,
// spinlock_free_list.h), glibc's malloc, and the malloc replacements users
// pick instead (jemalloc, tcmalloc, mimalloc from Debian's packages).
//
// poolkit, simple and glibc run inside poolbench's own process. Each peer
// replaces malloc for a whole process, so it runs in a child (a poolbench
// worker) started with LD_PRELOAD naming its shared library; the worker proves
// that the peer really serves malloc before it measures anything
// (IdentifyMalloc).
#ifndef POOLKIT_TOOLS_POOLBENCH_CONTENDERS_H_
#define POOLKIT_TOOLS_POOLBENCH_CONTENDERS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "pool/pool_options.h"

namespace poolkit::poolbench {

// In table order: poolkit's strategies first, then what they are compared
// with (the floor of a shared path, then the mallocs).
enum class ContenderId : int {
  kSpinlock = 0,
  kDwcas,
  kXchg,
  // xchg on the span backing (PoolBacking::kSpans); the others are on the
  // malloc backing, the default (issue 11: a contender per backing).
  kXchgSpans,
  kNone,
  kSimple,
  kGlibc,
  kJemalloc,
  kTcmalloc,
  kMimalloc,
};
inline constexpr int kNumContenders = 10;

enum class ContenderKind {
  kPoolkit,   // a poolkit pool, in poolbench's process
  kBaseline,  // simple: a SpinlockFreeList, in poolbench's process
  kGlibc,     // the C library's malloc/free, in poolbench's process
  kPeer,      // a malloc replacement, LD_PRELOADed into a worker process
};

struct ContenderInfo {
  ContenderId id;
  const char* name;  // as on the command line and in reports
  ContenderKind kind;
  // Peers: the Debian package that installs the library (tools/bazelw
  // installs it) and the shared-library file names to look for, preferred
  // first. Empty for the others.
  const char* debian_package;
  std::vector<const char*> library_names;
};

const ContenderInfo& Info(ContenderId id);
absl::string_view ContenderName(ContenderId id);
// The inverse of ContenderName(); false if `name` names no contender.
bool ParseContender(absl::string_view name, ContenderId* id);
// Every contender, in table order.
std::vector<ContenderId> AllContenders();

bool IsPoolkit(ContenderId id);
bool IsPeer(ContenderId id);
// Whether the contender's OS allocator calls are counted (poolkit: its
// pool's Stats(); simple: the allocs that found its list empty).
bool CountsOsCalls(ContenderId id);
// The shared-cache strategy and the backing of a poolkit contender.
SharedCacheStrategy StrategyOf(ContenderId id);
PoolBacking BackingOf(ContenderId id);

// Directories searched for a peer's library: the directory the running C
// library was loaded from (the system's multiarch directory), then the
// usual places.
std::vector<std::string> LibrarySearchDirectories();
// The first existing file among the peer's library names in those
// directories; empty if there is none.
std::string FindPeerLibrary(ContenderId id);
// "install Debian's <package> (tools/bazelw installs it), or leave
// <name> out with --contenders=...": what to tell a user whose peer is
// missing.
std::string MissingPeerAdvice(ContenderId id);

// What serves malloc in the calling process, and whether it is `id`.
struct MallocIdentity {
  bool ok = false;
  // "glibc 2.36", "jemalloc 5.3.0-0-g...", "gperftools 2.10",
  // "mimalloc 2.0.9"; poolkit's strategies add the malloc below them.
  std::string version;
  // The file that defines the malloc the process calls.
  std::string malloc_from;
  // Why it is not `id` (when !ok).
  std::string problem;
};
// For a peer, `expected_library` is the file that should define malloc
// (the LD_PRELOADed one); the peer's own version entry point must be found
// too. Others expect the C library's malloc.
MallocIdentity IdentifyMalloc(ContenderId id,
                              const std::string& expected_library);

// Gives free memory back to the OS the way a user of `id` would after a
// load spike: poolkit::Gc({.trim_os = true}), malloc_trim(0) (glibc, and
// simple, whose list keeps every object it holds), jemalloc's
// "arena.<all>.purge", tcmalloc's MallocExtension_ReleaseFreeMemory,
// mimalloc's mi_collect(true). Call it in the process `id` runs in.
void ReleaseFreeMemory(ContenderId id);

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_CONTENDERS_H_
