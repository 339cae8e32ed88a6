#include "pool/pool_dump.h"

#include <cctype>
#include <cstddef>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pool/object_allocator.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A small JSON validator (RFC 8259 grammar, no semantic checks): balanced
// objects and arrays, closed and properly escaped strings, numbers and
// literals where values belong, commas and colons where they belong.
class JsonChecker {
 public:
  static bool WellFormed(std::string_view text) {
    JsonChecker checker(text);
    checker.SkipSpace();
    if (!checker.Value(0)) return false;
    checker.SkipSpace();
    return checker.pos_ == text.size();
  }

 private:
  explicit JsonChecker(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  bool Eat(char c) {
    if (Peek() != c || AtEnd()) return false;
    ++pos_;
    return true;
  }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\n' || Peek() == '\t' ||
                        Peek() == '\r')) {
      ++pos_;
    }
  }

  bool Value(int depth) {
    if (depth > 64) return false;
    switch (Peek()) {
      case '{':
        return Object(depth);
      case '[':
        return Array(depth);
      case '"':
        return String();
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

  bool Object(int depth) {
    Eat('{');
    SkipSpace();
    if (Eat('}')) return true;
    while (true) {
      SkipSpace();
      if (!String()) return false;
      SkipSpace();
      if (!Eat(':')) return false;
      SkipSpace();
      if (!Value(depth + 1)) return false;
      SkipSpace();
      if (Eat('}')) return true;
      if (!Eat(',')) return false;
    }
  }

  bool Array(int depth) {
    Eat('[');
    SkipSpace();
    if (Eat(']')) return true;
    while (true) {
      SkipSpace();
      if (!Value(depth + 1)) return false;
      SkipSpace();
      if (Eat(']')) return true;
      if (!Eat(',')) return false;
    }
  }

  bool String() {
    if (!Eat('"')) return false;
    while (!AtEnd()) {
      unsigned char c = static_cast<unsigned char>(text_[pos_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;  // control characters must be escaped
      if (c != '\\') continue;
      if (AtEnd()) return false;
      char escape = text_[pos_++];
      if (escape == 'u') {
        for (int i = 0; i < 4; ++i) {
          if (AtEnd() || !std::isxdigit(static_cast<unsigned char>(Peek()))) {
            return false;
          }
          ++pos_;
        }
      } else if (std::string_view("\"\\/bfnrt").find(escape) ==
                 std::string_view::npos) {
        return false;
      }
    }
    return false;  // unterminated
  }

  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool Digits() {
    std::size_t start = pos_;
    while (!AtEnd() && std::isdigit(static_cast<unsigned char>(Peek()))) {
      ++pos_;
    }
    return pos_ > start;
  }

  bool Number() {
    Eat('-');
    if (Eat('0')) {
      // no leading zeros
    } else if (!Digits()) {
      return false;
    }
    if (Eat('.') && !Digits()) return false;
    if (Eat('e') || Eat('E')) {
      if (!Eat('+')) Eat('-');
      if (!Digits()) return false;
    }
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

TEST(JsonCheckerTest, AcceptsValidAndRejectsBrokenJson) {
  EXPECT_TRUE(JsonChecker::WellFormed("{}"));
  EXPECT_TRUE(JsonChecker::WellFormed(
      "{\"a\": [1, -2.5e3, true, false, null, \"x\\\"y\\u00e9\"], "
      "\"b\": {\"c\": []}}\n"));
  EXPECT_FALSE(JsonChecker::WellFormed(""));
  EXPECT_FALSE(JsonChecker::WellFormed("{"));
  EXPECT_FALSE(JsonChecker::WellFormed("{\"a\": [1, 2}"));
  EXPECT_FALSE(JsonChecker::WellFormed("{\"a\": 1,}"));
  EXPECT_FALSE(JsonChecker::WellFormed("[1 2]"));
  EXPECT_FALSE(JsonChecker::WellFormed("{\"a: 1}"));
  EXPECT_FALSE(JsonChecker::WellFormed("{\"a\" 1}"));
  EXPECT_FALSE(JsonChecker::WellFormed("{\"a\": \"line\nbreak\"}"));
  EXPECT_FALSE(JsonChecker::WellFormed("{\"a\": \"\\q\"}"));
  EXPECT_FALSE(JsonChecker::WellFormed("{} {}"));
  EXPECT_FALSE(JsonChecker::WellFormed("{\"a\": tru}"));
  EXPECT_FALSE(JsonChecker::WellFormed("{\"a\": 01}"));
}

int CountOccurrences(std::string_view text, std::string_view needle) {
  int count = 0;
  for (std::size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Three pools with a common prefix:
//   name        size  in use  bytes
//   dumptest-a    64     100   6400
//   dumptest-b   256       1    256
//   dumptest-c   128      10   1280
// so that name, size and usage orders all differ.
class PoolDumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = Make("dumptest-a", 64, 100, objects_a_);
    b_ = Make("dumptest-b", 256, 1, objects_b_);
    c_ = Make("dumptest-c", 128, 10, objects_c_);
  }

  void TearDown() override {
    Release(a_, objects_a_);
    Release(b_, objects_b_);
    Release(c_, objects_c_);
  }

  static Pool* Make(const std::string& name, std::size_t size, int objects,
                    std::vector<void*>& held) {
    PoolOptions options;
    options.name = name;
    options.object_size = size;
    absl::StatusOr<Pool*> pool = CreatePool(options);
    EXPECT_TRUE(pool.ok()) << pool.status();
    if (!pool.ok()) return nullptr;
    for (int i = 0; i < objects; ++i) {
      void* object = (*pool)->Alloc();
      EXPECT_NE(object, nullptr);
      held.push_back(object);
    }
    return *pool;
  }

  static void Release(Pool* pool, std::vector<void*>& held) {
    if (pool == nullptr) return;
    for (void* object : held) pool->Free(object);
    held.clear();
    EXPECT_TRUE(DestroyPool(pool).ok());
  }

  // The names of the pool lines of a text dump, in order; checks the header
  // and the total line around them.
  static std::vector<std::string> TextOrder(DumpOptions::SortBy sort_by) {
    DumpOptions options;
    options.prefix = "dumptest-";
    options.sort_by = sort_by;
    std::vector<std::string> lines = Lines(DumpPoolsText(options));
    std::vector<std::string> names;
    EXPECT_EQ(lines.size(), 5u);
    if (lines.size() < 2) return names;
    EXPECT_THAT(lines.front(), StartsWith("pool "));
    for (const char* column : {"size", "align", "strategy", "flags",
                               "allocated", "in_use", "~thr_cache", "users"}) {
      EXPECT_THAT(lines.front(), HasSubstr(column));
    }
    EXPECT_THAT(lines.back(), StartsWith("Total: 3 pools"));
    for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
      names.push_back(lines[i].substr(0, lines[i].find(' ')));
    }
    return names;
  }

  Pool* a_ = nullptr;
  Pool* b_ = nullptr;
  Pool* c_ = nullptr;
  std::vector<void*> objects_a_, objects_b_, objects_c_;
};

TEST_F(PoolDumpTest, CollectFiltersByPrefixAndSortsByName) {
  DumpOptions options;
  options.prefix = "dumptest-";
  std::vector<PoolStats> stats = CollectPoolStats(options);
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[0].name, "dumptest-a");
  EXPECT_EQ(stats[0].allocated, 100);
  EXPECT_EQ(stats[0].allocated_bytes, 6400);
  EXPECT_EQ(stats[0].in_use, 100);
  EXPECT_EQ(stats[1].name, "dumptest-b");
  EXPECT_EQ(stats[1].in_use, 1);
  EXPECT_EQ(stats[2].name, "dumptest-c");
  EXPECT_EQ(stats[2].allocated_bytes, 1280);

  options.prefix = "dumptest-b";
  stats = CollectPoolStats(options);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].name, "dumptest-b");

  options.prefix = "no-such-prefix-";
  EXPECT_TRUE(CollectPoolStats(options).empty());

  // No prefix: every live pool, ours among them.
  std::vector<PoolStats> all = CollectPoolStats();
  EXPECT_GE(all.size(), 3u);
  EXPECT_EQ(all.size(), ListPools().size());
}

TEST_F(PoolDumpTest, TextByName) {
  EXPECT_THAT(TextOrder(DumpOptions::SortBy::kName),
              ElementsAre("dumptest-a", "dumptest-b", "dumptest-c"));
}

TEST_F(PoolDumpTest, TextBySizeLargestFirst) {
  EXPECT_THAT(TextOrder(DumpOptions::SortBy::kSize),
              ElementsAre("dumptest-b", "dumptest-c", "dumptest-a"));
}

TEST_F(PoolDumpTest, TextByUsageLargestFirst) {
  EXPECT_THAT(TextOrder(DumpOptions::SortBy::kUsage),
              ElementsAre("dumptest-a", "dumptest-c", "dumptest-b"));
}

TEST_F(PoolDumpTest, TextTotals) {
  DumpOptions options;
  options.prefix = "dumptest-";
  std::string text = DumpPoolsText(options);
  // 6400 + 256 + 1280 bytes, all of them in use.
  EXPECT_THAT(
      text, HasSubstr("Total: 3 pools, 7936 bytes allocated, 7936 in use.\n"));
  options.prefix = "no-such-prefix-";
  std::vector<std::string> lines = Lines(DumpPoolsText(options));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], StartsWith("pool "));
  EXPECT_THAT(lines[1], StartsWith("Total: 0 pools"));
}

TEST_F(PoolDumpTest, Json) {
  DumpOptions options;
  options.prefix = "dumptest-";
  std::string json = DumpPoolsJson(options);
  EXPECT_TRUE(JsonChecker::WellFormed(json)) << json;
  EXPECT_THAT(json, StartsWith("{\"pools\": ["));
  ASSERT_GE(json.size(), 3u);
  EXPECT_EQ(json.substr(json.size() - 3), "}}\n");
  EXPECT_EQ(CountOccurrences(json, "\"name\": "), 3);
  EXPECT_THAT(json, HasSubstr("\"allocated\""));
  EXPECT_THAT(json, HasSubstr("\"in_use\""));
  EXPECT_THAT(json, HasSubstr("\"thread_cached_approximate\": true"));
  EXPECT_THAT(json, HasSubstr("\"strategy\": \"xchg\""));
  EXPECT_THAT(json, HasSubstr("\"name\": \"dumptest-a\""));
  EXPECT_THAT(json, HasSubstr("\"allocated\": 100,"));
  EXPECT_THAT(json, HasSubstr("\"in_use\": 100,"));
  EXPECT_THAT(json, HasSubstr("\"pools\": 3,"));
  // Name order in JSON too.
  std::size_t at_a = json.find("\"dumptest-a\"");
  std::size_t at_b = json.find("\"dumptest-b\"");
  std::size_t at_c = json.find("\"dumptest-c\"");
  EXPECT_LT(at_a, at_b);
  EXPECT_LT(at_b, at_c);

  options.sort_by = DumpOptions::SortBy::kUsage;
  json = DumpPoolsJson(options);
  EXPECT_TRUE(JsonChecker::WellFormed(json)) << json;
  EXPECT_LT(json.find("\"dumptest-a\""), json.find("\"dumptest-c\""));
  EXPECT_LT(json.find("\"dumptest-c\""), json.find("\"dumptest-b\""));

  options.prefix = "no-such-prefix-";
  json = DumpPoolsJson(options);
  EXPECT_TRUE(JsonChecker::WellFormed(json)) << json;
  EXPECT_EQ(CountOccurrences(json, "\"name\": "), 0);
}

// An allocator whose name needs escaping.
class OddlyNamedAllocator : public ObjectAllocator {
 public:
  void* Allocate(std::size_t size, std::size_t alignment) override {
    return MallocAllocator().Allocate(size, alignment);
  }
  void Deallocate(void* object, std::size_t size,
                  std::size_t alignment) override {
    MallocAllocator().Deallocate(object, size, alignment);
  }
  const char* Name() const override { return "odd\"name\\with\ttab\n"; }
};

TEST(PoolDumpJsonTest, EscapesAndAliasesStayWellFormed) {
  static OddlyNamedAllocator* const allocator = new OddlyNamedAllocator();
  PoolOptions options;
  options.name = "dumpodd-main";
  options.object_size = 96;
  options.flags = kPoolShared | kPoolExact;
  options.allocator = allocator;
  absl::StatusOr<Pool*> pool = CreatePool(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  options.name = "dumpodd-alias1";
  ASSERT_EQ(*CreatePool(options), *pool);
  options.name = "dumpodd-alias2";
  ASSERT_EQ(*CreatePool(options), *pool);

  DumpOptions dump;
  dump.prefix = "dumpodd-";
  std::string json = DumpPoolsJson(dump);
  EXPECT_TRUE(JsonChecker::WellFormed(json)) << json;
  EXPECT_THAT(
      json, HasSubstr("\"aliases\": [\"dumpodd-alias1\", \"dumpodd-alias2\"]"));
  EXPECT_THAT(json,
              HasSubstr("\"allocator\": \"odd\\\"name\\\\with\\ttab\\n\""));
  EXPECT_THAT(json, HasSubstr("\"flags\": \"shared,exact\""));
  EXPECT_THAT(json, HasSubstr("\"users\": 3"));

  std::string text = DumpPoolsText(dump);
  EXPECT_THAT(text, HasSubstr("  (merged: dumpodd-alias1)\n"));
  EXPECT_THAT(text, HasSubstr("  (merged: dumpodd-alias2)\n"));
  EXPECT_THAT(text, HasSubstr("Total: 1 pools"));

  for (int i = 0; i < 3; ++i) EXPECT_TRUE(DestroyPool(*pool).ok());
}

TEST(PoolDumpFormatTest, FormatsGivenStatistics) {
  PoolStats one;
  one.name = "given";
  one.object_size = 32;
  one.alignment = 16;
  one.strategy = SharedCacheStrategy::kSpinlock;
  one.allocator = "malloc";
  one.allocated = 4;
  one.allocated_bytes = 128;
  one.in_use = 3;
  one.users = 1;
  std::string json = FormatPoolsJson({one, one});
  EXPECT_TRUE(JsonChecker::WellFormed(json)) << json;
  EXPECT_EQ(CountOccurrences(json, "\"name\": \"given\""), 2);
  EXPECT_THAT(json, HasSubstr("\"strategy\": \"spinlock\""));
  EXPECT_THAT(json, HasSubstr("\"flags\": \"-\""));
  EXPECT_THAT(json,
              HasSubstr("\"allocated_bytes\": 256, \"in_use_bytes\": 192"));
  EXPECT_TRUE(JsonChecker::WellFormed(FormatPoolsJson({})));

  std::string text = FormatPoolsText({one});
  EXPECT_THAT(text,
              HasSubstr("Total: 1 pools, 128 bytes allocated, 96 in use."));
}

}  // namespace
}  // namespace poolkit
