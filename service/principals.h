// Principals (users and service accounts of an organization) and their role bindings on
// groups, with the single-permission grants an admin adds to a binding.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/types.h"

namespace masa::service {

struct PrincipalInfo {
  std::string principal_id;
  std::string organization_id;
  PrincipalKind kind = PrincipalKind::kUser;
  std::string name;  // username (e-mail style) or account name
  bool disabled = false;
  absl::Time created_at;
};

struct BindingInfo {
  std::string binding_id;
  std::string principal_id;
  std::string group_id;
  Role role = Role::kViewer;
  std::vector<Grant> grants;  // in the order they were granted
  absl::Time created_at;
};

// Thread-safe: every method may be called from any thread at once. Methods that take a
// Caller re-check its token (revoked/expired/disabled -> kUnauthenticated). Reads authorize
// on a fresh store snapshot; every state change authorizes, changes and writes its audit
// entries inside one store write transaction (internal/operation.h), so nothing changes
// between the decision and the write; secrets never reach audit entries, logs or messages.
// Objects of another organization are answered kNotFound (see service/types.h).
// Admin on the organization's root group, except ListBindings: admin on any group sees the
// bindings on its subtree.
class Principals {
 public:
  virtual ~Principals() = default;

  // Creates a user named by an e-mail-style username or a plain name such as "admin"
  // (1..128 printable characters without spaces), unique in the organization
  // (kAlreadyExists). No role until BindRole.
  virtual absl::StatusOr<PrincipalInfo> InviteUser(const Caller& caller,
                                                   std::string_view username) = 0;
  virtual absl::StatusOr<PrincipalInfo> CreateServiceAccount(const Caller& caller,
                                                             std::string_view name) = 0;
  virtual absl::StatusOr<std::vector<PrincipalInfo>> ListPrincipals(const Caller& caller) const = 0;
  // Its tokens stop working at once. A caller cannot disable itself (kFailedPrecondition).
  virtual absl::Status DisablePrincipal(const Caller& caller, std::string_view principal_id) = 0;
  // Gives `principal_id` (same organization) `role` on `group_id` and its subtree; needs
  // admin on that group. Vendor roles only in the vendor organization's root group.
  virtual absl::StatusOr<BindingInfo> BindRole(const Caller& caller, std::string_view principal_id,
                                               std::string_view group_id, Role role) = 0;
  virtual absl::Status DeleteBinding(const Caller& caller, std::string_view binding_id) = 0;
  // Adds / removes a grant on a binding; needs admin on the binding's group. Granting one
  // that is present, or revoking one that is absent, is a no-op (still OK, not audited).
  virtual absl::StatusOr<BindingInfo> GrantPermission(const Caller& caller,
                                                      std::string_view binding_id, Grant grant) = 0;
  virtual absl::StatusOr<BindingInfo> RevokePermission(const Caller& caller,
                                                       std::string_view binding_id,
                                                       Grant grant) = 0;
  // principal_id "" = every binding the caller may administer, those of delegated
  // organizations' users on its organization's groups included; a caller may always list
  // its own bindings.
  virtual absl::StatusOr<std::vector<BindingInfo>> ListBindings(
      const Caller& caller, std::string_view principal_id) const = 0;

  // User roles as OVGS manages them, by (username, kind, organization) tuple. One role per
  // user per group.
  // Gives the user `role` on `group_id`: needs admin on the group (a caller of a delegated
  // organization: only for users of its own organization); the user's organization must be
  // the group's or one delegated to it. kFailedPrecondition for an unknown user tuple,
  // kAlreadyExists when the user already has a role on this group. SUPPORT (kSupport) only
  // by a caller holding kSupport.
  virtual absl::StatusOr<BindingInfo> AddUserRole(const Caller& caller, const UserRef& user,
                                                  std::string_view group_id, Role role) = 0;
  // Removes the user's role on `group_id`; same permission as AddUserRole. kNotFound when
  // the user has no role on that group (or the tuple is unknown).
  virtual absl::Status RemoveUserRole(const Caller& caller, const UserRef& user,
                                      std::string_view group_id) = 0;
  // The user's roles, group id -> role, only on groups where the caller itself holds a role
  // (empty otherwise). kNotFound only for an unknown user tuple.
  virtual absl::StatusOr<std::map<std::string, Role>> GetUserRoles(const Caller& caller,
                                                                   const UserRef& user) const = 0;
};

}  // namespace masa::service
