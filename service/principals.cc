// Principals (users, service accounts) and their role bindings and grants.
#include <algorithm>
#include <memory>
#include <set>

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
  if (!internal::IsPrincipalName(name)) {
    return absl::InvalidArgumentError(
        std::string(user ? "username" : "name") +
        ": 1..128 printable characters without spaces (e.g. srv-ztp), or an e-mail-style name");
  }
  const std::string& org = caller.organization_id();
  store::Principal p;
  p.id = internal::NewId(org + ".p-");
  p.organization_id = org;
  p.kind = kind;
  p.name = std::string(name);
  if (user && IsUsername(p.name)) p.email = p.name;
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

namespace {

// The bindings of other organizations' principals on `org`'s groups.
absl::StatusOr<std::vector<store::RoleBinding>> DelegatedBindings(const store::Reader& reader,
                                                                  const std::string& org) {
  MASA_ASSIGN_OR_RETURN(
      auto groups, internal::ListPrefix<store::Group>(reader, org + ".g-", internal::GroupKey));
  MASA_ASSIGN_OR_RETURN(store::Group root, reader.Get<store::Group>(org));
  groups.push_back(std::move(root));
  std::set<std::string> delegates;
  for (const auto& g : groups) delegates.insert(g.delegated_orgs.begin(), g.delegated_orgs.end());
  if (delegates.count("*") != 0) delegates = {""};  // every organization: the whole table
  std::vector<store::RoleBinding> out;
  for (const std::string& d : delegates) {
    MASA_ASSIGN_OR_RETURN(auto bindings, internal::ListPrefix<store::RoleBinding>(
                                             reader, d.empty() ? d : d + ".", BindingKey));
    for (auto& b : bindings) {
      if (internal::OrganizationOfId(b.principal_id) != org &&
          internal::OrganizationOfId(b.group_id) == org) {
        out.push_back(std::move(b));
      }
    }
  }
  return out;
}

}  // namespace

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
  if (principal_id.empty()) {
    // Bindings of delegated organizations' principals on this organization's groups are
    // keyed under their own organization: read those organizations' ranges (every one for
    // "*", a full scan), when a group of this organization delegates any.
    MASA_ASSIGN_OR_RETURN(auto foreign, DelegatedBindings(snap, caller.organization_id()));
    all.insert(all.end(), foreign.begin(), foreign.end());
  }
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
