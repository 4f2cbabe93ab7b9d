// The audit log's head record and the Merkle tree nodes stored beside the entries (see
// tables.h for their keys).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/audit.h"
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

}  // namespace masa::store::internal
