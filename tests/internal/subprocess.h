// Runs a program to completion with its stdout and stderr captured, for end-to-end tests.
//
//   MASA_ASSIGN_OR_RETURN(ProcessResult r, RunProcess({"openssl", "version"}));
//   EXPECT_EQ(r.exit_code, 0) << r;
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace masa::e2e {

// Changes to the inherited environment: a value sets the variable, nullopt removes it.
using EnvChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

struct ProcessOptions {
  EnvChanges env;  // see EnvChanges
  // The child is killed (SIGKILL) after this long; the result then has timed_out set.
  absl::Duration timeout = absl::Seconds(60);
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

// The process environment with `changes` applied, as NAME=value strings.
std::vector<std::string> ChildEnvironment(const EnvChanges& changes);

// Pointers into `strings` with a terminating null, for posix_spawn; `strings` must outlive them.
std::vector<char*> CStrings(std::vector<std::string>& strings);

// Starts argv[0] (searched in PATH when it has no '/') with stdin from /dev/null and waits
// for it. Errors only when the process cannot be started (kNotFound for a missing program);
// a non-zero exit is a normal result. Not thread-safe with respect to other threads that
// change the environment.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const ProcessOptions& options = {});

}  // namespace masa::e2e
