#include "pool/json_string.h"

#include <string>

#include "gtest/gtest.h"

namespace poolkit {
namespace {

TEST(JsonStringTest, PlainTextIsOnlyQuoted) {
  EXPECT_EQ(JsonString(""), "\"\"");
  EXPECT_EQ(JsonString("pool_head_buffer-1.x"), "\"pool_head_buffer-1.x\"");
  EXPECT_EQ(JsonString("a/b"), "\"a/b\"");
}

TEST(JsonStringTest, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(JsonString("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

TEST(JsonStringTest, ControlCharactersAreEscaped) {
  EXPECT_EQ(JsonString("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(JsonString(std::string("\0\x01\x1f\x7f", 4)),
            "\"\\u0000\\u0001\\u001f\\u007f\"");
}

TEST(JsonStringTest, WellFormedUtf8PassesThrough) {
  const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  EXPECT_EQ(JsonString(text), "\"" + text + "\"");
  // The extremes of each length: U+0080, U+07FF, U+0800, U+FFFF,
  // U+10000, U+10FFFF.
  const std::string edges =
      "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf"
      "\xbf";
  EXPECT_EQ(JsonString(edges), "\"" + edges + "\"");
}

TEST(JsonStringTest, EachBadByteBecomesOneReplacementCharacter) {
  EXPECT_EQ(JsonString("\x80"), "\"\\ufffd\"");    // stray continuation
  EXPECT_EQ(JsonString("a\xc3"), "\"a\\ufffd\"");  // truncated
  EXPECT_EQ(JsonString("\xc0\xaf"), "\"\\ufffd\\ufffd\"");  // overlong '/'
  EXPECT_EQ(JsonString("\xe0\x80\xaf"), "\"\\ufffd\\ufffd\\ufffd\"");
  EXPECT_EQ(JsonString("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // D800
  EXPECT_EQ(JsonString("\xf4\x90\x80\x80"),  // past U+10FFFF
            "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
  EXPECT_EQ(JsonString("\xff\xfe"), "\"\\ufffd\\ufffd\"");
  // A bad byte does not swallow the good text after it.
  EXPECT_EQ(JsonString("\xe2\x82x"), "\"\\ufffd\\ufffdx\"");
}

}  // namespace
}  // namespace poolkit
