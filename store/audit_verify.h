// Full replay of the audit log: the check `masactl audit verify` runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/openssl.h"
#include "store/audit.h"
#include "store/store.h"

namespace masa::store {

struct AuditVerifyReport {
  uint64_t entries = 0;      // entries replayed (the whole log when OK)
  uint64_t checkpoints = 0;  // checkpoints checked
  Hash root;                 // root hash of the whole log
};

// Replays every entry seen by `reader` in order and checks: the sequence numbers are
// 0, 1, 2, ... with none missing; each entry decodes; each carries SHA-256 of the one
// before; each leaf and every stored perfect subtree hash matches the recomputed tree;
// the head size matches; each checkpoint's root equals the recomputed root at its size and
// its signature verifies with `public_key` (when null, signatures are not checked, only
// roots). The first problem is kDataLoss whose message starts with
// "audit entry <seq>: " (or "checkpoint at tree size <n>: ") and says what is wrong.
// O(n) time, O(log n) memory. Safe while a writer appends (the reader is a snapshot).
absl::StatusOr<AuditVerifyReport> VerifyAuditLog(const Reader& reader, EVP_PKEY* public_key);

}  // namespace masa::store
