// spin_lock.h: mutual exclusion, reader/writer exclusion, and that a
// waiter on a SpinLock whose holder is off the CPU sleeps instead of
// spinning (counted in CPU time consumed, not in elapsed time).
#include "pool/internal/spin_lock.h"

#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace poolkit::internal {
namespace {

std::int64_t ThreadCpuNanos() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

TEST(SpinLockTest, ExcludesEveryOtherHolder) {
  SpinLock lock;
  std::int64_t counter = 0;  // plain: only ever touched under the lock
  constexpr int kThreads = 4;
  constexpr int kIncrements = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        lock.Lock();
        ++counter;
        lock.Unlock();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter, std::int64_t{kThreads} * kIncrements);
}

// The holder sleeps 300 ms inside the lock (a preempted holder, in the
// extreme); the waiters must not spend that time on the CPU. A lock that
// only spins burns the whole wait on every waiter (about 300 ms each, up to
// the CPUs there are); this one spins ~128 pauses and then sleeps on the
// futex.
TEST(SpinLockTest, WaitersSleepWhileTheHolderIsOffCpu) {
  SpinLock lock;
  lock.Lock();
  std::atomic<int> started{0};
  std::atomic<std::int64_t> waiter_cpu{0};
  std::vector<std::thread> waiters;
  for (int t = 0; t < 3; ++t) {
    waiters.emplace_back([&] {
      const std::int64_t before = ThreadCpuNanos();
      started.fetch_add(1);
      lock.Lock();
      lock.Unlock();
      waiter_cpu.fetch_add(ThreadCpuNanos() - before);
    });
  }
  while (started.load() < 3) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  lock.Unlock();
  for (std::thread& thread : waiters) thread.join();
  // Generous for slow emulation (qemu, sanitizers): a spinning lock would
  // take at least 300 ms here.
  EXPECT_LT(waiter_cpu.load(), 100 * 1000000) << "ns of CPU";
}

TEST(SharedSpinLockTest, WriterExcludesReadersAndReadersShare) {
  SharedSpinLock lock;
  std::atomic<int> readers_inside{0};
  std::atomic<int> max_readers{0};
  std::atomic<bool> writer_saw_reader{false};
  std::atomic<bool> stop{false};
  std::atomic<int> readers_started{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      bool counted = false;
      while (!stop.load()) {
        lock.LockShared();
        int inside = readers_inside.fetch_add(1) + 1;
        int seen = max_readers.load();
        while (inside > seen &&
               !max_readers.compare_exchange_weak(seen, inside)) {
        }
        readers_inside.fetch_sub(1);
        lock.UnlockShared();
        if (!counted) {
          counted = true;
          readers_started.fetch_add(1);
        }
      }
    });
  }
  // The writer runs while every reader is in its loop (a reader that
  // started late would make the exclusion check vacuous).
  while (readers_started.load() < 3) std::this_thread::yield();
  for (int i = 0; i < 2000; ++i) {
    lock.Lock();
    if (readers_inside.load() != 0) writer_saw_reader = true;
    lock.Unlock();
  }
  stop = true;
  for (std::thread& thread : readers) thread.join();
  EXPECT_FALSE(writer_saw_reader.load());
  EXPECT_GE(max_readers.load(), 1);
}

}  // namespace
}  // namespace poolkit::internal
