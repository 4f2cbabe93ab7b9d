// Groups: the tree below an organization's root group.

#include <algorithm>
#include <map>

#include "common/status.h"
#include "common/utf8.h"
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

namespace {

// 1..256 characters (code points) of well-formed UTF-8 without control characters (C0, DEL,
// C1): what OVGS calls a group's description, spaces and non-ASCII letters allowed.
bool IsDescription(std::string_view s) {
  if (s.empty() || !IsValidUtf8(s)) return false;
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte
    if (++chars > 256) return false;
    if (c < 0x20 || c == 0x7f) return false;
    // U+0080..U+009F are C2 80..C2 9F.
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xA0) return false;
  }
  return true;
}

// Every component (serial) for which `keep` is true. Components have no index by group or
// organization: a full scan of the table.
template <typename F>
absl::StatusOr<std::vector<store::Component>> ScanComponents(const store::Reader& reader, F keep) {
  std::vector<store::Component> out;
  std::string start;
  constexpr size_t kChunk = 1024;
  while (true) {
    MASA_ASSIGN_OR_RETURN(auto comps, reader.List<store::Component>(start, kChunk));
    for (auto& c : comps) {
      if (keep(c)) out.push_back(c);
    }
    if (comps.size() < kChunk) return out;
    start =
        store::ComponentKey(comps.back().ien, comps.back().serial_number) + std::string(1, '\0');
  }
}

}  // namespace

absl::StatusOr<GroupInfo> ServiceImpl::CreateGroup(const Caller& caller, std::string_view parent_id,
                                                   std::string_view name) {
  if (!IsDescription(name)) {
    return absl::InvalidArgumentError(
        "name: 1..256 characters of printable UTF-8 text (spaces allowed)");
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
      return absl::InvalidArgumentError("the organization's root group cannot be deleted");
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
    MASA_ASSIGN_OR_RETURN(auto comps, ScanComponents(txn, [&](const store::Component& c) {
                            return c.group_id == id;
                          }));
    if (!comps.empty()) {
      return absl::FailedPreconditionError("group " + id + " holds serial " +
                                           comps.front().serial_number);
    }
    // Users: the bindings on it, of its own organization and of delegated ones (whose ids
    // start with their principal's organization): a full scan of the bindings.
    MASA_ASSIGN_OR_RETURN(auto bindings, internal::BindingsOnGroup(txn, id));
    if (!bindings.empty()) {
      return absl::FailedPreconditionError("group " + id + " has users: binding " +
                                           bindings.front().id + " (remove their roles first)");
    }
    MASA_RETURN_IF_ERROR(txn.Delete<store::Group>(id));
    return op.Audit("group.delete", Target(org, id)).status();
  });
}

}  // namespace masa::service

namespace masa::service {

absl::StatusOr<GroupDetails> ServiceImpl::GetGroup(const Caller& caller,
                                                   std::string_view group_id) const {
  const std::string what = "group " + ShowUntrusted(group_id);
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kView, group_id, what));
  MASA_ASSIGN_OR_RETURN(std::vector<store::Group> path, internal::GroupPath(snap, group_id));
  const store::Group& g = path.front();
  const std::string& org = g.organization_id;
  // A caller let in by a delegation sees its own organization's users and entry only; the
  // vendor roles (every organization) and the owner organization see everything.
  const bool delegated = caller.organization_id() != org &&
                         !internal::Has(access.cross_organization(), Permission::kView);
  GroupDetails out;
  out.group = Describe(g);

  MASA_ASSIGN_OR_RETURN(auto pdcs,
                        internal::ListPrefix<store::PinnedDomainCert>(snap, org + ".pdc-", PdcKey));
  for (const auto& c : pdcs) {
    if (c.group_id == g.id) out.cert_ids.push_back(c.id);
  }
  // Every serial of the organization is in its root group, placed below it or not.
  const bool root = g.parent_id.empty();
  MASA_ASSIGN_OR_RETURN(auto comps, ScanComponents(snap, [&](const store::Component& c) {
                          return c.organization_id == org && (root || c.group_id == g.id);
                        }));
  for (const auto& c : comps) out.components.push_back({c.ien, c.serial_number});

  // One member per principal, with its highest role on this group.
  MASA_ASSIGN_OR_RETURN(auto bindings, internal::BindingsOnGroup(snap, g.id));
  std::map<std::string, GroupMember> members;
  for (const auto& b : bindings) {
    if (delegated && internal::OrganizationOfId(b.principal_id) != caller.organization_id()) {
      continue;
    }
    Role role = ParseRole(b.role).value_or(Role::kViewer);
    auto it = members.find(b.principal_id);
    if (it != members.end()) {
      it->second.role = std::max(it->second.role, role);
      continue;
    }
    auto p = snap.Get<store::Principal>(b.principal_id);
    if (absl::IsNotFound(p.status())) continue;
    if (!p.ok()) return p.status();
    members.emplace(b.principal_id, GroupMember{internal::UserOf(*p), role});
  }
  for (auto& [id, m] : members) out.users.push_back(std::move(m));

  MASA_ASSIGN_OR_RETURN(auto groups,
                        internal::ListPrefix<store::Group>(snap, org + ".g-", GroupKey));
  for (const auto& child : groups) {
    if (child.parent_id == g.id) out.child_group_ids.push_back(child.id);
  }
  // Root first, so each organization's list reads from the top of the tree down.
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    for (const std::string& o : it->delegated_orgs) {
      if (delegated && o != caller.organization_id() && o != "*") continue;
      out.delegated_orgs[o].push_back(it->id);
    }
  }
  return out;
}

}  // namespace masa::service
