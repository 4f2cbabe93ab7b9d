// Child processes for tests and benchmarks, one way for every folder: run a program to
// completion with its output captured, keep a daemon running until it prints its ready line,
// or fork a copy of the test itself (a second process on one store, a writer to SIGKILL).
//
//   MASA_ASSIGN_OR_RETURN(ProcessResult r, RunProcess({"openssl", "version"}));
//   EXPECT_EQ(r.exit_code, 0) << r;
//
//   auto masad = Daemon::Start({.argv = {MASAD, "--config", toml, "--listen", "127.0.0.1:0"},
//                               .ready_prefix = "masad listening on ",
//                               .log_path = dir + "/masad.log"});
//   std::string url = (*masad)->ready_rest();  // "https://127.0.0.1:PORT"
//   EXPECT_EQ((*masad)->Terminate(absl::Seconds(30)), 0);
//
//   auto writer = ForkChildWithPipe([&](int fd) { return WriteAndReport(fd); });
//   ... read(writer->pipe_fd(), ...) ...; writer->Kill();
//
// Test-only code (masa::common_testing): it aborts where a test cannot go on (fork failing).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace masa::subprocess {

// Changes to the inherited environment: a value sets the variable, nullopt removes it.
using EnvChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

struct ProcessOptions {
  EnvChanges env = {};  // see EnvChanges
  // The child is killed (SIGKILL) after this long; the result then has timed_out set.
  absl::Duration timeout = absl::Seconds(60);
  // stderr goes to the stdout pipe: `out` holds both as the child interleaved them, `err`
  // stays empty.
  bool merge_stderr = false;
};

struct ProcessResult {
  std::vector<std::string> argv;
  int exit_code = -1;  // the exit status, or 128 + signal number when killed by a signal
  bool timed_out = false;
  std::string out;  // everything written to stdout
  std::string err;  // everything written to stderr
};

// Prints the command, exit code and both streams, for test failure messages.
std::ostream& operator<<(std::ostream& os, const ProcessResult& r);

// Starts argv[0] (searched in PATH when it has no '/') with stdin from /dev/null and waits
// for it. Errors only when the process cannot be started (kNotFound for a missing program);
// a non-zero exit is a normal result. Not thread-safe with respect to other threads that
// change the environment.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const ProcessOptions& options = {});

// The exit code of a waitpid() status: the exit status, or 128 + the signal number.
int ExitCodeOf(int wait_status);

// Owns one running child process. Not copyable. Its destructor SIGKILLs and reaps a child
// still running, so a failed test leaves nothing behind. Methods are for one controlling
// thread, except pid().
class Child {
 public:
  virtual ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exit_code_.has_value(); }

  // Sends a signal to a running child; false if it already exited.
  bool Signal(int sig);
  // Waits up to `timeout` for the child to exit: its exit code (128 + signal number when a
  // signal ended it), or nullopt when it is still running.
  std::optional<int> Wait(absl::Duration timeout);
  // Waits for the child to exit, however long it takes; its exit code.
  int Wait();
  // SIGTERM, then SIGKILL after `grace`; the exit code (137 when it had to be killed).
  int Terminate(absl::Duration grace);
  // SIGKILL and reap; the exit code (137 unless it had already exited).
  int Kill();

 protected:
  Child() = default;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// A copy of this process, forked, that runs `body` and leaves with _exit(body()): it never
// returns into the caller's code (no test framework, no atexit handlers in the child).
// stdio buffers are flushed before the fork so nothing is written twice. The child may use
// only what it creates itself (its own Store, its own LMDB environment): nothing that holds
// an LMDB environment or a PKCS#11 session survives fork(). Aborts when fork() fails, and
// when this process runs any thread besides the caller's: a lock another thread held at
// the fork (the sanitizer allocators', OpenSSL's) stays held forever in the child, which
// then hangs at random. Fork the children first, and start threads (an open Store's
// checkpoint timer, a server) after.
std::unique_ptr<Child> ForkChild(std::function<int()> body);

// A forked child, as ForkChild, with a pipe from it: `body` gets the write end, the parent
// reads from pipe_fd() (closed by the destructor). EOF once the child has exited.
class PipedChild : public Child {
 public:
  ~PipedChild() override;
  int pipe_fd() const { return pipe_fd_; }

 private:
  friend std::unique_ptr<PipedChild> ForkChildWithPipe(std::function<int(int write_fd)> body);
  PipedChild() = default;
  int pipe_fd_ = -1;
};
std::unique_ptr<PipedChild> ForkChildWithPipe(std::function<int(int write_fd)> body);

struct DaemonOptions {
  std::vector<std::string> argv = {};  // argv[0] is a path (not searched in PATH)
  EnvChanges env = {};                 // changes to the inherited environment
  // Start() returns once a stdout line starts with this.
  std::string ready_prefix = {};
  // How long Start() waits for that line before it kills the child.
  absl::Duration start_timeout = absl::Seconds(60);
  // stderr is appended to this file (required: a daemon's log must not fill a pipe).
  std::string log_path = {};
};

// A long-running program (masad): started with posix_spawn, ready once a given line appears
// on its stdout, whose later stdout is collected by a thread of its own.
class Daemon : public Child {
 public:
  // Spawns the program and reads its stdout until the ready line. kDeadlineExceeded when
  // the line does not come in time, kFailedPrecondition when the child exits first (the
  // message holds its exit code and log); the child is reaped in both cases.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const DaemonOptions& options);
  ~Daemon() override;

  // The ready line after ready_prefix ("https://127.0.0.1:PORT").
  const std::string& ready_rest() const { return ready_rest_; }

  // Everything the child wrote to stdout so far (any thread), and its stderr log.
  std::string output() const;
  std::string log() const;

 private:
  Daemon() = default;
  void Drain();  // the stdout reader thread, after the ready line

  int stdout_fd_ = -1;
  std::string log_path_;
  std::string ready_rest_;
  std::thread drainer_;
  mutable std::mutex mu_;
  std::string stdout_;  // guarded by mu_
};

}  // namespace masa::subprocess
