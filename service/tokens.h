// API tokens: bearer credentials of a principal, minted by another token (or by the
// operator), revocable together with every token they minted.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/secret.h"
#include "service/types.h"

namespace masa::service {

struct TokenInput {
  std::string principal_id;                // "" = the caller
  std::optional<absl::Duration> validity;  // default default_token_validity; <= max
  std::string description;
};

struct TokenInfo {
  std::string token_id;  // "tok-" + 16 hex digits of the hash; names it in lists/audit
  std::string principal_id;
  std::string description;
  absl::Time created_at;
  absl::Time expires_at;
  bool revoked = false;
  std::string created_by;
  std::string minted_by;  // the token that minted it; "" when masactl made it
};

// A new token: `secret` is the bearer credential ("masa_" + base64url of 32 random bytes),
// returned this once and never stored, logged or audited.
struct NewToken {
  TokenInfo info;
  Secret secret;
};

// Thread-safe: every method may be called from any thread at once. Methods that take a
// Caller re-check its token (revoked/expired/disabled -> kUnauthenticated). Reads authorize
// on a fresh store snapshot; every state change authorizes, changes and writes its audit
// entries inside one store write transaction (internal/operation.h), so nothing changes
// between the decision and the write; secrets never reach audit entries, logs or messages.
// Objects of another organization are answered kNotFound (see service/types.h).
class Tokens {
 public:
  virtual ~Tokens() = default;

  // For the caller itself, or (admin on the root group) another principal of the
  // organization. kInvalidArgument for validity <= 0 or above max_token_validity.
  // Minting rule: the caller's token mints the new one, and a minted token never outlives
  // its minter nor survives it:
  //  - it expires no later than the caller's token. An explicit validity reaching past
  //    that is kInvalidArgument naming the minting token and its expiry (refused rather
  //    than silently shortened, so a client never holds a shorter token than it asked
  //    for); without one, default_token_validity is cut to the caller's token's expiry.
  //    The same holds when an admin mints for another principal: bounded by the admin's
  //    token, so a long-lived service-account token needs a long-lived admin token.
  //  - revoking a token revokes every token it minted, transitively (see RevokeToken).
  // Tokens made by masactl (bootstrap) have no minter. A web session (service/sessions.h)
  // is not a minter of its own: in a session started with an API token, that token mints
  // (and bounds) the new one; in a session started through the identity provider, the new
  // token names the session ("ses-...") as minter and is bounded by max_token_validity
  // only, so a person can make a long-lived token in a twelve-hour session. kUnauthenticated
  // when the caller's token is revoked while this runs.
  virtual absl::StatusOr<NewToken> CreateToken(const Caller& caller, TokenInput input) = 0;
  // principal_id "" = the caller's; another principal's needs admin. Never the secret.
  // Web sessions (service/sessions.h) are not API tokens and are not listed.
  virtual absl::StatusOr<std::vector<TokenInfo>> ListTokens(
      const Caller& caller, std::string_view principal_id) const = 0;
  // The caller's own token, or (admin) any of its organization. Takes effect at once, and
  // revokes in the same store transaction every token minted from it, directly or through
  // other minted tokens (each audited "token.revoke"), whoever they belong to. Revoking in
  // the write rather than following the minting chain at every Authenticate keeps
  // authentication one read, and shows the minted tokens as revoked in ListTokens; it is
  // race-free because CreateToken re-checks its minter inside its own write transaction
  // and the store runs write transactions one at a time. Disabling a principal does not
  // reach the tokens it minted for others. The web sessions a token started are minted by
  // it and end with it; a session's id ("ses-...") is taken here too (an admin ending
  // someone's session), audited "token.revoke" like a token.
  virtual absl::Status RevokeToken(const Caller& caller, std::string_view token_id) = 0;
};

}  // namespace masa::service
