// Owning pointers for libevent and libssl handles used by queue/, and process-wide libevent
// setup. Internal to queue/: no other folder includes libevent.
#pragma once

#include <memory>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

namespace masa::queue::internal {

struct EventBaseDeleter {
  void operator()(event_base* b) const { event_base_free(b); }
};
struct EvhttpDeleter {
  void operator()(evhttp* h) const { evhttp_free(h); }
};
struct EventDeleter {
  void operator()(event* e) const { event_free(e); }
};
struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
// evhttp_uridecode() and friends return malloc()ed strings.
struct MallocDeleter {
  void operator()(char* p) const { free(p); }
};

using EventBasePtr = std::unique_ptr<event_base, EventBaseDeleter>;
using EvhttpPtr = std::unique_ptr<evhttp, EvhttpDeleter>;
using EventPtr = std::unique_ptr<event, EventDeleter>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;
using MallocedString = std::unique_ptr<char, MallocDeleter>;

// Once per process, before the first event_base: turns on libevent's pthread locking (so
// event_active() may be called from any thread) and routes libevent's own log lines to
// masa::Log. Thread-safe; later calls do nothing.
void InitLibevent();

}  // namespace masa::queue::internal
