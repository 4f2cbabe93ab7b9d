// API tokens: issue, list, revoke.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/ids.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"

namespace masa::service {

using internal::AccessContext;
using internal::Authorize;
using internal::Event;
using internal::Describe;
using internal::Hide;
using internal::Permission;
using internal::Target;

absl::StatusOr<NewToken> ServiceImpl::IssueToken(store::WriteBatch& batch,
                                                 const std::string& actor,
                                                 const store::Principal& principal,
                                                 absl::Duration validity,
                                                 std::string description) {
  if (validity <= absl::ZeroDuration() || validity > options_.max_token_validity) {
    return absl::InvalidArgumentError(
        absl::StrCat("validity: must be more than 0 and at most ",
                     absl::FormatDuration(options_.max_token_validity)));
  }
  if (description.size() > 256) {
    return absl::InvalidArgumentError("description: longer than 256 bytes");
  }
  MASA_ASSIGN_OR_RETURN(Secret secret, internal::NewTokenSecret());
  store::ApiToken t;
  t.token_hash = internal::TokenHash(secret.view());
  t.id = internal::TokenIdFromHash(t.token_hash);
  t.principal_id = principal.id;
  t.description = std::move(description);
  t.created_at = Now();
  t.expires_at = t.created_at + validity;
  t.created_by = actor;
  batch.Insert(t).Audit(Event(actor, "token.create", Target(principal.organization_id, t.id),
                              "ok: for " + principal.id + " until " +
                                  FormatRfc3339(t.expires_at)));
  return NewToken{Describe(t), std::move(secret)};
}

absl::StatusOr<NewToken> ServiceImpl::CreateToken(const Caller& caller, TokenInput input) {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string pid = input.principal_id.empty() ? caller.principal_id() : input.principal_id;
  std::string what = "principal " + pid;
  if (pid != caller.principal_id()) {
    if (internal::OrganizationOfId(pid) != caller.organization_id()) {
      return absl::NotFoundError(what + " not found");
    }
    MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, caller.organization_id(),
                                   what, Hide::kOtherOrganizationsOnly));
  }
  auto principal = snap.Get<store::Principal>(pid);
  if (absl::IsNotFound(principal.status())) return absl::NotFoundError(what + " not found");
  if (!principal.ok()) return principal.status();
  if (principal->disabled) return absl::FailedPreconditionError(what + " is disabled");
  store::WriteBatch batch;
  MASA_ASSIGN_OR_RETURN(
      NewToken token,
      IssueToken(batch, caller.principal_id(), *principal,
                 input.validity.value_or(options_.default_token_validity),
                 std::move(input.description)));
  MASA_RETURN_IF_ERROR(store_->Write(std::move(batch)).status());
  return token;
}

absl::StatusOr<std::vector<TokenInfo>> ServiceImpl::ListTokens(
    const Caller& caller, std::string_view principal_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string pid = principal_id.empty() ? caller.principal_id() : std::string(principal_id);
  if (pid != caller.principal_id()) {
    if (internal::OrganizationOfId(pid) != caller.organization_id()) {
      return std::vector<TokenInfo>{};
    }
    MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, caller.organization_id(),
                                   "principal " + pid, Hide::kOtherOrganizationsOnly));
  }
  // Tokens are keyed by hash: a scan (token tables are small).
  MASA_ASSIGN_OR_RETURN(auto all, snap.List<store::ApiToken>());
  std::vector<TokenInfo> out;
  for (const auto& t : all) {
    if (t.principal_id == pid) out.push_back(Describe(t));
  }
  return out;
}

absl::Status ServiceImpl::RevokeToken(const Caller& caller, std::string_view token_id) {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::string what = "token " + std::string(token_id);
  MASA_ASSIGN_OR_RETURN(auto all, snap.List<store::ApiToken>());
  auto it = std::find_if(all.begin(), all.end(),
                         [&](const store::ApiToken& t) { return t.id == token_id; });
  if (it == all.end() ||
      internal::OrganizationOfId(it->principal_id) != caller.organization_id()) {
    return absl::NotFoundError(what + " not found");
  }
  if (it->principal_id != caller.principal_id()) {
    MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAdminister, caller.organization_id(),
                                   what, Hide::kOtherOrganizationsOnly));
  }
  if (it->revoked) return absl::OkStatus();
  it->revoked = true;
  store::WriteBatch batch;
  batch.Put(*it).Audit(Event(caller.principal_id(), "token.revoke",
                             Target(caller.organization_id(), it->id)));
  return store_->Write(std::move(batch)).status();
}

}  // namespace masa::service
