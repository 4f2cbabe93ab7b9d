// Web sessions: sign-in with an API token or a verified identity, the idle timeout, sign-out,
// the caller's profile and the licence acceptance (service/sessions.h).
#include <algorithm>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status.h"
#include "common/utf8.h"
#include "service/internal/authz.h"
#include "service/internal/ids.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"

namespace masa::service {

using internal::AccessContext;
using internal::Permission;
using internal::Target;

namespace {

// How often a session's activity is written to its record at most.
constexpr absl::Duration kActivityWriteInterval = absl::Minutes(1);

// The moment the idle timeout counts from, as the record shows it.
absl::Time RecordedActivity(const store::ApiToken& session) {
  return std::max(session.created_at, session.last_seen_at.value_or(absl::InfinitePast()));
}

SessionInfo DescribeSession(const store::ApiToken& t) {
  SessionInfo info;
  info.session_id = t.id;
  info.principal_id = t.principal_id;
  info.method = t.method;
  info.created_at = t.created_at;
  info.expires_at = t.expires_at;
  info.idle_timeout = absl::Seconds(static_cast<int64_t>(t.idle_timeout_seconds));
  return info;
}

// The profile's permission names (sessions.h CallerProfile::permissions), in its order, and
// what holding each means in the one permission table (internal/authz.h).
struct NamedPermission {
  std::string_view name;
  Permission permission;
  bool every_organization;  // held only when a vendor role gives it in every organization
};
constexpr NamedPermission kProfilePermissions[] = {
    {"view", Permission::kView, false},
    {"request", Permission::kRequest, false},
    {"download", Permission::kDownload, false},
    {"archive", Permission::kArchive, false},
    {"manage-pdcs", Permission::kManagePdcs, false},
    {"place-serials", Permission::kPlaceSerials, false},
    {"admin", Permission::kAdminister, false},
    {"assign-serials", Permission::kAssignSerials, false},
    {"view-all-organizations", Permission::kView, true},
    {"audit", Permission::kViewAudit, false},
    {"keys", Permission::kManageKeys, false},
};

// True when `version` is 64 hex digits (a SHA-256).
bool IsVersion(std::string_view version) {
  return version.size() == 64 && std::all_of(version.begin(), version.end(), [](char c) {
           return absl::ascii_isxdigit(static_cast<unsigned char>(c));
         });
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Idle activity

absl::Status ServiceImpl::CheckIdle(const store::ApiToken& session, absl::Time now) const {
  if (session.idle_timeout_seconds == 0) return absl::OkStatus();
  const absl::Duration idle = absl::Seconds(static_cast<int64_t>(session.idle_timeout_seconds));
  absl::Time last = RecordedActivity(session);
  {
    absl::MutexLock lock(&activity_mu_);
    if (auto it = activity_.find(session.token_hash); it != activity_.end()) {
      last = std::max(last, it->second.last_seen);
    }
  }
  if (now - last >= idle) {
    return absl::UnauthenticatedError(
        absl::StrCat("session ", session.id, " has ended: no activity for ",
                     absl::FormatDuration(idle), " (since ", FormatRfc3339(last), ")"));
  }
  return absl::OkStatus();
}

void ServiceImpl::Touch(const store::ApiToken& session, absl::Time now) {
  bool write = false;
  {
    absl::MutexLock lock(&activity_mu_);
    if (activity_.size() >= activity_sweep_at_) {
      for (auto it = activity_.begin(); it != activity_.end();) {
        it = now - it->second.last_seen >= it->second.idle_timeout ? activity_.erase(it)
                                                                   : std::next(it);
      }
      activity_sweep_at_ = std::max<size_t>(1024, 2 * activity_.size());
    }
    auto [it, added] = activity_.try_emplace(session.token_hash);
    SessionActivity& a = it->second;
    if (added) {
      a.last_seen = now;
      a.written = RecordedActivity(session);
      a.idle_timeout = absl::Seconds(static_cast<int64_t>(session.idle_timeout_seconds));
    }
    a.last_seen = std::max(a.last_seen, now);
    if (a.last_seen - a.written >= kActivityWriteInterval) {
      a.written = a.last_seen;
      write = true;
    }
  }
  if (!write) return;
  // Activity is not a state change a person made: it goes to the record through the normal
  // write path, without an audit entry, and without making the caller wait. A failed write
  // is only logged: the activity stays in memory, and the next minute's call writes again.
  BeginInflight();
  SubmitOperation(
      session.principal_id,
      [hash = session.token_hash, now](internal::Operation& op) -> absl::Status {
        auto record = op.txn().Get<store::ApiToken>(hash);
        if (absl::IsNotFound(record.status())) return absl::OkStatus();
        if (!record.ok()) return record.status();
        if (record->last_seen_at && *record->last_seen_at >= now) return absl::OkStatus();
        record->last_seen_at = now;
        return op.txn().Put(*record);
      },
      [this, id = session.id](absl::StatusOr<store::CommitResult> result) {
        if (!result.ok()) {
          Log(LogLevel::kWarning, absl::StrCat("service: recording the activity of session ", id,
                                               " failed: ", result.status().ToString()));
        }
        EndInflight();
      });
}

// ---------------------------------------------------------------------------------------
// Sign-in, sign-out

absl::StatusOr<NewSession> ServiceImpl::AddSession(internal::Operation& op,
                                                   const store::Principal& principal,
                                                   absl::Time expires_at, std::string_view method,
                                                   std::string minted_by,
                                                   const VerifiedIdentity* identity) {
  store::ApiToken t;
  t.kind = std::string(internal::kSessionKind);
  t.method = std::string(method);
  t.created_at = Now();
  t.expires_at = expires_at;
  t.idle_timeout_seconds = static_cast<uint64_t>(std::max<int64_t>(
      1, absl::ToInt64Seconds(absl::Ceil(options_.session_idle_timeout, absl::Seconds(1)))));
  MASA_ASSIGN_OR_RETURN(Secret secret, internal::NewSessionSecret());
  t.token_hash = internal::TokenHash(secret.view());
  t.id = internal::SessionIdFromHash(t.token_hash);
  t.principal_id = principal.id;
  t.description = absl::StrCat("web session (", Sv(method), " sign-in)");
  t.created_by = op.actor();
  t.minted_by = std::move(minted_by);
  if (identity != nullptr) {
    t.oidc_issuer = identity->issuer;
    t.oidc_subject = identity->subject;
  }
  MASA_RETURN_IF_ERROR(op.txn().Insert(t));
  std::string outcome = absl::StrCat("ok: ", Sv(method), " sign-in of ", principal.id, " until ",
                                     FormatRfc3339(t.expires_at));
  if (!t.minted_by.empty()) absl::StrAppend(&outcome, ", with token ", t.minted_by);
  if (identity != nullptr) {
    absl::StrAppend(&outcome, ", issuer \"", ShowUntrusted(identity->issuer, 256), "\", subject \"",
                    ShowUntrusted(identity->subject, 256), "\"");
  }
  MASA_RETURN_IF_ERROR(
      op.Audit("session.start", Target(principal.organization_id, t.id), std::move(outcome))
          .status());
  return NewSession{DescribeSession(t), std::move(secret)};
}

absl::StatusOr<NewSession> ServiceImpl::StartSessionWithToken(const Caller& caller) {
  if (caller.session_) {
    return absl::FailedPreconditionError(
        "already signed in: a session starts from an API token, not from another session");
  }
  return Mutate<NewSession>(&caller, [&](internal::Operation& op) -> absl::StatusOr<NewSession> {
    // Run re-checked the token and its principal in this transaction: a revocation that
    // commits first refuses the sign-in, one that commits later ends the session with it.
    MASA_ASSIGN_OR_RETURN(store::ApiToken token, op.txn().Get<store::ApiToken>(caller.token_hash_));
    MASA_ASSIGN_OR_RETURN(store::Principal principal,
                          op.txn().Get<store::Principal>(caller.principal_id()));
    absl::Time expires_at = std::min(Now() + options_.session_lifetime, token.expires_at);
    return AddSession(op, principal, expires_at, "token", token.id, nullptr);
  });
}

absl::StatusOr<NewSession> ServiceImpl::StartSessionForIdentity(const VerifiedIdentity& identity) {
  const std::string& email = identity.email;
  if (email.empty() || email.size() > 320) {
    return absl::InvalidArgumentError("the identity provider gave no usable e-mail address");
  }
  const std::string shown = ShowUntrusted(email, 128);
  return Mutate<NewSession>(nullptr, [&](internal::Operation& op) -> absl::StatusOr<NewSession> {
    // Read in the write transaction: an invitation, a disabling or a second principal that
    // commits first is seen here.
    MASA_ASSIGN_OR_RETURN(auto principals, op.txn().List<store::Principal>());
    std::vector<store::Principal> enabled;
    std::vector<store::Principal> disabled;
    for (store::Principal& p : principals) {
      if (p.kind != store::PrincipalKind::kUser) continue;
      bool match = absl::EqualsIgnoreCase(p.email, email) ||
                   (internal::IsUsername(p.name) && absl::EqualsIgnoreCase(p.name, email));
      if (!match) continue;
      (p.disabled ? disabled : enabled).push_back(std::move(p));
    }
    if (enabled.empty() && disabled.empty()) {
      return absl::NotFoundError(absl::StrCat(
          "no user with the e-mail \"", shown,
          "\" is registered in this appliance; ask your organization's administrator to "
          "invite it"));
    }
    if (enabled.empty()) {
      return absl::PermissionDeniedError(
          absl::StrCat("the user \"", shown, "\" of ", disabled.front().organization_id,
                       " is disabled; ask your organization's administrator"));
    }
    if (enabled.size() > 1) {
      std::set<std::string> orgs;
      for (const auto& p : enabled) orgs.insert(p.organization_id);
      return absl::FailedPreconditionError(absl::StrCat(
          "the e-mail \"", shown, "\" names users of several organizations (",
          absl::StrJoin(orgs, ", "),
          "), so single sign-on cannot tell which one is meant; sign in with an API token, "
          "or ask the administrators to keep the user in one organization"));
    }
    const store::Principal& principal = enabled.front();
    // The person signs in: the principal is the actor of its own session's audit entry.
    internal::Operation as(op.txn(), principal.id, nullptr);
    return AddSession(as, principal, Now() + options_.session_lifetime, "oidc", "", &identity);
  });
}

absl::StatusOr<Caller> ServiceImpl::AuthenticateSession(std::string_view session_secret) {
  if (absl::Status format = internal::CheckSessionSecret(session_secret); !format.ok()) {
    metrics_.auth_failures.fetch_add(1, std::memory_order_relaxed);
    return format;
  }
  std::string hash = internal::TokenHash(session_secret);
  const absl::Time now = Now();
  absl::StatusOr<CheckedCredential> checked;
  {
    // The snapshot ends before Touch may write.
    MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
    checked = CheckCredential(snap, hash, /*session=*/true, now);
  }
  if (!checked.ok()) {
    metrics_.auth_failures.fetch_add(1, std::memory_order_relaxed);
    return checked.status();
  }
  Touch(checked->token, now);
  return CallerOf(*checked, std::move(hash), /*session=*/true);
}

absl::Status ServiceImpl::EndSession(const Caller& caller) {
  if (!caller.session_) {
    return absl::FailedPreconditionError(
        "not a session: an API token is revoked (RevokeToken), not signed out");
  }
  MASA_RETURN_IF_ERROR(Run(&caller, [&](internal::Operation& op) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(store::ApiToken session,
                          op.txn().Get<store::ApiToken>(caller.token_hash_));
    session.revoked = true;
    MASA_RETURN_IF_ERROR(op.txn().Put(session));
    return op.Audit("session.end", Target(caller.organization_id(), session.id), "ok: signed out")
        .status();
  }));
  absl::MutexLock lock(&activity_mu_);
  activity_.erase(caller.token_hash_);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// The caller's profile, the licence

absl::StatusOr<CallerProfile> ServiceImpl::DescribeCaller(const Caller& caller) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  MASA_ASSIGN_OR_RETURN(store::Principal principal,
                        snap.Get<store::Principal>(caller.principal_id()));
  CallerProfile profile;
  PrincipalInfo info = internal::Describe(principal);
  profile.principal_id = principal.id;
  profile.name = principal.name;
  profile.kind = info.kind;
  profile.organization_id = principal.organization_id;
  profile.vendor = principal.organization_id == options_.vendor_organization_id;
  for (const store::RoleBinding& b : access.bindings()) {
    std::optional<Role> role = ParseRole(b.role);
    if (!role) continue;
    CallerProfile::Binding binding{b.group_id, *role, {}};
    for (const std::string& g : b.grants) {
      if (std::optional<Grant> grant = ParseGrant(g)) binding.grants.push_back(*grant);
    }
    profile.bindings.push_back(std::move(binding));
  }
  for (const NamedPermission& p : kProfilePermissions) {
    bool held = p.every_organization ? internal::Has(access.cross_organization(), p.permission)
                                     : access.Anywhere(p.permission);
    if (held) profile.permissions.emplace_back(p.name);
  }
  profile.licence_accepted_version = principal.licence_accepted_version;
  if (caller.session_) {
    MASA_ASSIGN_OR_RETURN(store::ApiToken session, snap.Get<store::ApiToken>(caller.token_hash_));
    profile.session_id = session.id;
    profile.session_expires_at = session.expires_at;
    profile.session_idle_timeout =
        absl::Seconds(static_cast<int64_t>(session.idle_timeout_seconds));
  }
  return profile;
}

absl::Status ServiceImpl::AcceptLicence(const Caller& caller, std::string_view version) {
  if (!IsVersion(version)) {
    return absl::InvalidArgumentError(
        "version: the licence version is 64 hex digits (the SHA-256 of its text)");
  }
  std::string v(version);
  absl::AsciiStrToLower(&v);
  return Run(&caller, [&](internal::Operation& op) -> absl::Status {
    MASA_ASSIGN_OR_RETURN(store::Principal principal,
                          op.txn().Get<store::Principal>(caller.principal_id()));
    if (principal.licence_accepted_version == v) return absl::OkStatus();
    principal.licence_accepted_version = v;
    principal.licence_accepted_at = Now();
    MASA_RETURN_IF_ERROR(op.txn().Put(principal));
    return op
        .Audit("licence.accept", Target(principal.organization_id, principal.id),
               "ok: version " + v)
        .status();
  });
}

}  // namespace masa::service
