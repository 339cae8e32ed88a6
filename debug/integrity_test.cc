#include "debug/integrity.h"

#include <cstring>

#include "gtest/gtest.h"

namespace poolkit::debug {
namespace {

TEST(IntegrityTest, IntactPatternPasses) {
  alignas(16) unsigned char object[200];
  std::memset(object, 0, sizeof(object));
  FillIntegrityPattern(object, sizeof(object), 16);
  PatternBreach breach;
  EXPECT_FALSE(FindIntegrityBreach(object, sizeof(object), 16, &breach));
  // The skipped links may change freely.
  std::memset(object, 0x77, 16);
  EXPECT_FALSE(FindIntegrityBreach(object, sizeof(object), 16, &breach));
}

TEST(IntegrityTest, ReportsTheFirstCorruptedOffset) {
  alignas(16) unsigned char object[200];
  FillIntegrityPattern(object, sizeof(object), 16);
  unsigned char before = object[130];
  object[130] ^= 0xFF;
  object[150] ^= 0xFF;
  PatternBreach breach;
  ASSERT_TRUE(FindIntegrityBreach(object, sizeof(object), 16, &breach));
  EXPECT_EQ(breach.offset, 130u);
  EXPECT_EQ(breach.expected, before);
  EXPECT_EQ(breach.found, static_cast<unsigned char>(before ^ 0xFF));
}

TEST(IntegrityTest, AnObjectCopiedOverAnotherIsCaught) {
  alignas(16) unsigned char a[64];
  alignas(16) unsigned char b[64];
  FillIntegrityPattern(a, sizeof(a), 16);
  FillIntegrityPattern(b, sizeof(b), 16);
  std::memcpy(b, a, sizeof(a));
  PatternBreach breach;
  EXPECT_TRUE(FindIntegrityBreach(b, sizeof(b), 16, &breach));
}

}  // namespace
}  // namespace poolkit::debug
