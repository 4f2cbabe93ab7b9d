#include "common/testing/subprocess.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

extern char** environ;

namespace masa::subprocess {
namespace {

absl::Status ErrnoError(int err, const std::string& what) {
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  return err == ENOENT ? absl::NotFoundError(message) : absl::InternalError(message);
}

// The process environment with `changes` applied, as NAME=value strings.
std::vector<std::string> ChildEnvironment(const EnvChanges& changes) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [name, value] : changes) {
    if (value) {
      env[name] = *value;
    } else {
      env.erase(name);
    }
  }
  std::vector<std::string> out;
  for (const auto& [name, value] : env) out.push_back(absl::StrCat(name, "=", value));
  return out;
}

// Pointers into `strings` with a terminating null, for posix_spawn; `strings` must outlive
// them.
std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Closes the descriptors it holds on every path out of RunProcess.
struct Fds {
  int fd[4] = {-1, -1, -1, -1};  // out read, out write, err read, err write
  ~Fds() {
    for (int f : fd) {
      if (f >= 0) close(f);
    }
  }
  void Close(int i) {
    if (fd[i] >= 0) close(fd[i]);
    fd[i] = -1;
  }
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The number of threads of this process (entries of /proc/self/task).
int ThreadCount() {
  int n = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (const dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(dir);
  }
  return n;
}

// The threads that may run at a fork: the caller's, those that ran before main(), and
// under ThreadSanitizer its background thread, which it starts with the first thread of the
// process and which takes part in fork() safely.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MASA_TSAN_BACKGROUND_THREAD 1
#endif
#endif
#ifdef MASA_TSAN_BACKGROUND_THREAD
const int kThreadsAtStart = std::max(ThreadCount(), 2);
#else
const int kThreadsAtStart = ThreadCount();
#endif

// Forks; the child runs `body` and leaves with its return value.
pid_t ForkOrDie(const std::function<int()>& body) {
  if (int threads = ThreadCount(); threads > kThreadsAtStart) {
    std::fprintf(stderr,
                 "ForkChild: %d threads are running besides this one; a lock one of them holds "
                 "at the fork would hang the child. Fork before starting threads (see "
                 "subprocess.h).\n",
                 threads - 1);
    std::abort();
  }
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    std::fprintf(stderr, "ForkChild: fork: %s\n", std::strerror(errno));
    std::abort();
  }
  if (pid == 0) _exit(body());
  return pid;
}

}  // namespace

int ExitCodeOf(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

std::ostream& operator<<(std::ostream& os, const ProcessResult& r) {
  os << "$ " << absl::StrJoin(r.argv, " ") << "\nexit code " << r.exit_code;
  if (r.timed_out) os << " (killed after the timeout)";
  return os << "\n--- stdout ---\n" << r.out << "\n--- stderr ---\n" << r.err << "\n---";
}

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const ProcessOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("RunProcess needs a program");
  ProcessResult result;
  result.argv = argv;

  Fds fds;
  if (pipe2(&fds.fd[0], O_CLOEXEC) != 0) return ErrnoError(errno, "pipe2");
  if (pipe2(&fds.fd[2], O_CLOEXEC) != 0) return ErrnoError(errno, "pipe2");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, options.merge_stderr ? fds.fd[1] : fds.fd[3], 2);

  std::vector<std::string> args = argv;
  std::vector<std::string> env = ChildEnvironment(options.env);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, c_args[0], &actions, nullptr, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return ErrnoError(rc, absl::StrCat("cannot start ", argv[0]));
  fds.Close(1);
  fds.Close(3);

  // Drain both pipes together so that a child filling one of them never blocks.
  const absl::Time deadline = absl::Now() + options.timeout;
  std::string* sinks[2] = {&result.out, &result.err};
  int open_pipes = 2;
  while (open_pipes > 0) {
    pollfd pfd[2] = {{fds.fd[0], POLLIN, 0}, {fds.fd[2], POLLIN, 0}};
    int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    int n = poll(pfd, 2, static_cast<int>(std::min<int64_t>(wait_ms, 1000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return ErrnoError(err, "poll");
    }
    for (int i = 0; i < 2; ++i) {
      if (pfd[i].fd < 0 || (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[8192];
      ssize_t got = read(pfd[i].fd, buf, sizeof(buf));
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        fds.Close(i * 2);
        --open_pipes;
      }
    }
  }

  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError(errno, "waitpid");
  }
  result.exit_code = ExitCodeOf(status);
  return result;
}

// ---------------------------------------------------------------------------------------
// Child

Child::~Child() {
  if (running()) Kill();
}

bool Child::Signal(int sig) {
  if (!running()) return false;
  return kill(pid_, sig) == 0;
}

std::optional<int> Child::Wait(absl::Duration timeout) {
  if (exit_code_) return exit_code_;
  if (pid_ <= 0) return std::nullopt;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = ExitCodeOf(status);
      return exit_code_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

int Child::Wait() {
  if (exit_code_) return *exit_code_;
  if (pid_ <= 0) return -1;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  exit_code_ = ExitCodeOf(status);
  return *exit_code_;
}

int Child::Terminate(absl::Duration grace) {
  Signal(SIGTERM);
  if (std::optional<int> code = Wait(grace)) return *code;
  return Kill();
}

int Child::Kill() {
  if (exit_code_) return *exit_code_;
  if (pid_ <= 0) return -1;
  kill(pid_, SIGKILL);
  return Wait();
}

std::unique_ptr<Child> ForkChild(std::function<int()> body) {
  struct Forked : Child {
    explicit Forked(pid_t pid) { pid_ = pid; }
  };
  return std::make_unique<Forked>(ForkOrDie(body));
}

PipedChild::~PipedChild() {
  if (running()) Kill();
  if (pipe_fd_ >= 0) close(pipe_fd_);
}

std::unique_ptr<PipedChild> ForkChildWithPipe(std::function<int(int write_fd)> body) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "ForkChildWithPipe: pipe2: %s\n", std::strerror(errno));
    std::abort();
  }
  std::unique_ptr<PipedChild> child(new PipedChild());
  child->pid_ = ForkOrDie([&] {
    close(fds[0]);
    return body(fds[1]);
  });
  close(fds[1]);
  child->pipe_fd_ = fds[0];
  return child;
}

// ---------------------------------------------------------------------------------------
// Daemon

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
    return absl::InternalError(
        absl::StrCat("cannot start ", options.argv[0], ": ", std::strerror(rc)));
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
        d->ready_rest_ =
            seen.substr(at + options.ready_prefix.size(), end - at - options.ready_prefix.size());
        break;
      }
    }
    int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0) {
      d->Kill();
      return absl::DeadlineExceededError(absl::StrCat(
          options.argv[0], " printed no \"", options.ready_prefix, "\" line within ",
          absl::FormatDuration(options.start_timeout), "; stdout:\n", seen, "\nlog:\n", d->log()));
    }
    pollfd pfd = {d->stdout_fd_, POLLIN, 0};
    int n = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(wait_ms, 1000)));
    if (n < 0 && errno != EINTR) {
      const int err = errno;
      d->Kill();
      return absl::InternalError(absl::StrCat("poll: ", std::strerror(err)));
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
  // Before the reader thread is joined: it ends at the EOF the child's death brings.
  if (running()) Kill();
  if (drainer_.joinable()) drainer_.join();
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

std::string Daemon::output() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stdout_;
}

std::string Daemon::log() const { return ReadAll(log_path_); }

}  // namespace masa::subprocess
