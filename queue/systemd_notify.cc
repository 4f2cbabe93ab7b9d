#include "queue/systemd_notify.h"

#include <cstdlib>
#include <string>

#include <systemd/sd-daemon.h>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace masa::queue {
namespace {

void Notify(const std::string& state) {
  // sd_notify checks NOTIFY_SOCKET itself; checking first keeps tests free of its errors.
  if (std::getenv("NOTIFY_SOCKET") == nullptr) return;
  int r = sd_notify(/*unset_environment=*/0, state.c_str());
  if (r < 0) {
    Log(LogLevel::kWarning, absl::StrCat("sd_notify(", state, ") failed: error ", -r));
  }
}

}  // namespace

void NotifyReady() { Notify("READY=1"); }

void NotifyStopping() { Notify("STOPPING=1"); }

void NotifyStatus(std::string status) {
  for (char& c : status) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  Notify("STATUS=" + status);
}

}  // namespace masa::queue
