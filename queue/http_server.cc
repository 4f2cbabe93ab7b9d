#include "queue/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "queue/internal/address.h"
#include "queue/internal/admission.h"
#include "queue/internal/libevent.h"
#include "queue/internal/problem.h"
#include "queue/internal/request.h"
#include "queue/internal/request_head.h"
#include "queue/internal/tls.h"

namespace masa::queue {

std::string HttpRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {

using internal::EventBasePtr;
using internal::EventPtr;
using internal::EvhttpPtr;
using internal::RequestHeadCheck;
using internal::SslCtxPtr;

// How long a connection refused for its size stays open once the answer is out, reading
// and dropping what the client still sends: closing with unread bytes makes the kernel send
// a reset, which can destroy the answer before the client has read it.
constexpr absl::Duration kRefusalLinger = absl::Seconds(2);

class ServerImpl;
struct Connection;

// One request handed to the handler and not finished yet. Fields other than `answered`
// belong to the loop thread.
struct Exchange {
  evhttp_request* req = nullptr;  // null once finished or once the connection is gone
  Connection* conn = nullptr;
  bool sent = false;  // handed to evhttp_send_reply, waiting to be written
  std::atomic<bool> answered{false};
};

// What responders on other threads share with the loop. Outlives the server: a responder
// kept by a worker after Shutdown() finds `closed` and drops its answer.
struct Mailbox {
  std::mutex mu;
  bool closed = false;
  event* wake = nullptr;         // persistent user event of the loop
  ServerImpl* server = nullptr;  // valid while !closed
  std::thread::id loop_thread;
  std::deque<std::pair<std::shared_ptr<Exchange>, HttpResponse>> answers;
  std::deque<std::function<void()>> tasks;
};

// One accepted connection, from the bevcb until libevent frees it (its close callback).
// Loop thread only.
struct Connection {
  explicit Connection(const HttpServerOptions& o)
      : head_check(o.max_header_bytes, o.max_body_bytes) {}

  ServerImpl* server = nullptr;
  bufferevent* bev = nullptr;
  evhttp_connection* evcon = nullptr;  // known from the first loop turn after accept
  bool tls = false;
  EventPtr init;           // one-shot: learns evcon once libevent has built it
  EventPtr deadline;       // fires at the head's deadline, then at the whole request's
  absl::Time request_due;  // the whole request's deadline
  std::string client;      // whose connection it is (internal::ClientOf)
  bool admitted = false;   // counted in the server's ClientConnections
  EventPtr watch;          // notices a client leaving while its request is being handled
  std::vector<std::shared_ptr<Exchange>> pending;

  // Size limits, judged on the bytes of each request head as they reach the input buffer,
  // before evhttp reads them (evhttp would refuse with an HTML page of its own).
  RequestHeadCheck head_check;
  evbuffer_cb_entry* head_watch = nullptr;    // on the bufferevent's input buffer
  bufferevent_data_cb evhttp_read = nullptr;  // evhttp's read callback: set while it reads
  EventPtr recheck;                           // one-shot: judges bytes pipelined behind an answer
  size_t recheck_length = 0;                  // how many there were
  // The server answers a refusal itself: evhttp no longer sees the connection's bytes.
  bool refusing = false;
};

class ServerImpl final : public HttpServer {
 public:
  ServerImpl(const HttpServerOptions& options, HttpHandler* handler)
      : options_(options), handler_(handler), mailbox_(std::make_shared<Mailbox>()),
        clients_(
            internal::PerClientCap(options.max_connections, options.max_connections_per_client)) {}

  ~ServerImpl() override { Shutdown(absl::ZeroDuration()); }

  absl::Status Init(SslCtxPtr ssl_ctx) {
    ssl_ctx_ = std::move(ssl_ctx);
    internal::InitLibevent();
    base_.reset(event_base_new());
    if (base_ == nullptr) return absl::InternalError("event_base_new failed");
    http_.reset(evhttp_new(base_.get()));
    if (http_ == nullptr) return absl::InternalError("evhttp_new failed");
    evhttp_set_max_headers_size(http_.get(), static_cast<ev_ssize_t>(options_.max_header_bytes));
    evhttp_set_max_body_size(http_.get(), static_cast<ev_ssize_t>(options_.max_body_bytes));
    timeval request_tv = absl::ToTimeval(options_.request_timeout);
    evhttp_set_timeout_tv(http_.get(), &request_tv);
    evhttp_set_allowed_methods(http_.get(), EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                                EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                                EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    // libevent would otherwise label every answer without a type as text/html.
    evhttp_set_default_content_type(http_.get(), nullptr);
    evhttp_set_gencb(http_.get(), &ServerImpl::OnRequestThunk, this);
    evhttp_set_bevcb(http_.get(), &ServerImpl::OnNewConnectionThunk, this);

    wake_.reset(event_new(base_.get(), -1, EV_PERSIST, &ServerImpl::OnWakeThunk, this));
    if (wake_ == nullptr || event_add(wake_.get(), nullptr) != 0) {
      return absl::InternalError("cannot create the loop's wake-up event");
    }
    std::lock_guard<std::mutex> lock(mailbox_->mu);
    mailbox_->wake = wake_.get();
    mailbox_->server = this;
    return absl::OkStatus();
  }

  absl::Status Start() override {
    std::lock_guard<std::mutex> lock(lifecycle_mu_);
    if (started_ || stopped_) return absl::FailedPreconditionError("HttpServer already started");
    errno = 0;
    bound_ = evhttp_bind_socket_with_handle(http_.get(), options_.address.c_str(), options_.port);
    if (bound_ == nullptr) {
      int err = errno;
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", internal::FormatPeer(options_.address, options_.port), ": ",
          err == EADDRINUSE ? "address already in use"
                            : (err != 0 ? std::strerror(err) : "bind failed")));
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getsockname(evhttp_bound_socket_get_fd(bound_), reinterpret_cast<sockaddr*>(&ss), &len) ==
        0) {
      port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    }
    std::promise<void> running;
    thread_ = std::thread([this, &running] {
      {
        std::lock_guard<std::mutex> mlock(mailbox_->mu);
        mailbox_->loop_thread = std::this_thread::get_id();
      }
      running.set_value();
      event_base_loop(base_.get(), EVLOOP_NO_EXIT_ON_EMPTY);
    });
    running.get_future().wait();
    started_ = true;
    return absl::OkStatus();
  }

  uint16_t port() const override { return port_.load(); }

  void Shutdown(absl::Duration grace) override {
    std::lock_guard<std::mutex> lock(lifecycle_mu_);
    if (stopped_) return;
    stopped_ = true;
    if (thread_.joinable()) {
      if (thread_.get_id() == std::this_thread::get_id()) {
        Log(LogLevel::kError, "HttpServer::Shutdown called on its own loop thread");
        std::abort();
      }
      // 1. No new connections; new requests on open ones get 503 and Connection: close.
      std::promise<void> stopped_accepting;
      Post([this, &stopped_accepting] {
        draining_ = true;
        if (bound_ != nullptr) evhttp_del_accept_socket(http_.get(), bound_);
        bound_ = nullptr;
        stopped_accepting.set_value();
      });
      stopped_accepting.get_future().wait();
      // 2. Answers already being worked on may still arrive and be written.
      {
        std::unique_lock<std::mutex> drain_lock(drain_mu_);
        drain_cv_.wait_until(drain_lock, absl::ToChronoTime(absl::Now() + grace),
                             [this] { return in_flight_.load() == 0; });
      }
      // 3. Stop the loop; everything below runs on this thread alone.
      event_base_loopbreak(base_.get());
      thread_.join();
    }
    {
      std::lock_guard<std::mutex> mlock(mailbox_->mu);
      mailbox_->closed = true;
      mailbox_->server = nullptr;
      mailbox_->wake = nullptr;
      mailbox_->loop_thread = std::thread::id();
      mailbox_->answers.clear();
      mailbox_->tasks.clear();
    }
    // Frees every connection; their close callbacks count out what was still in flight.
    http_.reset();
    bound_ = nullptr;
    // Connections accepted in the loop's last turn, whose init event never ran.
    for (Connection* c : std::unordered_set<Connection*>(connections_)) {
      bufferevent_decref(c->bev);
      Forget(c);
    }
    wake_.reset();
    // Callbacks libevent deferred before the loop stopped (a bufferevent's deferred event
    // callback holds a reference to it) and the finalizers of what was freed above: without
    // one more turn event_base_free cancels them and a TLS connection is never freed.
    event_base_loop(base_.get(), EVLOOP_NONBLOCK);
    base_.reset();
    ssl_ctx_.reset();
  }

  size_t open_connections() const override { return open_.load(); }
  size_t requests_in_flight() const override { return in_flight_.load(); }

 private:
  // --- connections ---------------------------------------------------------------------

  static bufferevent* OnNewConnectionThunk(event_base* base, void* arg) {
    return static_cast<ServerImpl*>(arg)->OnNewConnection(base);
  }

  bufferevent* OnNewConnection(event_base* base) {
    if (draining_ || open_.load() >= options_.max_connections) return Refusal(base);
    auto conn = std::make_unique<Connection>(options_);
    conn->server = this;
    conn->tls = ssl_ctx_ != nullptr;
    if (conn->tls) {
      SSL* ssl = SSL_new(ssl_ctx_.get());
      if (ssl == nullptr) return Refusal(base);
      // Frees `ssl` itself when it fails.
      conn->bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                 BEV_OPT_CLOSE_ON_FREE);
      if (conn->bev != nullptr) bufferevent_openssl_set_allow_dirty_shutdown(conn->bev, 1);
    } else {
      conn->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    if (conn->bev == nullptr) return Refusal(base);
    conn->init.reset(event_new(base, -1, 0, &ServerImpl::OnConnectionInitThunk, conn.get()));
    conn->deadline.reset(evtimer_new(base, &ServerImpl::OnDeadlineThunk, conn.get()));
    if (conn->init == nullptr || conn->deadline == nullptr) {
      bufferevent_free(conn->bev);
      return Refusal(base);
    }
    // libevent builds the evhttp_connection around this bufferevent after we return; the
    // init event (run in this same loop turn, before any I/O on the socket) picks it up.
    // The extra reference keeps the bufferevent readable should libevent free it first.
    bufferevent_incref(conn->bev);
    event_active(conn->init.get(), EV_TIMEOUT, 0);
    ArmDeadlines(conn.get(), absl::ZeroDuration());
    open_.fetch_add(1);
    bufferevent* bev = conn->bev;
    connections_.insert(conn.release());
    return bev;
  }

  // A bufferevent that cannot take a socket: libevent's accept path then drops the new
  // connection at once and closes its socket (exactly once, since BEV_OPT_CLOSE_ON_FREE
  // tells evhttp_connection_free the socket is not its to close). Never returns nullptr:
  // for that libevent would substitute a plain-text bufferevent on a TLS port.
  static bufferevent* Refusal(event_base* base) {
    bufferevent* pair[2] = {nullptr, nullptr};
    if (bufferevent_pair_new(base, BEV_OPT_CLOSE_ON_FREE, pair) != 0) {
      Log(LogLevel::kError, "HttpServer: out of memory refusing a connection");
      std::abort();
    }
    bufferevent_free(pair[1]);
    return pair[0];
  }

  static void OnConnectionInitThunk(evutil_socket_t, short, void* arg) {
    auto* c = static_cast<Connection*>(arg);
    c->server->OnConnectionInit(c);
  }

  void OnConnectionInit(Connection* c) {
    void* cbarg = nullptr;
    bufferevent_getcb(c->bev, nullptr, nullptr, nullptr, &cbarg);
    // evhttp installs its callbacks with the evhttp_connection as argument; a freed
    // bufferevent has none.
    auto* evcon = static_cast<evhttp_connection*>(cbarg);
    bufferevent_decref(c->bev);
    if (evcon == nullptr) {
      Forget(c);
      return;
    }
    // One client may not take every connection: over its cap, closed at once, unanswered
    // (no byte has been read yet; for TLS, not even the ClientHello).
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof(peer);
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (fd >= 0 && getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) == 0) {
      c->client = internal::ClientOf(reinterpret_cast<sockaddr*>(&peer), peer_length);
    }
    if (!clients_.Admit(c->client)) {
      evhttp_connection_free(evcon);
      Forget(c);
      return;
    }
    c->admitted = true;
    c->evcon = evcon;
    by_evcon_[evcon] = c;
    // evhttp has just installed its callbacks and waits for the first request line.
    bufferevent_getcb(c->bev, &c->evhttp_read, nullptr, nullptr, nullptr);
    c->recheck.reset(event_new(base_.get(), -1, 0, &ServerImpl::OnRecheckThunk, c));
    // Without these (out of memory) evhttp's own limits and HTML answers still hold.
    if (c->recheck != nullptr) {
      c->head_watch = evbuffer_add_cb(bufferevent_get_input(c->bev), &ServerImpl::OnInputThunk, c);
    }
    if (c->head_watch == nullptr) HeadArrived(c);  // no head will be judged
    // An answer leaves as two TLS records (head, then body). With Nagle the second waits
    // for the client's ACK of the first, which a client delays by up to 40 ms: every
    // keep-alive request then took 40 ms more (load_bench: p50 61 ms instead of 20 ms).
    if (evutil_socket_t fd = bufferevent_getfd(c->bev); fd >= 0) {
      int one = 1;
      (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    evhttp_connection_set_closecb(evcon, &ServerImpl::OnConnectionClosedThunk, c);
  }

  static void OnConnectionClosedThunk(evhttp_connection*, void* arg) {
    auto* c = static_cast<Connection*>(arg);
    c->server->OnConnectionClosed(c);
  }

  // First thing evhttp_connection_free does, before it frees requests and the socket.
  void OnConnectionClosed(Connection* c) {
    if (c->head_watch != nullptr) {
      evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->head_watch);
    }
    for (const std::shared_ptr<Exchange>& ex : c->pending) {
      // A request libevent detached from its connection is ours to free; the others
      // libevent frees right after this callback.
      if (ex->req != nullptr && evhttp_request_get_connection(ex->req) == nullptr) {
        evhttp_request_free(ex->req);
      }
      ex->req = nullptr;
      ex->conn = nullptr;
      FinishOne();
    }
    c->pending.clear();
    by_evcon_.erase(c->evcon);
    Forget(c);
  }

  void Forget(Connection* c) {
    if (c->admitted) clients_.Release(c->client);
    connections_.erase(c);
    open_.fetch_sub(1);
    delete c;
  }

  // A new request is due: its head within header_timeout and the whole of it within
  // request_timeout (never later), both after `idle` (the kept-alive connection's grace).
  void ArmDeadlines(Connection* c, absl::Duration idle) {
    c->request_due = absl::Now() + idle + options_.request_timeout;
    timeval head_tv =
        absl::ToTimeval(idle + std::min(options_.header_timeout, options_.request_timeout));
    evtimer_add(c->deadline.get(), &head_tv);
  }

  // The request's head is complete (or left to evhttp): the body has until request_due.
  // Nothing to do while no request is being read (between OnRequest and OnComplete).
  void HeadArrived(Connection* c) {
    if (!evtimer_pending(c->deadline.get(), nullptr)) return;
    timeval rest = absl::ToTimeval(std::max(c->request_due - absl::Now(), absl::ZeroDuration()));
    evtimer_add(c->deadline.get(), &rest);
  }

  static void OnDeadlineThunk(evutil_socket_t, short, void* arg) {
    auto* c = static_cast<Connection*>(arg);
    // The deadline only runs between answers (OnRequest stops it, OnComplete starts it once
    // the answer is written out), so nothing of an answer is lost here. Over TLS the client
    // is told with close_notify that the server closed on purpose: without it the client's
    // TLS library reports "unexpected eof" and leaves that error queued on its thread.
    if (c->pending.empty()) SendCloseNotify(c);
    // Freed at once, unanswered (its close callback counts out a request in flight). Not by
    // half-closing the socket: OpenSSL would then try to write an alert to a socket shut for
    // writing, and raise SIGPIPE in a process that does not ignore it.
    evhttp_connection_free(c->evcon);
  }

  // Writes TLS close_notify straight to the socket (best effort, never blocks) when the
  // handshake is done, nothing else waits to be written and the client has not reset the
  // connection (a write would then raise SIGPIPE); leaves the loop thread's OpenSSL error
  // queue empty.
  static void SendCloseNotify(Connection* c) {
    if (!c->tls || evbuffer_get_length(bufferevent_get_output(c->bev)) != 0) return;
    SSL* ssl = bufferevent_openssl_get_ssl(c->bev);
    if (ssl == nullptr || !SSL_is_init_finished(ssl)) return;
    char byte;
    ssize_t n = recv(bufferevent_getfd(c->bev), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return;
    ERR_clear_error();
    (void)SSL_shutdown(ssl);
    ERR_clear_error();
  }

  void StartWatch(Connection* c) {
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (fd < 0) return;
    if (c->watch == nullptr) {
      c->watch.reset(event_new(base_.get(), fd, EV_READ, &ServerImpl::OnWatchThunk, c));
      if (c->watch == nullptr) return;
    }
    event_add(c->watch.get(), nullptr);
  }

  static void OnWatchThunk(evutil_socket_t fd, short, void* arg) {
    auto* c = static_cast<Connection*>(arg);
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return;  // more data (pipelined request, TLS record): libevent reads it later
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      event_add(c->watch.get(), nullptr);
      return;
    }
    // The client is gone while its request is being worked on: free the connection now
    // (its close callback marks the exchange gone) rather than when the answer bounces.
    evhttp_connection_free(c->evcon);
  }

  // --- size limits -----------------------------------------------------------------------

  // True while evhttp reads a request on `c`. It swaps its read callback out while it writes
  // an answer, its own refusals included.
  static bool EvhttpReading(const Connection* c) {
    bufferevent_data_cb read = nullptr;
    bufferevent_getcb(c->bev, &read, nullptr, nullptr, nullptr);
    return read != nullptr && read == c->evhttp_read;
  }

  static void OnInputThunk(evbuffer* input, const evbuffer_cb_info* info, void* arg) {
    auto* c = static_cast<Connection*>(arg);
    c->server->OnInput(c, input, info->n_added);
  }

  // Runs as bytes reach the input buffer, before the bufferevent hands them to evhttp, which
  // removes each line of a head once it has parsed it.
  void OnInput(Connection* c, evbuffer* input, size_t added) {
    if (added == 0 || c->refusing) return;
    if (c->head_check.verdict() != RequestHeadCheck::Verdict::kIncomplete) return;
    if (!EvhttpReading(c) || !c->pending.empty()) {
      c->head_check.Skip();
      HeadArrived(c);
      return;
    }
    size_t length = evbuffer_get_length(input);
    JudgeHead(c, input, length - std::min(added, length));
  }

  static void OnRecheckThunk(evutil_socket_t, short, void* arg) {
    auto* c = static_cast<Connection*>(arg);
    c->server->OnRecheck(c);
  }

  // Bytes that arrived behind an answer (pipelined) reach evhttp through its deferred read,
  // not through OnInput. OnComplete activates this event before evhttp schedules that read
  // in the same loop turn, so it runs first.
  void OnRecheck(Connection* c) {
    if (c->refusing || c->head_check.verdict() != RequestHeadCheck::Verdict::kIncomplete) return;
    evbuffer* input = bufferevent_get_input(c->bev);
    // evhttp removes each line it parses: if it was first after all, the request is its.
    if (!EvhttpReading(c) || !c->pending.empty() ||
        evbuffer_get_length(input) != c->recheck_length) {
      c->head_check.Skip();
      HeadArrived(c);
      return;
    }
    JudgeHead(c, input, 0);
  }

  // Feeds the input from `offset` on to the head check, without copying; refuses the request
  // when it breaks a limit.
  void JudgeHead(Connection* c, evbuffer* input, size_t offset) {
    size_t left = evbuffer_get_length(input) - offset;
    evbuffer_ptr pos;
    if (evbuffer_ptr_set(input, &pos, offset, EVBUFFER_PTR_SET) != 0) return;
    RequestHeadCheck::Verdict verdict = c->head_check.verdict();
    while (left > 0 && verdict == RequestHeadCheck::Verdict::kIncomplete) {
      constexpr int kVecs = 8;
      evbuffer_iovec vec[kVecs];
      int n = evbuffer_peek(input, static_cast<ev_ssize_t>(left), &pos, vec, kVecs);
      if (n <= 0) break;
      for (int i = 0;
           i < std::min(n, kVecs) && left > 0 && verdict == RequestHeadCheck::Verdict::kIncomplete;
           ++i) {
        size_t take = std::min(vec[i].iov_len, left);
        verdict =
            c->head_check.Feed(std::string_view(static_cast<const char*>(vec[i].iov_base), take));
        left -= take;
        evbuffer_ptr_set(input, &pos, take, EVBUFFER_PTR_ADD);
      }
    }
    if (verdict == RequestHeadCheck::Verdict::kFits) {
      HeadArrived(c);
    } else if (verdict != RequestHeadCheck::Verdict::kIncomplete) {
      Refuse(c);
    }
  }

  // Answers a request over a limit with problem+json and "Connection: close", taking the
  // connection from evhttp: evhttp has parsed part of the head at most and sees nothing more.
  // After the answer is out the connection lingers, dropping input, until the client closes,
  // goes quiet for kRefusalLinger or hits a timeout; then it is freed through evhttp.
  void Refuse(Connection* c) {
    c->refusing = true;
    bufferevent_setcb(c->bev, &ServerImpl::DropInput, &ServerImpl::OnRefusalSentThunk,
                      &ServerImpl::OnRefusalEventThunk, c);
    std::string answer = internal::ClosingAnswerBytes(
        internal::HeadRefusal(c->head_check, options_.max_header_bytes, options_.max_body_bytes),
        absl::Now());
    // Should this fail (out of memory), the connection's timeouts close it unanswered.
    (void)bufferevent_write(c->bev, answer.data(), answer.size());
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
  }

  // Ignores its argument: evhttp's deferred read, scheduled before the refusal, may still
  // call it once with evhttp's own.
  static void DropInput(bufferevent* bev, void*) {
    evbuffer* input = bufferevent_get_input(bev);
    evbuffer_drain(input, evbuffer_get_length(input));
  }

  static void OnRefusalSentThunk(bufferevent*, void* arg) {
    auto* c = static_cast<Connection*>(arg);
    absl::Duration quiet = std::min(kRefusalLinger, c->server->options_.request_timeout);
    timeval linger = absl::ToTimeval(quiet);
    bufferevent_set_timeouts(c->bev, &linger, nullptr);
  }

  // End of input, an error or a timeout (the request deadline too ends in one).
  static void OnRefusalEventThunk(bufferevent*, short, void* arg) {
    evhttp_connection_free(static_cast<Connection*>(arg)->evcon);
  }

  // --- requests --------------------------------------------------------------------------

  static void OnRequestThunk(evhttp_request* req, void* arg) {
    static_cast<ServerImpl*>(arg)->OnRequest(req);
  }

  void OnRequest(evhttp_request* req) {
    evhttp_connection* evcon = evhttp_request_get_connection(req);
    auto it = by_evcon_.find(evcon);
    if (it == by_evcon_.end()) {
      // Cannot happen: the init event runs before the first byte is read.
      Log(LogLevel::kError, "HttpServer: request on an unknown connection");
      evhttp_send_error(req, HTTP_INTERNAL, nullptr);
      return;
    }
    Connection* c = it->second;
    c->head_check.Skip();  // judged already, unless evhttp read the head otherwise
    evtimer_del(c->deadline.get());
    timeval request_tv = absl::ToTimeval(options_.request_timeout);
    evhttp_connection_set_timeout_tv(evcon, &request_tv);  // for writing the answer

    auto ex = std::make_shared<Exchange>();
    ex->req = req;
    ex->conn = c;
    c->pending.push_back(ex);
    in_flight_.fetch_add(1);
    evhttp_request_set_on_complete_cb(req, &ServerImpl::OnCompleteThunk, ex.get());

    if (draining_) {
      ex->answered = true;
      HttpResponse busy =
          Problem(503, "urn:masa:problem:unavailable", "Service unavailable",
                  "the server is shutting down; retry in a moment", {{"Retry-After", "1"}});
      Send(ex, std::move(busy));
      return;
    }
    absl::StatusOr<HttpRequest> request = internal::DecodeRequest(req);
    if (!request.ok()) {
      ex->answered = true;
      Send(ex, Problem(400, "urn:masa:problem:invalid-request", "Invalid request",
                       std::string(request.status().message())));
      return;
    }
    char* address = nullptr;
    uint16_t peer_port = 0;
    evhttp_connection_get_peer(evcon, &address, &peer_port);
    request->peer = internal::FormatPeer(address != nullptr ? address : "", peer_port);
    request->tls = c->tls;

    std::shared_ptr<Mailbox> mailbox = mailbox_;
    handler_->Handle(std::move(*request), [mailbox, ex](HttpResponse response) {
      Deliver(mailbox, ex, std::move(response));
    });
    // Still unanswered (and the connection still there): watch for the client leaving.
    if (ex->req != nullptr && !ex->sent) StartWatch(c);
  }

  // Any thread.
  static void Deliver(const std::shared_ptr<Mailbox>& mailbox, const std::shared_ptr<Exchange>& ex,
                      HttpResponse response) {
    if (ex->answered.exchange(true)) {
      Log(LogLevel::kWarning,
          "HttpServer: a request was answered twice; the second answer is dropped");
      return;
    }
    std::unique_lock<std::mutex> lock(mailbox->mu);
    if (mailbox->closed) return;
    if (std::this_thread::get_id() == mailbox->loop_thread) {
      ServerImpl* server = mailbox->server;
      lock.unlock();
      server->Send(ex, std::move(response));
      return;
    }
    mailbox->answers.emplace_back(ex, std::move(response));
    event_active(mailbox->wake, EV_TIMEOUT, 0);
  }

  // Runs `task` on the loop thread. The loop must be running.
  void Post(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mailbox_->mu);
    mailbox_->tasks.push_back(std::move(task));
    event_active(mailbox_->wake, EV_TIMEOUT, 0);
  }

  static void OnWakeThunk(evutil_socket_t, short, void* arg) {
    static_cast<ServerImpl*>(arg)->OnWake();
  }

  void OnWake() {
    std::deque<std::pair<std::shared_ptr<Exchange>, HttpResponse>> answers;
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(mailbox_->mu);
      answers.swap(mailbox_->answers);
      tasks.swap(mailbox_->tasks);
    }
    for (auto& task : tasks) task();
    for (auto& [ex, response] : answers) Send(ex, std::move(response));
  }

  // Loop thread. Drops the answer when the client has gone.
  void Send(const std::shared_ptr<Exchange>& ex, HttpResponse response) {
    if (ex->req == nullptr || ex->sent) return;
    evhttp_request* req = ex->req;
    if (ex->conn->watch != nullptr) event_del(ex->conn->watch.get());
    evbuffer* body = evhttp_request_get_output_buffer(req);
    absl::Status encoded = internal::EncodeResponse(response, req, body);
    if (!encoded.ok()) {
      Log(LogLevel::kError,
          absl::StrCat("HttpServer: handler answer refused: ", encoded.message()));
      evhttp_clear_headers(evhttp_request_get_output_headers(req));
      evbuffer_drain(body, evbuffer_get_length(body));
      response = Problem(500, "urn:masa:problem:internal", "Internal error",
                         "the server could not send its answer");
      (void)internal::EncodeResponse(response, req, body);
    }
    if (draining_) {
      evhttp_remove_header(evhttp_request_get_output_headers(req), "Connection");
      evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    }
    ex->sent = true;
    // May complete (and even free the connection) before it returns.
    evhttp_send_reply(req, response.status, nullptr, nullptr);
  }

  static void OnCompleteThunk(evhttp_request*, void* arg) {
    auto* ex = static_cast<Exchange*>(arg);
    ex->conn->server->OnComplete(ex);
  }

  // The answer has been written out (libevent frees the request after this).
  void OnComplete(Exchange* ex) {
    Connection* c = ex->conn;
    ex->req = nullptr;
    ex->conn = nullptr;
    for (auto it = c->pending.begin(); it != c->pending.end(); ++it) {
      if (it->get() == ex) {
        c->pending.erase(it);  // may destroy *ex
        break;
      }
    }
    // Between requests the connection may idle for idle_timeout; then the next request's
    // deadlines run. libevent's inactivity timer is set beyond them, so that a silent
    // connection is closed by the deadline (with close_notify), not by libevent (without).
    timeval idle_tv =
        absl::ToTimeval(options_.idle_timeout + options_.request_timeout + options_.header_timeout);
    evhttp_connection_set_timeout_tv(c->evcon, &idle_tv);
    ArmDeadlines(c, options_.idle_timeout);
    // The next request starts with what is left in the input buffer.
    c->head_check.Reset();
    if (size_t buffered = evbuffer_get_length(bufferevent_get_input(c->bev));
        buffered > 0 && c->recheck != nullptr) {
      c->recheck_length = buffered;
      event_active(c->recheck.get(), EV_TIMEOUT, 0);
    }
    FinishOne();
  }

  void FinishOne() {
    if (in_flight_.fetch_sub(1) == 1) {
      { std::lock_guard<std::mutex> lock(drain_mu_); }
      drain_cv_.notify_all();
    }
  }

  const HttpServerOptions options_;
  HttpHandler* const handler_;
  std::shared_ptr<Mailbox> mailbox_;

  SslCtxPtr ssl_ctx_;
  EventBasePtr base_;
  EvhttpPtr http_;
  EventPtr wake_;
  evhttp_bound_socket* bound_ = nullptr;  // owned by http_
  std::atomic<uint16_t> port_{0};

  // Loop thread only (and the shutting-down thread once the loop has stopped).
  bool draining_ = false;
  std::unordered_set<Connection*> connections_;  // owned
  std::unordered_map<evhttp_connection*, Connection*> by_evcon_;
  internal::ClientConnections clients_;

  std::atomic<size_t> open_{0};
  std::atomic<size_t> in_flight_{0};
  std::mutex drain_mu_;
  std::condition_variable drain_cv_;

  std::mutex lifecycle_mu_;
  bool started_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

absl::Status ValidateOptions(const HttpServerOptions& o) {
  if (o.max_header_bytes == 0)
    return absl::InvalidArgumentError("max_header_bytes must be positive");
  if (o.max_body_bytes == 0) return absl::InvalidArgumentError("max_body_bytes must be positive");
  if (o.max_connections == 0) return absl::InvalidArgumentError("max_connections must be positive");
  if (o.max_connections_per_client == 0) {
    return absl::InvalidArgumentError("max_connections_per_client must be positive");
  }
  if (o.header_timeout <= absl::ZeroDuration() || o.request_timeout <= absl::ZeroDuration() ||
      o.idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "header_timeout, request_timeout and idle_timeout must be positive");
  }
  if (o.address.empty()) return absl::InvalidArgumentError("address is empty");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpServerOptions& options,
                                                               HttpHandler* handler) {
  if (handler == nullptr) return absl::InvalidArgumentError("HttpServer needs a handler");
  MASA_RETURN_IF_ERROR(ValidateOptions(options));
  SslCtxPtr ssl_ctx;
  bool has_tls = !options.tls_chain.empty() || options.tls_key != nullptr;
  if (has_tls) {
    MASA_ASSIGN_OR_RETURN(
        ssl_ctx, internal::NewServerSslContext(options.tls_chain, options.tls_key, options.libctx));
  } else if (!options.allow_plain_http_on_loopback) {
    return absl::InvalidArgumentError(
        "no TLS certificate and key given; plain HTTP needs allow_plain_http_on_loopback");
  } else if (!internal::IsLoopbackLiteral(options.address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("plain HTTP is only served on a loopback address (127.0.0.0/8 or ::1), not '",
                     options.address, "'; configure a TLS certificate and key"));
  }
  auto server = std::make_unique<ServerImpl>(options, handler);
  MASA_RETURN_IF_ERROR(server->Init(std::move(ssl_ctx)));
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace masa::queue
