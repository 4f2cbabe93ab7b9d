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
  std::string method;                             // "GET", "POST", ...
  std::string path;                               // percent-decoded, without the query
  std::multimap<std::string, std::string> query;  // decoded query parameters
  std::map<std::string, std::string> headers;     // names lower-cased
  std::string body;
  std::string peer;  // "127.0.0.1:53412"
  bool tls = false;

  // The header value, or "" when absent.
  std::string Header(const std::string& lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;                                  // omitted when empty
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
};

// Sends the response. Call exactly once, from any thread; calls after the client has gone
// (or after the server shut down, even after it was destroyed) are dropped silently, and a
// second call is dropped with a warning. Cheap to copy. A response whose status is outside
// 100..599 or whose header holds CR/LF is replaced by a 500. Content-Length is computed;
// Content-Length / Transfer-Encoding in `headers` are ignored.
using HttpResponder = std::function<void(HttpResponse)>;

// Runs on the loop thread: must not block (hand slow work to a WorkQueue). While a request
// waits for its answer the server watches the connection: when the client hangs up, the
// request stops counting as in flight and its answer is dropped.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual void Handle(HttpRequest request, HttpResponder respond) = 0;
};

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: the kernel picks; see HttpServer::port()
  // TLS: the server certificate chain (leaf first) and its key. The key may be an HSM key
  // (an EVP_PKEY from hsm::ProviderContext, with `libctx` its library context).
  std::vector<X509*> tls_chain;  // borrowed for Create(); up-referenced
  EVP_PKEY* tls_key = nullptr;   // borrowed for Create(); up-referenced
  OSSL_LIB_CTX* libctx = nullptr;
  // Plain HTTP: only with this set AND a loopback address; otherwise Create() refuses.
  bool allow_plain_http_on_loopback = false;

  // Limits, and what a client sees at each. A refused request never reaches the handler.
  //  - Framing (RFC 9112; against request smuggling). The server judges each request head as
  //    it arrives, before libevent 2.1's evhttp parses it (see internal/request_head.h), and
  //    answers itself with 400, an RFC 9457 problem+json body whose detail says what was
  //    wrong, and "Connection: close": a line ending in a bare LF; a header line starting
  //    with white space (obs-fold); a control character other than HTAB (NUL, CR, ...) in the
  //    request line or a header; a header name that is not a token or has white space before
  //    its colon; a target not in origin form ("/path", or "*" for OPTIONS), e.g. absolute
  //    form "http://host/path"; no Host in HTTP/1.1, or two; two Content-Length headers, or
  //    one that is not plain digits ("+2", "5, 5"); two Transfer-Encoding headers, or one
  //    other than exactly "chunked"; Content-Length together with Transfer-Encoding;
  //    Transfer-Encoding in HTTP/1.0; a body on HEAD.
  //  - Size, judged the same way, answered the same way: a request line longer than
  //    max_header_bytes: 414; request line + headers larger than max_header_bytes: 431 (both
  //    counted as libevent counts them, without line ends); a Content-Length over
  //    max_body_bytes: 413, before any of the body is read.
  //    After each of these answers the server reads and drops what the client still sends
  //    until the client closes or stays silent for 2 s (so that a reset does not destroy the
  //    answer), and closes.
  //  - What libevent still answers itself, with its own HTML page, closing the connection:
  //    a chunked body whose chunks add up to more than max_body_bytes: 413, as soon as they
  //    do; a request line too malformed to split in three, a malformed chunk: 400; an
  //    unknown or disallowed method (TRACE, CONNECT, ...): 501; an Expect other than
  //    100-continue: 417.
  //  - A path or query that does not decode: 400, problem+json; the connection stays open.
  //  - Connections. More than max_connections open, or more than max_connections_per_client
  //    from one client (one IPv4 address, or one IPv6 /64): the new connection is closed at
  //    once, unanswered. One client never holds more than three quarters of max_connections,
  //    whatever max_connections_per_client says, so that others always get in.
  //  - header_timeout: the TLS handshake and the request head (up to its blank line) must be
  //    complete within header_timeout (or request_timeout, if shorter) of the connection
  //    being accepted (closed, unanswered, otherwise), so idle or dribbling connections are
  //    dropped quickly;
  //  - request_timeout: libevent's inactivity timer while a request is read or an answer
  //    written (no byte moves for that long: closed, unanswered), and also a hard deadline:
  //    the whole request, body included, must arrive within request_timeout of the
  //    connection being accepted;
  //  - idle_timeout: a kept-alive connection may stay silent this long after an answer,
  //    and must deliver its next request head within idle_timeout + header_timeout and the
  //    whole request within idle_timeout + request_timeout.
  //  These deadlines close a connection only between answers (an answer once started is
  //  written whole, bounded by request_timeout's inactivity timer), and over TLS with
  //  close_notify once the handshake is done, so a client can tell an idle connection
  //  closed on purpose from an answer cut short.
  // Keep-alive is HTTP/1.1's default (and HTTP/1.0's with "Connection: keep-alive").
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  size_t max_connections = 1024;
  size_t max_connections_per_client = 64;
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration request_timeout = absl::Seconds(30);
  absl::Duration idle_timeout = absl::Seconds(60);
};

class HttpServer {
 public:
  // Builds the TLS context once (TLS 1.2 and 1.3 only) from options.tls_chain/tls_key in
  // options.libctx; with no TLS material, serves plain HTTP if allowed and the address is
  // a loopback literal. kInvalidArgument: plain HTTP not allowed or not on loopback, a key
  // that does not match the certificate, zero limits, no handler. `handler` must outlive
  // the server.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options,
                                                            HttpHandler* handler);
  virtual ~HttpServer() = default;

  // Binds, listens and starts the loop thread. kUnavailable when the address is in use
  // (or cannot be bound); kFailedPrecondition when called twice.
  virtual absl::Status Start() = 0;
  // The bound port (after Start()).
  virtual uint16_t port() const = 0;
  // Stops accepting, waits up to `grace` for requests in flight to be answered and written
  // out (requests arriving meanwhile on open connections get 503 problem+json with
  // Retry-After, and every answer carries "Connection: close"), then closes every
  // connection and joins the loop thread. Idempotent; the destructor calls Shutdown(zero).
  // Call from any thread but the loop thread (not from Handle()).
  virtual void Shutdown(absl::Duration grace) = 0;

  // Connections open and requests handed to the handler whose answer has not been written
  // out yet (for /metrics). Any thread.
  virtual size_t open_connections() const = 0;
  virtual size_t requests_in_flight() const = 0;
};

}  // namespace masa::queue
