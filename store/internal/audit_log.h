// The audit log's head record and the Merkle tree nodes stored beside the entries (see
// tables.h for their keys).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/audit.h"
#include "store/checkpoint.h"
#include "store/internal/kv.h"
#include "store/internal/tables.h"

namespace masa::store::internal {

// meta "audit_head": the number of entries and the SHA-256 of the last one's bytes.
struct AuditHead {
  uint64_t size = 0;
  Hash last_hash = Hash(kHashSize, '\0');
};
absl::StatusOr<AuditHead> ReadAuditHead(Kv& kv);
absl::Status WriteAuditHead(Kv& kv, const AuditHead& head);

// The audit_nodes key of the perfect subtree at `level` covering leaves
// [index << level, (index + 1) << level): its last leaf, then its level (schema 7), so the
// nodes an appended entry completes sort after every node stored before.
std::string TreeKey(int level, uint64_t index);

// The stored hash of that subtree: kNotFound when absent, kDataLoss when malformed
// (merkle.cc).
absl::StatusOr<Hash> GetTreeNode(Kv& kv, int level, uint64_t index);

// Stores the leaf hash of entry `seq` and every perfect subtree it completes (whose left
// siblings are stored already) (merkle.cc).
absl::Status PutTreeNodes(Kv& kv, uint64_t seq, const Hash& leaf_hash);

// When a checkpoint is due (CheckpointIn).
struct CheckpointDue {
  bool force = false;             // whenever the log grew past the last checkpoint
  uint64_t every_entries = 1000;  // or once this many entries were added since it
  bool time_due = false;          // or once it grew at all, when its time came
  std::string origin;
};
struct CheckpointOutcome {
  uint64_t last_size = 0;  // the tree size of the latest checkpoint, after this call
  uint64_t log_size = 0;   // the log's size
  bool written = false;
};
// Inside a write transaction of either backend: signs a checkpoint of the whole log with
// the signer `signer_now` returns and puts it, when one is due. The caller commits.
absl::StatusOr<CheckpointOutcome> CheckpointIn(
    Kv& kv, const CheckpointDue& due,
    const std::function<std::shared_ptr<CheckpointSigner>()>& signer_now);

}  // namespace masa::store::internal
