#include "debug/guarded_objects.h"

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace poolkit::debug {
namespace {

int owner_a;  // stands for a pool: only its address matters

std::size_t Page() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

TEST(GuardedObjectsTest, ObjectSitsAgainstTheEndAndIsUsable) {
  for (std::size_t size : {16u, 100u, 4096u, 5000u, 1u << 20}) {
    char* p = static_cast<char*>(AllocateGuarded(size, 16, &owner_a, "a"));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u);
    // With sizes that are multiples of 16 the object ends on the page end.
    if (size % 16 == 0) {
      EXPECT_EQ((reinterpret_cast<std::uintptr_t>(p) + size) % Page(), 0u);
    }
    std::memset(p, 0x11, size);
    ObjectTag* tag = nullptr;
    const char* name = nullptr;
    EXPECT_EQ(LookupGuarded(p, &tag, &name), GuardedState::kLive);
    EXPECT_STREQ(name, "a");
    ReleaseGuarded(p, 16);
    EXPECT_EQ(LookupGuarded(p, nullptr, nullptr), GuardedState::kReleased);
  }
}

TEST(GuardedObjectsTest, AlignmentUpToAPage) {
  char* p = static_cast<char*>(AllocateGuarded(48, 4096, &owner_a, "a"));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 4096, 0u);
  ReleaseGuarded(p, 16);
}

TEST(GuardedObjectsTest, QuarantineIsBoundedAndUnmaps) {
  GuardedCounters before = GetGuardedCounters();
  std::vector<void*> objects;
  for (int i = 0; i < 40; ++i) {
    objects.push_back(AllocateGuarded(64, 16, &owner_a, "a"));
  }
  for (void* p : objects) ReleaseGuarded(p, 10);
  GuardedCounters after = GetGuardedCounters();
  EXPECT_LE(after.quarantined, 10u);
  EXPECT_EQ(after.live, before.live);
  EXPECT_GE(after.unmapped_total - before.unmapped_total, 30u);
  // The oldest left the quarantine: no longer known.
  EXPECT_EQ(LookupGuarded(objects[0], nullptr, nullptr),
            GuardedState::kUnknown);
  EXPECT_EQ(LookupGuarded(objects.back(), nullptr, nullptr),
            GuardedState::kReleased);
}

TEST(GuardedObjectsTest, ThreadsAllocateAndReleaseConcurrently) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < 200; ++i) {
        char* p = static_cast<char*>(AllocateGuarded(256, 16, &owner_a, "a"));
        ASSERT_NE(p, nullptr);
        std::memset(p, i, 256);
        ReleaseGuarded(p, 8);
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

// Each misuse faults (or is found at release) and the report names the
// pool, the fault and the offset.
using GuardedObjectsDeathTest = testing::Test;

TEST(GuardedObjectsDeathTest, OverflowFaultsAtOnce) {
  char* p = static_cast<char*>(AllocateGuarded(64, 16, &owner_a, "pool_a"));
  EXPECT_DEATH(p[64] = 1,
               "overflow \\(guard page after the object\\) in pool 'pool_a'"
               "(.|\n)*0 bytes past its end");
  ReleaseGuarded(p, 16);
}

TEST(GuardedObjectsDeathTest, UnderflowFaultsAtOnceForWholePages) {
  char* p = static_cast<char*>(AllocateGuarded(Page(), 16, &owner_a, "pool_a"));
  EXPECT_DEATH(p[-1] = 1,
               "underflow \\(guard page before the object\\) in pool 'pool_a'"
               "(.|\n)*1 bytes before the object");
  ReleaseGuarded(p, 16);
}

TEST(GuardedObjectsDeathTest, UnderflowIntoTheSlackIsFoundAtRelease) {
  char* p = static_cast<char*>(AllocateGuarded(64, 16, &owner_a, "pool_a"));
  EXPECT_DEATH(
      {
        p[-3] = 1;
        ReleaseGuarded(p, 16);
      },
      "underflow \\(canary before the object\\) in pool 'pool_a'"
      "(.|\n)*offset -3");
  ReleaseGuarded(p, 16);
}

TEST(GuardedObjectsDeathTest, UseAfterReleaseFaults) {
  char* p = static_cast<char*>(AllocateGuarded(256, 16, &owner_a, "pool_a"));
  ReleaseGuarded(p, 16);
  EXPECT_DEATH(p[100] = 1,
               "use after free \\(released object\\) in pool 'pool_a'"
               "(.|\n)*offset 100");
  EXPECT_DEATH(
      {
        volatile char c = p[0];
        (void)c;
      },
      "use after free");
}

TEST(GuardedObjectsDeathTest, DoubleReleaseAborts) {
  char* p = static_cast<char*>(AllocateGuarded(64, 16, &owner_a, "pool_a"));
  ReleaseGuarded(p, 16);
  EXPECT_DEATH(ReleaseGuarded(p, 16),
               "double release of a guarded object in pool 'pool_a'");
  int local = 0;
  EXPECT_DEATH(ReleaseGuarded(&local, 16), "not a guarded object");
}

TEST(GuardedObjectsDeathTest, UnrelatedFaultsStillCrash) {
  // The handler passes faults outside guarded ranges on: a plain SIGSEGV.
  (void)AllocateGuarded(64, 16, &owner_a, "pool_a");
  EXPECT_DEATH(
      {
        // Through a volatile address: a constant one is a -Warray-bounds
        // error at -O2 (the CMake build's RelWithDebInfo).
        volatile std::uintptr_t address = 16;
        *reinterpret_cast<volatile int*>(address) = 1;
      },
      "");
}

}  // namespace
}  // namespace poolkit::debug
