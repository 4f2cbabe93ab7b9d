// A POSIX ustar archive writer for the download of every voucher of a request.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace masa::api::internal {

struct TarEntry {
  std::string name;  // a plain file name, 1..100 bytes, no '/', not "." or ".."
  std::string data;
};

// The whole archive: per entry a 512-byte ustar header (mode 0644, uid/gid 0, owner
// "masa", regular file, `mtime`) and the data padded to 512 bytes, then two zero blocks.
// kInvalidArgument for a name that breaks the rule above or data of 8 GiB or more.
absl::StatusOr<std::string> WriteTar(const std::vector<TarEntry>& entries, absl::Time mtime);

// A name that is safe as an archive member and in Content-Disposition: every byte outside
// [A-Za-z0-9._-] becomes '_', a leading '.' becomes '_', empty becomes "_"; at most 90
// bytes, then `extension` (".vcj") is appended.
std::string SafeFileName(std::string_view stem, std::string_view extension);

}  // namespace masa::api::internal
