#include "examples/http_server/http.h"

#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace http_server {
namespace {

TEST(ParseRequestTest, SimpleGet) {
  const std::string text = "GET /pools HTTP/1.1\r\nHost: x\r\n\r\nGET /";
  Request request;
  ASSERT_EQ(ParseRequest(text, &request), ParseResult::kComplete);
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/pools");
  EXPECT_TRUE(request.keep_alive);
  EXPECT_EQ(request.head_bytes, text.find("GET /", 1));
  EXPECT_EQ(request.body_bytes, 0u);
}

TEST(ParseRequestTest, IncompleteUntilTheBlankLineAndTheBody) {
  Request request;
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nHost: x\r\n", &request),
            ParseResult::kIncomplete);
  const std::string head = "POST /x HTTP/1.1\r\ncontent-LENGTH: 5\r\n\r\n";
  EXPECT_EQ(ParseRequest(head + "abcd", &request), ParseResult::kIncomplete);
  ASSERT_EQ(ParseRequest(head + "abcde", &request), ParseResult::kComplete);
  EXPECT_EQ(request.head_bytes, head.size());
  EXPECT_EQ(request.body_bytes, 5u);
}

TEST(ParseRequestTest, KeepAliveRules) {
  Request request;
  ASSERT_EQ(ParseRequest("GET / HTTP/1.0\r\n\r\n", &request),
            ParseResult::kComplete);
  EXPECT_FALSE(request.keep_alive);
  ASSERT_EQ(ParseRequest("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
                         &request),
            ParseResult::kComplete);
  EXPECT_TRUE(request.keep_alive);
  ASSERT_EQ(
      ParseRequest("GET / HTTP/1.1\r\nConnection:  close \r\n\r\n", &request),
      ParseResult::kComplete);
  EXPECT_FALSE(request.keep_alive);
}

TEST(ParseRequestTest, RefusesWhatItDoesNotImplement) {
  Request request;
  for (const char* text : {
           "GET / HTTP/2.0\r\n\r\n",
           "GET HTTP/1.1\r\n\r\n",
           " / HTTP/1.1\r\n\r\n",
           "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
           "GET / HTTP/1.1\r\nno colon here\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
       }) {
    EXPECT_EQ(ParseRequest(text, &request), ParseResult::kBad) << text;
  }
}

TEST(ParseResponseHeadTest, FramedResponses) {
  ResponseHead head;
  const std::string text =
      "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(ParseResponseHead(text, &head), ParseResult::kComplete);
  EXPECT_EQ(head.status, 200);
  EXPECT_FALSE(head.keep_alive);
  EXPECT_EQ(head.head_bytes, text.size());
  EXPECT_EQ(head.body_bytes, 12u);
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Le", &head),
            ParseResult::kIncomplete);
  // No length: the body would run to the end of the connection.
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\n\r\n", &head),
            ParseResult::kBad);
  EXPECT_EQ(
      ParseResponseHead("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", &head),
      ParseResult::kBad);
}

}  // namespace
}  // namespace http_server
