// Web sessions: what a person signed in to the web application holds, as a cookie. A
// session is a credential of its principal like an API token (kept in the store as a token
// record of kind "session", only its hash stored), so everything that ends a token ends it:
// revocation, expiry, the principal disabled. On top of a token it has an idle timeout, and
// it is refused where an API token is expected (Authenticate) and an API token is refused
// where a session is expected (AuthenticateSession).
//
// The front end (api/web) proves who the person is (an API token, or an OpenID Connect ID
// token it verified against the identity provider) and hands the result here; every
// decision about what the session may do is made by the other interfaces, with the Caller
// AuthenticateSession returns, exactly as for an API token.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/secret.h"
#include "service/types.h"

namespace masa::service {

// A person proven by the identity provider: the ID token's issuer, subject and e-mail
// claim (the front end checked its signature, issuer, audience, expiry, nonce, and that
// email_verified is not false).
struct VerifiedIdentity {
  std::string issuer;
  std::string subject;
  std::string email;
};

struct SessionInfo {
  std::string session_id;  // "ses-" + 16 hex digits of the hash; names it in audit entries
  std::string principal_id;
  std::string method;  // how it was started: "token" or "oidc"
  absl::Time created_at;
  absl::Time expires_at;        // the absolute timeout (or the signing-in token's expiry)
  absl::Duration idle_timeout;  // refused after this long without a call
};

// A new session: `secret` ("masa_session_" + base64url of 32 random bytes) goes into the
// cookie, this once; it is never stored, logged or audited.
struct NewSession {
  SessionInfo info;
  Secret secret;
};

// What the web application needs to know about the signed-in person to show only the
// controls their permissions allow. The service still decides every call; this only
// describes. A permission is listed when the caller holds it on at least one group.
struct CallerProfile {
  std::string principal_id;
  std::string name;  // username (e-mail) or account name
  PrincipalKind kind = PrincipalKind::kUser;
  std::string organization_id;
  bool vendor = false;  // the caller's organization is the vendor's
  // Each binding of the caller: group, role, grants.
  struct Binding {
    std::string group_id;
    Role role = Role::kViewer;
    std::vector<Grant> grants;
  };
  std::vector<Binding> bindings;
  // Permissions held on at least one group, by name: "view", "request", "download",
  // "archive", "manage-pdcs", "place-serials", "admin" (users, roles, groups, others'
  // tokens), "assign-serials" and "view-all-organizations" (account team), "audit",
  // "keys" (security officer), in that order.
  std::vector<std::string> permissions;
  // The version (hex SHA-256 of the text) of the licence terms this principal last
  // accepted; "" when never.
  std::string licence_accepted_version;
  // Set when the caller is a session: its id, expiry and idle timeout.
  std::string session_id;
  absl::Time session_expires_at = absl::InfinitePast();
  absl::Duration session_idle_timeout = absl::ZeroDuration();
};

// Thread-safe: every method may be called from any thread at once. State changes are
// audited in the same store transaction, with the principal as actor: "session.start"
// (method, and for oidc the issuer and subject), "session.end", "licence.accept" (the
// version).
class Sessions {
 public:
  virtual ~Sessions() = default;

  // Signs in with an API token: `caller` came from Authenticate(). The session is minted by
  // that token (TokenInfo::minted_by), so revoking the token ends the session too, and it
  // expires at the earlier of the token's expiry and ServiceOptions::session_lifetime.
  virtual absl::StatusOr<NewSession> StartSessionWithToken(const Caller& caller) = 0;

  // Signs in a person the identity provider vouched for. The e-mail (compared without
  // regard to case) must name exactly one enabled user principal, by its e-mail or its
  // e-mail-style username: none is kNotFound ("no user with the e-mail ... is registered
  // in this appliance; ask your organization's administrator to invite it"), several are
  // kFailedPrecondition naming the organizations, a disabled one kPermissionDenied.
  // Expires after ServiceOptions::session_lifetime.
  virtual absl::StatusOr<NewSession> StartSessionForIdentity(const VerifiedIdentity& identity) = 0;

  // The principal a session cookie belongs to, and the moment of this call counts as
  // activity for the idle timeout. kUnauthenticated (message never echoes the secret)
  // when unknown, malformed, an API token, ended, expired, idle longer than its timeout,
  // or its principal is disabled. Activity is kept in memory and written to the store at
  // most once a minute per session, so a restarted daemon still honours the idle timeout
  // to within a minute.
  virtual absl::StatusOr<Caller> AuthenticateSession(std::string_view session_secret) = 0;

  // Ends the caller's own session (sign-out): refused at once from then on. The caller
  // must be a session (kFailedPrecondition for an API token).
  virtual absl::Status EndSession(const Caller& caller) = 0;

  // The caller's profile (any caller, session or token).
  virtual absl::StatusOr<CallerProfile> DescribeCaller(const Caller& caller) const = 0;

  // Records that the caller accepted the licence terms of `version` (64 hex digits).
  // Accepting the same version again changes nothing and writes no audit entry.
  virtual absl::Status AcceptLicence(const Caller& caller, std::string_view version) = 0;
};

}  // namespace masa::service
