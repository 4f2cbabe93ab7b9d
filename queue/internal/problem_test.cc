#include "queue/internal/problem.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace masa::queue::internal {
namespace {

TEST(ProblemTest, WritesTheFourMembersAndEscapesStrings) {
  EXPECT_EQ(ProblemJson("urn:x", "Title", 413, "a \"quoted\" \\ path\n\x01"),
            "{\"type\":\"urn:x\",\"title\":\"Title\",\"status\":413,"
            "\"detail\":\"a \\\"quoted\\\" \\\\ path\\n\\u0001\"}");
  HttpResponse r = Problem(503, "urn:y", "Busy", "later");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_EQ(r.body, "{\"type\":\"urn:y\",\"title\":\"Busy\",\"status\":503,\"detail\":\"later\"}");
}

TEST(ProblemTest, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  // A detail may quote a client's bytes; the document must stay valid JSON (RFC 8259 8.1).
  EXPECT_EQ(ProblemJson("urn:x", "T\xc3", 400, "bad \xff\xed\xa0\x80 byte \xc3\xa9"),
            "{\"type\":\"urn:x\",\"title\":\"T\xef\xbf\xbd\",\"status\":400,"
            "\"detail\":\"bad \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd byte \xc3\xa9\"}");
}

TEST(ProblemTest, ClosingAnswerIsACompleteHttpAnswer) {
  HttpResponse r = Problem(431, "urn:z", "Too large", "d");
  r.headers = {{"Retry-After", "1"}};
  EXPECT_EQ(ClosingAnswerBytes(r, absl::FromUnixSeconds(1700000000)),
            "HTTP/1.1 431 Request Header Fields Too Large\r\n"
            "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
            "Content-Type: application/problem+json\r\n"
            "Content-Length: " +
                std::to_string(r.body.size()) +
                "\r\n"
                "Connection: close\r\n"
                "Retry-After: 1\r\n"
                "\r\n" +
                r.body);
}

}  // namespace
}  // namespace masa::queue::internal
