// poolbench's command line: defaults, values, and the errors a user sees.
#include "tools/poolbench/options.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace poolkit::poolbench {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ParseEnvironment Environment(int num_cpus = 8) {
  ParseEnvironment environment;
  environment.num_cpus = num_cpus;
  environment.working_directory = "/work/dir";
  return environment;
}

Options Parse(const std::vector<std::string>& args, int num_cpus = 8) {
  absl::StatusOr<Options> options = ParseOptions(args, Environment(num_cpus));
  EXPECT_TRUE(options.ok()) << options.status();
  return options.ok() ? *options : Options();
}

// The error message for `args`, which must not parse.
std::string ErrorOf(const std::vector<std::string>& args) {
  absl::StatusOr<Options> options = ParseOptions(args, Environment());
  EXPECT_FALSE(options.ok());
  if (options.ok()) return "";
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(options.status().message());
}

TEST(OptionsTest, DefaultsAreTheFullMatrix) {
  Options options = Parse({});
  EXPECT_FALSE(options.quick);
  EXPECT_FALSE(options.help);
  EXPECT_FALSE(options.worker);
  EXPECT_THAT(options.sizes,
              ElementsAre(64, 1024, 16 * 1024, 48 * 1024, 2 * 1024 * 1024));
  // 1, 2, N and 4N: oversubscribed, four threads per CPU.
  EXPECT_THAT(options.threads, ElementsAre(1, 2, 8, 32));
  EXPECT_THAT(options.batches, ElementsAre(64, 1000));
  EXPECT_THAT(options.patterns, ElementsAre(Pattern::kHot, Pattern::kBatch,
                                            Pattern::kCross, Pattern::kSpike));
  EXPECT_EQ(options.contenders, AllContenders());
  EXPECT_EQ(options.repeats, kFullRepeats);
  EXPECT_DOUBLE_EQ(options.min_time_seconds, kFullMinTimeSeconds);
  EXPECT_EQ(options.spike_bytes, kFullSpikeMiB << 20);
  EXPECT_EQ(options.spike_cycles, kFullSpikeCycles);
  EXPECT_EQ(options.json_path, "/work/dir/poolbench.json");
  EXPECT_EQ(options.svg_path, "/work/dir/poolbench.svg");
}

TEST(OptionsTest, ThreadsDefaultDropsDuplicateCoreCount) {
  EXPECT_THAT(Parse({}, /*num_cpus=*/2).threads, ElementsAre(1, 2, 8));
  EXPECT_THAT(Parse({}, /*num_cpus=*/1).threads, ElementsAre(1, 2, 4));
  EXPECT_THAT(Parse({"--quick"}, /*num_cpus=*/2).threads, ElementsAre(1, 2));
  EXPECT_THAT(Parse({"--quick"}, /*num_cpus=*/1).threads, ElementsAre(1, 2));
}

TEST(OptionsTest, ThreadsDefaultStaysWithinTheLimit) {
  EXPECT_THAT(Parse({}, /*num_cpus=*/512).threads,
              ElementsAre(1, 2, 512, 1024));
}

TEST(OptionsTest, QuickShortensMeasurements) {
  Options options = Parse({"--quick"});
  EXPECT_TRUE(options.quick);
  EXPECT_EQ(options.repeats, kQuickRepeats);
  EXPECT_DOUBLE_EQ(options.min_time_seconds, kQuickMinTimeSeconds);
  EXPECT_EQ(options.spike_bytes, kQuickSpikeMiB << 20);
  EXPECT_EQ(options.spike_cycles, kQuickSpikeCycles);
  // The same matrix as the full run, but for the oversubscribed 4N.
  EXPECT_EQ(options.sizes.size(), 5u);
  EXPECT_THAT(options.threads, ElementsAre(1, 2, 8));
  EXPECT_THAT(options.batches, ElementsAre(64, 1000));
}

TEST(OptionsTest, ThreadsOptionWinsOverBothDefaults) {
  EXPECT_THAT(Parse({"--threads=3"}).threads, ElementsAre(3));
  EXPECT_THAT(Parse({"--quick", "--threads=1,4N"}).threads, ElementsAre(1, 32));
}

TEST(OptionsTest, BatchSizesAreSorted) {
  EXPECT_THAT(Parse({"--batch=1000,16,64,16"}).batches,
              ElementsAre(16, 64, 1000));
  EXPECT_THAT(Parse({"--quick", "--batch=1"}).batches, ElementsAre(1));
}

TEST(OptionsTest, ExplicitValuesWinOverQuick) {
  Options options = Parse({"--quick", "--repeats=7", "--min-time=0.5",
                           "--spike-mib=8", "--spike-cycles=2"});
  EXPECT_EQ(options.repeats, 7);
  EXPECT_DOUBLE_EQ(options.min_time_seconds, 0.5);
  EXPECT_EQ(options.spike_bytes, std::size_t{8} << 20);
  EXPECT_EQ(options.spike_cycles, 2);
}

TEST(OptionsTest, SizesTakeSuffixesAndAreSorted) {
  EXPECT_THAT(Parse({"--sizes=2M,64,1K,16k,48KiB,64B,1g"}).sizes,
              ElementsAre(64, 1024, 16 * 1024, 48 * 1024, 2 * 1024 * 1024,
                          std::size_t{1} << 30));
}

TEST(OptionsTest, ParseSize) {
  std::size_t bytes = 0;
  EXPECT_TRUE(ParseSize("4096", &bytes));
  EXPECT_EQ(bytes, 4096u);
  EXPECT_TRUE(ParseSize("3MiB", &bytes));
  EXPECT_EQ(bytes, std::size_t{3} << 20);
  EXPECT_FALSE(ParseSize("", &bytes));
  EXPECT_FALSE(ParseSize("K", &bytes));
  EXPECT_FALSE(ParseSize("1.5K", &bytes));
  EXPECT_FALSE(ParseSize("12X", &bytes));
  EXPECT_FALSE(ParseSize("-1", &bytes));
  EXPECT_FALSE(ParseSize("999999999999G", &bytes));  // overflows
}

TEST(OptionsTest, ThreadsAcceptN) {
  EXPECT_THAT(Parse({"--threads=N,1,4,2,4"}, /*num_cpus=*/16).threads,
              ElementsAre(1, 2, 4, 16));
  EXPECT_THAT(Parse({"--threads=cores"}, /*num_cpus=*/3).threads,
              ElementsAre(3));
  EXPECT_THAT(Parse({"--threads=4N,2n,n"}, /*num_cpus=*/3).threads,
              ElementsAre(3, 6, 12));
}

TEST(OptionsTest, PatternsKeepTheirOrder) {
  EXPECT_THAT(Parse({"--patterns=spike,hot"}).patterns,
              ElementsAre(Pattern::kHot, Pattern::kSpike));
}

TEST(OptionsTest, ContendersAndGroups) {
  EXPECT_THAT(Parse({"--contenders=mimalloc,xchg"}).contenders,
              ElementsAre(ContenderId::kXchg, ContenderId::kMimalloc));
  EXPECT_THAT(Parse({"--contenders=poolkit"}).contenders,
              ElementsAre(ContenderId::kSpinlock, ContenderId::kDwcas,
                          ContenderId::kXchg, ContenderId::kXchgSpans,
                          ContenderId::kNone));
  // simple sits after poolkit's strategies, before the mallocs.
  EXPECT_THAT(Parse({"--contenders=glibc,simple,none"}).contenders,
              ElementsAre(ContenderId::kNone, ContenderId::kSimple,
                          ContenderId::kGlibc));
  EXPECT_THAT(Parse({"--contenders=peers,glibc"}).contenders,
              ElementsAre(ContenderId::kGlibc, ContenderId::kJemalloc,
                          ContenderId::kTcmalloc, ContenderId::kMimalloc));
  EXPECT_EQ(Parse({"--contenders=all"}).contenders, AllContenders());
  EXPECT_THAT(AllContenders(), testing::Contains(ContenderId::kSimple));
}

TEST(OptionsTest, OutputPathsStartInTheWorkingDirectory) {
  Options options = Parse({"--json=out/run.json"});
  EXPECT_EQ(options.json_path, "/work/dir/out/run.json");
  EXPECT_EQ(options.svg_path, "/work/dir/out/run.svg");
  options = Parse({"--json=/tmp/a.json", "--svg=chart.svg"});
  EXPECT_EQ(options.json_path, "/tmp/a.json");
  EXPECT_EQ(options.svg_path, "/work/dir/chart.svg");
  EXPECT_EQ(Parse({"--json=/tmp/data"}).svg_path, "/tmp/data.svg");
}

TEST(OptionsTest, PeerLibraries) {
  Options options = Parse({"--peer-library=jemalloc=/opt/je.so",
                           "--peer-library=mimalloc=lib/mi.so"});
  ASSERT_EQ(options.peer_libraries.size(), 2u);
  EXPECT_EQ(options.peer_libraries[0].first, ContenderId::kJemalloc);
  EXPECT_EQ(options.peer_libraries[0].second, "/opt/je.so");
  EXPECT_EQ(options.peer_libraries[1].first, ContenderId::kMimalloc);
  EXPECT_EQ(options.peer_libraries[1].second, "/work/dir/lib/mi.so");
}

TEST(OptionsTest, FlagsWithoutValues) {
  EXPECT_TRUE(Parse({"--help"}).help);
  EXPECT_TRUE(Parse({"-h"}).help);
  EXPECT_TRUE(Parse({"--check-contenders"}).check_contenders);
  EXPECT_FALSE(Parse({"--full"}).quick);
}

TEST(OptionsTest, WorkerMode) {
  Options options =
      Parse({"--worker=tcmalloc", "--worker-library=/usr/lib/libt.so"});
  EXPECT_TRUE(options.worker);
  EXPECT_EQ(options.worker_contender, ContenderId::kTcmalloc);
  EXPECT_EQ(options.worker_library, "/usr/lib/libt.so");
}

TEST(OptionsTest, UnknownOptionIsNamed) {
  EXPECT_EQ(ErrorOf({"--bogus"}), "unknown option '--bogus'");
  EXPECT_EQ(ErrorOf({"--quick", "--sizes=64", "--frobnicate=3"}),
            "unknown option '--frobnicate=3'");
  EXPECT_EQ(ErrorOf({"-x"}), "unknown option '-x'");
}

TEST(OptionsTest, PositionalArgumentIsAnError) {
  EXPECT_THAT(ErrorOf({"hot"}), HasSubstr("unexpected argument 'hot'"));
}

TEST(OptionsTest, MalformedValuesNameOptionAndValue) {
  EXPECT_THAT(ErrorOf({"--sizes"}), HasSubstr("--sizes: needs a value"));
  EXPECT_THAT(ErrorOf({"--sizes="}), HasSubstr("--sizes: empty item"));
  EXPECT_THAT(ErrorOf({"--sizes=64,,1K"}), HasSubstr("--sizes: empty item"));
  EXPECT_THAT(ErrorOf({"--sizes=3X"}),
              HasSubstr("--sizes: '3X' is not a size"));
  EXPECT_THAT(ErrorOf({"--sizes=0"}),
              HasSubstr("--sizes: '0' is out of range"));
  EXPECT_THAT(ErrorOf({"--sizes=4"}),
              HasSubstr("--sizes: '4' is out of range"));
  EXPECT_THAT(ErrorOf({"--sizes=2G"}),
              HasSubstr("--sizes: '2G' is out of range"));
  EXPECT_THAT(ErrorOf({"--threads=0"}),
              HasSubstr("--threads: '0' is not a thread count"));
  EXPECT_THAT(ErrorOf({"--threads=two"}),
              HasSubstr("--threads: 'two' is not a thread count"));
  EXPECT_THAT(ErrorOf({"--threads=0N"}),
              HasSubstr("--threads: '0N' is not a thread count"));
  EXPECT_THAT(ErrorOf({"--threads=1024N"}),
              HasSubstr("--threads: '1024N' is not a thread count"));
  EXPECT_THAT(ErrorOf({"--batch"}), HasSubstr("--batch: needs a value"));
  EXPECT_THAT(ErrorOf({"--batch=64,,1000"}), HasSubstr("--batch: empty item"));
  EXPECT_THAT(ErrorOf({"--batch=0"}),
              HasSubstr("--batch: '0' is not a batch size"));
  EXPECT_THAT(ErrorOf({"--batch=1K"}),
              HasSubstr("--batch: '1K' is not a batch size"));
  EXPECT_THAT(ErrorOf({"--batch=99999999"}),
              HasSubstr("--batch: '99999999' is not a batch size"));
  EXPECT_THAT(ErrorOf({"--patterns=warm"}),
              HasSubstr("--patterns: unknown pattern 'warm'"));
  EXPECT_THAT(ErrorOf({"--contenders=hoard"}),
              HasSubstr("--contenders: unknown contender 'hoard'"));
  EXPECT_THAT(ErrorOf({"--repeats=0"}),
              HasSubstr("--repeats: '0' is not a count"));
  EXPECT_THAT(ErrorOf({"--min-time=-1"}),
              HasSubstr("--min-time: '-1' is not a time"));
  EXPECT_THAT(ErrorOf({"--min-time=nan"}),
              HasSubstr("--min-time: 'nan' is not a time"));
  EXPECT_THAT(ErrorOf({"--spike-mib=lots"}),
              HasSubstr("--spike-mib: 'lots' is not a number"));
  EXPECT_THAT(ErrorOf({"--spike-cycles=0"}),
              HasSubstr("--spike-cycles: '0' is not a count"));
  EXPECT_THAT(ErrorOf({"--json="}), HasSubstr("--json: needs a path"));
  EXPECT_THAT(ErrorOf({"--quick=yes"}), HasSubstr("--quick: takes no value"));
  EXPECT_THAT(ErrorOf({"--quick", "--full"}),
              HasSubstr("--quick and --full exclude each other"));
  EXPECT_THAT(ErrorOf({"--peer-library=jemalloc"}),
              HasSubstr("--peer-library: 'jemalloc' is not NAME=PATH"));
  EXPECT_THAT(ErrorOf({"--peer-library=glibc=/lib/libc.so.6"}),
              HasSubstr("--peer-library: 'glibc=/lib/libc.so.6' is not"));
  EXPECT_THAT(ErrorOf({"--worker=hoard"}),
              HasSubstr("--worker: unknown contender 'hoard'"));
}

TEST(OptionsTest, UsageDocumentsEveryOption) {
  std::string usage = Usage();
  for (const char* option :
       {"--quick", "--full", "--sizes=", "--threads=", "--batch=",
        "--patterns=", "--contenders=", "--repeats=", "--min-time=",
        "--spike-mib=", "--spike-cycles=", "--json=", "--svg=",
        "--peer-library=", "--check-contenders", "--help"}) {
    EXPECT_THAT(usage, HasSubstr(option));
  }
  // And what a user needs to read the numbers.
  for (const char* topic :
       {"hot", "batch", "cross", "spike", "simple", "4N", "LD_PRELOAD",
        "MISSING", "Exit status", "compare.py"}) {
    EXPECT_THAT(usage, HasSubstr(topic));
  }
  EXPECT_THAT(usage, testing::StartsWith("Usage: poolbench"));
}

}  // namespace
}  // namespace poolkit::poolbench
