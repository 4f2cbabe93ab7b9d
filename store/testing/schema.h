// Test support: make a closed store look like one an older build wrote, so that a test can
// exercise the migrations Store::Open runs. Never linked into the daemon or masactl.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace masa::store::testing {

// Sets the schema version recorded in the closed store of `state_dir` to `version`. The
// caller has written the data in the older form (e.g. ids of the old shape) through the
// normal Store API first, and closed the Store (LMDB must not open one environment twice in
// a process). Errors as Store::Open's for a missing or unreadable store.
absl::Status SetSchemaVersion(const std::string& state_dir, uint64_t version);

}  // namespace masa::store::testing
