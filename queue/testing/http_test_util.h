// Helpers of the HttpServer tests: a raw socket client (for bytes no well-behaved client
// sends, and from other loopback source addresses), a recording handler, test certificates,
// and the checks of the server's own problem+json answers. Tests only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <openssl/ec.h>
#include <openssl/x509v3.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/openssl.h"
#include "common/testing/subprocess.h"
#include "common/testing/wait_for.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queue/http_server.h"

namespace masa::queue::testing {

using ::masa::testing::WaitFor;

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs a shell command (built by the test, never from input) and collects its output.
inline CommandResult RunCommand(const std::string& command) {
  absl::StatusOr<subprocess::ProcessResult> r =
      subprocess::RunProcess({"/bin/sh", "-c", command}, {.merge_stderr = true});
  if (!r.ok()) return {.exit_code = -1, .output = r.status().ToString()};
  return {.exit_code = r->exit_code, .output = std::move(r->out)};
}

inline std::string Curl(const std::string& args) {
  return absl::StrCat("curl --noproxy '*' -sS --max-time 10 ", args);
}

// A blocking TCP client for malformed, oversize and slow requests.
class RawClient {
 public:
  // `source`: the loopback address to connect from ("127.0.0.2" acts as another client).
  explicit RawClient(uint16_t port, const char* source = nullptr) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (source != nullptr) {
      sockaddr_in from{};
      from.sin_family = AF_INET;
      inet_pton(AF_INET, source, &from.sin_addr);
      if (bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) return;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() { Close(); }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  // True once the server has closed (or reset) the connection; does not wait, and consumes
  // nothing but the end of the stream.
  bool ClosedByServer() {
    pollfd p{fd_, POLLIN, 0};
    if (fd_ < 0 || poll(&p, 1, 0) != 1) return false;
    char byte;
    ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  bool Send(const std::string& data) {
    return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Reads until the server closes (returns true) or `timeout` passes (false).
  bool ReadUntilClosed(std::string* out, absl::Duration timeout = absl::Seconds(10)) {
    absl::Time end = absl::Now() + timeout;
    for (;;) {
      int ms = static_cast<int>(absl::ToInt64Milliseconds(end - absl::Now()));
      if (ms <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, ms) != 1) return false;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return true;  // EOF or reset
      out->append(buf, n);
    }
  }
  // Reads until the end of a response head (or close / timeout).
  std::string ReadHead(absl::Duration timeout = absl::Seconds(10)) {
    std::string out;
    absl::Time end = absl::Now() + timeout;
    while (out.find("\r\n\r\n") == std::string::npos) {
      int ms = static_cast<int>(absl::ToInt64Milliseconds(end - absl::Now()));
      pollfd p{fd_, POLLIN, 0};
      if (ms <= 0 || poll(&p, 1, ms) != 1) break;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, n);
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// Answers at once with a summary of the request, or (deferred) keeps the responders for
// the test to answer later from another thread.
class TestHandler : public HttpHandler {
 public:
  explicit TestHandler(bool deferred = false) : deferred_(deferred) {}

  void Handle(HttpRequest request, HttpResponder respond) override {
    std::unique_lock<std::mutex> lock(mu_);
    requests_.push_back(request);
    if (deferred_) {
      responders_.push_back(std::move(respond));
      cv_.notify_all();
      return;
    }
    lock.unlock();
    if (request.path == "/bad-header") {
      respond({.status = 200,
               .content_type = "text/plain",
               .headers = {{"X-Evil", "a\r\nSet-Cookie: x=1"}},
               .body = "no"});
      return;
    }
    respond({.status = 200,
             .content_type = "text/plain",
             .headers = {{"X-Answer", "42"}},
             .body = absl::StrCat("method=", request.method, " path=", request.path,
                                  " body=", request.body.size(), "\n")});
  }

  // Waits for the n-th deferred responder (1-based) and returns a copy of it.
  HttpResponder WaitResponder(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return responders_.size() >= n; });
    return responders_.size() >= n ? responders_[n - 1] : HttpResponder();
  }
  std::vector<HttpRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  const bool deferred_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<HttpRequest> requests_;
  std::vector<HttpResponder> responders_;
};

// A software EC P-256 key and a self-signed certificate for localhost / 127.0.0.1.
struct TestCert {
  UniquePtr<EVP_PKEY> key;
  UniquePtr<X509> cert;
  std::string pem_path;
};

inline UniquePtr<X509> SelfSign(EVP_PKEY* key, const char* cn) {
  UniquePtr<X509> x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), key);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  X509_add_ext(x.get(), san, -1);
  X509_EXTENSION_free(san);
  if (X509_sign(x.get(), key, EVP_sha256()) == 0) return nullptr;
  return x;
}

inline TestCert MakeTestCert(const std::string& dir, const char* cn = "localhost") {
  TestCert t;
  t.key.reset(EVP_EC_gen("P-256"));
  t.cert = SelfSign(t.key.get(), cn);
  t.pem_path = dir + "/" + cn + ".pem";
  std::ofstream(t.pem_path) << *CertificateToPem(t.cert.get());
  return t;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/masa-http-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { RunCommand("rm -rf '" + path_ + "'"); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::unique_ptr<HttpServer> StartServer(const HttpServerOptions& options,
                                               HttpHandler* handler) {
  auto server = HttpServer::Create(options, handler);
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  absl::Status started = (*server)->Start();
  EXPECT_TRUE(started.ok()) << started;
  if (!started.ok()) return nullptr;
  EXPECT_NE((*server)->port(), 0);
  return std::move(*server);
}

inline HttpServerOptions PlainOptions() {
  HttpServerOptions o;
  o.address = "127.0.0.1";
  o.allow_plain_http_on_loopback = true;
  return o;
}

inline std::string Url(uint16_t port, const std::string& path = "/") {
  return absl::StrCat("http://127.0.0.1:", port, path);
}

// The answers the server writes itself for a request over a limit.
inline void ExpectProblem(const std::string& answer, int status, const std::string& detail_part) {
  std::string status_line = absl::StrCat("HTTP/1.1 ", status, " ");
  EXPECT_TRUE(absl::StartsWith(answer, status_line)) << answer;
  EXPECT_THAT(answer, ::testing::HasSubstr("\r\nContent-Type: application/problem+json\r\n"));
  EXPECT_THAT(answer, ::testing::HasSubstr("\r\nConnection: close\r\n"));
  size_t body = answer.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << answer;
  std::string json = answer.substr(body + 4);
  EXPECT_TRUE(absl::StartsWith(json, "{\"type\":\"urn:masa:problem:")) << json;
  EXPECT_THAT(json, ::testing::HasSubstr(absl::StrCat("\"status\":", status, ",")));
  EXPECT_THAT(json, ::testing::HasSubstr(detail_part));
  EXPECT_THAT(answer,
              ::testing::HasSubstr(absl::StrCat("\r\nContent-Length: ", json.size(), "\r\n")));
}

// A request on a fresh connection, to show the server is still serving.
inline void ExpectServing(uint16_t port) {
  RawClient client(port);
  ASSERT_TRUE(client.Send("GET /still-there HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string out;
  EXPECT_TRUE(client.ReadUntilClosed(&out));
  EXPECT_TRUE(absl::StartsWith(out, "HTTP/1.1 200")) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("path=/still-there"));
}

}  // namespace masa::queue::testing
