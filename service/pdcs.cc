// Pinned-domain certificates: upload, list, get, delete.
#include <optional>

#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/ids.h"
#include "service/internal/pdc.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"

namespace masa::service {

using internal::AccessContext;
using internal::Authorize;
using internal::Describe;
using internal::PdcKey;
using internal::Hide;
using internal::Permission;
using internal::Target;

absl::StatusOr<PdcInfo> ServiceImpl::UploadPdc(const Caller& caller, PdcInput input) {
  std::string group = input.group_id.empty() ? caller.organization_id() : input.group_id;
  MASA_ASSIGN_OR_RETURN(internal::ParsedPdc parsed,
                        internal::ParsePdc(input.certificate, "certificate"));
  if (parsed.not_after <= Now()) {
    return absl::InvalidArgumentError("certificate expired at " + FormatRfc3339(parsed.not_after));
  }
  if (input.expiry_time && *input.expiry_time <= Now()) {
    return absl::InvalidArgumentError("expiry_time: " + FormatRfc3339(*input.expiry_time) +
                                      " is not in the future");
  }
  store::PinnedDomainCert pdc;
  // The group's organization owns it, also when a delegated caller uploads it.
  pdc.organization_id = internal::OrganizationOfId(group);
  pdc.id = internal::NewId(pdc.organization_id + ".pdc-");
  pdc.group_id = group;
  pdc.name = !input.name.empty()           ? input.name
             : !parsed.common_name.empty() ? parsed.common_name
                                           : parsed.subject;
  if (pdc.name.size() > 256) return absl::InvalidArgumentError("name: longer than 256 bytes");
  pdc.certificate_der = parsed.der;
  pdc.created_at = Now();
  pdc.revocation_checks = input.revocation_checks;
  pdc.expiry_time = input.expiry_time;
  MASA_RETURN_IF_ERROR(Run(&caller, [&](internal::Operation& op) -> absl::Status {
    MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kManagePdcs, group, "group " + group,
                                   Hide::kOtherOrganizationsOnly));
    MASA_RETURN_IF_ERROR(internal::RequireGroup(op.txn(), group, pdc.organization_id));
    // OVGS: the same certificate, revocation_checks and expiry_time in one group is one
    // PDC. Uploads without an expiry_time (the REST API's, told apart by their names) may
    // repeat a certificate as before.
    if (pdc.expiry_time) {
      MASA_ASSIGN_OR_RETURN(auto existing, internal::ListPrefix<store::PinnedDomainCert>(
                                               op.txn(), pdc.organization_id + ".pdc-", PdcKey));
      for (const auto& e : existing) {
        if (e.group_id == group && e.certificate_der == pdc.certificate_der &&
            e.revocation_checks == pdc.revocation_checks && e.expiry_time == pdc.expiry_time) {
          return absl::AlreadyExistsError("certificate " + e.id +
                                          " in this group already pins it with the same "
                                          "revocation_checks and expiry_time");
        }
      }
    }
    MASA_RETURN_IF_ERROR(op.txn().Insert(pdc));
    return op.Audit("pdc.upload", Target(pdc.organization_id, pdc.id), "ok", parsed.sha256)
        .status();
  }));
  return Describe(pdc);
}

absl::StatusOr<std::vector<PdcInfo>> ServiceImpl::ListPdcs(const Caller& caller) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  MASA_ASSIGN_OR_RETURN(auto all, internal::ListPrefix<store::PinnedDomainCert>(
                                      snap, caller.organization_id() + ".pdc-", PdcKey));
  std::vector<PdcInfo> out;
  for (const auto& c : all) {
    if (!Authorize(access, Permission::kView, c.group_id, c.id).ok()) continue;
    MASA_ASSIGN_OR_RETURN(PdcInfo info, Describe(c));
    out.push_back(std::move(info));
  }
  return out;
}

absl::StatusOr<PdcInfo> ServiceImpl::GetPdc(const Caller& caller, std::string_view cert_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string what = "certificate " + std::string(cert_id);
  auto pdc = snap.Get<store::PinnedDomainCert>(cert_id);
  if (absl::IsNotFound(pdc.status())) return absl::NotFoundError(what + " not found");
  if (!pdc.ok()) return pdc.status();
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kView, pdc->group_id, what));
  return Describe(*pdc);
}

absl::Status ServiceImpl::DeletePdc(const Caller& caller, std::string_view cert_id) {
  std::string what = "certificate " + std::string(cert_id);
  return Run(&caller, [&](internal::Operation& op) -> absl::Status {
    auto pdc = op.txn().Get<store::PinnedDomainCert>(cert_id);
    if (absl::IsNotFound(pdc.status())) return absl::NotFoundError(what + " not found");
    if (!pdc.ok()) return pdc.status();
    MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kManagePdcs, pdc->group_id, what));
    MASA_RETURN_IF_ERROR(op.txn().Delete<store::PinnedDomainCert>(pdc->id));
    return op.Audit("pdc.delete", Target(pdc->organization_id, pdc->id)).status();
  });
}

}  // namespace masa::service
