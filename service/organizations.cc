// Organizations: created by the vendor's account team (POST /organizations) or by the
// operator (masactl org create), listed; vendor principals created by the operator.

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/ids.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"

namespace masa::service {

using internal::AccessContext;
using internal::Describe;
using internal::PrincipalKey;
using internal::IsOrgName;
using internal::IsUsername;
using internal::kBootstrapActor;
using internal::Permission;
using internal::Target;

absl::StatusOr<BootstrapResult> ServiceImpl::Bootstrap(const std::string& org_id,
                                                       const std::string& org_name, bool create_org,
                                                       std::string_view username, Role role,
                                                       const Caller* caller) {
  if (!internal::IsPrincipalName(username)) {
    return absl::InvalidArgumentError("username: 1..128 printable characters, e.g. an e-mail");
  }
  const absl::Time now = Now();
  store::Principal p;
  p.id = internal::NewId(org_id + ".p-");
  p.organization_id = org_id;
  p.kind = store::PrincipalKind::kUser;
  p.name = std::string(username);
  p.email = IsUsername(username) ? p.name : "";
  p.created_at = now;
  store::RoleBinding b{
      internal::NewId(p.id + ".b-"), p.id, org_id, std::string(RoleName(role)), {}, now, ""};
  const bool vendor = org_id == options_.vendor_organization_id;
  MASA_ASSIGN_OR_RETURN(
      NewToken token,
      Mutate<NewToken>(caller, [&](internal::Operation& op) -> absl::StatusOr<NewToken> {
        store::WriteTxn& txn = op.txn();
        if (op.has_caller()) MASA_RETURN_IF_ERROR(AuthorizeCreateOrganization(op.access()));
        if (create_org) {
          absl::Status st = txn.Insert(store::Organization{org_id, org_name, now, ""});
          // The vendor organization is created on first use and then reused.
          if (absl::IsAlreadyExists(st) && !vendor) {
            return absl::AlreadyExistsError("organization " + org_id + " exists");
          }
          if (!absl::IsAlreadyExists(st)) {
            MASA_RETURN_IF_ERROR(st);
            MASA_RETURN_IF_ERROR(
                txn.Insert(store::Group{org_id, org_id, "", org_name, now, {}, ""}));
            MASA_RETURN_IF_ERROR(
                op.Audit("org.create", Target(org_id, org_id), "ok: " + org_name).status());
          }
        }
        MASA_ASSIGN_OR_RETURN(auto existing, internal::ListPrefix<store::Principal>(
                                                 txn, org_id + ".p-", PrincipalKey));
        for (const auto& e : existing) {
          if (e.name == p.name) return absl::AlreadyExistsError("principal " + p.name + " exists");
        }
        MASA_RETURN_IF_ERROR(txn.Insert(p));
        MASA_RETURN_IF_ERROR(op.Audit("user.invite", Target(org_id, p.id)).status());
        MASA_RETURN_IF_ERROR(txn.Insert(b));
        MASA_RETURN_IF_ERROR(op.Audit("role.bind", Target(org_id, b.id),
                                      "ok: " + b.role + " on " + org_id + " for " + p.id)
                                 .status());
        return IssueToken(op, p, options_.default_token_validity,
                          caller != nullptr ? "first token, from the account team"
                                            : "first token, from masactl");
      }));
  return BootstrapResult{org_id, Describe(p), std::move(token)};
}

absl::Status ServiceImpl::AuthorizeCreateOrganization(const AccessContext& access) const {
  if (!Has(access.cross_organization(), Permission::kCreateOrganizations)) {
    return absl::PermissionDeniedError("creating organizations needs the vendor account-team role");
  }
  return absl::OkStatus();
}

absl::StatusOr<BootstrapResult> ServiceImpl::CreateOrganization(const Caller& caller,
                                                                std::string_view name,
                                                                std::string_view admin_username) {
  absl::StatusOr<std::string> id = CheckNewOrganization(name, admin_username);
  if (!id.ok()) {
    // A caller who may not create organizations learns that, not what is wrong with the name.
    MASA_RETURN_IF_ERROR(Run(&caller, [&](internal::Operation& op) {
      return AuthorizeCreateOrganization(op.access());
    }));
    return id.status();
  }
  // Bootstrap authorizes the caller inside its write transaction.
  return Bootstrap(*id, std::string(name), true, admin_username, Role::kAdmin, &caller);
}

absl::StatusOr<std::vector<OrganizationInfo>> ServiceImpl::ListOrganizations(
    const Caller& caller) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::vector<store::Organization> found;
  if (Has(access.cross_organization(), Permission::kView)) {
    MASA_ASSIGN_OR_RETURN(found, snap.List<store::Organization>());
  } else {
    MASA_ASSIGN_OR_RETURN(store::Organization own,
                          snap.Get<store::Organization>(caller.organization_id()));
    found.push_back(std::move(own));
  }
  std::vector<OrganizationInfo> out;
  for (store::Organization& o : found) {
    out.push_back({std::move(o.id), std::move(o.name), o.created_at});
  }
  return out;
}

absl::StatusOr<std::string> ServiceImpl::CheckNewOrganization(
    std::string_view name, std::string_view admin_username) const {
  if (!IsOrgName(name)) {
    return absl::InvalidArgumentError("organization name: 1..63 of [a-z0-9-], e.g. acme");
  }
  std::string id = "org-" + std::string(name);
  if (id == options_.vendor_organization_id) {
    return absl::InvalidArgumentError("that is the vendor organization's name");
  }
  if (!internal::IsPrincipalName(admin_username)) {
    return absl::InvalidArgumentError(
        "admin username: 1..128 printable characters without spaces, e.g. admin, or an e-mail");
  }
  return id;
}

absl::StatusOr<BootstrapResult> ServiceImpl::CreateOrganization(std::string_view name,
                                                                std::string_view admin_username) {
  MASA_ASSIGN_OR_RETURN(std::string id, CheckNewOrganization(name, admin_username));
  return Bootstrap(id, std::string(name), true, admin_username, Role::kAdmin);
}

absl::StatusOr<BootstrapResult> ServiceImpl::CreateVendorPrincipal(std::string_view username,
                                                                   Role role) {
  if (!internal::IsVendorRole(role)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "role \"", std::string(RoleName(role)),
        "\": a vendor principal takes one of the vendor roles support, account-team or "
        "security-officer (customer roles belong to customer organizations)"));
  }
  const std::string& id = options_.vendor_organization_id;
  return Bootstrap(id, id.substr(id.find('-') + 1), true, username, role);
}

}  // namespace masa::service
