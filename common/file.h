// Whole-file reads and crash-safe whole-file writes.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace masa {

// Reads all of `path`. kNotFound / kPermissionDenied / kInvalidArgument (a directory).
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `data` to `path` so that a reader sees either the old file or the whole new one:
// a temporary file in the same folder, fsync, rename, fsync of the folder. With
// `exclusive`, fails with kAlreadyExists rather than replace an existing file.
absl::Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644,
                             bool exclusive = false);

// Creates `path` (one level) with `mode`; kAlreadyExists when it is there.
absl::Status MakeDirectory(const std::string& path, mode_t mode);

bool PathExists(const std::string& path);

// Maps an errno from a file operation on `path` to a Status with a readable message.
absl::Status FromErrno(int err, std::string_view what, std::string_view path);

}  // namespace masa
