// The audit log as callers see it: their organization's entries, and inclusion proofs of
// vouchers against signed checkpoints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/types.h"
#include "store/audit.h"

namespace masa::service {

struct AuditRecord {
  uint64_t seq = 0;
  absl::Time time;
  std::string actor;
  std::string action;
  std::string target;  // "<organization id>/<object id>"
  std::string outcome;
  std::string object_hash;  // raw SHA-256 (32 bytes) or empty
  std::string node;         // the masad node that wrote it, or empty (one LMDB node)
};

struct AuditQuery {
  std::string organization_id;  // account team: any ("" = every organization); others: own
  uint64_t from_seq = 0;
  size_t limit = 100;  // 1..1000
};

struct AuditPage {
  std::vector<AuditRecord> entries;
  uint64_t next_seq = 0;  // continue from here; == log size when the end was reached
};

// Proof that a voucher's latest issue/renew entry is in the signed audit log.
struct VoucherInclusionProof {
  uint64_t seq = 0;
  std::string entry_bytes;  // the Merkle leaf (store::EncodeAuditEntry)
  uint64_t tree_size = 0;
  std::vector<store::Hash> proof;  // RFC 9162 inclusion proof to the checkpoint's root
  std::string checkpoint;          // the signed note the proof is against
};

// Thread-safe: every method may be called from any thread at once. Methods that take a
// Caller re-check its token (revoked/expired/disabled -> kUnauthenticated). Reads authorize
// on a fresh store snapshot; every state change authorizes, changes and writes its audit
// entries inside one store write transaction (internal/operation.h), so nothing changes
// between the decision and the write; secrets never reach audit entries, logs or messages.
// Objects of another organization are answered kNotFound (see service/types.h).
class AuditViews {
 public:
  virtual ~AuditViews() = default;

  // Entries whose target lies in the caller's organization (admin), or in any / the given
  // organization (account team), from from_seq on.
  virtual absl::StatusOr<AuditPage> ListAudit(const Caller& caller,
                                              const AuditQuery& query) const = 0;
  // For a voucher the caller may view. kFailedPrecondition when no signed checkpoint covers
  // the entry yet (retry after the next checkpoint).
  virtual absl::StatusOr<VoucherInclusionProof> InclusionProof(
      const Caller& caller, std::string_view voucher_id) const = 0;
};

}  // namespace masa::service
