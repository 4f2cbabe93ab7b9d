#include "queue/internal/libevent.h"

#include <cstdlib>
#include <mutex>
#include <string>

#include <event2/thread.h>

#include "common/log.h"

namespace masa::queue::internal {
namespace {

void LogFromLibevent(int severity, const char* msg) {
  // libevent warns about expected network events (a client reset, a refused connection);
  // those are not the operator's problem, so only its errors reach the warning level.
  LogLevel level = severity >= EVENT_LOG_ERR ? LogLevel::kWarning : LogLevel::kDebug;
  Log(level, std::string("libevent: ") + (msg != nullptr ? msg : ""));
}

}  // namespace

void InitLibevent() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (evthread_use_pthreads() != 0) {
      Log(LogLevel::kError, "libevent: evthread_use_pthreads failed");
      std::abort();  // every cross-thread wake-up depends on it
    }
    event_set_log_callback(&LogFromLibevent);
  });
}

}  // namespace masa::queue::internal
