// User roles as OVGS manages them: by (username, kind, organization) tuple, one role per
// user per group, users of delegated organizations included. Stored as role bindings
// (store::RoleBinding, keyed under the user's principal id) like BindRole's.
#include <algorithm>
#include <optional>

#include "common/status.h"
#include "common/utf8.h"
#include "service/internal/authz.h"
#include "service/internal/ids.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"

namespace masa::service {

using internal::AccessContext;
using internal::Authorize;
using internal::BindingKey;
using internal::Describe;
using internal::Hide;
using internal::Permission;
using internal::Target;

namespace {

// The user's bindings on `group_id` (BindRole may have made more than one).
absl::StatusOr<std::vector<store::RoleBinding>> BindingsOf(const store::Reader& reader,
                                                           const store::Principal& p,
                                                           std::string_view group_id) {
  MASA_ASSIGN_OR_RETURN(auto all,
                        internal::ListPrefix<store::RoleBinding>(reader, p.id + ".b-", BindingKey));
  std::vector<store::RoleBinding> out;
  for (auto& b : all) {
    if (b.group_id == group_id) out.push_back(std::move(b));
  }
  return out;
}

// Checks shared by AddUserRole and RemoveUserRole, in the operation's transaction: the
// caller may manage roles of `user` on `group_id` (admin on the group; SUPPORT only by a
// holder of support; a caller of another organization than the group's only for users of
// its own organization). Returns the group's path (the group first).
absl::StatusOr<std::vector<store::Group>> AuthorizeRoleChange(const internal::Operation& op,
                                                              const UserRef& user,
                                                              std::string_view group_id, Role role,
                                                              const std::string& vendor_org) {
  const std::string what = "group " + ShowUntrusted(group_id);
  const AccessContext& access = op.access();
  MASA_RETURN_IF_ERROR(
      Authorize(access, Permission::kView, group_id, what, Hide::kOtherOrganizationsOnly));
  MASA_ASSIGN_OR_RETURN(std::vector<store::Group> path, internal::GroupPath(op.txn(), group_id));
  if (role == Role::kSupport) {
    // OVGS: SUPPORT is given and removed by SUPPORT only.
    if (!access.Holds(Role::kSupport)) {
      return absl::PermissionDeniedError(what +
                                         ": only a holder of the support role gives or "
                                         "removes the support role");
    }
  } else {
    MASA_RETURN_IF_ERROR(
        Authorize(access, Permission::kAdminister, group_id, what, Hide::kOtherOrganizationsOnly));
  }
  const std::string& owner = path.front().organization_id;
  const bool vendor_wide = internal::Has(access.cross_organization(), Permission::kAdminister);
  if (access.organization_id() != owner && !vendor_wide &&
      user.organization_id != access.organization_id()) {
    return absl::PermissionDeniedError(what +
                                       ": a caller of a delegated organization manages "
                                       "only the roles of its own organization's users");
  }
  if (internal::IsVendorRole(role) &&
      (user.organization_id != vendor_org || path.front().id != vendor_org)) {
    return absl::InvalidArgumentError("role " + std::string(RoleName(role)) +
                                      " exists only on the vendor organization's root group");
  }
  return path;
}

}  // namespace

absl::StatusOr<BindingInfo> ServiceImpl::AddUserRole(const Caller& caller, const UserRef& user,
                                                     std::string_view group_id, Role role) {
  const std::string group(group_id);
  return Mutate<BindingInfo>(&caller, [&](internal::Operation& op) -> absl::StatusOr<BindingInfo> {
    MASA_ASSIGN_OR_RETURN(
        std::vector<store::Group> path,
        AuthorizeRoleChange(op, user, group, role, options_.vendor_organization_id));
    auto p = internal::FindPrincipal(op.txn(), user);
    if (absl::IsNotFound(p.status())) {
      // A role is given to an existing user (InviteUser, CreateServiceAccount first).
      return absl::FailedPreconditionError(std::string(p.status().message()) +
                                           ": create the user or service account first");
    }
    if (!p.ok()) return p.status();
    if (!internal::Enabled(path, 0, p->organization_id)) {
      return absl::FailedPreconditionError("organization " + p->organization_id +
                                           " is not delegated on group " + group +
                                           " or an ancestor of it: its users hold no roles there");
    }
    MASA_ASSIGN_OR_RETURN(auto existing, BindingsOf(op.txn(), *p, group));
    if (!existing.empty()) {
      return absl::AlreadyExistsError("user " + ShowUntrusted(p->name) + " has role " +
                                      existing.front().role + " on group " + group +
                                      " already (one role per user per group)");
    }
    store::RoleBinding b;
    b.id = internal::NewId(p->id + ".b-");
    b.principal_id = p->id;
    b.group_id = group;
    b.role = std::string(RoleName(role));
    b.created_at = Now();
    MASA_RETURN_IF_ERROR(op.txn().Insert(b));
    // Audited in the group's organization (whose tree changed), as BindRole is.
    MASA_RETURN_IF_ERROR(op.Audit("role.bind", Target(path.front().organization_id, b.id),
                                  "ok: " + b.role + " on " + group + " for " + p->id)
                             .status());
    return Describe(b);
  });
}

absl::Status ServiceImpl::RemoveUserRole(const Caller& caller, const UserRef& user,
                                         std::string_view group_id) {
  const std::string group(group_id);
  return Run(&caller, [&](internal::Operation& op) -> absl::Status {
    // The user's roles on the group are read first, to know whether the support role is
    // among them, but nothing is told before the caller is authorized.
    auto p = internal::FindPrincipal(op.txn(), user);
    if (!p.ok() && !absl::IsNotFound(p.status())) return p.status();
    std::vector<store::RoleBinding> bindings;
    if (p.ok()) {
      MASA_ASSIGN_OR_RETURN(bindings, BindingsOf(op.txn(), *p, group));
    }
    // Customer roles need admin on the group; a vendor role what giving it needs, support
    // first (it is the stricter).
    Role needed = Role::kViewer;
    for (const auto& b : bindings) {
      std::optional<Role> r = ParseRole(b.role);
      if (r && internal::IsVendorRole(*r) && needed != Role::kSupport) needed = *r;
    }
    MASA_ASSIGN_OR_RETURN(
        std::vector<store::Group> path,
        AuthorizeRoleChange(op, user, group, needed, options_.vendor_organization_id));
    if (!p.ok()) return p.status();
    if (bindings.empty()) {
      return absl::NotFoundError("user " + ShowUntrusted(p->name) + " has no role on group " +
                                 group);
    }
    for (const auto& b : bindings) {
      MASA_RETURN_IF_ERROR(op.txn().Delete<store::RoleBinding>(b.id));
      MASA_RETURN_IF_ERROR(op.Audit("role.unbind", Target(path.front().organization_id, b.id),
                                    "ok: " + b.role + " on " + group + " for " + p->id)
                               .status());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::map<std::string, Role>> ServiceImpl::GetUserRoles(const Caller& caller,
                                                                      const UserRef& user) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  MASA_ASSIGN_OR_RETURN(store::Principal p, internal::FindPrincipal(snap, user));
  MASA_ASSIGN_OR_RETURN(auto bindings,
                        internal::ListPrefix<store::RoleBinding>(snap, p.id + ".b-", BindingKey));
  const bool vendor_wide = internal::Has(access.cross_organization(), Permission::kView);
  std::map<std::string, Role> out;
  for (const auto& b : bindings) {
    // Shown where the caller holds a role itself (on the group or above it); a caller let
    // into another organization's tree by a delegation sees there only its own
    // organization's users.
    auto perms = access.On(b.group_id);
    if (absl::IsNotFound(perms.status())) continue;
    if (!perms.ok()) return perms.status();
    if (!internal::Has(*perms, Permission::kView)) continue;
    if (!vendor_wide && internal::OrganizationOfId(b.group_id) != caller.organization_id() &&
        p.organization_id != caller.organization_id()) {
      continue;
    }
    Role role = ParseRole(b.role).value_or(Role::kViewer);
    auto [it, added] = out.emplace(b.group_id, role);
    if (!added) it->second = std::max(it->second, role);  // the higher role wins
  }
  return out;
}

}  // namespace masa::service
