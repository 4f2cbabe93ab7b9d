// Helpers shared by the service's concept files (principals.cc, groups.cc, tokens.cc, ...):
// the record -> view conversions, the audit event constructor, name checks and id keys.
#pragma once

#include <string>
#include <string_view>

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
// An organization name: [a-z0-9-], 1..63, not starting or ending with '-'.
bool IsOrgName(std::string_view s);

PrincipalInfo Describe(const store::Principal& p);
BindingInfo Describe(const store::RoleBinding& b);
GroupInfo Describe(const store::Group& g);
TokenInfo Describe(const store::ApiToken& t);
absl::StatusOr<PdcInfo> Describe(const store::PinnedDomainCert& c);

store::AuditEvent Event(std::string actor, std::string action, std::string target,
                        std::string outcome = "ok", std::string hash = "");

// The id of a record, for store range reads keyed by id prefix.
inline constexpr auto BindingKey = [](const store::RoleBinding& b) { return b.id; };
inline constexpr auto GroupKey = [](const store::Group& g) { return g.id; };
inline constexpr auto PrincipalKey = [](const store::Principal& p) { return p.id; };
inline constexpr auto PdcKey = [](const store::PinnedDomainCert& c) { return c.id; };

}  // namespace masa::service::internal
