#include "service/internal/authz.h"

#include <algorithm>

#include "common/status.h"
#include "service/internal/shared.h"

namespace masa::service::internal {
namespace {

constexpr PermissionSet P(Permission p) { return static_cast<PermissionSet>(p); }

// THE permission table. Roles are cumulative, lowest first.
constexpr PermissionSet kViewer = P(Permission::kView);
constexpr PermissionSet kRequestor = kViewer | P(Permission::kRequest) | P(Permission::kDownload);
constexpr PermissionSet kAssigner = kRequestor | P(Permission::kArchive) |
                                    P(Permission::kManagePdcs) | P(Permission::kPlaceSerials);
constexpr PermissionSet kAdmin = kAssigner | P(Permission::kAdminister) | P(Permission::kViewAudit);
// Vendor roles, in every organization. Support is read-write in every customer
// organization (OVGS: "all RPCs"), except the audit log, and read-only in the vendor's own
// (so that it cannot bind itself a vendor role there): see service/types.h.
constexpr PermissionSet kSupportAnywhere = kAdmin & ~P(Permission::kViewAudit);
constexpr PermissionSet kSupportInVendorOrganization = P(Permission::kView);
constexpr PermissionSet kAccountTeamAnywhere = P(Permission::kView) | P(Permission::kViewAudit) |
                                               P(Permission::kAssignSerials) |
                                               P(Permission::kCreateOrganizations);

}  // namespace

std::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kView:
      return "view";
    case Permission::kRequest:
      return "request";
    case Permission::kDownload:
      return "download";
    case Permission::kArchive:
      return "archive";
    case Permission::kManagePdcs:
      return "manage-pdcs";
    case Permission::kPlaceSerials:
      return "place-serials";
    case Permission::kAdminister:
      return "administer";
    case Permission::kViewAudit:
      return "view-audit";
    case Permission::kAssignSerials:
      return "assign-serials";
    case Permission::kCreateOrganizations:
      return "create-organizations";
    case Permission::kManageKeys:
      return "manage-keys";
  }
  return "?";
}

PermissionSet RolePermissions(Role role) {
  switch (role) {
    case Role::kViewer:
      return kViewer;
    case Role::kRequestor:
      return kRequestor;
    case Role::kAssigner:
      return kAssigner;
    case Role::kAdmin:
      return kAdmin;
    case Role::kSupport:
    case Role::kAccountTeam:
    case Role::kSecurityOfficer:
      return 0;  // their reach is cross-organization, below
  }
  return 0;
}

PermissionSet CrossOrganizationPermissions(Role role, bool vendor_organization) {
  switch (role) {
    case Role::kSupport:
      return vendor_organization ? kSupportInVendorOrganization : kSupportAnywhere;
    case Role::kAccountTeam:
      return kAccountTeamAnywhere;
    case Role::kSecurityOfficer:
      // The HSM key lifecycle, which belongs to no organization; no organization's data.
      return P(Permission::kManageKeys);
    default:
      return 0;
  }
}

PermissionSet GrantPermissions(Grant grant) {
  switch (grant) {
    case Grant::kRequest:
      return P(Permission::kRequest);
    case Grant::kDownload:
      return P(Permission::kDownload);
    case Grant::kArchive:
      return P(Permission::kArchive);
  }
  return 0;
}

std::string OrganizationOfId(std::string_view id) {
  return std::string(id.substr(0, id.find('.')));
}

absl::StatusOr<AccessContext> AccessContext::Load(const store::Reader& reader,
                                                  std::string principal_id,
                                                  std::string organization_id,
                                                  std::string vendor_org) {
  AccessContext ctx;
  ctx.reader_ = &reader;
  MASA_ASSIGN_OR_RETURN(ctx.bindings_, ListPrefix<store::RoleBinding>(
                                           reader, principal_id + ".b-",
                                           [](const store::RoleBinding& b) { return b.id; }));
  ctx.principal_id_ = std::move(principal_id);
  ctx.organization_id_ = std::move(organization_id);
  if (ctx.organization_id_ == vendor_org) {
    for (const auto& b : ctx.bindings_) {
      // Vendor roles count only where they exist: on the vendor organization's root group.
      if (b.group_id != vendor_org) continue;
      if (auto role = ParseRole(b.role)) {
        ctx.cross_ |= CrossOrganizationPermissions(*role, false);
        ctx.cross_vendor_ |= CrossOrganizationPermissions(*role, true);
      }
    }
  }
  ctx.vendor_org_ = std::move(vendor_org);
  return ctx;
}

bool AccessContext::Holds(Role role) const {
  return std::any_of(bindings_.begin(), bindings_.end(), [&](const store::RoleBinding& b) {
    if (ParseRole(b.role) != role) return false;
    // A vendor role counts on the vendor's root group only, as Load reads it.
    return !IsVendorRole(role) || (organization_id_ == vendor_org_ && b.group_id == vendor_org_);
  });
}

bool Delegates(const store::Group& group, std::string_view organization_id) {
  return std::any_of(group.delegated_orgs.begin(), group.delegated_orgs.end(),
                     [&](const std::string& o) { return o == organization_id || o == "*"; });
}

absl::StatusOr<std::vector<store::Group>> GroupPath(const store::Reader& reader,
                                                    std::string_view group_id) {
  std::vector<store::Group> path;
  MASA_ASSIGN_OR_RETURN(store::Group group, reader.Get<store::Group>(group_id));
  std::string parent = group.parent_id;
  path.push_back(std::move(group));
  for (int depth = 0; !parent.empty() && depth < 64; ++depth) {
    MASA_ASSIGN_OR_RETURN(store::Group g, reader.Get<store::Group>(parent));
    parent = g.parent_id;
    path.push_back(std::move(g));
  }
  return path;
}

bool Enabled(const std::vector<store::Group>& path, size_t index,
             std::string_view organization_id) {
  if (path.empty() || path.front().organization_id == organization_id) return true;
  for (size_t i = index; i < path.size(); ++i) {
    if (Delegates(path[i], organization_id)) return true;
  }
  return false;
}

absl::StatusOr<PermissionSet> AccessContext::On(std::string_view group_id) const {
  if (auto it = cache_.find(group_id); it != cache_.end()) return it->second;
  // The group and its ancestors: a binding anywhere on that path covers the group. In
  // another organization's tree a binding counts only while this principal's organization
  // (or "*") is delegated on its group or an ancestor of it, read now: removing the
  // delegation takes the access away.
  MASA_ASSIGN_OR_RETURN(std::vector<store::Group> path, GroupPath(*reader_, group_id));
  const std::string& org = path.front().organization_id;
  PermissionSet set = org == vendor_org_ ? cross_vendor_ : cross_;
  for (const auto& b : bindings_) {
    auto at = std::find_if(path.begin(), path.end(),
                           [&](const store::Group& g) { return g.id == b.group_id; });
    if (at == path.end()) continue;
    if (!Enabled(path, static_cast<size_t>(at - path.begin()), organization_id_)) continue;
    if (auto role = ParseRole(b.role)) set |= RolePermissions(*role);
    for (const auto& g : b.grants) {
      if (auto grant = ParseGrant(g)) set |= GrantPermissions(*grant);
    }
  }
  cache_.emplace(std::string(group_id), set);
  return set;
}

bool AccessContext::Anywhere(Permission p) const {
  if (Has(cross_, p)) return true;
  for (const auto& b : bindings_) {
    if (auto role = ParseRole(b.role); role && Has(RolePermissions(*role), p)) return true;
    for (const auto& g : b.grants) {
      if (auto grant = ParseGrant(g); grant && Has(GrantPermissions(*grant), p)) return true;
    }
  }
  return false;
}

absl::Status Authorize(const AccessContext& access, Permission p, std::string_view group_id,
                       std::string_view what, Hide hide) {
  auto not_found = [&] { return absl::NotFoundError(std::string(what) + " not found"); };
  auto perms = access.On(group_id);
  if (absl::IsNotFound(perms.status())) return not_found();
  if (!perms.ok()) return perms.status();
  if (Has(*perms, p)) return absl::OkStatus();
  bool own = OrganizationOfId(group_id) == access.organization_id();
  bool visible = Has(*perms, Permission::kView) || (own && hide == Hide::kOtherOrganizationsOnly);
  if (!visible) return not_found();
  return absl::PermissionDeniedError(std::string(what) + ": your roles do not include the " +
                                     std::string(PermissionName(p)) + " permission");
}

}  // namespace masa::service::internal
