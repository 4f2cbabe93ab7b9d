#include "service/internal/shared.h"

#include <algorithm>

#include "common/base64.h"
#include "common/status.h"
#include "common/utf8.h"
#include "service/internal/authz.h"
#include "service/internal/pdc.h"
#include "service/internal/service_impl.h"

namespace masa::service::internal {

bool IsVendorRole(Role r) {
  return r == Role::kSupport || r == Role::kAccountTeam || r == Role::kSecurityOfficer;
}

bool IsUsername(std::string_view s) {
  size_t at = s.find('@');
  return IsPrintableToken(s, 254) && at != std::string_view::npos && at > 0 && at + 1 < s.size() &&
         s.find('@', at + 1) == std::string_view::npos;
}

bool IsPrincipalName(std::string_view s) { return IsUsername(s) || IsPrintableToken(s, 128); }

bool IsOrgName(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

PrincipalInfo Describe(const store::Principal& p) {
  return {p.id,
          p.organization_id,
          p.kind == store::PrincipalKind::kServiceAccount ? PrincipalKind::kServiceAccount
                                                          : PrincipalKind::kUser,
          p.name,
          p.disabled,
          p.created_at};
}

BindingInfo Describe(const store::RoleBinding& b) {
  // The store keeps the names (RoleName, GrantName), and only ever those: a name no enum
  // has would show as the lowest role and no grant, as authorization reads it (authz.cc).
  BindingInfo info{b.id, b.principal_id, b.group_id, ParseRole(b.role).value_or(Role::kViewer),
                   {},   b.created_at};
  for (const std::string& g : b.grants) {
    if (std::optional<Grant> grant = ParseGrant(g)) info.grants.push_back(*grant);
  }
  return info;
}

GroupInfo Describe(const store::Group& g) {
  return {g.id, g.organization_id, g.parent_id, g.name, g.created_at};
}

TokenInfo Describe(const store::ApiToken& t) {
  return {t.id,         t.principal_id, t.description, t.created_at,
          t.expires_at, t.revoked,      t.created_by,  t.minted_by};
}

absl::StatusOr<PdcInfo> Describe(const store::PinnedDomainCert& c) {
  MASA_ASSIGN_OR_RETURN(ParsedPdc parsed, ParsePdc(c.certificate_der, c.id, PdcRules::kStored));
  return PdcInfo{c.id,
                 c.organization_id,
                 c.group_id,
                 c.name,
                 parsed.subject,
                 parsed.organization,
                 parsed.not_before,
                 parsed.not_after,
                 HexEncode(parsed.sha256),
                 c.certificate_der,
                 c.created_at,
                 c.revocation_checks,
                 c.expiry_time};
}

store::AuditEvent Event(std::string actor, std::string action, std::string target,
                        std::string outcome, std::string hash) {
  return {std::move(actor), std::move(action), std::move(target), std::move(outcome),
          std::move(hash)};
}

absl::Status RequireGroup(const store::Reader& txn, std::string_view group_id,
                          std::string_view organization_id) {
  auto g = txn.Get<store::Group>(group_id);
  if (g.ok() && g->organization_id == organization_id) return absl::OkStatus();
  if (!g.ok() && !absl::IsNotFound(g.status())) return g.status();
  return absl::NotFoundError("group " + std::string(group_id) + " not found");
}

absl::StatusOr<std::vector<store::RoleBinding>> BindingsOnGroup(const store::Reader& reader,
                                                                std::string_view group_id) {
  MASA_ASSIGN_OR_RETURN(auto all, ListPrefix<store::RoleBinding>(reader, "", BindingKey));
  std::vector<store::RoleBinding> out;
  for (auto& b : all) {
    if (b.group_id == group_id) out.push_back(std::move(b));
  }
  return out;
}

absl::StatusOr<store::Principal> FindPrincipal(const store::Reader& reader, const UserRef& user) {
  auto not_found = [&] {
    return absl::NotFoundError("user " + ShowUntrusted(user.username) + " (" +
                               std::string(PrincipalKindName(user.kind)) + ") of organization " +
                               ShowUntrusted(user.organization_id) + " not found");
  };
  if (user.username.empty() || !IsOrgId(user.organization_id)) return not_found();
  MASA_ASSIGN_OR_RETURN(
      auto all, ListPrefix<store::Principal>(reader, user.organization_id + ".p-", PrincipalKey));
  const store::PrincipalKind kind = user.kind == PrincipalKind::kServiceAccount
                                        ? store::PrincipalKind::kServiceAccount
                                        : store::PrincipalKind::kUser;
  for (auto& p : all) {
    if (p.name == user.username && p.kind == kind) return std::move(p);
  }
  return not_found();
}

UserRef UserOf(const store::Principal& p) {
  return {p.name,
          p.kind == store::PrincipalKind::kServiceAccount ? PrincipalKind::kServiceAccount
                                                          : PrincipalKind::kUser,
          p.organization_id};
}

bool IsOrgId(std::string_view s) { return s.substr(0, 4) == "org-" && IsOrgName(s.substr(4)); }

std::string SerialNotFoundReason(std::string_view serial_number) {
  return "serial " + std::string(serial_number) +
         " not found: it is not assigned to your organization, or not to a group you may view";
}

}  // namespace masa::service::internal
