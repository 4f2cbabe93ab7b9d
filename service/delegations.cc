// Delegated organizations (OVGS): which other organizations' principals may hold roles on a
// group and its subtree. The delegations live on the group record (store::Group
// delegated_orgs); authorization reads them at every decision (internal/authz.h Enabled).
#include <algorithm>
#include <map>

#include "common/status.h"
#include "common/utf8.h"
#include "service/internal/authz.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"

namespace masa::service {

using internal::Authorize;
using internal::BindingKey;
using internal::Hide;
using internal::Permission;
using internal::Target;

namespace {

// "*" or an organization id, checked before it is quoted in a message or stored.
absl::Status CheckDelegate(std::string_view organization_id) {
  if (organization_id == "*" || internal::IsOrgId(organization_id)) return absl::OkStatus();
  return absl::InvalidArgumentError("org_id: expected an organization id (org-<name>) or *, not " +
                                    ShowUntrusted(organization_id));
}

// The group, authorized for changing its delegations: only an admin of the owner
// organization's root group (not a delegated admin, not the vendor's support). kNotFound
// when the caller may not view the group.
absl::StatusOr<store::Group> DelegationTarget(const internal::Operation& op,
                                              std::string_view group_id) {
  const std::string what = "group " + ShowUntrusted(group_id);
  MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kView, group_id, what));
  MASA_ASSIGN_OR_RETURN(store::Group g, op.txn().Get<store::Group>(group_id));
  const std::string& org = g.organization_id;
  auto root = op.access().On(org);
  if (!root.ok()) return root.status();
  if (op.access().organization_id() != org || !internal::Has(*root, Permission::kAdminister)) {
    return absl::PermissionDeniedError(what +
                                       ": only an admin of the owning organization's root group " +
                                       org + " may change its delegated organizations");
  }
  return g;
}

}  // namespace

absl::Status ServiceImpl::AddDelegatedOrganization(const Caller& caller, std::string_view group_id,
                                                   std::string_view organization_id) {
  MASA_RETURN_IF_ERROR(CheckDelegate(organization_id));
  const std::string delegate(organization_id);
  return Run(&caller, [&](internal::Operation& op) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(store::Group g, DelegationTarget(op, group_id));
    if (delegate == g.organization_id) {
      return absl::InvalidArgumentError("organization " + delegate + " owns group " + g.id +
                                        ": only other organizations are delegated");
    }
    if (delegate != "*") {
      auto o = op.txn().Get<store::Organization>(delegate);
      if (absl::IsNotFound(o.status())) {
        return absl::NotFoundError("organization " + delegate + " not found");
      }
      if (!o.ok()) return o.status();
    }
    auto& list = g.delegated_orgs;
    if (std::find(list.begin(), list.end(), delegate) != list.end()) {
      return absl::AlreadyExistsError("organization " + delegate + " is delegated on group " +
                                      g.id + " already");
    }
    list.insert(std::upper_bound(list.begin(), list.end(), delegate), delegate);
    MASA_RETURN_IF_ERROR(op.txn().Put(g));
    return op.Audit("group.delegate", Target(g.organization_id, g.id), "ok: " + delegate).status();
  });
}

absl::Status ServiceImpl::RemoveDelegatedOrganization(const Caller& caller,
                                                      std::string_view group_id,
                                                      std::string_view organization_id) {
  MASA_RETURN_IF_ERROR(CheckDelegate(organization_id));
  const std::string delegate(organization_id);
  return Run(&caller, [&](internal::Operation& op) -> absl::Status {
    store::WriteTxn& txn = op.txn();
    MASA_ASSIGN_OR_RETURN(store::Group g, DelegationTarget(op, group_id));
    auto& list = g.delegated_orgs;
    auto at = std::find(list.begin(), list.end(), delegate);
    if (at == list.end()) {
      return absl::NotFoundError("organization " + delegate + " is not delegated on group " + g.id);
    }
    list.erase(at);
    // Written first: the check below reads the tree as it would be without this delegation
    // (the transaction sees its own writes), and a refusal rolls the write back.
    MASA_RETURN_IF_ERROR(txn.Put(g));
    // The bindings this delegation may have enabled: of that organization's principals (ids
    // start with it), or for "*" of every other organization's (a full scan).
    const std::string& owner = g.organization_id;
    MASA_ASSIGN_OR_RETURN(auto bindings,
                          internal::ListPrefix<store::RoleBinding>(
                              txn, delegate == "*" ? "" : delegate + ".", BindingKey));
    std::map<std::string, std::vector<store::Group>> paths;
    for (const auto& b : bindings) {
      const std::string principal_org = internal::OrganizationOfId(b.principal_id);
      if (principal_org == owner || internal::OrganizationOfId(b.group_id) != owner) continue;
      auto it = paths.find(b.group_id);
      if (it == paths.end()) {
        auto path = internal::GroupPath(txn, b.group_id);
        if (absl::IsNotFound(path.status())) continue;
        if (!path.ok()) return path.status();
        it = paths.emplace(b.group_id, *std::move(path)).first;
      }
      const auto& path = it->second;
      bool below = std::any_of(path.begin(), path.end(),
                               [&](const store::Group& p) { return p.id == g.id; });
      if (below && !internal::Enabled(path, 0, principal_org)) {
        return absl::FailedPreconditionError(
            "principal " + b.principal_id + " of organization " + principal_org + " holds role " +
            b.role + " on group " + b.group_id +
            ", which only this delegation lets in: remove that role first");
      }
    }
    return op.Audit("group.undelegate", Target(owner, g.id), "ok: " + delegate).status();
  });
}

}  // namespace masa::service
