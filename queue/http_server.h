// The HTTPS ingress: one libevent loop thread that accepts TLS 1.2/1.3 connections (plain
// HTTP only on loopback and only when configured), enforces size, connection and time
// limits, parses requests and hands them to a Handler. Handlers answer at once or later
// from any thread; the answer is carried back to the loop thread.
//
//   class Api : public queue::HttpHandler {
//     void Handle(queue::HttpRequest req, queue::HttpResponder respond) override {
//       respond({.status = 200, .content_type = "application/json", .body = "{}"});
//     }
//   };
//   MASA_ASSIGN_OR_RETURN(auto server, queue::HttpServer::Create(options, &api));
//   MASA_RETURN_IF_ERROR(server->Start());   // returns once listening; server->port()
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/openssl.h"

namespace masa::queue {

struct HttpRequest {
  std::string method;                            // "GET", "POST", ...
  std::string path;                              // percent-decoded, without the query
  std::multimap<std::string, std::string> query; // decoded query parameters
  std::map<std::string, std::string> headers;    // names lower-cased
  std::string body;
  std::string peer;                              // "127.0.0.1:53412"
  bool tls = false;

  // The header value, or "" when absent.
  std::string Header(const std::string& lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;                      // omitted when empty
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
};

// Sends the response. Call exactly once, from any thread; calls after the client has gone
// are dropped silently. Cheap to copy.
using HttpResponder = std::function<void(HttpResponse)>;

// Runs on the loop thread: must not block (hand slow work to a WorkQueue).
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual void Handle(HttpRequest request, HttpResponder respond) = 0;
};

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;                    // 0: the kernel picks; see HttpServer::port()
  // TLS: the server certificate chain (leaf first) and its key. The key may be an HSM key
  // (an EVP_PKEY from hsm::ProviderContext, with `libctx` its library context).
  std::vector<X509*> tls_chain;         // borrowed for Create(); up-referenced
  EVP_PKEY* tls_key = nullptr;          // borrowed for Create(); up-referenced
  OSSL_LIB_CTX* libctx = nullptr;
  // Plain HTTP: only with this set AND a loopback address; otherwise Create() refuses.
  bool allow_plain_http_on_loopback = false;

  size_t max_header_bytes = 16 * 1024;  // request line + headers; beyond: 431
  size_t max_body_bytes = 1024 * 1024;  // beyond: 413
  size_t max_connections = 1024;        // beyond: new connections are closed at once
  absl::Duration request_timeout = absl::Seconds(30);   // read/write of one request
  absl::Duration idle_timeout = absl::Seconds(60);      // keep-alive between requests
};

class HttpServer {
 public:
  // kInvalidArgument: plain HTTP not on loopback, missing TLS material, bad limits.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options,
                                                           HttpHandler* handler);
  virtual ~HttpServer() = default;

  // Binds, listens and starts the loop thread. kUnavailable when the address is in use.
  virtual absl::Status Start() = 0;
  // The bound port (after Start()).
  virtual uint16_t port() const = 0;
  // Stops accepting, waits up to `grace` for requests in flight to be answered, then closes
  // every connection and joins the loop thread. Idempotent.
  virtual void Shutdown(absl::Duration grace) = 0;

  // Connections open and requests awaiting an answer (for /metrics).
  virtual size_t open_connections() const = 0;
  virtual size_t requests_in_flight() const = 0;
};

}  // namespace masa::queue
