// The offline check of an inclusion proof printed by `masactl audit prove`: the proof's
// JSON text and the audit public key are all it needs (no store, no files).
//
//   MASA_ASSIGN_OR_RETURN(AuditProofCheck ok, CheckAuditProof(text, key.get()));
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/openssl.h"
#include "store/audit.h"
#include "store/store.h"

namespace masa::tools {

// The proof `masactl audit prove` prints (JSON, indented): entry `index` of `reader`'s log
// against its latest signed checkpoint, with the entry's fields shown decoded.
// kFailedPrecondition when there is no checkpoint yet or it does not cover `index`.
absl::StatusOr<std::string> MakeAuditProof(const store::Reader& reader, uint64_t index);

// What a proof that checks out shows: entry `index` (decoded) is in the log whose root at
// `tree_size` the audit key signed.
struct AuditProofCheck {
  uint64_t index = 0;
  store::AuditEntry entry;
  uint64_t tree_size = 0;
};

// The longest proof text CheckAuditProof reads. A real proof is a few kilobytes; this
// leaves room for an entry of store::kMaxAuditEntryBytes shown twice (fields and bytes).
inline constexpr size_t kMaxAuditProofBytes = 512 * 1024;

// Checks a proof: the JSON object's "checkpoint" note is signed by `audit_key`, its
// "inclusion_proof" leads from the leaf hash of "entry_bytes" at "entry_index" to the note's
// root, and the bytes decode to an entry with that sequence number. The displayed "entry"
// fields are not read. kInvalidArgument for a text that is not such a proof (not JSON, a
// field missing or of the wrong type, bad base64, a null key, or over the bounds below),
// kDataLoss when the proof, entry or signature does not check out (forged or altered).
// Bounds, refused before the work they would cost: the text at most kMaxAuditProofBytes,
// the note at most store::kMaxCheckpointNoteBytes, the entry at most
// store::kMaxAuditEntryBytes, the path at most store::kMaxProofHashes hashes. Linear time.
absl::StatusOr<AuditProofCheck> CheckAuditProof(std::string_view text, EVP_PKEY* audit_key);

}  // namespace masa::tools
