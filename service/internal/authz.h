// The permission table and the one authorization decision of the service. Every operation
// builds an AccessContext from a store snapshot and calls Authorize() before it reads or
// changes anything of an organization.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "service/service.h"
#include "store/records.h"
#include "store/store.h"

namespace masa::service::internal {

enum class Permission : uint32_t {
  kView = 1u << 0,      // vouchers, requests, PDCs, groups
  kRequest = 1u << 1,   // request and renew vouchers
  kDownload = 1u << 2,  // voucher CMS files
  kArchive = 1u << 3,
  kManagePdcs = 1u << 4,    // upload, delete
  kPlaceSerials = 1u << 5,  // move serials between the organization's groups
  kAdminister = 1u << 6,    // principals, bindings, groups, other principals' tokens
  kViewAudit = 1u << 7,
  kAssignSerials = 1u << 8,        // give serials to organizations (vendor)
  kCreateOrganizations = 1u << 9,  // onboard customer organizations (vendor)
  kManageKeys = 1u << 10,          // the HSM key lifecycle (vendor security officers)
};
using PermissionSet = uint32_t;

inline bool Has(PermissionSet set, Permission p) { return (set & static_cast<uint32_t>(p)) != 0; }
std::string_view PermissionName(Permission p);

// What a role gives on its group's subtree inside the principal's own organization.
PermissionSet RolePermissions(Role role);
// What a vendor role gives in EVERY organization: views, serial assignment, and for support
// everything a customer admin may do but read the audit log. `vendor_organization`: in the
// vendor's own organization, where support only views.
PermissionSet CrossOrganizationPermissions(Role role, bool vendor_organization);
PermissionSet GrantPermissions(Grant grant);

// Group ids: the root group is the organization id; others are "<org>.g-<hex>".
// Principal ids "<org>.p-<hex>", binding ids "<principal>.b-<hex>", PDC ids "<org>.pdc-<hex>".
std::string OrganizationOfId(std::string_view id);

// True when `group` lets the principals of `organization_id` in: it is delegated by name or
// as "*" (on this group itself; see GroupPath and Enabled for the subtree).
bool Delegates(const store::Group& group, std::string_view organization_id);
// `group_id` and its ancestors, the group first, the root group last. kNotFound when the
// group does not exist.
absl::StatusOr<std::vector<store::Group>> GroupPath(const store::Reader& reader,
                                                    std::string_view group_id);
// Whether a binding of a principal of `organization_id` on path[index] counts: always in the
// principal's own organization; in another one only while some path[i], i >= index (the
// binding's group or an ancestor), delegates that organization.
bool Enabled(const std::vector<store::Group>& path, size_t index, std::string_view organization_id);

// A caller's bindings, loaded once per operation, and the permissions they give per group
// (cached). Not thread-safe; lives for one operation.
class AccessContext {
 public:
  // Reads the principal's bindings from `reader`. `vendor_org` is the vendor organization.
  static absl::StatusOr<AccessContext> Load(const store::Reader& reader, std::string principal_id,
                                            std::string organization_id, std::string vendor_org);

  // The caller's permissions on `group_id` (and so on everything placed in it): its
  // bindings on the group or an ancestor (in another organization's tree only those a
  // delegation enables, see Enabled) and its vendor roles. kNotFound when the group does not
  // exist.
  absl::StatusOr<PermissionSet> On(std::string_view group_id) const;
  // True when some binding of the caller gives `p` somewhere (own organization or, for
  // vendor roles, anywhere).
  bool Anywhere(Permission p) const;
  // Permissions the caller has in every customer organization (vendor roles); 0 for
  // customers.
  PermissionSet cross_organization() const { return cross_; }
  // True when the caller holds `role` through a binding (vendor roles: on the vendor
  // organization's root group, where they exist).
  bool Holds(Role role) const;

  const std::string& principal_id() const { return principal_id_; }
  const std::string& organization_id() const { return organization_id_; }
  const std::vector<store::RoleBinding>& bindings() const { return bindings_; }
  const store::Reader& reader() const { return *reader_; }

 private:
  AccessContext() = default;
  const store::Reader* reader_ = nullptr;
  std::string principal_id_;
  std::string organization_id_;
  std::vector<store::RoleBinding> bindings_;
  std::string vendor_org_;
  PermissionSet cross_ = 0;
  PermissionSet cross_vendor_ = 0;  // vendor roles in the vendor organization itself
  mutable std::map<std::string, PermissionSet, std::less<>> cache_;
};

// How a refusal reads.
enum class Hide {
  // An object lookup: when the caller may not even view the group, answer kNotFound so the
  // object's existence does not leak.
  kIfInvisible,
  // An operation on the caller's own organization (invite, create group, ...): within it,
  // answer kPermissionDenied; in another organization kNotFound.
  kOtherOrganizationsOnly,
};

// THE authorization decision. OK when the caller holds `p` on `group_id`. Otherwise
// kNotFound ("<what> not found") or kPermissionDenied ("<what>: your roles do not include
// the <p> permission") as `hide` says.
absl::Status Authorize(const AccessContext& access, Permission p, std::string_view group_id,
                       std::string_view what, Hide hide = Hide::kIfInvisible);

// Reads every record of type T whose key starts with `prefix`, in key order.
template <typename T, typename KeyFn>
absl::StatusOr<std::vector<T>> ListPrefix(const store::Reader& reader, std::string_view prefix,
                                          KeyFn key_of) {
  std::vector<T> out;
  std::string start(prefix);
  constexpr size_t kChunk = 256;
  while (true) {
    auto chunk = reader.List<T>(start, kChunk);
    if (!chunk.ok()) return chunk.status();
    for (T& r : *chunk) {
      std::string key = key_of(r);
      if (key.compare(0, prefix.size(), prefix) != 0) return out;
      start = key + std::string(1, '\0');
      out.push_back(std::move(r));
    }
    if (chunk->size() < kChunk) return out;
  }
}

}  // namespace masa::service::internal
