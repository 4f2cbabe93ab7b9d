// A fake Organizations: canned organizations and groups, or every call fails with one
// chosen status.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "service/organizations.h"

namespace masa::service::testing {

// Not thread-safe: tests call it from one thread at a time.
class FakeOrganizations final : public Organizations {
 public:
  absl::Status fail_with = absl::OkStatus();  // when not OK, every method returns it
  GroupDetails details;                       // what GetGroup answers (with the id asked)
  // The (group, organization) of the last Add/RemoveDelegatedOrganization.
  std::pair<std::string, std::string> last_delegation;

  // "org-<name>" with its admin "org-<name>.p-1" and first token "tok-2".
  absl::StatusOr<BootstrapResult> CreateOrganization(const Caller&, std::string_view name,
                                                     std::string_view admin) override {
    if (!fail_with.ok()) return fail_with;
    BootstrapResult r;
    r.organization_id = "org-" + std::string(name);
    r.principal.principal_id = r.organization_id + ".p-1";
    r.principal.organization_id = r.organization_id;
    r.principal.name = std::string(admin);
    r.token.info.token_id = "tok-2";
    r.token.secret = Secret("masa_first-secret");
    return r;
  }
  // org-acme only.
  absl::StatusOr<std::vector<OrganizationInfo>> ListOrganizations(const Caller&) const override {
    if (!fail_with.ok()) return fail_with;
    return std::vector<OrganizationInfo>{{"org-acme", "acme", absl::UnixEpoch()}};
  }
  absl::StatusOr<GroupInfo> CreateGroup(const Caller&, std::string_view,
                                        std::string_view) override {
    if (!fail_with.ok()) return fail_with;
    return GroupInfo{};
  }
  absl::StatusOr<std::vector<GroupInfo>> ListGroups(const Caller&) const override {
    if (!fail_with.ok()) return fail_with;
    return std::vector<GroupInfo>{};
  }
  absl::Status DeleteGroup(const Caller&, std::string_view) override { return fail_with; }
  absl::StatusOr<GroupDetails> GetGroup(const Caller&, std::string_view id) const override {
    if (!fail_with.ok()) return fail_with;
    GroupDetails d = details;
    d.group.group_id = std::string(id);
    return d;
  }
  absl::Status AddDelegatedOrganization(const Caller&, std::string_view group,
                                        std::string_view org) override {
    last_delegation = {std::string(group), std::string(org)};
    return fail_with;
  }
  absl::Status RemoveDelegatedOrganization(const Caller&, std::string_view group,
                                           std::string_view org) override {
    last_delegation = {std::string(group), std::string(org)};
    return fail_with;
  }
};

}  // namespace masa::service::testing
