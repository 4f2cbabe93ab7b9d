#include "store/internal/env_users.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/file.h"
#include "common/status.h"

namespace masa::store::internal {

absl::StatusOr<bool> OtherProcessHasEnvironmentOpen(const std::string& store_dir) {
  const std::string path = store_dir + "/lock.mdb";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    return FromErrno(errno, "cannot open", path);
  }
  struct flock probe = {};
  probe.l_type = F_WRLCK;  // would an exclusive lock conflict with anyone's?
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 1;
  int rc;
  while ((rc = fcntl(fd, F_GETLK, &probe)) != 0 && errno == EINTR) {
  }
  const int err = errno;
  close(fd);
  if (rc != 0) return FromErrno(err, "cannot query the locks of", path);
  return probe.l_type != F_UNLCK;
}

}  // namespace masa::store::internal
