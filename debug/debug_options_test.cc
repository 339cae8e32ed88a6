#include "debug/debug_options.h"

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace poolkit {
namespace {

TEST(DebugOptionsTest, EmptyIsDefaults) {
  absl::StatusOr<DebugOptions> options = ParseDebugOptions("");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(*options, DebugOptions());
  EXPECT_FALSE(options->AnyObjectAid());
  EXPECT_EQ(FormatDebugOptions(*options), "");
}

TEST(DebugOptionsTest, ParsesEveryOption) {
  absl::StatusOr<DebugOptions> options = ParseDebugOptions(
      "guarded,uaf,tag,integrity,caller,poison=0x41,no-cache,no-merge,"
      "cold-first,fail=12.5,seed=42,quarantine=7");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->guarded);
  EXPECT_TRUE(options->uaf);
  EXPECT_TRUE(options->tag);
  EXPECT_TRUE(options->integrity);
  EXPECT_TRUE(options->caller);
  EXPECT_TRUE(options->poison);
  EXPECT_EQ(options->poison_byte, 0x41);
  EXPECT_TRUE(options->no_cache);
  EXPECT_TRUE(options->no_merge);
  EXPECT_TRUE(options->cold_first);
  EXPECT_DOUBLE_EQ(options->fail_percent, 12.5);
  EXPECT_EQ(options->fail_seed, 42u);
  EXPECT_EQ(options->quarantine, 7u);
  // The text form reads back to the same options.
  absl::StatusOr<DebugOptions> again =
      ParseDebugOptions(FormatDebugOptions(*options));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *options);
}

TEST(DebugOptionsTest, PoisonForms) {
  EXPECT_EQ(ParseDebugOptions("poison")->poison_byte, 0x50);
  EXPECT_EQ(ParseDebugOptions("poison=7")->poison_byte, 7);
  EXPECT_EQ(ParseDebugOptions("poison=Z")->poison_byte, 'Z');
  EXPECT_FALSE(ParseDebugOptions("poison=256").ok());
  EXPECT_FALSE(ParseDebugOptions("poison=0xZZ").ok());
}

TEST(DebugOptionsTest, ErrorsNameTheItemAndListTheValidOptions) {
  for (const char* bad :
       {"tga", "fail=101", "fail=-1", "fail=abc", "fail", "seed=x", "tag=1",
        "quarantine=99999999999", "uaf,nope"}) {
    absl::StatusOr<DebugOptions> options = ParseDebugOptions(bad);
    ASSERT_FALSE(options.ok()) << bad;
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    std::string message(options.status().message());
    std::string item = std::string(bad).substr(std::string(bad).rfind(',') + 1);
    EXPECT_NE(message.find("'" + item + "'"), std::string::npos) << message;
    EXPECT_NE(message.find("cold-first"), std::string::npos) << message;
  }
}

TEST(DebugOptionsTest, CombineKeepsEveryAid) {
  DebugOptions a;
  a.tag = true;
  a.fail_percent = 5;
  a.fail_seed = 1;
  DebugOptions b;
  b.uaf = true;
  b.fail_percent = 10;
  b.fail_seed = 2;
  DebugOptions both = CombineDebugOptions(a, b);
  EXPECT_TRUE(both.tag);
  EXPECT_TRUE(both.uaf);
  EXPECT_TRUE(both.Guarded());
  EXPECT_DOUBLE_EQ(both.fail_percent, 10);
  EXPECT_EQ(both.fail_seed, 1u);
}

// POOLKIT_DEBUG is read once per process: each case runs in a death-test
// child with its own environment.
TEST(DebugOptionsDeathTest, BadEnvironmentStopsWithTheValidOptions) {
  EXPECT_EXIT(
      {
        setenv("POOLKIT_DEBUG", "tag,bogus", 1);
        DebugOptionsFromEnv();
      },
      testing::ExitedWithCode(2), "unknown option 'bogus'.*\n.*guarded");
}

TEST(DebugOptionsDeathTest, HelpPrintsTheOptionsAndExits) {
  EXPECT_EXIT(
      {
        setenv("POOLKIT_DEBUG", "help", 1);
        DebugOptionsFromEnv();
      },
      testing::ExitedWithCode(0), "POOLKIT_DEBUG.*\n(.*\n)*.*quarantine=N");
}

TEST(DebugOptionsDeathTest, GoodEnvironmentIsParsed) {
  EXPECT_EXIT(
      {
        setenv("POOLKIT_DEBUG", "uaf,fail=5,seed=9", 1);
        const DebugOptions& options = DebugOptionsFromEnv();
        std::exit(options.uaf && options.fail_percent == 5 &&
                          options.fail_seed == 9
                      ? 0
                      : 1);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace poolkit
