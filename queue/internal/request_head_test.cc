#include "queue/internal/request_head.h"

#include <string>

#include "gtest/gtest.h"

namespace masa::queue::internal {
namespace {

using Verdict = RequestHeadCheck::Verdict;

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
  EXPECT_EQ(check.Feed("POST /x HTTP/1.1\r\nContent-Length: 1000\r\n\r\n"), Verdict::kFits);
}

TEST(RequestHeadCheckTest, ReadsContentLengthAsEvhttpDoes) {
  EXPECT_EQ(Judge("PUT /x HTTP/1.1\ncontent-length:   2000  \n\n"), Verdict::kBodyTooLarge);
  EXPECT_EQ(Judge("PATCH /x HTTP/1.1\r\nContent-Length: \t+2000\r\n\r\n"), Verdict::kBodyTooLarge);
  EXPECT_EQ(Judge("POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
            Verdict::kBodyTooLarge);
  EXPECT_EQ(Judge("GET /x HTTP/1.1\r\nContent-Length: 2000\r\n\r\n"), Verdict::kBodyTooLarge);
  // The first Content-Length counts.
  EXPECT_EQ(Judge("POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 2000\r\n\r\n"),
            Verdict::kFits);
  // evhttp refuses these itself (400), reads no body for HEAD and TRACE, and leaves a
  // chunked body to its own limit.
  for (const char* head : {
           "POST /x HTTP/1.1\r\nContent-Length: 2000x\r\n\r\n",
           "POST /x HTTP/1.1\r\nContent-Length: -2000\r\n\r\n",
           "POST /x HTTP/1.1\r\nContent-Length: \r\n\r\n",
           "POST /x HTTP/1.1\r\nContent-Length: 2000\r\n 1\r\n\r\n",
           "HEAD /x HTTP/1.1\r\nContent-Length: 2000\r\n\r\n",
           "TRACE /x HTTP/1.1\r\nContent-Length: 2000\r\n\r\n",
           "post /x HTTP/1.1\r\nContent-Length: 2000\r\n\r\n",
           "POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nContent-Length: 2000\r\n\r\n",
           "POST HTTP/1.1\r\nContent-Length: 2000\r\n\r\n",
           "POST /x HTTP/1.1\r\nno colon\r\nContent-Length: 2000\r\n\r\n",
           "POST /x HTTP/1.1\r\n folded first\r\nContent-Length: 2000\r\n\r\n",
       }) {
    EXPECT_EQ(Judge(head), Verdict::kFits) << head;
  }
  // A Transfer-Encoding other than exactly "chunked" leaves Content-Length in force.
  EXPECT_EQ(Judge("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: "
                  "2000\r\n\r\n"),
            Verdict::kBodyTooLarge);
  EXPECT_EQ(Judge("POST /x HTTP/1.1\r\nX-Folded: a\r\n b\r\nContent-Length: 2000\r\n\r\n"),
            Verdict::kBodyTooLarge);
  // For evhttp a line that starts with NUL ends the head: what follows is no header.
  EXPECT_EQ(Judge(std::string("POST /x HTTP/1.1\r\n\0X: 1\r\nContent-Length: 2000\r\n\r\n", 49)),
            Verdict::kFits);
}

TEST(RequestHeadCheckTest, CountsLinesWithoutTheirEndsAsEvhttpDoes) {
  // Request line 14 + "X: " 3 + padding, each without its line end: 64 fits, 65 does not.
  const std::string line = "GET / HTTP/1.1";
  const std::string fill(64 - 14 - 3, 'p');
  EXPECT_EQ(Judge(line + "\nX: " + fill + "\n\n", 64), Verdict::kFits);
  RequestHeadCheck crlf(64, 1000);
  EXPECT_EQ(crlf.Feed(line + "\r\nX: " + fill + "\r\n\r\n"), Verdict::kFits);
  EXPECT_EQ(Judge(line + "\r\nX: " + fill + "p\r\n\r\n", 64), Verdict::kHeadTooLarge);
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
  EXPECT_EQ(check.Feed("Content-Length: 2000\r\n\r\n"), Verdict::kFits);
  check.Reset();
  EXPECT_EQ(check.Feed("POST /x HTTP/1.1\r\nContent-Length: 2000\r\n\r\n"), Verdict::kBodyTooLarge);
}

}  // namespace
}  // namespace masa::queue::internal
