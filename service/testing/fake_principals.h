// A fake Principals: echoes what it is given as the record it would make, or fails every
// call with one chosen status; remembers the role and grant it was given (already parsed
// from their names by the front end).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/principals.h"

namespace masa::service::testing {

// Not thread-safe: tests call it from one thread at a time.
class FakePrincipals final : public Principals {
 public:
  absl::Status fail_with = absl::OkStatus();  // when not OK, every method returns it

  // What it saw.
  std::optional<Role> last_role;           // BindRole's
  std::optional<Grant> last_grant;         // GrantPermission's or RevokePermission's
  std::optional<UserRef> last_user;        // AddUserRole's or RemoveUserRole's
  std::map<std::string, Role> user_roles;  // what GetUserRoles answers

  absl::StatusOr<PrincipalInfo> InviteUser(const Caller&, std::string_view username) override {
    return Principal(username, PrincipalKind::kUser);
  }
  absl::StatusOr<PrincipalInfo> CreateServiceAccount(const Caller&,
                                                     std::string_view name) override {
    return Principal(name, PrincipalKind::kServiceAccount);
  }
  absl::StatusOr<std::vector<PrincipalInfo>> ListPrincipals(const Caller&) const override {
    if (!fail_with.ok()) return fail_with;
    return std::vector<PrincipalInfo>{};
  }
  absl::Status DisablePrincipal(const Caller&, std::string_view) override { return fail_with; }
  // Binding "b-1" of `principal_id` on `group_id`.
  absl::StatusOr<BindingInfo> BindRole(const Caller&, std::string_view principal_id,
                                       std::string_view group_id, Role role) override {
    if (!fail_with.ok()) return fail_with;
    last_role = role;
    BindingInfo b;
    b.binding_id = "b-1";
    b.principal_id = std::string(principal_id);
    b.group_id = std::string(group_id);
    b.role = role;
    return b;
  }
  absl::Status DeleteBinding(const Caller&, std::string_view) override { return fail_with; }
  // Binding `binding_id` holding exactly the grant added (none after a revoke).
  absl::StatusOr<BindingInfo> GrantPermission(const Caller&, std::string_view binding_id,
                                              Grant grant) override {
    return Granted(binding_id, grant, true);
  }
  absl::StatusOr<BindingInfo> RevokePermission(const Caller&, std::string_view binding_id,
                                               Grant grant) override {
    return Granted(binding_id, grant, false);
  }
  absl::StatusOr<std::vector<BindingInfo>> ListBindings(const Caller&,
                                                        std::string_view) const override {
    if (!fail_with.ok()) return fail_with;
    return std::vector<BindingInfo>{};
  }
  absl::StatusOr<BindingInfo> AddUserRole(const Caller&, const UserRef& user,
                                          std::string_view group, Role role) override {
    if (!fail_with.ok()) return fail_with;
    last_user = user;
    last_role = role;
    BindingInfo b;
    b.binding_id = "p-1.b-1";
    b.principal_id = "p-1";
    b.group_id = std::string(group);
    b.role = role;
    return b;
  }
  absl::Status RemoveUserRole(const Caller&, const UserRef& user, std::string_view) override {
    last_user = user;
    return fail_with;
  }
  absl::StatusOr<std::map<std::string, Role>> GetUserRoles(const Caller&,
                                                           const UserRef&) const override {
    if (!fail_with.ok()) return fail_with;
    return user_roles;
  }

 private:
  absl::StatusOr<PrincipalInfo> Principal(std::string_view name, PrincipalKind kind) {
    if (!fail_with.ok()) return fail_with;
    PrincipalInfo p;
    p.principal_id = "p-1";
    p.organization_id = "org-acme";
    p.kind = kind;
    p.name = std::string(name);
    return p;
  }
  absl::StatusOr<BindingInfo> Granted(std::string_view binding_id, Grant grant, bool add) {
    if (!fail_with.ok()) return fail_with;
    last_grant = grant;
    BindingInfo b;
    b.binding_id = std::string(binding_id);
    if (add) b.grants.push_back(grant);
    return b;
  }
};

}  // namespace masa::service::testing
