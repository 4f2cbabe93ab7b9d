// The audit log as callers may see it: pages of entries and voucher inclusion proofs.

#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/ids.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"
#include "store/checkpoint.h"

namespace masa::service {

using internal::AccessContext;
using internal::Authorize;
using internal::Hide;
using internal::Permission;

namespace {

constexpr size_t kMaxAuditLimit = 1000;
constexpr uint64_t kMaxAuditScan = 100000;

}  // namespace

absl::StatusOr<AuditPage> ServiceImpl::ListAudit(const Caller& caller,
                                                 const AuditQuery& query) const {
  if (query.limit == 0 || query.limit > kMaxAuditLimit) {
    return absl::InvalidArgumentError("limit: expected 1..1000");
  }
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string org = query.organization_id;
  bool everywhere = internal::Has(access.cross_organization(), Permission::kViewAudit);
  if (!everywhere) {
    if (!org.empty() && org != caller.organization_id()) {
      return absl::NotFoundError("organization " + org + " not found");
    }
    org = caller.organization_id();
  }
  if (!org.empty()) {
    MASA_RETURN_IF_ERROR(Authorize(access, Permission::kViewAudit, org, "organization " + org,
                                   Hide::kOtherOrganizationsOnly));
  }
  std::string prefix = org.empty() ? "" : org + "/";
  AuditPage page;
  MASA_ASSIGN_OR_RETURN(uint64_t size, snap.AuditSize());
  page.next_seq = query.from_seq;
  absl::Status decode_error;
  MASA_RETURN_IF_ERROR(snap.ScanAudit(query.from_seq, [&](uint64_t seq, std::string_view bytes) {
    if (page.entries.size() >= query.limit || seq >= query.from_seq + kMaxAuditScan) {
      return false;
    }
    page.next_seq = seq + 1;
    auto e = store::DecodeAuditEntry(bytes);
    if (!e.ok()) {
      decode_error = e.status();
      return false;
    }
    if (internal::HasPrefix(e->target, prefix)) {
      page.entries.push_back(
          {e->seq, e->time, e->actor, e->action, e->target, e->outcome, e->object_hash, e->node});
    }
    return true;
  }));
  MASA_RETURN_IF_ERROR(decode_error);
  if (page.entries.size() < query.limit && page.next_seq < size &&
      page.next_seq < query.from_seq + kMaxAuditScan) {
    page.next_seq = size;
  }
  return page;
}

absl::StatusOr<VoucherInclusionProof> ServiceImpl::InclusionProof(
    const Caller& caller, std::string_view voucher_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  MASA_ASSIGN_OR_RETURN(store::Voucher v, AuthorizedVoucher(access, Permission::kView, voucher_id));
  if (!v.audit_seq) return absl::FailedPreconditionError("voucher has no audit entry");
  MASA_ASSIGN_OR_RETURN(std::optional<std::string> note, snap.LatestCheckpoint());
  if (!note) return absl::FailedPreconditionError("no signed checkpoint yet; retry later");
  MASA_ASSIGN_OR_RETURN(store::Checkpoint cp, store::ParseCheckpointNote(*note));
  if (cp.tree_size <= *v.audit_seq) {
    return absl::FailedPreconditionError(
        "the voucher's audit entry is newer than the latest checkpoint; retry later");
  }
  VoucherInclusionProof out;
  out.seq = *v.audit_seq;
  MASA_ASSIGN_OR_RETURN(out.entry_bytes, snap.AuditEntryBytes(out.seq));
  out.tree_size = cp.tree_size;
  MASA_ASSIGN_OR_RETURN(out.proof, snap.InclusionProof(out.seq, cp.tree_size));
  out.checkpoint = *std::move(note);
  return out;
}

}  // namespace masa::service
