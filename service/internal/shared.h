// Helpers shared by the service's concept files (principals.cc, groups.cc, tokens.cc, ...):
// the record -> view conversions, the audit event constructor, name checks and id keys.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "service/service.h"
#include "store/records.h"
#include "store/store.h"

namespace masa::service::internal {

// The actor of operator commands run without a caller (masactl).
inline constexpr std::string_view kBootstrapActor = "masactl";

bool IsVendorRole(Role r);

// An e-mail-style username: printable, one '@' with text on both sides.
bool IsUsername(std::string_view s);
// A principal's name (username or service account name): an e-mail-style username, or
// 1..128 printable characters without spaces, e.g. "admin" or "srv-ztp" as OVGS names users.
bool IsPrincipalName(std::string_view s);
// An organization name: [a-z0-9-], 1..63, not starting or ending with '-'.
bool IsOrgName(std::string_view s);
// An organization id: "org-" and an organization name.
bool IsOrgId(std::string_view s);

PrincipalInfo Describe(const store::Principal& p);
BindingInfo Describe(const store::RoleBinding& b);
GroupInfo Describe(const store::Group& g);
TokenInfo Describe(const store::ApiToken& t);
absl::StatusOr<PdcInfo> Describe(const store::PinnedDomainCert& c);

store::AuditEvent Event(std::string actor, std::string action, std::string target,
                        std::string outcome = "ok", std::string hash = "");

// For the checks a write repeats inside its transaction (`txn` is the store::WriteTxn):
// OK when group `group_id` exists and belongs to `organization_id`; kNotFound "group <id>
// not found" otherwise, e.g. when a DeleteGroup committed after the caller's snapshot. Every
// write that puts something into a group (serial, PDC, binding, child group) runs it in the
// same transaction, so nothing is left in a deleted group.
absl::Status RequireGroup(const store::Reader& txn, std::string_view group_id,
                          std::string_view organization_id);

// The one per-serial answer, with code kNotFound, for a serial that is not assigned to the
// caller's organization AND for one of its organization in a group the caller may not view:
// the same words either way, so the answer does not tell the two apart.
std::string SerialNotFoundReason(std::string_view serial_number);

// The role bindings on group `group_id` (not its subtree), of every organization's
// principals. Bindings are keyed by their principal's id, so a delegated organization's
// bindings on a group sit outside the group organization's key range: a full scan of the
// bindings table (there is no index by group).
absl::StatusOr<std::vector<store::RoleBinding>> BindingsOnGroup(const store::Reader& reader,
                                                                std::string_view group_id);

// The principal a (username, kind, organization) tuple names; kNotFound "user ... not found"
// (the username quoted with ShowUntrusted) when there is none.
absl::StatusOr<store::Principal> FindPrincipal(const store::Reader& reader, const UserRef& user);
// The tuple of `p`.
UserRef UserOf(const store::Principal& p);

// The id of a record, for store range reads keyed by id prefix.
inline constexpr auto BindingKey = [](const store::RoleBinding& b) { return b.id; };
inline constexpr auto GroupKey = [](const store::Group& g) { return g.id; };
inline constexpr auto PrincipalKey = [](const store::Principal& p) { return p.id; };
inline constexpr auto PdcKey = [](const store::PinnedDomainCert& c) { return c.id; };

}  // namespace masa::service::internal
