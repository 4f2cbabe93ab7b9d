// Organizations (each the root group of a tree of groups) and their groups, as a caller
// sees and manages them. The operator's caller-less bootstrap is service/bootstrap.h.
#pragma once

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
  std::string name;
  absl::Time created_at;
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
  // Needs admin on the parent. Names are unique among siblings (kAlreadyExists).
  virtual absl::StatusOr<GroupInfo> CreateGroup(const Caller& caller, std::string_view parent_id,
                                                std::string_view name) = 0;
  // The caller organization's groups it may view.
  virtual absl::StatusOr<std::vector<GroupInfo>> ListGroups(const Caller& caller) const = 0;
  // Needs admin on the group. kFailedPrecondition while it has child groups, serials or
  // PDCs, and for a root group. Its role bindings are deleted with it. Writes into a group
  // (PlaceSerials, UploadPdc, BindRole, CreateGroup, AssignSerials) check inside their write
  // transaction that it still exists (kNotFound when a deletion committed first), so a
  // concurrent deletion never leaves anything in a deleted group.
  virtual absl::Status DeleteGroup(const Caller& caller, std::string_view group_id) = 0;
};

}  // namespace masa::service
