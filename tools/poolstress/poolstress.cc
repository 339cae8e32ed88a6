// poolstress: free-running stress for poolkit's shared caches.
//
//   poolstress --mode=race [--strategy=dwcas] [--noflush_lock] ...
//       Seed 003 without the test hook: threads pop from and release to the
//       OS a guarded pool (freed objects become inaccessible), each strategy
//       in a child process; prints whether it faulted, and what it did.
//   poolstress --mode=soak [--duration=600] ...
//       Every strategy at several fault-injection rates, thread churn,
//       cross-thread frees, random flush and gc; every object carries a
//       checksum of its owner and serial, verified before it is freed; at
//       the end every counter must add up. Prints the totals; exit 1 on any
//       error.
//   poolstress --mode=misuse --fault=use-after-free
//       Commits one misuse on a debug pool and shows the report.
//
// Flags are Abseil's (`--help` lists them; a bool flag is turned off with
// --noNAME or --NAME=false); values are checked after parsing, with an error
// naming the flag.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "pool/internal/pool_test_peer.h"
#include "pool/pool.h"
#include "pool/registry.h"

ABSL_FLAG(std::string, mode, "race",
          "race: guarded pools, frees released to the OS while other threads "
          "pop; each strategy in a child process, a fault is reported, not "
          "fatal. soak: every strategy x fault rate, thread churn, flush, gc, "
          "cross-thread frees, object contents checked; exit 1 on error. "
          "misuse: commit --fault on a debug pool and show the report");
ABSL_FLAG(std::string, strategy, "all",
          "shared-cache strategy: spinlock, dwcas, xchg, none or all");
ABSL_FLAG(int, threads, 4, "threads per strategy (2 to 256)");
ABSL_FLAG(std::uint64_t, size, 64, "object size in bytes (16 to 64M)");
ABSL_FLAG(double, duration, 5, "seconds per strategy (and fault rate)");
ABSL_FLAG(bool, flush_lock, true,
          "dwcas with its flush lock; --noflush_lock runs seed 001's pop, "
          "unsafe against concurrent release to the OS");
ABSL_FLAG(std::uint64_t, seed, 1, "random seed");
ABSL_FLAG(std::vector<std::string>, fail,
          std::vector<std::string>({"0", "1", "10"}),
          "soak: fault-injection rates in percent, comma-separated");
ABSL_FLAG(std::string, fault, "",
          "misuse: overflow, underflow, use-after-free, double-free, "
          "wrong-pool or integrity");

namespace poolkit::tools {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode = "race";
  std::vector<SharedCacheStrategy> strategies;
  int threads = 4;
  std::size_t size = 64;
  double duration = 5;
  bool flush_lock = true;
  std::uint64_t seed = 1;
  std::vector<double> fail_rates = {0, 1, 10};
  std::string fault;
};

bool Bad(const char* flag, const std::string& value, const char* want) {
  std::fprintf(stderr, "poolstress: --%s=%s: %s (see --help)\n", flag,
               value.c_str(), want);
  return false;
}

// Reads the flags (already parsed) into options, checking each value.
bool ReadOptions(Options* options) {
  options->mode = absl::GetFlag(FLAGS_mode);
  if (options->mode != "race" && options->mode != "soak" &&
      options->mode != "misuse") {
    return Bad("mode", options->mode, "race, soak or misuse");
  }
  options->fault = absl::GetFlag(FLAGS_fault);
  const std::string strategy = absl::GetFlag(FLAGS_strategy);
  if (strategy != "all") {
    SharedCacheStrategy s;
    if (!ParseStrategy(strategy, &s)) {
      return Bad("strategy", strategy, "spinlock, dwcas, xchg, none or all");
    }
    options->strategies.push_back(s);
  } else {
    for (int s = 0; s < kNumSharedCacheStrategies; ++s) {
      options->strategies.push_back(static_cast<SharedCacheStrategy>(s));
    }
  }
  options->threads = absl::GetFlag(FLAGS_threads);
  if (options->threads < 2 || options->threads > 256) {
    return Bad("threads", std::to_string(options->threads), "2 to 256");
  }
  const std::uint64_t size = absl::GetFlag(FLAGS_size);
  if (size < 16 || size > (std::uint64_t{1} << 26)) {
    return Bad("size", std::to_string(size), "16 to 64M bytes");
  }
  options->size = static_cast<std::size_t>(size);
  options->duration = absl::GetFlag(FLAGS_duration);
  if (!(options->duration > 0)) {
    return Bad("duration", std::to_string(options->duration),
               "a positive number of seconds");
  }
  options->seed = absl::GetFlag(FLAGS_seed);
  options->flush_lock = absl::GetFlag(FLAGS_flush_lock);
  options->fail_rates.clear();
  for (const std::string& item : absl::GetFlag(FLAGS_fail)) {
    char* end = nullptr;
    const double rate = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !(rate >= 0 && rate <= 100)) {
      return Bad("fail", item, "percentages from 0 to 100");
    }
    options->fail_rates.push_back(rate);
  }
  if (options->fail_rates.empty()) {
    return Bad("fail", "", "at least one rate");
  }
  return true;
}

// ---------------------------------------------------------------------------
// race

struct RaceCounters {
  std::uint64_t pairs = 0;
  std::uint64_t os_allocs = 0;
  std::uint64_t os_releases = 0;
};

// In the child: threads allocate bursts of objects and free them; the pool
// keeps only what the needed-average rule allows, so bursts keep sending
// objects to the OS (unmapped) while other threads pop the shared cache.
RaceCounters RunRaceChild(const Options& options,
                          SharedCacheStrategy strategy) {
  PoolOptions pool_options;
  pool_options.name = "race";
  pool_options.object_size = options.size;
  pool_options.strategy = strategy;
  pool_options.debug.guarded = true;
  pool_options.debug.quarantine = 0;  // unmap at once: reads of freed fault
  Pool* pool = *CreatePool(pool_options);
  internal::PoolTestPeer::SetDwcasFlushLock(*pool, options.flush_lock);
  const Clock::time_point end =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(options.duration));
  std::atomic<std::uint64_t> pairs{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < options.threads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 random(options.seed * 1000 + t);
      std::vector<void*> held;
      std::uint64_t done = 0;
      while (Clock::now() < end) {
        std::size_t burst = 1 + random() % 32;
        for (std::size_t i = 0; i < burst; ++i) {
          void* p = pool->Alloc();
          if (p != nullptr) held.push_back(p);
        }
        for (void* p : held) pool->Free(p);
        done += held.size();
        held.clear();
      }
      pairs.fetch_add(done, std::memory_order_relaxed);
    });
  }
  for (std::thread& thread : threads) thread.join();
  PoolStats stats = pool->Stats();
  return {pairs.load(), stats.os_allocs, stats.os_releases};
}

int RunRace(const Options& options) {
  std::printf(
      "race: %d threads, %zu-byte guarded objects, %.1f s per "
      "strategy%s\n",
      options.threads, options.size, options.duration,
      options.flush_lock ? "" : ", dwcas WITHOUT its flush lock");
  std::fflush(stdout);
  int faulted = 0;
  for (SharedCacheStrategy strategy : options.strategies) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return 2;
    const Clock::time_point start = Clock::now();
    pid_t child = fork();
    if (child == 0) {
      close(pipe_fds[0]);
      RaceCounters counters = RunRaceChild(options, strategy);
      ssize_t n = write(pipe_fds[1], &counters, sizeof(counters));
      _exit(n == sizeof(counters) ? 0 : 3);
    }
    close(pipe_fds[1]);
    RaceCounters counters;
    ssize_t n = read(pipe_fds[0], &counters, sizeof(counters));
    close(pipe_fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    double seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    std::string name(StrategyName(strategy));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
        n == sizeof(counters)) {
      std::printf(
          "  %-8s no fault in %.1f s: %llu alloc/free pairs, %llu objects "
          "mapped, %llu unmapped\n",
          name.c_str(), seconds,
          static_cast<unsigned long long>(counters.pairs),
          static_cast<unsigned long long>(counters.os_allocs),
          static_cast<unsigned long long>(counters.os_releases));
    } else {
      ++faulted;
      std::printf(
          "  %-8s FAULTED after %.1f s (%s %d; the report above says "
          "where)\n",
          name.c_str(), seconds, WIFSIGNALED(status) ? "signal" : "exit status",
          WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    std::fflush(stdout);
  }
  std::printf("race: %d of %zu strategies faulted\n", faulted,
              options.strategies.size());
  return 0;
}

// ---------------------------------------------------------------------------
// soak

// What every live object carries: who allocated it, its serial, and a
// checksum of both (checked before the object is freed, by any thread).
struct Stamp {
  std::uint64_t owner;
  std::uint64_t serial;
  std::uint64_t checksum;
};

std::uint64_t StampChecksum(std::uint64_t owner, std::uint64_t serial) {
  std::uint64_t x = owner * 0x9E3779B97F4A7C15u ^ serial;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9u;
  return x ^ (x >> 29);
}

struct SoakTotals {
  std::atomic<std::uint64_t> ops{0};
  std::atomic<std::uint64_t> verified{0};
  std::atomic<std::uint64_t> null_returns{0};
  std::atomic<std::uint64_t> errors{0};
};

// Checks an object's stamp (any thread may: it was written before the
// object was handed over), counts it, and frees it.
void VerifyAndFree(Pool* pool, void* object, SoakTotals* totals) {
  const Stamp* stamp = static_cast<const Stamp*>(object);
  if (stamp->checksum != StampChecksum(stamp->owner, stamp->serial)) {
    totals->errors.fetch_add(1, std::memory_order_relaxed);
    std::fprintf(stderr, "soak: pool %s: object %p corrupted\n",
                 pool->name().c_str(), object);
  }
  totals->verified.fetch_add(1, std::memory_order_relaxed);
  pool->Free(object);
}

// Objects handed from one worker to another (cross-thread frees).
struct HandOff {
  std::mutex mu;
  std::vector<void*> objects;
};

void SoakWorker(Pool* pool, HandOff* hand_off, SoakTotals* totals,
                std::uint64_t worker_id, std::uint64_t seed,
                std::uint64_t ops_before_exit, Clock::time_point end) {
  std::mt19937_64 random(seed);
  std::vector<void*> held;
  std::uint64_t serial = 0;
  std::uint64_t ops = 0;
  for (; ops < ops_before_exit && Clock::now() < end; ++ops) {
    unsigned dice = static_cast<unsigned>(random() % 100);
    if (dice < 50 || held.empty()) {
      void* object = pool->Alloc();
      if (object == nullptr) {
        totals->null_returns.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      Stamp* stamp = static_cast<Stamp*>(object);
      stamp->owner = worker_id;
      stamp->serial = ++serial;
      stamp->checksum = StampChecksum(worker_id, serial);
      held.push_back(object);
    } else if (dice < 85) {
      std::size_t i = random() % held.size();
      VerifyAndFree(pool, held[i], totals);
      held[i] = held.back();
      held.pop_back();
    } else if (dice < 97) {
      // Hand one object over; take some that others handed over.
      std::vector<void*> taken;
      {
        std::lock_guard<std::mutex> lock(hand_off->mu);
        hand_off->objects.push_back(held.back());
        if (hand_off->objects.size() > 4) taken.swap(hand_off->objects);
      }
      held.pop_back();
      for (void* object : taken) VerifyAndFree(pool, object, totals);
    } else if (dice < 99) {
      pool->Flush();
    } else {
      Gc();
    }
  }
  totals->ops.fetch_add(ops, std::memory_order_relaxed);
  for (void* object : held) VerifyAndFree(pool, object, totals);
}

int RunSoak(const Options& options) {
  struct Subject {
    Pool* pool;
    double rate;
  };
  std::vector<Subject> subjects;
  for (SharedCacheStrategy strategy : options.strategies) {
    for (double rate : options.fail_rates) {
      PoolOptions pool_options;
      pool_options.name = std::string("soak_") +
                          std::string(StrategyName(strategy)) + "_" +
                          std::to_string(static_cast<int>(rate * 10));
      pool_options.object_size = options.size;
      pool_options.strategy = strategy;
      pool_options.debug.fail_percent = rate;
      pool_options.debug.fail_seed = options.seed;
      // Pools with injected failures also check free objects on reuse.
      pool_options.debug.integrity = rate > 0;
      absl::StatusOr<Pool*> pool = CreatePool(pool_options);
      if (!pool.ok()) {
        std::fprintf(stderr, "soak: %s\n", pool.status().ToString().c_str());
        return 2;
      }
      subjects.push_back({*pool, rate});
    }
  }
  std::printf(
      "soak: %zu pools (strategies x fail rates), %d threads, %zu B "
      "objects, %.0f s, seed %llu\n",
      subjects.size(), options.threads, options.size, options.duration,
      static_cast<unsigned long long>(options.seed));
  std::fflush(stdout);
  SoakTotals totals;
  std::vector<HandOff> hand_offs(subjects.size());
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(options.duration));
  std::atomic<std::uint64_t> next_worker{1};
  std::uint64_t generations = 0;
  // Churn: each thread runs a bounded number of operations on a random
  // pool, exits (its cache goes back), and a new one takes its place.
  std::vector<std::thread> threads(options.threads);
  std::mt19937_64 random(options.seed);
  while (Clock::now() < end) {
    for (std::thread& thread : threads) {
      if (thread.joinable()) thread.join();
      std::size_t which = random() % subjects.size();
      std::uint64_t id = next_worker.fetch_add(1);
      thread = std::thread(SoakWorker, subjects[which].pool, &hand_offs[which],
                           &totals, id, options.seed ^ (id * 7919),
                           20000 + random() % 20000, end);
      ++generations;
    }
  }
  for (std::thread& thread : threads) thread.join();
  // Objects still waiting in hand-off queues.
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    for (void* object : hand_offs[i].objects) {
      VerifyAndFree(subjects[i].pool, object, &totals);
    }
  }
  std::uint64_t injected = 0, failed = 0;
  for (const Subject& subject : subjects) {
    subject.pool->Flush();
    PoolStats stats = subject.pool->Stats();
    injected += stats.injected_failures;
    failed += stats.failed;
    if (stats.in_use != 0 || stats.thread_cached != 0 ||
        stats.allocated != stats.shared_cached) {
      totals.errors.fetch_add(1);
      std::fprintf(stderr,
                   "soak: pool %s does not add up: allocated %lld, in use "
                   "%lld, thread-cached %lld, shared %lld\n",
                   stats.name.c_str(), static_cast<long long>(stats.allocated),
                   static_cast<long long>(stats.in_use),
                   static_cast<long long>(stats.thread_cached),
                   static_cast<long long>(stats.shared_cached));
    }
    if (subject.rate == 0 && stats.injected_failures != 0) {
      totals.errors.fetch_add(1);
    }
  }
  // Every nullptr a worker saw must be an injected (counted) failure.
  if (injected != totals.null_returns.load() || failed != injected) {
    totals.errors.fetch_add(1);
    std::fprintf(stderr,
                 "soak: failures do not add up: %llu nullptr seen, %llu "
                 "injected, %llu failed\n",
                 static_cast<unsigned long long>(totals.null_returns.load()),
                 static_cast<unsigned long long>(injected),
                 static_cast<unsigned long long>(failed));
  }
  for (const Subject& subject : subjects) {
    absl::Status status = DestroyPool(subject.pool);
    if (!status.ok()) {
      totals.errors.fetch_add(1);
      std::fprintf(stderr, "soak: %s\n", status.ToString().c_str());
    }
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "soak: %.0f s, %llu operations, %llu threads started, %llu objects "
      "verified, %llu failures injected and accounted for, %llu errors\n",
      seconds, static_cast<unsigned long long>(totals.ops.load()),
      static_cast<unsigned long long>(generations),
      static_cast<unsigned long long>(totals.verified.load()),
      static_cast<unsigned long long>(injected),
      static_cast<unsigned long long>(totals.errors.load()));
  return totals.errors.load() == 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------
// misuse

// Keeps the compiler from proving the misuse away.
void Touch(volatile char* p) { *p = 1; }

__attribute__((noinline)) void* AllocateSession(Pool* pool) {
  return pool->Alloc();
}
__attribute__((noinline)) void ReleaseSession(Pool* pool, void* session) {
  pool->Free(session);
}

int RunMisuse(const Options& options) {
  PoolOptions pool_options;
  pool_options.name = "session";
  pool_options.object_size = 200;
  pool_options.debug.caller = true;
  pool_options.debug.tag = true;
  pool_options.debug.uaf = options.fault == "overflow" ||
                           options.fault == "underflow" ||
                           options.fault == "use-after-free";
  pool_options.debug.integrity = options.fault == "integrity";
  pool_options.minavail = 8;
  Pool* pool = *CreatePool(pool_options);
  char* p = static_cast<char*>(AllocateSession(pool));
  if (options.fault == "overflow") {
    Touch(p + pool->object_size());
  } else if (options.fault == "underflow") {
    Touch(p - 1);  // in the slack: caught when the object is freed
    ReleaseSession(pool, p);
  } else if (options.fault == "use-after-free") {
    ReleaseSession(pool, p);
    Touch(p + 8);
  } else if (options.fault == "double-free") {
    ReleaseSession(pool, p);
    ReleaseSession(pool, p);
  } else if (options.fault == "wrong-pool") {
    pool_options.name = "buffer";
    Pool* other = *CreatePool(pool_options);
    ReleaseSession(other, p);
  } else if (options.fault == "integrity") {
    ReleaseSession(pool, p);
    Touch(p + 100);
    AllocateSession(pool);
  } else {
    Bad("fault", options.fault,
        "overflow, underflow, use-after-free, double-free, wrong-pool or "
        "integrity");
    return 2;
  }
  std::fprintf(stderr, "poolstress: the misuse was not caught\n");
  return 1;
}

}  // namespace
}  // namespace poolkit::tools

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "free-running stress for poolkit's shared caches.\n"
      "  poolstress --mode=race|soak|misuse [--strategy=NAME|all] "
      "[--threads=N]\n"
      "             [--size=BYTES] [--duration=SECONDS] [--noflush_lock]\n"
      "             [--seed=N] [--fail=R1,R2,...] [--fault=KIND]");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "poolstress: unexpected argument '%s' (see --help)\n",
                 positional[1]);
    return 2;
  }
  poolkit::tools::Options options;
  if (!poolkit::tools::ReadOptions(&options)) return 2;
  if (options.mode == "misuse") return poolkit::tools::RunMisuse(options);
  return options.mode == "race" ? poolkit::tools::RunRace(options)
                                : poolkit::tools::RunSoak(options);
}
