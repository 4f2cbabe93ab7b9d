// Principals (users, service accounts) and their role bindings and grants.
#include <algorithm>
#include <memory>

#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/ids.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"

namespace masa::service {

using internal::AccessContext;
using internal::Authorize;
using internal::Describe;
using internal::PrincipalKey;
using internal::BindingKey;
using internal::IsUsername;
using internal::IsVendorRole;
using internal::Hide;
using internal::Permission;
using internal::Target;

absl::StatusOr<PrincipalInfo> ServiceImpl::AddPrincipal(const Caller& caller, std::string_view name,
                                                        store::PrincipalKind kind) {
  bool user = kind == store::PrincipalKind::kUser;
  if (user ? !IsUsername(name) : !internal::IsPrintableToken(name, 128)) {
    return absl::InvalidArgumentError(
        user ? "username: expected an e-mail-style name like alice@example.com"
             : "name: 1..128 printable characters without spaces");
  }
  const std::string& org = caller.organization_id();
  store::Principal p;
  p.id = internal::NewId(org + ".p-");
  p.organization_id = org;
  p.kind = kind;
  p.name = std::string(name);
  if (user) p.email = p.name;
  p.created_at = Now();
  MASA_RETURN_IF_ERROR(Run(&caller, [&](internal::Operation& op) -> absl::Status {
    MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kAdminister, org, "organization " + org,
                                   Hide::kOtherOrganizationsOnly));
    MASA_ASSIGN_OR_RETURN(
        auto existing, internal::ListPrefix<store::Principal>(op.txn(), org + ".p-", PrincipalKey));
    for (const auto& e : existing) {
      if (e.name == p.name) {
        return absl::AlreadyExistsError("a principal named " + p.name + " exists (" + e.id + ")");
      }
    }
    MASA_RETURN_IF_ERROR(op.txn().Insert(p));
    return op.Audit(user ? "user.invite" : "service-account.create", Target(org, p.id)).status();
  }));
  return Describe(p);
}

absl::StatusOr<PrincipalInfo> ServiceImpl::InviteUser(const Caller& caller,
                                                      std::string_view username) {
  return AddPrincipal(caller, username, store::PrincipalKind::kUser);
}

absl::StatusOr<PrincipalInfo> ServiceImpl::CreateServiceAccount(const Caller& caller,
                                                                std::string_view name) {
  return AddPrincipal(caller, name, store::PrincipalKind::kServiceAccount);
}

absl::StatusOr<std::vector<PrincipalInfo>> ServiceImpl::ListPrincipals(const Caller& caller) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  const std::string& org = caller.organization_id();
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, org, "organization " + org,
                                 Hide::kOtherOrganizationsOnly));
  MASA_ASSIGN_OR_RETURN(auto all,
                        internal::ListPrefix<store::Principal>(snap, org + ".p-", PrincipalKey));
  std::vector<PrincipalInfo> out;
  for (const auto& p : all) out.push_back(Describe(p));
  return out;
}

absl::Status ServiceImpl::DisablePrincipal(const Caller& caller, std::string_view principal_id) {
  std::string what = "principal " + std::string(principal_id);
  if (internal::OrganizationOfId(principal_id) != caller.organization_id()) {
    return absl::NotFoundError(what + " not found");
  }
  return Run(&caller, [&](internal::Operation& op) -> absl::Status {
    MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kAdminister, caller.organization_id(),
                                   what, Hide::kOtherOrganizationsOnly));
    if (principal_id == caller.principal_id()) {
      return absl::FailedPreconditionError("you cannot disable yourself");
    }
    auto p = op.txn().Get<store::Principal>(principal_id);
    if (absl::IsNotFound(p.status())) return absl::NotFoundError(what + " not found");
    if (!p.ok()) return p.status();
    p->disabled = true;
    MASA_RETURN_IF_ERROR(op.txn().Put(*p));
    return op.Audit("principal.disable", Target(p->organization_id, p->id)).status();
  });
}

absl::StatusOr<BindingInfo> ServiceImpl::BindRole(const Caller& caller,
                                                  std::string_view principal_id,
                                                  std::string_view group_id, Role role) {
  const std::string group(group_id);
  const std::string what = "principal " + std::string(principal_id);
  return Mutate<BindingInfo>(&caller, [&](internal::Operation& op) -> absl::StatusOr<BindingInfo> {
    MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kAdminister, group, "group " + group,
                                   Hide::kOtherOrganizationsOnly));
    auto p = op.txn().Get<store::Principal>(principal_id);
    if (!p.ok() || p->organization_id != internal::OrganizationOfId(group)) {
      if (p.ok() || absl::IsNotFound(p.status())) return absl::NotFoundError(what + " not found");
      return p.status();
    }
    if (IsVendorRole(role) && (p->organization_id != options_.vendor_organization_id ||
                               group != options_.vendor_organization_id)) {
      return absl::InvalidArgumentError("role " + std::string(RoleName(role)) +
                                        " exists only on the vendor organization's root group");
    }
    MASA_RETURN_IF_ERROR(internal::RequireGroup(op.txn(), group, p->organization_id));
    store::RoleBinding b;
    b.id = internal::NewId(p->id + ".b-");
    b.principal_id = p->id;
    b.group_id = group;
    b.role = std::string(RoleName(role));
    b.created_at = Now();
    MASA_RETURN_IF_ERROR(op.txn().Insert(b));
    MASA_RETURN_IF_ERROR(op.Audit("role.bind", Target(p->organization_id, b.id),
                                  "ok: " + b.role + " on " + group + " for " + p->id)
                             .status());
    return Describe(b);
  });
}

absl::Status ServiceImpl::DeleteBinding(const Caller& caller, std::string_view binding_id) {
  std::string what = "binding " + std::string(binding_id);
  return Run(&caller, [&](internal::Operation& op) -> absl::Status {
    auto b = op.txn().Get<store::RoleBinding>(binding_id);
    if (absl::IsNotFound(b.status())) return absl::NotFoundError(what + " not found");
    if (!b.ok()) return b.status();
    MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kAdminister, b->group_id, what,
                                   Hide::kOtherOrganizationsOnly));
    MASA_RETURN_IF_ERROR(op.txn().Delete<store::RoleBinding>(b->id));
    return op.Audit("role.unbind", Target(internal::OrganizationOfId(b->group_id), b->id)).status();
  });
}

absl::StatusOr<BindingInfo> ServiceImpl::ChangeGrant(const Caller& caller,
                                                     std::string_view binding_id, Grant permission,
                                                     bool add) {
  const std::string what = "binding " + std::string(binding_id);
  const std::string grant(GrantName(permission));
  // Decided and changed in one transaction, so two grants changed at once both stay.
  return Mutate<BindingInfo>(&caller, [&](internal::Operation& op) -> absl::StatusOr<BindingInfo> {
    auto b = op.txn().Get<store::RoleBinding>(binding_id);
    if (absl::IsNotFound(b.status())) return absl::NotFoundError(what + " not found");
    if (!b.ok()) return b.status();
    MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kAdminister, b->group_id, what,
                                   Hide::kOtherOrganizationsOnly));
    auto it = std::find(b->grants.begin(), b->grants.end(), grant);
    bool present = it != b->grants.end();
    if (add == present) return Describe(*b);  // nothing changes, nothing to write or audit
    if (add) {
      b->grants.push_back(grant);
    } else {
      b->grants.erase(it);
    }
    MASA_RETURN_IF_ERROR(op.txn().Put(*b));
    MASA_RETURN_IF_ERROR(op.Audit(add ? "permission.grant" : "permission.revoke",
                                  Target(internal::OrganizationOfId(b->group_id), b->id),
                                  "ok: " + grant)
                             .status());
    return Describe(*b);
  });
}

absl::StatusOr<BindingInfo> ServiceImpl::GrantPermission(const Caller& caller,
                                                         std::string_view binding_id,
                                                         Grant permission) {
  return ChangeGrant(caller, binding_id, permission, true);
}

absl::StatusOr<BindingInfo> ServiceImpl::RevokePermission(const Caller& caller,
                                                          std::string_view binding_id,
                                                          Grant permission) {
  return ChangeGrant(caller, binding_id, permission, false);
}

absl::StatusOr<std::vector<BindingInfo>> ServiceImpl::ListBindings(
    const Caller& caller, std::string_view principal_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string prefix =
      principal_id.empty() ? caller.organization_id() + "." : std::string(principal_id) + ".b-";
  if (internal::OrganizationOfId(prefix) != caller.organization_id())
    return std::vector<BindingInfo>{};
  MASA_ASSIGN_OR_RETURN(auto all,
                        internal::ListPrefix<store::RoleBinding>(snap, prefix, BindingKey));
  std::vector<BindingInfo> out;
  for (const auto& b : all) {
    if (b.principal_id == caller.principal_id() ||
        Authorize(access, Permission::kAdminister, b.group_id, b.id).ok()) {
      out.push_back(Describe(b));
    }
  }
  return out;
}

}  // namespace masa::service

namespace masa::service {

// Declared for OVGS (issue 11); implemented in a later commit.
absl::StatusOr<BindingInfo> ServiceImpl::AddUserRole(const Caller&, const UserRef&,
                                                     std::string_view, Role) {
  return absl::UnimplementedError("AddUserRole is not implemented yet");
}
absl::Status ServiceImpl::RemoveUserRole(const Caller&, const UserRef&, std::string_view) {
  return absl::UnimplementedError("RemoveUserRole is not implemented yet");
}
absl::StatusOr<std::map<std::string, Role>> ServiceImpl::GetUserRoles(const Caller&,
                                                                      const UserRef&) const {
  return absl::UnimplementedError("GetUserRoles is not implemented yet");
}

}  // namespace masa::service
