#include "queue/internal/request_head.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace masa::queue::internal {
namespace {

using Verdict = RequestHeadCheck::Verdict;
using namespace std::string_literals;

// The verdict on `head` fed whole, and fed one byte at a time: the two must agree.
Verdict Judge(const std::string& head, size_t max_header = 1024, size_t max_body = 1000) {
  RequestHeadCheck whole(max_header, max_body);
  Verdict v = whole.Feed(head);
  RequestHeadCheck bytewise(max_header, max_body);
  Verdict b = Verdict::kIncomplete;
  for (char c : head) b = bytewise.Feed(std::string_view(&c, 1));
  EXPECT_EQ(v, b) << head;
  return v;
}

TEST(RequestHeadCheckTest, ContentLengthOverTheLimitIsTooLarge) {
  RequestHeadCheck check(1024, 1000);
  EXPECT_EQ(check.Feed("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n"),
            Verdict::kIncomplete);
  EXPECT_EQ(check.Feed("\r\nbody bytes"), Verdict::kBodyTooLarge);
  EXPECT_EQ(check.content_length(), 1001u);
  EXPECT_EQ(check.Feed("more"), Verdict::kBodyTooLarge);  // stays

  check.Reset();
  EXPECT_EQ(check.Feed("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n"),
            Verdict::kFits);
}

TEST(RequestHeadCheckTest, ReadsContentLength) {
  EXPECT_EQ(Judge("PUT /x HTTP/1.1\r\nHost: a\r\ncontent-length:   2000  \r\n\r\n"),
            Verdict::kBodyTooLarge);
  EXPECT_EQ(Judge("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
            Verdict::kBodyTooLarge);
  EXPECT_EQ(Judge("GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n"),
            Verdict::kBodyTooLarge);
  EXPECT_EQ(Judge("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length:\t1000\t\r\n\r\n"),
            Verdict::kFits);
  // evhttp refuses these itself (400, 501), reads no body for TRACE, and leaves a chunked
  // body to its own limit.
  for (const char* head : {
           "TRACE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n",
           "post /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n",
           "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
           "POST HTTP/1.1\r\nContent-Length: 2000\r\n\r\n",
           "GARBAGE\r\n\r\n",
           "HEAD /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
           "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
           "GET /x HTTP/1.0\r\n\r\n",
       }) {
    EXPECT_EQ(Judge(head), Verdict::kFits) << head;
  }
}

// Each of these would let a proxy in front of the server and the server read different
// requests out of the same bytes (request smuggling), or breaks RFC 9112 framing otherwise.
TEST(RequestHeadCheckTest, RefusesAmbiguousFraming) {
  struct Case {
    std::string head;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 2000\r\n\r\n",
       "more than one Content-Length header"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
       "more than one Content-Length header"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: +2\r\n\r\n",
       "Content-Length must be a decimal number"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: -2\r\n\r\n",
       "Content-Length must be a decimal number"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
       "Content-Length must be a decimal number"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2000x\r\n\r\n",
       "Content-Length must be a decimal number"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n",
       "Content-Length must be a decimal number"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n 1\r\n\r\n", "obs-fold"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n\tb\r\n\r\n", "obs-fold"},
      {"POST /x HTTP/1.1\r\n Host: a\r\n\r\n", "white space after the request line"},
      {"POST /x HTTP/1.1\nHost: a\r\n\r\n", "bare LF"},
      {"POST /x HTTP/1.1\r\nHost: a\r\n\n", "bare LF"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nX-Nul: a\0b\r\n\r\n"s,
       "the value of header X-Nul holds a control character"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nX-Cr: a\rb\r\n\r\n",
       "the value of header X-Cr holds a control character"},
      {"POST /x HTTP/1.1\r\nHost: a\r\n\0X: 1\r\n\r\n"s, "a header name must be a token"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n",
       "a header name must be a token followed at once by ':'"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n", "a header line has no colon"},
      {"GET http://evil.example/x HTTP/1.1\r\nHost: a\r\n\r\n", "absolute form"},
      {"GET x HTTP/1.1\r\nHost: a\r\n\r\n", "a path starting with '/'"},
      {"GET /a  HTTP/1.1\r\nHost: a\r\n\r\n", "with single spaces"},
      {"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", "with single spaces"},
      {"GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"s, "the request line holds a control character"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
       "Content-Length and Transfer-Encoding together"},
      {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
       "Transfer-Encoding must be exactly \"chunked\""},
      {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
       "chunked\r\n\r\n",
       "more than one Transfer-Encoding header"},
      {"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
       "Transfer-Encoding in an HTTP/1.0 request"},
      {"HEAD /x HTTP/1.1\r\nHost: a\r\nContent-Length: 30\r\n\r\n",
       "a HEAD request carries no body"},
      {"GET /x HTTP/1.1\r\n\r\n", "needs a Host header"},
      {"GET /x HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "more than one Host header"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Judge(c.head), Verdict::kMalformed) << c.head;
    RequestHeadCheck check(1024, 1000);
    check.Feed(c.head);
    EXPECT_NE(check.problem().find(c.problem), std::string::npos)
        << c.head << " -> " << check.problem();
  }
}

TEST(RequestHeadCheckTest, CountsLinesWithoutTheirEndsAsEvhttpDoes) {
  // Request line 14 + "Host: " 6 + padding, each without its line end: 64 fits, 65 does not.
  const std::string line = "GET / HTTP/1.1";
  const std::string fill(64 - 14 - 6, 'p');
  // (Whole: a lone CR at exactly the limit would count, as below.)
  RequestHeadCheck whole(64, 1000);
  EXPECT_EQ(whole.Feed(line + "\r\nHost: " + fill + "\r\n\r\n"), Verdict::kFits);
  EXPECT_EQ(Judge(line + "\r\nHost: " + fill + "p\r\n\r\n", 64), Verdict::kHeadTooLarge);
  // An unfinished line counts every byte received so far, a CR waiting for its LF too (so
  // does evhttp).
  RequestHeadCheck check(64, 1000);
  EXPECT_EQ(check.Feed(line + "\r\nX: " + std::string(47, 'p')), Verdict::kIncomplete);
  EXPECT_EQ(check.Feed("\r"), Verdict::kHeadTooLarge);
}

TEST(RequestHeadCheckTest, RequestLineOverTheLimitIsTooLong) {
  EXPECT_EQ(Judge("GET /" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n", 64),
            Verdict::kRequestLineTooLong);
  RequestHeadCheck check(64, 1000);
  EXPECT_EQ(check.Feed("GET /" + std::string(100, 'a')), Verdict::kRequestLineTooLong);
}

TEST(RequestHeadCheckTest, SkipLeavesTheRequestToEvhttpUntilReset) {
  RequestHeadCheck check(64, 1000);
  EXPECT_EQ(check.Feed("POST /x HTTP/1.1\r\n"), Verdict::kIncomplete);
  check.Skip();
  EXPECT_EQ(check.Feed("Host: a\r\nContent-Length: 2000\r\n\r\n"), Verdict::kFits);
  check.Reset();
  EXPECT_EQ(check.Feed("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n"),
            Verdict::kBodyTooLarge);
}

}  // namespace
}  // namespace masa::queue::internal
