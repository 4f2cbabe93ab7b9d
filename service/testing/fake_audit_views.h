// A fake AuditViews: an empty log and one canned inclusion proof, or every call fails with
// one chosen status.
#pragma once

#include <string>
#include <string_view>

#include "service/audit_views.h"

namespace masa::service::testing {

// Not thread-safe: tests call it from one thread at a time.
class FakeAuditViews final : public AuditViews {
 public:
  absl::Status fail_with = absl::OkStatus();  // when not OK, every method returns it

  absl::StatusOr<AuditPage> ListAudit(const Caller&, const AuditQuery&) const override {
    if (!fail_with.ok()) return fail_with;
    return AuditPage{};
  }
  // Entry 3 of a tree of 8, two hashes, against a placeholder checkpoint.
  absl::StatusOr<VoucherInclusionProof> InclusionProof(const Caller&,
                                                       std::string_view) const override {
    if (!fail_with.ok()) return fail_with;
    VoucherInclusionProof p;
    p.seq = 3;
    p.tree_size = 8;
    p.proof = {std::string(32, 'a'), std::string(32, 'b')};
    p.checkpoint = "masa/audit\n8\nroot\n";
    return p;
  }
};

}  // namespace masa::service::testing
