// API tokens: issue, list, revoke.
#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/ids.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"

namespace masa::service {

using internal::AccessContext;
using internal::Authorize;
using internal::Describe;
using internal::Hide;
using internal::Permission;
using internal::PrincipalKey;
using internal::Target;

absl::StatusOr<NewToken> ServiceImpl::IssueToken(internal::Operation& op,
                                                 const store::Principal& principal,
                                                 std::optional<absl::Duration> asked,
                                                 std::string description,
                                                 const store::ApiToken* minted_by) {
  absl::Duration validity = asked.value_or(options_.default_token_validity);
  if (validity <= absl::ZeroDuration() || validity > options_.max_token_validity) {
    return absl::InvalidArgumentError(
        absl::StrCat("validity: must be more than 0 and at most ",
                     absl::FormatDuration(options_.max_token_validity)));
  }
  if (description.size() > 256) {
    return absl::InvalidArgumentError("description: longer than 256 bytes");
  }
  store::ApiToken t;
  t.created_at = Now();
  t.expires_at = t.created_at + validity;
  if (minted_by != nullptr) {
    t.minted_by = minted_by->id;
    if (t.expires_at > minted_by->expires_at) {
      if (asked) {
        absl::Duration left = absl::Floor(minted_by->expires_at - t.created_at, absl::Seconds(1));
        return absl::InvalidArgumentError(
            absl::StrCat("validity: at most ", absl::FormatDuration(left),
                         ", since a token never outlives "
                         "the token that mints it (",
                         minted_by->id, " expires at ", FormatRfc3339(minted_by->expires_at),
                         "); leave validity out to get one that "
                         "expires with it"));
      }
      t.expires_at = minted_by->expires_at;
    }
  }
  MASA_ASSIGN_OR_RETURN(Secret secret, internal::NewTokenSecret());
  t.token_hash = internal::TokenHash(secret.view());
  t.id = internal::TokenIdFromHash(t.token_hash);
  t.principal_id = principal.id;
  t.description = std::move(description);
  t.created_by = op.actor();
  MASA_RETURN_IF_ERROR(op.txn().Insert(t));
  MASA_RETURN_IF_ERROR(
      op.Audit("token.create", Target(principal.organization_id, t.id),
               absl::StrCat("ok: for ", principal.id, " until ", FormatRfc3339(t.expires_at),
                            t.minted_by.empty() ? "" : ", minted by ", t.minted_by))
          .status());
  return NewToken{Describe(t), std::move(secret)};
}

absl::StatusOr<NewToken> ServiceImpl::CreateToken(const Caller& caller, TokenInput input) {
  const std::string pid = input.principal_id.empty() ? caller.principal_id() : input.principal_id;
  const std::string what = "principal " + pid;
  // The minter is read in the same transaction that inserts the new token (Run re-checked
  // the caller's token there): a revocation of the minter that commits first makes this
  // fail, one that commits later finds this token and revokes it with its minter.
  return Mutate<NewToken>(&caller, [&](internal::Operation& op) -> absl::StatusOr<NewToken> {
    if (pid != caller.principal_id()) {
      if (internal::OrganizationOfId(pid) != caller.organization_id()) {
        return absl::NotFoundError(what + " not found");
      }
      MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kAdminister, caller.organization_id(),
                                     what, Hide::kOtherOrganizationsOnly));
    }
    auto principal = op.txn().Get<store::Principal>(pid);
    if (absl::IsNotFound(principal.status())) return absl::NotFoundError(what + " not found");
    if (!principal.ok()) return principal.status();
    if (principal->disabled) return absl::FailedPreconditionError(what + " is disabled");
    MASA_ASSIGN_OR_RETURN(store::ApiToken minter,
                          op.txn().Get<store::ApiToken>(caller.token_hash_));
    if (minter.kind == internal::kSessionKind) {
      // A token made in a web session is meant to outlive it (the settings page makes
      // tokens of up to max_token_validity): a session signed in with a token mints as that
      // token (valid while the session is), one signed in through the identity provider
      // names the session as minter with no limit but max_token_validity.
      if (minter.minted_by.empty()) {
        minter.expires_at = absl::InfiniteFuture();
      } else {
        MASA_ASSIGN_OR_RETURN(auto tokens, op.txn().List<store::ApiToken>());
        auto it = std::find_if(tokens.begin(), tokens.end(),
                               [&](const store::ApiToken& t) { return t.id == minter.minted_by; });
        if (it == tokens.end()) return absl::UnauthenticatedError("unknown token");
        minter = std::move(*it);
      }
    }
    return IssueToken(op, *principal, input.validity, input.description, &minter);
  });
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
    // Web sessions are kept as token records, but they are not API tokens.
    if (t.principal_id == pid && t.kind != internal::kSessionKind) out.push_back(Describe(t));
  }
  return out;
}

absl::Status ServiceImpl::RevokeToken(const Caller& caller, std::string_view token_id) {
  const std::string what = "token " + std::string(token_id);
  // Read, decided and written in one transaction: a token minted from this one (or from a
  // descendant) that committed just before is revoked too.
  return Run(&caller, [&](internal::Operation& op) -> absl::Status {
    store::WriteTxn& txn = op.txn();
    MASA_ASSIGN_OR_RETURN(auto tokens, txn.List<store::ApiToken>());
    std::multimap<std::string, size_t> minted;  // minter id -> index in tokens
    size_t root_index = tokens.size();
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (!tokens[i].minted_by.empty()) minted.emplace(tokens[i].minted_by, i);
      if (tokens[i].id == token_id) root_index = i;
    }
    if (root_index == tokens.size() ||
        internal::OrganizationOfId(tokens[root_index].principal_id) != caller.organization_id()) {
      return absl::NotFoundError(what + " not found");
    }
    if (tokens[root_index].principal_id != caller.principal_id()) {
      MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kAdminister, caller.organization_id(),
                                     what, Hide::kOtherOrganizationsOnly));
    }
    std::vector<size_t> order = {root_index};  // the root, then its descendants
    for (size_t k = 0; k < order.size(); ++k) {
      store::ApiToken& t = tokens[order[k]];
      auto [from, to] = minted.equal_range(t.id);
      for (auto m = from; m != to; ++m) order.push_back(m->second);
      if (t.revoked) continue;
      t.revoked = true;
      MASA_RETURN_IF_ERROR(txn.Put(t));
      MASA_RETURN_IF_ERROR(op.Audit("token.revoke",
                                    Target(internal::OrganizationOfId(t.principal_id), t.id),
                                    k == 0 ? "ok" : "ok: minted by " + t.minted_by)
                               .status());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<NewToken> ServiceImpl::IssueTokenOffline(std::string_view organization_id,
                                                        std::string_view username,
                                                        std::optional<absl::Duration> validity) {
  const std::string org(organization_id);
  return Mutate<NewToken>(nullptr, [&](internal::Operation& op) -> absl::StatusOr<NewToken> {
    if (!op.txn().Get<store::Organization>(org).ok()) {
      return absl::NotFoundError("organization " + org + " not found");
    }
    MASA_ASSIGN_OR_RETURN(auto principals, internal::ListPrefix<store::Principal>(
                                               op.txn(), org + ".p-", PrincipalKey));
    std::optional<store::Principal> principal;
    for (auto& p : principals) {
      if (p.name == username || p.id == username) principal = std::move(p);
    }
    if (!principal) {
      return absl::NotFoundError(
          absl::StrCat("no principal \"", std::string(username), "\" in organization ", org));
    }
    if (principal->disabled) {
      return absl::FailedPreconditionError("principal " + principal->id + " is disabled");
    }
    return IssueToken(op, *principal, validity, "issued by the operator (masactl token issue)");
  });
}

}  // namespace masa::service
