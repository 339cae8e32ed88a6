#include "tools/poolbench/threads.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace poolkit::poolbench {
namespace {

cpu_set_t& AllowedCpuSet() {
  static cpu_set_t allowed;
  return allowed;
}

std::atomic<bool>& AllowedCpusRecorded() {
  static std::atomic<bool> recorded{false};
  return recorded;
}

}  // namespace

std::int64_t NowNanos(clockid_t clock) {
  timespec now;
  clock_gettime(clock, &now);
  return std::int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

void SleepSeconds(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

void RecordAllowedCpus() {
  cpu_set_t& allowed = AllowedCpuSet();
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return;
  // Release: PinToCpu reads the set after seeing the flag.
  AllowedCpusRecorded().store(true, std::memory_order_release);
}

void PinToCpu(int nth) {
  // Acquire: pairs with RecordAllowedCpus' release, so the set is complete.
  if (!AllowedCpusRecorded().load(std::memory_order_acquire)) return;
  const cpu_set_t& allowed = AllowedCpuSet();
  int count = CPU_COUNT(&allowed);
  if (count < 1) return;
  int wanted = nth % count;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed) || wanted-- != 0) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
    return;
  }
}

}  // namespace poolkit::poolbench
