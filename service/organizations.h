// Organizations (each the root group of a tree of groups) and their groups, as a caller
// sees and manages them. The operator's caller-less bootstrap is service/bootstrap.h.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/principals.h"
#include "service/tokens.h"
#include "service/types.h"

namespace masa::service {

// A customer organization (or the vendor's own).
struct OrganizationInfo {
  std::string organization_id;  // "org-<name>", also the id of its root group
  std::string name;
  absl::Time created_at;
};

// A new organization or vendor principal: the first admin (or principal) and its first
// token, whose secret is shown this once.
struct BootstrapResult {
  std::string organization_id;
  PrincipalInfo principal;
  NewToken token;
};

struct GroupInfo {
  std::string group_id;
  std::string organization_id;
  std::string parent_id;  // "" for the organization's root group
  std::string name;       // what OVGS calls the group's description
  absl::Time created_at;
};

// A user's role on one group (a binding made on that group, not one inherited).
struct GroupMember {
  UserRef user;
  Role role = Role::kViewer;
};

// What OVGS GetGroup shows of one group.
struct GroupDetails {
  GroupInfo group;
  // The PDCs uploaded to this group (a group's certificates are not its children's).
  std::vector<std::string> cert_ids;
  // The serials in this group. Every serial of an organization is in its root group, and
  // may also be in one group below it: the root group lists them all.
  std::vector<SerialRef> components;
  // The role bindings on this group, of its own organization and of delegated ones.
  std::vector<GroupMember> users;
  std::vector<std::string> child_group_ids;
  // Each organization let into this group ("org-<name>", or "*" for any organization) ->
  // the groups, this one or its ancestors, whose delegation lets it in.
  std::map<std::string, std::vector<std::string>> delegated_orgs;
};

// Thread-safe: every method may be called from any thread at once. Methods that take a
// Caller re-check its token (revoked/expired/disabled -> kUnauthenticated). Reads authorize
// on a fresh store snapshot; every state change authorizes, changes and writes its audit
// entries inside one store write transaction (internal/operation.h), so nothing changes
// between the decision and the write; secrets never reach audit entries, logs or messages.
// Objects of another organization are answered kNotFound (see service/types.h).
class Organizations {
 public:
  virtual ~Organizations() = default;

  // Vendor account team only (others, customer admins included: kPermissionDenied): what
  // the bootstrap CreateOrganization below does, audited with the caller as actor. The role
  // is checked again inside the write transaction. kAlreadyExists when the organization
  // exists, kInvalidArgument for a bad name or username or the vendor organization's name.
  virtual absl::StatusOr<BootstrapResult> CreateOrganization(const Caller& caller,
                                                             std::string_view name,
                                                             std::string_view admin_username) = 0;
  // The vendor's account team and support: every organization; anyone else: only its own.
  // In id order.
  virtual absl::StatusOr<std::vector<OrganizationInfo>> ListOrganizations(
      const Caller& caller) const = 0;

  // Groups.
  // Needs admin on the parent. `name` (OVGS: description) is 1..256 characters of printable
  // UTF-8 text, spaces allowed; unique among siblings (kAlreadyExists). A new group is open
  // to the organizations delegated on its ancestors.
  virtual absl::StatusOr<GroupInfo> CreateGroup(const Caller& caller, std::string_view parent_id,
                                                std::string_view name) = 0;
  // Needs view on the group. A caller of a delegated organization sees only its own
  // organization's users and its own entry of delegated_orgs (and the "*" entry, which lets
  // it in as well). `users` has one member per principal, with its highest role there.
  virtual absl::StatusOr<GroupDetails> GetGroup(const Caller& caller,
                                                std::string_view group_id) const = 0;
  // The caller organization's groups it may view.
  virtual absl::StatusOr<std::vector<GroupInfo>> ListGroups(const Caller& caller) const = 0;
  // Needs admin on the group. kFailedPrecondition while it has child groups, serials, PDCs
  // or users (role bindings on it, of any organization: remove them first, as OVGS asks);
  // kInvalidArgument for a root group. Writes into a group
  // (PlaceSerials, UploadPdc, BindRole, CreateGroup, AssignSerials) check inside their write
  // transaction that it still exists (kNotFound when a deletion committed first), so a
  // concurrent deletion never leaves anything in a deleted group.
  virtual absl::Status DeleteGroup(const Caller& caller, std::string_view group_id) = 0;

  // Delegated organizations (OVGS): lets the users of `organization_id` (or of every
  // organization, "*") hold roles on `group_id` and its subtree, present and future. Needs
  // admin on the owner organization's root group (a delegated admin cannot delegate
  // further). kAlreadyExists when delegated on this group already, kNotFound for an
  // unknown organization, kInvalidArgument for the group's own organization.
  virtual absl::Status AddDelegatedOrganization(const Caller& caller, std::string_view group_id,
                                                std::string_view organization_id) = 0;
  // Undoes AddDelegatedOrganization on this group. kNotFound when it was not delegated
  // here; kFailedPrecondition while users of that organization hold roles in the subtree
  // that no other delegation lets in.
  virtual absl::Status RemoveDelegatedOrganization(const Caller& caller, std::string_view group_id,
                                                   std::string_view organization_id) = 0;
};

}  // namespace masa::service
