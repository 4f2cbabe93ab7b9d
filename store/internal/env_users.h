// Who else has the store's LMDB environment open. Several processes may use one environment
// at once (masad serving, masactl onboarding a customer), and LMDB serializes their writers;
// a schema migration, though, rewrites records that another process would go on reading in
// the old layout, so it runs only in a process that has the environment to itself.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace masa::store::internal {

// True when another process has the LMDB environment in `store_dir` open (read-only or
// not). Reads LMDB's own lock file: every process holding an environment open keeps a
// shared fcntl(2) lock on the first byte of DIR/lock.mdb (LMDB 0.9 mdb_env_excl_lock), so a
// daemon of an older build that knows nothing of this check is seen too. False when there
// is no lock file yet.
//
// Call it only while THIS process has no environment open on `store_dir`: POSIX drops every
// fcntl lock a process holds on a file when it closes any descriptor of that file, so a
// check made beside an open environment would silently release that environment's lock
// (LMDB forbids a plain open() of its files for the same reason). A process's own locks are
// never reported.
absl::StatusOr<bool> OtherProcessHasEnvironmentOpen(const std::string& store_dir);

}  // namespace masa::store::internal
