// Fuzz target: the pool API driven by a sequence of operations, every result
// checked against a reference model.
//
// The input is read as operations (one opcode byte, then its arguments):
// create pools with arbitrary options (valid or not), alloc, alloc-zeroed,
// free, bulk alloc and free, reserve, poolkit::Free(void*) and PoolOf,
// flush, trim, gc, destroy, stats, switching between three worker
// threads (each op runs on the current worker), and the misuses that the
// debug layer must catch: a double free, a free into the wrong pool and a
// foreign pointer, each on tagged pools and where the check is guaranteed to
// see it. Reports of those are turned into exceptions by a fault observer
// and must name the expected fault; any other report, crash or sanitizer
// finding is a bug.
//
// Built with --config=fuzz this is a libFuzzer target; elsewhere
// replay_main.cc runs it over the corpus as an ordinary test.
#include <cctype>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "debug/report.h"
#include "pool/internal/pool_test_peer.h"
#include "pool/pool.h"
#include "pool/pool_of.h"
#include "pool/registry.h"

namespace poolkit::fuzz {
namespace {

[[noreturn]] void Bug(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "pool_api_fuzzer: model mismatch: %s %s\n", what,
               detail.c_str());
  std::abort();
}

#define CHECK_MODEL(condition, detail)         \
  do {                                         \
    if (!(condition)) Bug(#condition, detail); \
  } while (0)

struct ExpectedFault {
  std::string fault;
};

void ThrowFault(const debug::FaultReport& report) {
  throw ExpectedFault{report.fault};
}

// Reads the input; past its end every read gives 0.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  std::uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint32_t U16() { return Byte() | (std::uint32_t{Byte()} << 8); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// Runs closures on a fixed thread, synchronously.
class Worker {
 public:
  Worker() : thread_([this] { Loop(); }) {}
  ~Worker() {
    Run(nullptr);
    thread_.join();
  }
  // nullptr stops the worker.
  void Run(std::function<void()> job) {
    std::unique_lock<std::mutex> lock(mu_);
    job_ = std::move(job);
    stop_ = job_ == nullptr;
    pending_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !pending_; });
    if (error_) {
      error_ = false;
      throw ExpectedFault{fault_};
    }
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return pending_; });
      if (stop_) {
        pending_ = false;
        cv_.notify_all();
        return;
      }
      try {
        job_();
      } catch (const ExpectedFault& fault) {
        error_ = true;
        fault_ = fault.fault;
      }
      pending_ = false;
      cv_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool pending_ = false;
  bool stop_ = false;
  bool error_ = false;
  std::string fault_;
  std::thread thread_;
};

struct ModelPool {
  Pool* pool;
  PoolOptions options;  // as asked (first user)
  int users = 1;
  std::uint64_t nulls = 0;  // Alloc() results that were nullptr
};

struct LiveObject {
  Pool* pool;
  std::uint8_t fill;
};

// The model's own validation (independent of ValidatePoolOptions).
bool ModelValid(const PoolOptions& o) {
  if (o.name.empty() || o.name.size() > 31) return false;
  for (char c : o.name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
          c == '-')) {
      return false;
    }
  }
  if (o.object_size == 0 || o.object_size > (std::size_t{1} << 30)) {
    return false;
  }
  if (o.alignment != 0 &&
      ((o.alignment & (o.alignment - 1)) != 0 || o.alignment > 4096)) {
    return false;
  }
  if ((o.flags & ~7u) != 0) return false;
  if (static_cast<int>(o.strategy) > 3) return false;
  if (o.limit != 0 && o.minavail > o.limit) return false;
  return o.debug.fail_percent >= 0 && o.debug.fail_percent <= 100;
}

// Whether two pools' aids behave the same (the model's own comparison:
// fields that have no effect do not count).
bool SameAids(const DebugOptions& a, const DebugOptions& b) {
  return a.tag == b.tag && a.integrity == b.integrity &&
         a.cold_first == b.cold_first && a.poison == b.poison &&
         (!a.poison || a.poison_byte == b.poison_byte) &&
         a.no_cache == b.no_cache && a.caller == b.caller &&
         a.fail_percent == b.fail_percent &&
         (a.fail_percent == 0 || a.fail_seed == b.fail_seed) &&
         a.guarded == b.guarded && a.uaf == b.uaf && a.no_merge == b.no_merge;
}

class Session {
 public:
  Session() : trace_(std::getenv("POOLKIT_FUZZ_TRACE") != nullptr) {
    debug::SetFaultObserverForTesting(ThrowFault);
  }

  void Execute(Input& in) {
    while (!in.done()) {
      std::uint8_t op = in.Byte() % 17;
      if (trace_) {
        std::fprintf(stderr, "op %d on worker %d (%zu pools, %zu live)\n", op,
                     current_, pools_.size(), live_.size());
      }
      switch (op) {
        case 0:
          Create(in);
          break;
        case 1:
        case 2:
          Alloc(in, op == 2);
          break;
        case 3:
        case 4:
          Free(in);
          break;
        case 5:
          OnWorker([&] { PickPool(in)->Flush(); }, true);
          break;
        case 6: {
          Pool* pool = PickPool(in);
          std::size_t keep = in.Byte();
          OnWorker(
              [&] {
                if (pool) pool->Trim(keep);
              },
              true);
          break;
        }
        case 7:
          OnWorker([] { Gc(); }, false);
          break;
        case 8:
          Destroy(in);
          break;
        case 9:
          current_ = in.Byte() % kWorkers;
          break;
        case 10:
          CheckStats(PickPool(in));
          break;
        case 11:
          DoubleFree(in);
          break;
        case 12:
          WrongPoolOrForeign(in);
          break;
        case 13:
          AllocBulk(in);
          break;
        case 14:
          FreeBulk(in);
          break;
        case 15:
          Reserve(in);
          break;
        case 16:
          FreeWithoutPool(in);
          break;
      }
    }
    TearDown();
  }

 private:
  static constexpr int kWorkers = 3;

  // Runs `job` on the current worker; `needs_pool` jobs are skipped when no
  // pool exists (PickPool returns null).
  void OnWorker(const std::function<void()>& job, bool needs_pool) {
    if (needs_pool && pools_.empty()) return;
    workers_[current_].Run(job);
  }

  Pool* PickPool(Input& in) {
    if (pools_.empty()) return nullptr;
    return pools_[in.Byte() % pools_.size()].pool;
  }
  ModelPool* Model(Pool* pool) {
    for (ModelPool& m : pools_) {
      if (m.pool == pool) return &m;
    }
    return nullptr;
  }

  void Create(Input& in) {
    PoolOptions o;
    std::uint8_t name = in.Byte();
    o.name = name == 255 ? "bad name" : "f" + std::to_string(name % 8);
    static constexpr std::size_t kSizes[] = {
        0, 1, 16, 24, 64, 100, 4096, 40000, std::size_t{1} << 31};
    std::uint8_t size = in.Byte();
    o.object_size = size < 9 * 16 ? kSizes[size % 9] : in.U16() + 1;
    static constexpr std::size_t kAligns[] = {0, 8, 16, 64, 4096, 3, 8192};
    o.alignment = kAligns[in.Byte() % 7];
    o.flags = in.Byte() % 10;  // 8 and 9 carry an unknown bit
    // Huge-page pools sit on spans, the others on malloc: both backings
    // under the same model.
    if ((o.flags & kPoolHugePages) != 0) o.backing = PoolBacking::kSpans;
    o.strategy = static_cast<SharedCacheStrategy>(in.Byte() % 5);
    o.limit = in.Byte() % 4 == 0 ? in.Byte() % 16 : 0;
    o.minavail = in.Byte() % 4 == 0 ? (std::size_t{1} << 20) : in.Byte() % 8;
    std::uint8_t aids = in.Byte();
    o.debug.tag = (aids & 1) != 0;
    o.debug.integrity = (aids & 2) != 0;
    o.debug.cold_first = (aids & 4) != 0;
    o.debug.poison = (aids & 8) != 0;
    o.debug.no_cache = (aids & 16) != 0;
    o.debug.caller = (aids & 32) != 0;
    if ((aids & 64) != 0) {
      o.debug.fail_percent = in.Byte() % 120;  // >100 is invalid
      o.debug.fail_seed = in.Byte();
    }
    absl::StatusOr<Pool*> created = CreatePool(o);
    const bool valid = ModelValid(o);
    if (!valid) {
      CHECK_MODEL(!created.ok() && created.status().code() ==
                                       absl::StatusCode::kInvalidArgument,
                  o.name);
      return;
    }
    if (!created.ok()) {
      // A taken name that cannot be merged with, or no slot left (dead
      // pools still cached by workers keep theirs until drained).
      CHECK_MODEL(
          created.status().code() == absl::StatusCode::kAlreadyExists ||
              created.status().code() == absl::StatusCode::kResourceExhausted,
          created.status().ToString());
      if (created.status().code() == absl::StatusCode::kAlreadyExists) {
        bool taken = false;
        for (const ModelPool& m : pools_) {
          // Its name, or the name of a pool merged into it.
          taken |= m.pool->name() == o.name;
          for (const std::string& alias : m.pool->Stats().aliases) {
            taken |= alias == o.name;
          }
        }
        CHECK_MODEL(taken, o.name);
      }
      return;
    }
    Pool* pool = *created;
    CHECK_MODEL(pool->object_size() >= o.object_size, o.name);
    CHECK_MODEL(pool->alignment() >= o.alignment, o.name);
    CHECK_MODEL(pool->strategy() == o.strategy, o.name);
    if (ModelPool* merged = Model(pool)) {
      // Merging needs both sides shared, and the same strategy and limit.
      CHECK_MODEL((o.flags & kPoolShared) != 0 &&
                      (merged->options.flags & kPoolShared) != 0 &&
                      merged->options.limit == o.limit &&
                      merged->options.backing == o.backing &&
                      SameAids(merged->options.debug, o.debug),
                  o.name);
      ++merged->users;
      return;
    }
    pools_.push_back({pool, o, 1, 0});
  }

  void Alloc(Input& in, bool zeroed) {
    Pool* pool = PickPool(in);
    if (pool == nullptr) return;
    ModelPool& m = *Model(pool);
    void* object = nullptr;
    const PoolStats before = pool->Stats();
    OnWorker([&] { object = zeroed ? pool->AllocZeroed() : pool->Alloc(); },
             false);
    if (object == nullptr) {
      ExpectFailure(pool, m, before);
      return;
    }
    Adopt(pool, object, zeroed);
  }

  // Checks a freshly allocated object and records it as live.
  void Adopt(Pool* pool, void* object, bool zeroed) {
    ModelPool& m = *Model(pool);
    CHECK_MODEL(object != nullptr, pool->name());
    CHECK_MODEL(
        reinterpret_cast<std::uintptr_t>(object) % pool->alignment() == 0,
        pool->name());
    CHECK_MODEL(live_.find(object) == live_.end(), "handed out twice");
    // Span-backed pools know their objects; malloc-backed ones do not.
    CHECK_MODEL(PoolOf(object) ==
                    (m.options.backing == PoolBacking::kSpans ? pool : nullptr),
                pool->name());
    const unsigned char* bytes = static_cast<const unsigned char*>(object);
    if (zeroed) {
      for (std::size_t i = 0; i < pool->object_size(); ++i) {
        CHECK_MODEL(bytes[i] == 0, pool->name());
      }
    } else if (m.options.debug.poison) {
      for (std::size_t i = 0; i < pool->object_size(); ++i) {
        CHECK_MODEL(bytes[i] == m.options.debug.poison_byte, pool->name());
      }
    }
    std::uint8_t fill = static_cast<std::uint8_t>(++serial_);
    std::memset(object, fill, pool->object_size());
    live_[object] = {pool, fill};
  }

  // A failed call (Alloc() nullptr, AllocBulk() or Reserve() false) must be
  // the limit or an injected failure, counted as such, and counts once.
  // (Not "allocated is at the limit" afterwards: a failed AllocBulk gives
  // back what it got, and a pool with strategy none sends that to the OS.)
  void ExpectFailure(Pool* pool, ModelPool& m, const PoolStats& before) {
    ++m.nulls;
    PoolStats stats = pool->Stats();
    const bool limited = m.options.limit != 0 &&
                         stats.limit_failures == before.limit_failures + 1;
    const bool injected =
        stats.injected_failures == before.injected_failures + 1;
    CHECK_MODEL(limited != injected, pool->name());
    CHECK_MODEL(stats.failed == before.failed + 1, pool->name());
  }

  void AllocBulk(Input& in) {
    Pool* pool = PickPool(in);
    if (pool == nullptr) return;
    ModelPool& m = *Model(pool);
    const std::size_t n = in.Byte() % 48;
    std::vector<void*> objects(n);
    const PoolStats before = pool->Stats();
    bool ok = false;
    OnWorker([&] { ok = pool->AllocBulk(n, objects.data()); }, false);
    if (!ok) {
      CHECK_MODEL(n != 0, pool->name());
      ExpectFailure(pool, m, before);
      // All or nothing: what the call took, it gave back.
      CHECK_MODEL(pool->Stats().in_use == before.in_use, pool->name());
      return;
    }
    for (void* object : objects) Adopt(pool, object, false);
  }

  // Frees up to 48 live objects of one pool in one call, with a null entry
  // among them.
  void FreeBulk(Input& in) {
    void* first = PickLive(in);
    if (first == nullptr) return;
    Pool* pool = live_[first].pool;
    const std::size_t want = 1 + in.Byte() % 48;
    std::vector<void*> objects = {nullptr};
    for (auto it = live_.begin();
         it != live_.end() && objects.size() <= want;) {
      if (it->second.pool != pool) {
        ++it;
        continue;
      }
      CheckContents(it->first, it->second);
      objects.push_back(it->first);
      it = live_.erase(it);
    }
    OnWorker([&] { pool->FreeBulk(objects.size(), objects.data()); }, false);
  }

  void Reserve(Input& in) {
    Pool* pool = PickPool(in);
    if (pool == nullptr) return;
    ModelPool& m = *Model(pool);
    const std::size_t n = in.Byte() % 64;
    const PoolStats before = pool->Stats();
    bool ok = false;
    OnWorker([&] { ok = pool->Reserve(n); }, false);
    if (m.options.strategy == SharedCacheStrategy::kNone) {
      // No shared cache, nothing to reserve: refused, not counted.
      CHECK_MODEL(ok == (n == 0), pool->name());
      CHECK_MODEL(pool->reserved() == 0, pool->name());
      return;
    }
    CHECK_MODEL(pool->reserved() == n, pool->name());
    if (!ok) {
      ExpectFailure(pool, m, before);
      return;
    }
    // Workers are idle: the count is exact.
    CHECK_MODEL(pool->Stats().shared_cached >= static_cast<std::int64_t>(n),
                pool->name());
  }

  // poolkit::Free(void*) on a live object of a span-backed pool: it finds
  // the pool itself.
  void FreeWithoutPool(Input& in) {
    void* object = PickLive(in);
    if (object == nullptr) return;
    LiveObject live = live_[object];
    if (Model(live.pool)->options.backing != PoolBacking::kSpans) return;
    CHECK_MODEL(PoolOf(object) == live.pool, live.pool->name());
    CheckContents(object, live);
    live_.erase(object);
    OnWorker([&] { poolkit::Free(object); }, false);
  }

  void* PickLive(Input& in) {
    if (live_.empty()) return nullptr;
    auto it = live_.begin();
    std::advance(it, in.Byte() % live_.size());
    return it->first;
  }

  void CheckContents(void* object, const LiveObject& live) {
    const unsigned char* bytes = static_cast<const unsigned char*>(object);
    for (std::size_t i = 0; i < live.pool->object_size(); ++i) {
      CHECK_MODEL(bytes[i] == live.fill, "object overwritten while live");
    }
  }

  void Free(Input& in) {
    void* object = PickLive(in);
    if (object == nullptr) return;
    LiveObject live = live_[object];
    CheckContents(object, live);
    live_.erase(object);
    OnWorker([&] { live.pool->Free(object); }, false);
  }

  // Frees a live object of a tagged pool, then frees it again at once. The
  // pool keeps it cached (minavail covers it), so the tag is still readable
  // and must say "free".
  void DoubleFree(Input& in) {
    void* object = PickLive(in);
    if (object == nullptr) return;
    LiveObject live = live_[object];
    ModelPool& m = *Model(live.pool);
    if (!m.options.debug.tag ||
        m.options.strategy == SharedCacheStrategy::kNone ||
        m.options.minavail < (std::size_t{1} << 20)) {
      return;
    }
    live_.erase(object);
    OnWorker([&] { live.pool->Free(object); }, false);
    ExpectFault("double free", [&] { live.pool->Free(object); });
  }

  // Frees a live object of a tagged pool into another tagged pool of the
  // same object size (so the tag is read where it is), or frees a foreign
  // buffer into a tagged pool.
  void WrongPoolOrForeign(Input& in) {
    if ((in.Byte() & 1) != 0) {
      Pool* pool = PickPool(in);
      if (pool == nullptr || !Model(pool)->options.debug.tag) return;
      // Room for the object and its tag, all zero: a tag naming no pool.
      std::vector<std::uint64_t> foreign(pool->object_size() / 8 + 8, 0);
      ExpectFault("corrupted tag", [&] { pool->Free(foreign.data()); });
      return;
    }
    void* object = PickLive(in);
    if (object == nullptr) return;
    LiveObject live = live_[object];
    if (!Model(live.pool)->options.debug.tag) return;
    for (const ModelPool& other : pools_) {
      if (other.pool != live.pool && other.options.debug.tag &&
          other.pool->object_size() == live.pool->object_size()) {
        ExpectFault("free into the wrong pool",
                    [&] { other.pool->Free(object); });
        CheckContents(object, live);  // untouched by the refused free
        return;
      }
    }
  }

  void ExpectFault(const char* expected, const std::function<void()>& job) {
    try {
      workers_[current_].Run(job);
    } catch (const ExpectedFault& fault) {
      CHECK_MODEL(fault.fault == expected, fault.fault + " != " + expected);
      if (trace_) std::fprintf(stderr, "  caught: %s\n", expected);
      return;
    }
    Bug("misuse not caught:", expected);
  }

  void CheckStats(Pool* pool) {
    if (pool == nullptr) return;
    ModelPool& m = *Model(pool);
    std::int64_t live = 0;
    for (const auto& entry : live_) live += entry.second.pool == pool;
    PoolStats stats = pool->Stats();
    // Workers are idle (each op is synchronous): the counters are exact.
    CHECK_MODEL(stats.in_use == live, pool->name());
    CHECK_MODEL(stats.failed == m.nulls, pool->name());
    CHECK_MODEL(stats.injected_failures <= stats.failed, pool->name());
    // The shared cache, walked, holds what the counters say.
    CHECK_MODEL(static_cast<std::int64_t>(internal::PoolTestPeer::CountShared(
                    *pool)) == stats.shared_cached,
                pool->name());
    CHECK_MODEL(
        m.options.limit == 0 ||
            stats.allocated <= static_cast<std::int64_t>(m.options.limit),
        pool->name());
  }

  void Destroy(Input& in) {
    Pool* pool = PickPool(in);
    if (pool == nullptr) return;
    ModelPool& m = *Model(pool);
    bool in_use = false;
    for (const auto& entry : live_) in_use |= entry.second.pool == pool;
    absl::Status status;
    OnWorker([&] { status = DestroyPool(pool); }, false);
    if (in_use && m.users == 1) {
      CHECK_MODEL(status.code() == absl::StatusCode::kFailedPrecondition,
                  status.ToString());
      return;
    }
    CHECK_MODEL(status.ok(), status.ToString());
    if (--m.users == 0) {
      pools_.erase(pools_.begin() + (&m - pools_.data()));
    }
  }

  void TearDown() {
    for (auto& entry : live_) {
      CheckContents(entry.first, entry.second);
      entry.second.pool->Free(entry.first);
    }
    live_.clear();
    // Every worker hands its cached objects back, then the pools go.
    for (Worker& worker : workers_) {
      worker.Run([&] {
        for (ModelPool& m : pools_) m.pool->Flush();
      });
    }
    for (ModelPool& m : pools_) {
      for (; m.users > 0; --m.users) {
        absl::Status status = DestroyPool(m.pool);
        CHECK_MODEL(status.ok(), status.ToString());
      }
    }
    pools_.clear();
  }

  const bool trace_;  // POOLKIT_FUZZ_TRACE set: print every operation
  Worker workers_[kWorkers];
  int current_ = 0;
  std::vector<ModelPool> pools_;
  std::map<void*, LiveObject> live_;
  std::uint64_t serial_ = 0;
};

}  // namespace
}  // namespace poolkit::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  // One session (with its worker threads) per process; each input starts
  // and ends with no pools.
  static poolkit::fuzz::Session* const session = new poolkit::fuzz::Session();
  poolkit::fuzz::Input input(data, size);
  session->Execute(input);
  return 0;
}
