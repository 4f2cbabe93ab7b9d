// HttpServer against hostile clients: request heads a proxy and the server could read
// differently (request smuggling, RFC 9112), and clients that hold connections open without
// sending requests. Raw sockets, so the bytes are exactly the test's; every server listens on
// 127.0.0.1:0, and other loopback addresses (127.0.0.2, ...) act as other clients.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queue/http_server.h"
#include "queue/testing/http_test_util.h"

namespace masa::queue {
namespace {

using ::testing::HasSubstr;
using namespace std::string_literals;
using testing::ExpectProblem;
using testing::ExpectServing;
using testing::MakeTestCert;
using testing::PlainOptions;
using testing::RawClient;
using testing::StartServer;
using testing::TempDir;
using testing::TestCert;
using testing::TestHandler;
using testing::WaitFor;

// --- framing ---------------------------------------------------------------------------------

struct SmugglingCase {
  std::string request;
  std::string detail;  // part of the problem's detail
};

// Each is refused with 400 problem+json naming the fault, before the handler sees anything.
const std::vector<SmugglingCase>& SmugglingCases() {
  static const auto* cases = new std::vector<SmugglingCase>{
      {"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc",
       "more than one Content-Length header"},
      {"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
       "more than one Content-Length header"},
      {"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\nab",
       "Content-Length must be a decimal number: digits only"},
      {"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n 0\r\n\r\nab", "obs-fold"},
      {"POST /a HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n\tb\r\nContent-Length: 2\r\n\r\nab",
       "obs-fold"},
      {"POST /a HTTP/1.1\nHost: x\nContent-Length: 2\n\nab", "bare LF"},
      {"GET /a HTTP/1.1\r\nHost: x\r\nX-Nul: a\0b\r\n\r\n"s,
       "the value of header X-Nul holds a control character"},
      {"GET /a HTTP/1.1\r\nHost: x\r\nX-Esc: a\x1b"
       "b\r\n\r\n",
       "the value of header X-Esc holds a control character"},
      {"GET http://other.example/a HTTP/1.1\r\nHost: x\r\n\r\n",
       "the request target is in absolute form"},
      {"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       "Content-Length and Transfer-Encoding together"},
      {"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
       "Transfer-Encoding must be exactly \\\"chunked\\\""},
      {"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\nab",
       "a header name must be a token followed at once by ':'"},
      {"GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "more than one Host header"},
      {"GET /a HTTP/1.1\r\n\r\n", "an HTTP/1.1 request needs a Host header"},
      {"HEAD /a HTTP/1.1\r\nHost: x\r\nContent-Length: 33\r\n\r\n"
       "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
       "a HEAD request carries no body"},
  };
  return *cases;
}

TEST(HttpServerFramingTest, AmbiguousRequestsAreRefusedWith400ProblemJson) {
  TestHandler handler;
  HttpServerOptions o = PlainOptions();
  o.request_timeout = absl::Seconds(1);  // the lingering after a refusal is at most this
  auto server = StartServer(o, &handler);
  ASSERT_NE(server, nullptr);
  for (const SmugglingCase& c : SmugglingCases()) {
    SCOPED_TRACE(c.request);
    RawClient client(server->port());
    ASSERT_TRUE(client.Send(c.request));
    std::string out;
    EXPECT_TRUE(client.ReadUntilClosed(&out));
    ExpectProblem(out, 400, c.detail);
    EXPECT_THAT(out, HasSubstr("\"type\":\"urn:masa:problem:malformed-request\""));
  }
  EXPECT_TRUE(handler.requests().empty());
  ExpectServing(server->port());
}

TEST(HttpServerFramingTest, SmuggledRequestBehindAGoodOneIsRefusedToo) {
  // The second request rides in the same bytes as the first (pipelined); it is judged on its
  // own once the first is answered, and its smuggled body never becomes a request.
  TestHandler handler;
  HttpServerOptions o = PlainOptions();
  o.request_timeout = absl::Seconds(1);
  auto server = StartServer(o, &handler);
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send(
      "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 37\r\n\r\n"
      "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string out;
  EXPECT_TRUE(client.ReadUntilClosed(&out));
  EXPECT_TRUE(absl::StartsWith(out, "HTTP/1.1 200 ")) << out;
  size_t second = out.find("HTTP/1.1 400 ");
  ASSERT_NE(second, std::string::npos) << out;
  ExpectProblem(out.substr(second), 400, "more than one Content-Length header");
  ASSERT_EQ(handler.requests().size(), 1u);
  EXPECT_EQ(handler.requests()[0].path, "/first");
}

TEST(HttpServerFramingTest, WellFormedRequestsStillPass) {
  TestHandler handler;
  auto server = StartServer(PlainOptions(), &handler);
  ASSERT_NE(server, nullptr);
  for (const std::string& request : {
           std::string("POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length:\t3 \r\n\r\nabc"),
           std::string("POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3\r\nabc\r\n0\r\n\r\n"),
           std::string("GET /tab HTTP/1.1\r\nHost: x\r\nX-Tab: a\tb\r\n\r\n"),
           std::string("GET /ten HTTP/1.0\r\n\r\n"),
       }) {
    SCOPED_TRACE(request);
    RawClient client(server->port());
    ASSERT_TRUE(client.Send(request));
    std::string head = client.ReadHead();
    EXPECT_TRUE(absl::StartsWith(head, "HTTP/1.") && head.find(" 200 ") == 8) << head;
  }
  ASSERT_EQ(handler.requests().size(), 4u);
  EXPECT_EQ(handler.requests()[0].body, "abc");
  EXPECT_EQ(handler.requests()[1].body, "abc");
  EXPECT_EQ(handler.requests()[2].Header("x-tab"), "a\tb");
}

// --- connections -----------------------------------------------------------------------------

// Opens `n` connections from `source` and keeps them open, sending nothing.
std::vector<std::unique_ptr<RawClient>> OpenIdle(uint16_t port, const char* source, int n) {
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<RawClient>(port, source));
    EXPECT_TRUE(clients.back()->connected()) << i;
  }
  return clients;
}

size_t ClosedByServer(const std::vector<std::unique_ptr<RawClient>>& clients) {
  size_t closed = 0;
  for (const auto& c : clients) closed += c->ClosedByServer() ? 1 : 0;
  return closed;
}

// A request from `source` on a fresh connection is served.
void ExpectServedFrom(uint16_t port, const char* source) {
  RawClient client(port, source);
  ASSERT_TRUE(client.connected()) << source;
  ASSERT_TRUE(client.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string out;
  EXPECT_TRUE(client.ReadUntilClosed(&out));
  EXPECT_TRUE(absl::StartsWith(out, "HTTP/1.1 200")) << source << ": " << out;
  EXPECT_THAT(out, HasSubstr("path=/healthz"));
}

TEST(HttpServerConnectionsTest, OneClientsIdleConnectionsDoNotLockOthersOut) {
  TestHandler handler;
  HttpServerOptions o = PlainOptions();
  o.max_connections_per_client = 64;
  o.header_timeout = absl::Seconds(60);  // the idle connections stay for the whole test
  auto server = StartServer(o, &handler);
  ASSERT_NE(server, nullptr);
  // 300 idle connections from 127.0.0.2: 64 are kept, the rest are closed at once.
  auto idle = OpenIdle(server->port(), "127.0.0.2", 300);
  EXPECT_TRUE(WaitFor([&] { return ClosedByServer(idle) == 300 - 64; }, absl::Seconds(60)))
      << ClosedByServer(idle) << " closed";
  EXPECT_EQ(server->open_connections(), 64u);
  // Another client is served meanwhile; the first one gets no more.
  ExpectServedFrom(server->port(), "127.0.0.3");
  ExpectServedFrom(server->port(), "127.0.0.1");
  RawClient more(server->port(), "127.0.0.2");
  std::string out;
  EXPECT_TRUE(more.ReadUntilClosed(&out));
  EXPECT_EQ(out, "");
  // Once one of its connections ends, that client may open another.
  size_t kept = 0;
  while (kept < idle.size() && idle[kept]->ClosedByServer()) ++kept;
  ASSERT_LT(kept, idle.size());
  idle[kept]->Close();
  ASSERT_TRUE(WaitFor([&] { return server->open_connections() == 63; }));
  ExpectServedFrom(server->port(), "127.0.0.2");
  EXPECT_EQ(handler.requests().size(), 3u);
}

TEST(HttpServerConnectionsTest, OneClientNeverFillsTheServer) {
  // The per-client cap (1000) is above what the server holds (40): one client still gets at
  // most three quarters of it (30), and a second client is served.
  TestHandler handler;
  HttpServerOptions o = PlainOptions();
  o.max_connections = 40;
  o.max_connections_per_client = 1000;
  o.header_timeout = absl::Seconds(60);
  auto server = StartServer(o, &handler);
  ASSERT_NE(server, nullptr);
  auto idle = OpenIdle(server->port(), "127.0.0.2", 40);
  EXPECT_TRUE(WaitFor([&] { return ClosedByServer(idle) == 10; }, absl::Seconds(30)));
  EXPECT_EQ(server->open_connections(), 30u);
  ExpectServedFrom(server->port(), "127.0.0.3");
}

TEST(HttpServerConnectionsTest, ConnectionsWithoutARequestHeadAreDroppedAtTheHeaderDeadline) {
  TestHandler handler;
  HttpServerOptions o = PlainOptions();
  o.header_timeout = absl::Milliseconds(300);
  o.request_timeout = absl::Seconds(60);
  auto server = StartServer(o, &handler);
  ASSERT_NE(server, nullptr);
  auto idle = OpenIdle(server->port(), "127.0.0.2", 50);
  RawClient half(server->port(), "127.0.0.3");
  ASSERT_TRUE(half.Send("GET /half HTTP/1.1\r\nHost: x\r\n"));  // the head never ends
  EXPECT_TRUE(WaitFor([&] { return ClosedByServer(idle) == idle.size(); }, absl::Seconds(30)));
  std::string out;
  EXPECT_TRUE(half.ReadUntilClosed(&out, absl::Seconds(30)));
  EXPECT_EQ(out, "");
  EXPECT_TRUE(WaitFor([&] { return server->open_connections() == 0; }));
  EXPECT_TRUE(handler.requests().empty());
}

TEST(HttpServerConnectionsTest, BodyMayTakeLongerThanTheHeaderDeadline) {
  // Only the head is due within header_timeout; the body has until request_timeout.
  TestHandler handler;
  HttpServerOptions o = PlainOptions();
  o.header_timeout = absl::Milliseconds(200);
  o.request_timeout = absl::Seconds(60);
  auto server = StartServer(o, &handler);
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send("POST /slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab"));
  absl::SleepFor(absl::Seconds(1));  // five header deadlines
  ASSERT_TRUE(client.Send("cd"));
  EXPECT_TRUE(absl::StartsWith(client.ReadHead(), "HTTP/1.1 200 "));
  ASSERT_EQ(handler.requests().size(), 1u);
  EXPECT_EQ(handler.requests()[0].body, "abcd");
}

TEST(HttpServerConnectionsTest, ASlowAnswerIsNotCutOffByTheDeadlines) {
  // The deadlines are for reading a request; a handler may take longer, even with the next
  // request already pipelined behind the first.
  TestHandler handler(/*deferred=*/true);
  HttpServerOptions o = PlainOptions();
  o.header_timeout = absl::Milliseconds(100);
  o.request_timeout = absl::Milliseconds(300);
  auto server = StartServer(o, &handler);
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  HttpResponder first = handler.WaitResponder(1);
  ASSERT_TRUE(first);
  ASSERT_TRUE(client.Send("GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  absl::SleepFor(absl::Seconds(1));  // past both deadlines of the first request
  first({.status = 200, .content_type = "text/plain", .headers = {}, .body = "late"});
  HttpResponder second = handler.WaitResponder(2);
  ASSERT_TRUE(second);
  second({.status = 200, .content_type = "text/plain", .headers = {}, .body = "next"});
  std::string out;
  EXPECT_TRUE(client.ReadUntilClosed(&out));
  EXPECT_TRUE(absl::StartsWith(out, "HTTP/1.1 200 ")) << out;
  EXPECT_THAT(out, HasSubstr("late"));
  EXPECT_THAT(out, HasSubstr("next"));
}

TEST(HttpServerConnectionsTest, TlsHandshakeIsDueWithinTheHeaderDeadline) {
  TempDir dir;
  TestCert cert = MakeTestCert(dir.path());
  TestHandler handler;
  HttpServerOptions o;
  o.address = "127.0.0.1";
  o.tls_chain = {cert.cert.get()};
  o.tls_key = cert.key.get();
  o.header_timeout = absl::Milliseconds(300);
  o.request_timeout = absl::Seconds(60);
  auto server = StartServer(o, &handler);
  ASSERT_NE(server, nullptr);
  RawClient silent(server->port());  // connects, never says ClientHello
  std::string out;
  EXPECT_TRUE(silent.ReadUntilClosed(&out, absl::Seconds(30)));
  EXPECT_EQ(out, "");
  EXPECT_TRUE(WaitFor([&] { return server->open_connections() == 0; }));
}

TEST(HttpServerConnectionsTest, PerClientLimitMustBePositive) {
  TestHandler handler;
  HttpServerOptions o = PlainOptions();
  o.max_connections_per_client = 0;
  EXPECT_EQ(HttpServer::Create(o, &handler).status().code(), absl::StatusCode::kInvalidArgument);
  o = PlainOptions();
  o.header_timeout = absl::ZeroDuration();
  EXPECT_EQ(HttpServer::Create(o, &handler).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace masa::queue
