// Readiness and status reports to systemd for a Type=notify service (sd_notify(3)).
// Every call is a no-op when NOTIFY_SOCKET is unset (not started by systemd, tests).
//
//   MASA_RETURN_IF_ERROR(server->Start());
//   queue::NotifyReady();                 // systemd now considers masad started
//   ...
//   queue::NotifyStopping();              // on SIGTERM, before draining
#pragma once

#include <string>

namespace masa::queue {

// "READY=1": the service accepts requests. Call once, after the listeners are up.
void NotifyReady();
// "STOPPING=1": shutdown has begun (draining in-flight work).
void NotifyStopping();
// "STATUS=<status>": one line shown by `systemctl status`; newlines are replaced by spaces.
void NotifyStatus(std::string status);

}  // namespace masa::queue
