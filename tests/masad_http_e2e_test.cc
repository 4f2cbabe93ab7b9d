// masad's HTTP edge against hostile clients, end to end: a real daemon on a fresh dev-init
// state (port 0, TLS with the state's localhost certificate), probed with openssl s_client
// (bytes exactly as written), curl, and raw TCP sockets from other loopback addresses
// (127.0.0.2 acts as another client than 127.0.0.1).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/internal/e2e.h"
#include "tests/internal/https_client.h"
#include "tests/internal/masad.h"

#ifndef MASAD
#error "MASAD must name the masad binary"
#endif

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;

// A TCP connection from a chosen loopback address that sends nothing.
class IdleSocket {
 public:
  IdleSocket(uint16_t port, const char* source) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source, &from.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof(from)) == 0 &&
                 connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0;
  }
  ~IdleSocket() {
    if (fd_ >= 0) close(fd_);
  }
  IdleSocket(const IdleSocket&) = delete;
  IdleSocket& operator=(const IdleSocket&) = delete;

  bool connected() const { return connected_; }
  // The server has closed (or reset) it; does not wait.
  bool Closed() const {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 0) != 1) return false;
    char byte;
    ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

size_t CountClosed(const std::vector<std::unique_ptr<IdleSocket>>& sockets) {
  size_t n = 0;
  for (const auto& s : sockets) n += s->Closed() ? 1 : 0;
  return n;
}

// Polls `pred` every 20 ms for up to `timeout`.
bool WaitFor(const std::function<bool()>& pred, absl::Duration timeout) {
  absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return pred();
}

// One dev-init state and its daemon for the tests of this process.
class MasadHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempFolder();
    state_ = new DevState(MakeDevState(*root_ / "state"));
    if (::testing::Test::HasFailure()) return;
    auto masad = StartMasad({.binary = MASAD, .state = state_->dir});
    ASSERT_TRUE(masad.ok()) << masad.status();
    masad_ = masad->release();
    scratch_ = new TempFolder();
    client_ = new HttpsClient(masad_->ready_rest(), state_->dir + "/tls-ca.pem", scratch_->path());
  }
  static void TearDownTestSuite() {
    if (masad_ != nullptr) {
      EXPECT_EQ(masad_->Terminate(absl::Seconds(30)), 0) << masad_->log();
    }
    delete client_;
    delete masad_;
    delete scratch_;
    delete state_;
    delete root_;
    client_ = nullptr;
    masad_ = nullptr;
    scratch_ = nullptr;
    state_ = nullptr;
    root_ = nullptr;
    ClearWatchedSecrets();
  }
  void SetUp() override { ASSERT_NE(client_, nullptr) << "the suite set-up failed"; }

  static uint16_t ApiPort() { return MasadPort(*masad_); }

  // The URL masad printed for its metrics listener ("" when it printed none).
  static std::string MetricsUrl() { return MasadMetricsUrl(*masad_); }

  // Sends `bytes` over TLS with openssl s_client, exactly as given, and returns what the
  // server answered (s_client's stdout) once it closed the connection.
  static ProcessResult SendOverTls(const std::string& name, const std::string& bytes) {
    std::string file = *scratch_ / name;
    WriteFile(file, bytes);
    return RunTool(
        {"sh", "-c",
         absl::StrCat(OPENSSL_CLI, " s_client -quiet -verify_return_error -CAfile '", state_->dir,
                      "/tls-ca.pem' -servername localhost -connect 127.0.0.1:", ApiPort(), " <'",
                      file, "'")});
  }

  static inline TempFolder* root_ = nullptr;
  static inline DevState* state_ = nullptr;
  static inline Daemon* masad_ = nullptr;
  static inline TempFolder* scratch_ = nullptr;
  static inline HttpsClient* client_ = nullptr;
};

// RFC 9112 framing: a request a proxy in front could read differently is refused with 400
// problem+json over the real TLS listener, before any route runs.
TEST_F(MasadHttpTest, SmuggledRequestsAreRefusedOverTls) {
  struct Case {
    std::string bytes;
    std::string detail;
  };
  const std::vector<Case> cases = {
      {"POST /request/ov HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n"
       "Content-Length: 39\r\n\r\n{}GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n",
       "more than one Content-Length header"},
      {"GET http://elsewhere.example/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", "absolute form"},
      {"POST /request/ov HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
       "Content-Length: 2\r\n\r\n0\r\n\r\n",
       "Content-Length and Transfer-Encoding together"},
      {"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n b\r\n\r\n", "obs-fold"},
  };
  int i = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.bytes);
    ProcessResult r = SendOverTls(absl::StrCat("request-", i++), c.bytes);
    EXPECT_TRUE(absl::StartsWith(r.out, "HTTP/1.1 400 ")) << r;
    EXPECT_THAT(r.out, HasSubstr("Content-Type: application/problem+json")) << r;
    EXPECT_THAT(r.out, HasSubstr("Connection: close")) << r;
    EXPECT_THAT(r.out, HasSubstr(c.detail)) << r;
    // The smuggled /healthz was never answered.
    EXPECT_THAT(r.out, ::testing::Not(HasSubstr("HTTP/1.1 200"))) << r;
  }
  // A well-formed request over the same route is served.
  ProcessResult ok = SendOverTls("good",
                                 "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                                 "Connection: close\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(ok.out, "HTTP/1.1 200 ")) << ok;
}

// One client holding idle connections (no TLS handshake) neither locks others out nor keeps
// them: past 64 (the default per-client limit) they are closed at once, /healthz answers
// another client meanwhile, and the rest are dropped at the header deadline (10 s default).
TEST_F(MasadHttpTest, OneClientsIdleConnectionsDoNotStopOthers) {
  constexpr size_t kIdle = 200;
  constexpr size_t kPerClient = 64;
  std::vector<std::unique_ptr<IdleSocket>> idle;
  for (size_t i = 0; i < kIdle; ++i) {
    idle.push_back(std::make_unique<IdleSocket>(ApiPort(), "127.0.0.2"));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  EXPECT_TRUE(WaitFor([&] { return CountClosed(idle) >= kIdle - kPerClient; }, absl::Seconds(60)))
      << CountClosed(idle) << " of " << kIdle << " closed";
  HttpAnswer health = client_->Call("GET", "/healthz", "");
  EXPECT_EQ(health.status, 200) << health;
  EXPECT_EQ(health.body, "ok\n");
  // The ones kept are dropped once the TLS handshake is overdue.
  EXPECT_TRUE(WaitFor([&] { return CountClosed(idle) == kIdle; }, absl::Seconds(120)))
      << CountClosed(idle) << " of " << kIdle << " closed";
  EXPECT_EQ(client_->Call("GET", "/healthz", "").status, 200);
}

// /metrics (no token, counts across every organization) is served on its own loopback
// listener only; the API listener answers it with 404 problem+json.
TEST_F(MasadHttpTest, MetricsAreOnlyOnTheirOwnLoopbackListener) {
  HttpAnswer on_api = client_->Call("GET", "/metrics", "");
  EXPECT_EQ(on_api.status, 404) << on_api;
  EXPECT_TRUE(on_api.IsProblem()) << on_api;

  std::string url = MetricsUrl();
  ASSERT_TRUE(absl::StartsWith(url, "http://127.0.0.1:")) << masad_->output();
  ASSERT_TRUE(absl::EndsWith(url, "/metrics")) << url;
  ProcessResult metrics = RunTool({CURL_CLI, "--noproxy", "*", "-sS", "--max-time", "30", "-w",
                                   "\\n%{http_code} %{content_type}", url});
  ASSERT_EQ(metrics.exit_code, 0) << metrics;
  EXPECT_THAT(metrics.out, HasSubstr("# TYPE masa_queue_depth gauge\n"));
  EXPECT_THAT(metrics.out, ::testing::ContainsRegex("\nmasa_queue_depth [0-9]+\n"));
  EXPECT_THAT(metrics.out, HasSubstr("masa_http_requests_total{code=\"404\"} "));
  // The store writer's families (the bench contract: load_bench reads them).
  for (const char* family :
       {"masa_store_commits_total", "masa_store_commit_batches_total",
        "masa_store_commit_sync_seconds_total", "masa_store_commit_queue_wait_seconds_total",
        "masa_store_map_growths_total", "masa_store_map_growth_seconds_total",
        "masa_store_gate_wait_seconds_total", "masa_store_commit_max_seconds"}) {
    EXPECT_THAT(metrics.out, ::testing::ContainsRegex(absl::StrCat("\n", family, " [0-9.]+\n")))
        << family;
  }
  EXPECT_THAT(metrics.out, HasSubstr("# TYPE masa_store_commit_seconds histogram\n"));
  EXPECT_TRUE(absl::EndsWith(metrics.out, "\n200 text/plain; version=0.0.4; charset=utf-8"))
      << metrics;
  // Nothing else is served there.
  std::string base = url.substr(0, url.size() - std::string("/metrics").size());
  ProcessResult other = RunTool({CURL_CLI, "--noproxy", "*", "-sS", "--max-time", "30", "-o",
                                 "/dev/null", "-w", "%{http_code}", base + "/healthz"});
  EXPECT_EQ(other.out, "404") << other;
}

}  // namespace
}  // namespace masa::e2e
