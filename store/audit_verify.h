// Full replay of the audit log: the check `masactl audit verify` runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/openssl.h"
#include "store/audit.h"
#include "store/checkpoint.h"
#include "store/store.h"

namespace masa::store {

// An audit public key a verifier accepts. A log whose audit key was rotated is checked with
// every key it was signed with (the old ones and the current one).
struct AuditPublicKey {
  std::string name;         // how reports name it: a file, a key id ("key-...")
  EVP_PKEY* key = nullptr;  // borrowed
};

// Which checkpoints one audit key signed.
struct AuditKeyUse {
  std::string name;          // AuditPublicKey::name
  uint32_t note_key_id = 0;  // the signed-note key ID its checkpoints carry
  uint64_t checkpoints = 0;
  uint64_t first_tree_size = 0;  // of the checkpoints it signed (when checkpoints > 0)
  uint64_t last_tree_size = 0;
};

struct AuditVerifyReport {
  uint64_t entries = 0;           // entries replayed (the whole log when OK)
  uint64_t checkpoints = 0;       // checkpoints checked
  Hash root;                      // root hash of the whole log
  std::vector<AuditKeyUse> keys;  // one per key given, in the order given
};

// Checks `note`'s signature with whichever of `keys` signed it: a signature line whose key ID
// (C2SP signed note: derived from the line's key name and the public key, so every rotated
// key has its own) matches one of the keys must verify with it. Returns the checkpoint and
// the index of the key into `index` (and the line's key ID into `key_id`, when not null).
// kDataLoss: a matching signature does not verify
// (forged or altered; names the key), or no line is by any of the keys ("signed by an
// unknown key", naming the note's key names and IDs); kInvalidArgument: malformed note.
absl::StatusOr<Checkpoint> VerifyCheckpointNoteWithKeys(std::string_view note,
                                                        const std::vector<AuditPublicKey>& keys,
                                                        size_t* index, uint32_t* key_id = nullptr);

// Replays every entry seen by `reader` in order and checks: the sequence numbers are
// 0, 1, 2, ... with none missing; each entry decodes; each carries SHA-256 of the one
// before; each leaf and every stored perfect subtree hash matches the recomputed tree;
// the head size matches; each checkpoint's root equals the recomputed root at its size and
// its signature verifies with `public_key` (when null, signatures are not checked, only
// roots). The first problem is kDataLoss whose message starts with
// "audit entry <seq>: " (or "checkpoint at tree size <n>: ") and says what is wrong.
// O(n) time, O(log n) memory. Safe while a writer appends (the reader is a snapshot).
absl::StatusOr<AuditVerifyReport> VerifyAuditLog(const Reader& reader, EVP_PKEY* public_key);
// The same with several audit keys (a log spanning rotations): each checkpoint must verify
// with one of `keys` (VerifyCheckpointNoteWithKeys); the report says which key signed which
// checkpoints. Empty `keys`: signatures are not checked, only roots.
absl::StatusOr<AuditVerifyReport> VerifyAuditLog(const Reader& reader,
                                                 const std::vector<AuditPublicKey>& keys);

}  // namespace masa::store
