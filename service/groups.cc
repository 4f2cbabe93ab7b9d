// Groups: the tree below an organization's root group.

#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/ids.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"

namespace masa::service {

using internal::AccessContext;
using internal::Authorize;
using internal::Describe;
using internal::PdcKey;
using internal::GroupKey;
using internal::BindingKey;
using internal::Hide;
using internal::Permission;
using internal::Target;

absl::StatusOr<GroupInfo> ServiceImpl::CreateGroup(const Caller& caller, std::string_view parent_id,
                                                   std::string_view name) {
  if (!internal::IsPrintableToken(name, 128)) {
    return absl::InvalidArgumentError("name: 1..128 printable characters without spaces");
  }
  std::string parent = parent_id.empty() ? caller.organization_id() : std::string(parent_id);
  store::Group g;
  g.organization_id = internal::OrganizationOfId(parent);
  g.id = internal::NewId(g.organization_id + ".g-");
  g.parent_id = parent;
  g.name = std::string(name);
  g.created_at = Now();
  MASA_RETURN_IF_ERROR(Run(&caller, [&](internal::Operation& op) -> absl::Status {
    MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kAdminister, parent, "group " + parent,
                                   Hide::kOtherOrganizationsOnly));
    MASA_RETURN_IF_ERROR(internal::RequireGroup(op.txn(), g.parent_id, g.organization_id));
    MASA_ASSIGN_OR_RETURN(auto groups, internal::ListPrefix<store::Group>(
                                           op.txn(), g.organization_id + ".g-", GroupKey));
    for (const auto& other : groups) {
      if (other.parent_id == g.parent_id && other.name == g.name) {
        return absl::AlreadyExistsError("group " + g.parent_id + " has a child named " + g.name);
      }
    }
    MASA_RETURN_IF_ERROR(op.txn().Insert(g));
    return op
        .Audit("group.create", Target(g.organization_id, g.id),
               "ok: " + g.name + " under " + parent)
        .status();
  }));
  return Describe(g);
}

absl::StatusOr<std::vector<GroupInfo>> ServiceImpl::ListGroups(const Caller& caller) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  const std::string& org = caller.organization_id();
  std::vector<store::Group> all;
  MASA_ASSIGN_OR_RETURN(store::Group root, snap.Get<store::Group>(org));
  all.push_back(root);
  MASA_ASSIGN_OR_RETURN(auto children,
                        internal::ListPrefix<store::Group>(snap, org + ".g-", GroupKey));
  all.insert(all.end(), children.begin(), children.end());
  std::vector<GroupInfo> out;
  for (const auto& g : all) {
    if (Authorize(access, Permission::kView, g.id, g.id).ok()) out.push_back(Describe(g));
  }
  return out;
}

absl::Status ServiceImpl::DeleteGroup(const Caller& caller, std::string_view group_id) {
  const std::string what = "group " + std::string(group_id);
  // Decided where it takes effect: writes into the group (PlaceSerials, UploadPdc, BindRole,
  // CreateGroup, AssignSerials) check in their transaction that it still exists, and the
  // store runs one write transaction at a time, so either they see it gone or this sees
  // what they added.
  return Run(&caller, [&](internal::Operation& op) -> absl::Status {
    store::WriteTxn& txn = op.txn();
    MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kAdminister, group_id, what,
                                   Hide::kOtherOrganizationsOnly));
    auto g = txn.Get<store::Group>(group_id);
    if (absl::IsNotFound(g.status())) return absl::NotFoundError(what + " not found");
    if (!g.ok()) return g.status();
    if (g->parent_id.empty()) {
      return absl::FailedPreconditionError("the organization's root group cannot be deleted");
    }
    const std::string org = g->organization_id, id = g->id;
    MASA_ASSIGN_OR_RETURN(auto groups,
                          internal::ListPrefix<store::Group>(txn, org + ".g-", GroupKey));
    for (const auto& other : groups) {
      if (other.parent_id == id) {
        return absl::FailedPreconditionError("group " + id + " has child group " + other.id);
      }
    }
    MASA_ASSIGN_OR_RETURN(
        auto pdcs, internal::ListPrefix<store::PinnedDomainCert>(txn, org + ".pdc-", PdcKey));
    for (const auto& c : pdcs) {
      if (c.group_id == id) {
        return absl::FailedPreconditionError("group " + id + " holds certificate " + c.id);
      }
    }
    // Components have no index by group: a full scan (fine for deletes, which are rare).
    std::string start;
    while (true) {
      MASA_ASSIGN_OR_RETURN(auto comps, txn.List<store::Component>(start, 1024));
      for (const auto& c : comps) {
        if (c.group_id == id) {
          return absl::FailedPreconditionError("group " + id + " holds serial " + c.serial_number);
        }
      }
      if (comps.size() < 1024) break;
      start =
          store::ComponentKey(comps.back().ien, comps.back().serial_number) + std::string(1, '\0');
    }
    MASA_ASSIGN_OR_RETURN(auto bindings,
                          internal::ListPrefix<store::RoleBinding>(txn, org + ".", BindingKey));
    for (const auto& b : bindings) {
      if (b.group_id == id) MASA_RETURN_IF_ERROR(txn.Delete<store::RoleBinding>(b.id));
    }
    MASA_RETURN_IF_ERROR(txn.Delete<store::Group>(id));
    return op.Audit("group.delete", Target(org, id)).status();
  });
}

}  // namespace masa::service

namespace masa::service {

// Declared for OVGS (issue 11); implemented in a later commit.
absl::StatusOr<GroupDetails> ServiceImpl::GetGroup(const Caller&, std::string_view) const {
  return absl::UnimplementedError("GetGroup is not implemented yet");
}
absl::Status ServiceImpl::AddDelegatedOrganization(const Caller&, std::string_view,
                                                   std::string_view) {
  return absl::UnimplementedError("AddDelegatedOrganization is not implemented yet");
}
absl::Status ServiceImpl::RemoveDelegatedOrganization(const Caller&, std::string_view,
                                                      std::string_view) {
  return absl::UnimplementedError("RemoveDelegatedOrganization is not implemented yet");
}

}  // namespace masa::service
