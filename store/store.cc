// Opening a Store, and what every Store does the same way. The LMDB store itself lives in
// store/internal/ by concept: store_impl.h (its shape), writer.cc (group commit, map
// growth), reader.cc (records, snapshots), indexes.cc, merkle.cc and audit_log.cc (the
// audit log), stored_form.cc (certificate sets kept once), checkpoint_writer.cc, backup.cc,
// open.cc and migrate_*.cc.
#include "store/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file.h"
#include "common/log.h"
#include "common/status.h"
#include "store/internal/env_users.h"
#include "store/internal/lmdb.h"
#include "store/internal/pg_store.h"
#include "store/internal/resize_gate.h"
#include "store/internal/store_impl.h"
#include "store/internal/tables.h"

namespace masa::store {

std::string StoreDir(const std::string& state_dir) { return state_dir + "/store"; }

std::string DefaultNodeId() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return absl::StrCat(host, ":", getpid());
}

std::string ComponentKey(std::string_view ien, std::string_view serial_number) {
  return absl::StrCat(Sv(ien), std::string(1, '\0'), Sv(serial_number));
}

std::future<absl::StatusOr<CommitResult>> Store::Submit(WriteBatch batch) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<CommitResult>>>();
  auto future = promise->get_future();
  Submit(std::move(batch),
         [promise](absl::StatusOr<CommitResult> r) { promise->set_value(std::move(r)); });
  return future;
}

absl::StatusOr<CommitResult> Store::Write(WriteBatch batch) {
  // Checked in every build: the stall it prevents shows only when the map must grow.
  if (const int open = internal::SnapshotsOpenedOnThisThread(); open > 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "Store::Write refused: this thread holds %d open store snapshot%s, and a snapshot held "
        "while waiting for the writer would stall map growth (and with it every commit in "
        "flight); end the snapshot before writing, or read inside the batch",
        open, open == 1 ? "" : "s"));
  }
  return Submit(std::move(batch)).get();
}

namespace {

absl::Status CheckFolder(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return FromErrno(errno, "cannot use", path);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a folder"));
  }
  if (st.st_uid != geteuid()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s is owned by uid %d, not by this user (uid %d); the state folder "
                        "must belong to the user running the service",
                        path, st.st_uid, geteuid()));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s is group- or world-writable (mode %04o); run chmod go-w on it", path,
                        st.st_mode & 07777));
  }
  return absl::OkStatus();
}

absl::Status CheckFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return FromErrno(errno, "cannot use", path);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  }
  if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s must belong to uid %d and not be group- or world-writable (owner %d, mode %04o)", path,
        geteuid(), st.st_uid, st.st_mode & 07777));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (!options.postgres.empty()) return internal::OpenPgStore(options);
  if (options.state_dir.empty()) return absl::InvalidArgumentError("no state folder given");
  if (options.clock == nullptr) return absl::InvalidArgumentError("no clock given");
  if (!PathExists(options.state_dir)) {
    return absl::NotFoundError(absl::StrCat("state folder ", options.state_dir, " does not exist"));
  }
  MASA_RETURN_IF_ERROR(CheckFolder(options.state_dir));
  std::string dir = StoreDir(options.state_dir);
  if (!PathExists(dir)) {
    if (options.read_only) {
      return absl::NotFoundError(absl::StrCat("no store in ", options.state_dir));
    }
    MASA_RETURN_IF_ERROR(MakeDirectory(dir, 0700));
  }
  MASA_RETURN_IF_ERROR(CheckFolder(dir));
  MASA_RETURN_IF_ERROR(CheckFile(dir + "/data.mdb"));
  MASA_RETURN_IF_ERROR(CheckFile(dir + "/lock.mdb"));
  if (options.read_only && !PathExists(dir + "/data.mdb")) {
    return absl::NotFoundError(absl::StrCat("no store in ", dir));
  }
  internal::Env::Options env_options;
  // The map is sized once, at max_map_size (LMDB maps an existing store at least at its used
  // size). With an initial_map_size, a new store starts there and an existing one is mapped
  // at the size recorded in it (grown by whichever process grew it last) rather than shrunk
  // to its used size, which every page another process adds would resize again.
  const bool exists = PathExists(dir + "/data.mdb");
  env_options.map_size = options.initial_map_size == 0 ? options.max_map_size
                         : exists                      ? 0
                                                       : options.initial_map_size;
  env_options.max_dbs = internal::kDbCount + 4;
  env_options.read_only = options.read_only;
  // Before this process opens the environment: see env_users.h.
  bool shared = false;
  if (!options.read_only) {
    MASA_ASSIGN_OR_RETURN(shared, internal::OtherProcessHasEnvironmentOpen(dir));
  }
  absl::StatusOr<internal::Env> env = internal::Env::Open(dir, env_options);
  // The system refuses that much address space (ulimit -v): start smaller and grow.
  constexpr size_t kSmallestMap = size_t{64} << 20;
  while (internal::IsOutOfMemory(env.status()) && env_options.map_size > kSmallestMap) {
    env_options.map_size /= 2;
    env = internal::Env::Open(dir, env_options);
    if (env.ok()) {
      Log(LogLevel::kWarning,
          absl::StrCat("the store map could not reserve max_map_size (", options.max_map_size,
                       " bytes) of address space; it starts at ", env_options.map_size,
                       " bytes and grows when full, which stalls commits meanwhile (raise "
                       "ulimit -v, or lower [store] max_map_size_mb)"));
    }
  }
  if (!env.ok()) return env.status();
  auto store = std::make_unique<internal::StoreImpl>(options, *std::move(env), shared);
  MASA_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace masa::store
