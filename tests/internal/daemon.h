// A long-running child process for end-to-end tests (masad): started with posix_spawn, ready
// once a given line appears on its stdout, stopped with SIGTERM or SIGKILL.
//
//   auto masad = Daemon::Start({.argv = {MASAD, "--config", toml, "--listen", "127.0.0.1:0"},
//                               .ready_prefix = "masad listening on ",
//                               .log_path = dir + "/masad.log"});
//   ASSERT_TRUE(masad.ok()) << masad.status();
//   std::string url = (*masad)->ready_rest();   // "https://127.0.0.1:PORT"
//   EXPECT_EQ((*masad)->Terminate(absl::Seconds(30)), 0);
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/internal/subprocess.h"

namespace masa::e2e {

struct DaemonOptions {
  std::vector<std::string> argv;
  EnvChanges env;  // changes to the inherited environment (see subprocess.h)
  // Start() returns once a stdout line starts with this.
  std::string ready_prefix;
  // How long Start() waits for that line before it kills the child.
  absl::Duration start_timeout = absl::Seconds(60);
  // stderr is appended to this file (required: a daemon's log must not fill a pipe).
  std::string log_path;
};

// Owns one child. Not copyable. Its destructor SIGKILLs and reaps a child still running.
// Methods are for one controlling thread, except pid() and output().
class Daemon {
 public:
  // Spawns the program and reads its stdout until the ready line. kDeadlineExceeded when
  // the line does not come in time, kFailedPrecondition when the child exits first (the
  // message holds its exit code and log); the child is reaped in both cases.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const DaemonOptions& options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  pid_t pid() const { return pid_; }
  // The ready line after ready_prefix ("https://127.0.0.1:PORT").
  const std::string& ready_rest() const { return ready_rest_; }
  bool running() const { return !exit_code_.has_value(); }

  // Sends a signal to a running child; false if it already exited.
  bool Signal(int sig);
  // Waits up to `timeout` for the child to exit: its exit code (128 + signal number when a
  // signal ended it), or nullopt when it is still running.
  std::optional<int> Wait(absl::Duration timeout);
  // SIGTERM, then SIGKILL after `grace`; the exit code (137 when it had to be killed).
  int Terminate(absl::Duration grace);
  // SIGKILL and reap; the exit code (137 unless it had already exited).
  int Kill();

  // Everything the child wrote to stdout so far, and its stderr log.
  std::string output() const;
  std::string log() const;

 private:
  Daemon() = default;
  void Drain();  // the stdout reader thread, after the ready line

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string log_path_;
  std::string ready_rest_;
  std::optional<int> exit_code_;
  std::thread drainer_;
  mutable std::mutex mu_;
  std::string stdout_;  // guarded by mu_
};

}  // namespace masa::e2e
