#include "tests/internal/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/internal/subprocess.h"

namespace masa::e2e {
namespace {

int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const DaemonOptions& options) {
  if (options.argv.empty() || options.ready_prefix.empty() || options.log_path.empty()) {
    return absl::InvalidArgumentError("Daemon::Start needs argv, ready_prefix and log_path");
  }
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, options.log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::vector<std::string> args = options.argv;
  std::vector<std::string> env = ChildEnvironment(options.env);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);
  std::unique_ptr<Daemon> d(new Daemon());
  d->log_path_ = options.log_path;
  int rc = posix_spawn(&d->pid_, c_args[0], &actions, nullptr, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    d->pid_ = -1;
    return absl::InternalError(absl::StrCat("cannot start ", options.argv[0], ": ",
                                            std::strerror(rc)));
  }
  d->stdout_fd_ = out[0];

  // Read stdout until the ready line, the child's exit (EOF) or the deadline.
  const absl::Time deadline = absl::Now() + options.start_timeout;
  std::string seen;
  while (true) {
    size_t at = seen.find(options.ready_prefix);
    if (at != std::string::npos && (at == 0 || seen[at - 1] == '\n')) {
      size_t end = seen.find('\n', at);
      if (end != std::string::npos) {
        d->ready_rest_ = seen.substr(at + options.ready_prefix.size(),
                                     end - at - options.ready_prefix.size());
        break;
      }
    }
    int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0) {
      d->Kill();
      return absl::DeadlineExceededError(
          absl::StrCat(options.argv[0], " printed no \"", options.ready_prefix, "\" line within ",
                       absl::FormatDuration(options.start_timeout), "; stdout:\n", seen,
                       "\nlog:\n", d->log()));
    }
    pollfd pfd = {d->stdout_fd_, POLLIN, 0};
    int n = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(wait_ms, 1000)));
    if (n < 0 && errno != EINTR) {
      d->Kill();
      return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
    }
    if (n <= 0) continue;
    char buf[4096];
    ssize_t got = read(d->stdout_fd_, buf, sizeof(buf));
    if (got > 0) {
      seen.append(buf, static_cast<size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      // EOF before the ready line: the child is exiting.
      std::optional<int> code = d->Wait(absl::Seconds(30));
      if (!code) d->Kill();
      return absl::FailedPreconditionError(
          absl::StrCat(options.argv[0], " exited (code ", code.value_or(-1),
                       ") before it was ready; stdout:\n", seen, "\nlog:\n", d->log()));
    }
  }
  d->stdout_ = seen;
  d->drainer_ = std::thread([raw = d.get()] { raw->Drain(); });
  return d;
}

void Daemon::Drain() {
  char buf[4096];
  while (true) {
    ssize_t got = read(stdout_fd_, buf, sizeof(buf));
    if (got > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      stdout_.append(buf, static_cast<size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      return;
    }
  }
}

Daemon::~Daemon() {
  if (pid_ > 0 && running()) Kill();
  if (drainer_.joinable()) drainer_.join();
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

bool Daemon::Signal(int sig) {
  if (pid_ <= 0 || !running()) return false;
  return kill(pid_, sig) == 0;
}

std::optional<int> Daemon::Wait(absl::Duration timeout) {
  if (exit_code_) return exit_code_;
  if (pid_ <= 0) return std::nullopt;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = ExitCode(status);
      return exit_code_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

int Daemon::Terminate(absl::Duration grace) {
  Signal(SIGTERM);
  if (std::optional<int> code = Wait(grace)) return *code;
  return Kill();
}

int Daemon::Kill() {
  if (exit_code_) return *exit_code_;
  if (pid_ <= 0) return -1;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  exit_code_ = ExitCode(status);
  return *exit_code_;
}

std::string Daemon::output() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stdout_;
}

std::string Daemon::log() const { return ReadAll(log_path_); }

}  // namespace masa::e2e
