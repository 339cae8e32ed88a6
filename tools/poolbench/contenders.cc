#include "tools/poolbench/contenders.h"

#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "pool/registry.h"

namespace poolkit::poolbench {
namespace {

const std::vector<ContenderInfo>& Table() {
  static const std::vector<ContenderInfo>* const table =
      new std::vector<ContenderInfo>{
          {ContenderId::kSpinlock, "spinlock", ContenderKind::kPoolkit, "", {}},
          {ContenderId::kDwcas, "dwcas", ContenderKind::kPoolkit, "", {}},
          {ContenderId::kXchg, "xchg", ContenderKind::kPoolkit, "", {}},
          {ContenderId::kXchgSpans,
           "xchg-spans",
           ContenderKind::kPoolkit,
           "",
           {}},
          {ContenderId::kNone, "none", ContenderKind::kPoolkit, "", {}},
          {ContenderId::kSimple, "simple", ContenderKind::kBaseline, "", {}},
          {ContenderId::kGlibc, "glibc", ContenderKind::kGlibc, "", {}},
          {ContenderId::kJemalloc,
           "jemalloc",
           ContenderKind::kPeer,
           "libjemalloc-dev",
           {"libjemalloc.so.2"}},
          // The minimal library is the one without the heap profiler: what a
          // user after speed preloads.
          {ContenderId::kTcmalloc,
           "tcmalloc",
           ContenderKind::kPeer,
           "libgoogle-perftools-dev",
           {"libtcmalloc_minimal.so.4", "libtcmalloc.so.4"}},
          {ContenderId::kMimalloc,
           "mimalloc",
           ContenderKind::kPeer,
           "libmimalloc-dev",
           {"libmimalloc.so.2", "libmimalloc.so.2.0"}},
      };
  return *table;
}

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) return path;
  return resolved;
}

// The file that defines `symbol` as the process resolves it (the first
// definition in the global scope: an LD_PRELOADed library comes first).
std::string DefiningFile(void* symbol) {
  Dl_info info;
  if (symbol == nullptr || dladdr(symbol, &info) == 0 ||
      info.dli_fname == nullptr) {
    return "";
  }
  return RealPath(info.dli_fname);
}

void* GlobalSymbol(const char* name) { return dlsym(RTLD_DEFAULT, name); }

bool IsCLibrary(const std::string& path) {
  absl::string_view base = path;
  std::size_t slash = base.rfind('/');
  if (slash != absl::string_view::npos) base.remove_prefix(slash + 1);
  return absl::StartsWith(base, "libc.so") || absl::StartsWith(base, "libc-");
}

// jemalloc's control interface (jemalloc.h), looked up at run time because
// poolbench itself links against none of the peers.
using MallctlFunction = int (*)(const char*, void*, std::size_t*, void*,
                                std::size_t);
// jemalloc's MALLCTL_ARENAS_ALL: "every arena" in arena.<i>.* names.
constexpr int kJemallocAllArenas = 4096;

std::string PeerVersion(ContenderId id, std::string* problem) {
  switch (id) {
    case ContenderId::kJemalloc: {
      auto mallctl = reinterpret_cast<MallctlFunction>(GlobalSymbol("mallctl"));
      if (mallctl == nullptr) {
        *problem = "no mallctl() in the process: not jemalloc";
        return "";
      }
      const char* version = nullptr;
      std::size_t length = sizeof(version);
      if (mallctl("version", &version, &length, nullptr, 0) != 0 ||
          version == nullptr) {
        *problem = "mallctl(\"version\") failed";
        return "";
      }
      return absl::StrCat("jemalloc ", version);
    }
    case ContenderId::kTcmalloc: {
      using TcVersion = const char* (*)(int*, int*, const char**);
      auto tc_version = reinterpret_cast<TcVersion>(GlobalSymbol("tc_version"));
      if (tc_version == nullptr) {
        *problem = "no tc_version() in the process: not tcmalloc";
        return "";
      }
      int major = 0;
      int minor = 0;
      const char* patch = nullptr;
      const char* version = tc_version(&major, &minor, &patch);
      return version != nullptr
                 ? std::string(version)
                 : absl::StrFormat("tcmalloc %d.%d", major, minor);
    }
    case ContenderId::kMimalloc: {
      using MiVersion = int (*)();
      auto mi_version = reinterpret_cast<MiVersion>(GlobalSymbol("mi_version"));
      if (mi_version == nullptr) {
        *problem = "no mi_version() in the process: not mimalloc";
        return "";
      }
      // MI_MALLOC_VERSION: major * 100 + minor * 10 + patch.
      int version = mi_version();
      return absl::StrFormat("mimalloc %d.%d.%d", version / 100,
                             version / 10 % 10, version % 10);
    }
    default:
      *problem = "not a peer";
      return "";
  }
}

}  // namespace

const ContenderInfo& Info(ContenderId id) {
  return Table()[static_cast<int>(id)];
}

absl::string_view ContenderName(ContenderId id) { return Info(id).name; }

bool ParseContender(absl::string_view name, ContenderId* id) {
  for (const ContenderInfo& info : Table()) {
    if (name == info.name) {
      *id = info.id;
      return true;
    }
  }
  return false;
}

std::vector<ContenderId> AllContenders() {
  std::vector<ContenderId> all;
  for (const ContenderInfo& info : Table()) all.push_back(info.id);
  return all;
}

bool IsPoolkit(ContenderId id) {
  return Info(id).kind == ContenderKind::kPoolkit;
}

bool IsPeer(ContenderId id) { return Info(id).kind == ContenderKind::kPeer; }

bool CountsOsCalls(ContenderId id) {
  return IsPoolkit(id) || Info(id).kind == ContenderKind::kBaseline;
}

SharedCacheStrategy StrategyOf(ContenderId id) {
  switch (id) {
    case ContenderId::kSpinlock:
      return SharedCacheStrategy::kSpinlock;
    case ContenderId::kDwcas:
      return SharedCacheStrategy::kDwcas;
    case ContenderId::kNone:
      return SharedCacheStrategy::kNone;
    default:
      return SharedCacheStrategy::kXchg;
  }
}

PoolBacking BackingOf(ContenderId id) {
  return id == ContenderId::kXchgSpans ? PoolBacking::kSpans
                                       : PoolBacking::kMalloc;
}

std::vector<std::string> LibrarySearchDirectories() {
  std::vector<std::string> candidates;
  // Where the running C library lives is the system's multiarch directory
  // (/lib/x86_64-linux-gnu on Debian); -dev packages install under /usr.
  std::string libc_file =
      DefiningFile(reinterpret_cast<void*>(&gnu_get_libc_version));
  std::size_t slash = libc_file.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::string libc_dir = libc_file.substr(0, slash);
    if (absl::StartsWith(libc_dir, "/lib")) {
      candidates.push_back("/usr" + libc_dir);
    }
    candidates.push_back(libc_dir);
  }
#if defined(__x86_64__)
  candidates.push_back("/usr/lib/x86_64-linux-gnu");
#elif defined(__aarch64__)
  candidates.push_back("/usr/lib/aarch64-linux-gnu");
#endif
  for (const char* dir : {"/usr/lib64", "/usr/lib", "/usr/local/lib"}) {
    candidates.push_back(dir);
  }
  std::vector<std::string> unique;
  for (const std::string& dir : candidates) {
    bool seen = false;
    for (const std::string& kept : unique) seen = seen || kept == dir;
    if (!seen) unique.push_back(dir);
  }
  return unique;
}

std::string FindPeerLibrary(ContenderId id) {
  for (const char* name : Info(id).library_names) {
    for (const std::string& dir : LibrarySearchDirectories()) {
      std::string path = absl::StrCat(dir, "/", name);
      if (access(path.c_str(), R_OK) == 0) return path;
    }
  }
  return "";
}

std::string MissingPeerAdvice(ContenderId id) {
  return absl::StrFormat(
      "install Debian's %s (tools/bazelw run //tools:poolbench installs it), "
      "point --peer-library=%s=PATH at the library, or leave %s out with "
      "--contenders=",
      Info(id).debian_package, Info(id).name, Info(id).name);
}

MallocIdentity IdentifyMalloc(ContenderId id,
                              const std::string& expected_library) {
  MallocIdentity identity;
  identity.malloc_from = DefiningFile(GlobalSymbol("malloc"));
  if (identity.malloc_from.empty()) {
    identity.problem = "cannot tell which library defines malloc (dladdr)";
    return identity;
  }
  std::string glibc = absl::StrCat("glibc ", gnu_get_libc_version());
  const bool c_library = IsCLibrary(identity.malloc_from);
  const std::string below = c_library ? glibc : identity.malloc_from;
  if (IsPoolkit(id)) {
    // A pool works over any malloc (a sanitizer's too); say which one.
    identity.version = absl::StrCat("poolkit ", ContenderName(id),
                                    " shared cache, over ", below, " malloc");
    identity.ok = true;
    return identity;
  }
  if (Info(id).kind == ContenderKind::kBaseline) {
    // Like a pool, the list works over any malloc.
    identity.version = absl::StrCat(
        "free list behind one test-and-test-and-set spinlock, over ", below,
        " malloc");
    identity.ok = true;
    return identity;
  }
  if (!IsPeer(id)) {
    if (!c_library) {
      identity.problem = absl::StrFormat(
          "malloc comes from %s, not from the C library (LD_PRELOAD or a "
          "sanitizer replaced it)",
          identity.malloc_from);
      return identity;
    }
    identity.version = glibc;
    identity.ok = true;
    return identity;
  }
  std::string expected = RealPath(expected_library);
  if (identity.malloc_from != expected) {
    identity.problem = absl::StrFormat(
        "malloc comes from %s, not from the preloaded %s (the dynamic loader "
        "ignored LD_PRELOAD=%s)",
        identity.malloc_from, expected, expected_library);
    return identity;
  }
  identity.version = PeerVersion(id, &identity.problem);
  if (!identity.problem.empty()) {
    identity.problem = absl::StrFormat("malloc comes from %s, but %s",
                                       identity.malloc_from, identity.problem);
  }
  identity.ok = identity.problem.empty();
  return identity;
}

void ReleaseFreeMemory(ContenderId id) {
  switch (Info(id).kind) {
    case ContenderKind::kPoolkit: {
      // trim_os: the pools' spares go back to malloc, and malloc_trim hands
      // them to the kernel, as the glibc contender's release does.
      GcOptions options;
      options.trim_os = true;
      Gc(options);
      return;
    }
    case ContenderKind::kBaseline:
      // The list keeps what it holds (a plain free list gives nothing
      // back); malloc may still trim what it has.
    case ContenderKind::kGlibc:
      malloc_trim(0);
      return;
    case ContenderKind::kPeer:
      break;
  }
  switch (id) {
    case ContenderId::kJemalloc: {
      auto mallctl = reinterpret_cast<MallctlFunction>(GlobalSymbol("mallctl"));
      if (mallctl == nullptr) return;
      mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
      std::string purge = absl::StrFormat("arena.%d.purge", kJemallocAllArenas);
      mallctl(purge.c_str(), nullptr, nullptr, nullptr, 0);
      return;
    }
    case ContenderId::kTcmalloc: {
      using Release = void (*)();
      auto release = reinterpret_cast<Release>(
          GlobalSymbol("MallocExtension_ReleaseFreeMemory"));
      if (release != nullptr) release();
      return;
    }
    case ContenderId::kMimalloc: {
      using Collect = void (*)(bool);
      auto collect = reinterpret_cast<Collect>(GlobalSymbol("mi_collect"));
      if (collect != nullptr) collect(true);
      return;
    }
    default:
      return;
  }
}

}  // namespace poolkit::poolbench
