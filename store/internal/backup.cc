// Backups: a compact copy of the environment, written atomically beside its destination.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/status.h"
#include "store/internal/store_impl.h"

namespace masa::store::internal {

absl::Status StoreImpl::Backup(const std::string& path) const {
  std::string tmp = absl::StrCat(path, ".tmp-XXXXXX");
  int fd = mkstemp(tmp.data());
  if (fd < 0) return FromErrno(errno, "cannot create", tmp);
  absl::Status st;
  {
    SharedGate share = ShareGate();
    st = FromMdb(mdb_env_copyfd2(env_.get(), fd, MDB_CP_COMPACT), "mdb_env_copyfd2");
  }
  if (st.ok() && fchmod(fd, 0600) != 0) st = FromErrno(errno, "cannot chmod", tmp);
  if (st.ok() && fsync(fd) != 0) st = FromErrno(errno, "cannot sync", tmp);
  if (close(fd) != 0 && st.ok()) st = FromErrno(errno, "cannot close", tmp);
  if (st.ok() && rename(tmp.c_str(), path.c_str()) != 0)
    st = FromErrno(errno, "cannot rename to", path);
  if (!st.ok()) {
    unlink(tmp.c_str());
    return Annotate(st, "backing up the store");
  }
  // The folder that holds the new name, synced so that the rename itself is durable.
  const size_t slash = path.rfind('/');
  const std::string dir(slash == std::string::npos ? std::string_view(".")
                        : slash == 0               ? std::string_view("/")
                                                   : std::string_view(path).substr(0, slash));
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

}  // namespace masa::store::internal
