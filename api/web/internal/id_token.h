// The ID token of OpenID Connect Core 1.0 section 3.1.3.7: the provider's signing keys
// (its JWKS), the JWS signature checked with cjose, then the claims. Every failure is
// kUnauthenticated with a message a person can read that never quotes the token itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "service/sessions.h"

namespace masa::api::web::internal {

// The most of an ID token this reads.
inline constexpr size_t kMaxIdTokenBytes = 64 * 1024;

// One signing key of the provider's JWKS (RFC 7517).
struct Jwk {
  std::string kid;   // "" when the key has none
  std::string kty;   // "RSA" or "EC"
  std::string crv;   // "P-256" or "P-384" for EC keys
  std::string alg;   // "" when the key does not restrict its algorithm
  std::string json;  // the key as the provider published it, for cjose_jwk_import
};

// The keys of a JWKS answer that can check an ID token: "use" absent or "sig", kty RSA (of
// at most 16384 and at least 2048 bits) or EC on P-256 or P-384, importable by cjose; the
// others (encryption keys, symmetric "oct" keys, other curves) are skipped. At most 100
// keys are read. kUnavailable (naming `url`) when the answer is not a JWKS or holds no
// usable key.
absl::StatusOr<std::vector<Jwk>> ParseJwks(std::string_view body, std::string_view url);

// The JOSE header of a compact JWS, read before its signature is checked.
struct JwsHeader {
  std::string alg;  // one of RS256, RS384, RS512, PS256, ES256, ES384
  std::optional<std::string> kid;
};

// Refuses anything but a compact JWS (three base64url parts) with an allowed alg: never
// "none", never HMAC (whose key would be the client secret), never an encrypted token, no
// "crit" extension.
absl::StatusOr<JwsHeader> ReadJwsHeader(std::string_view token);

// The keys of `keys` that may have signed a token with `header`: the same kid (any key
// when the token names none), a kty and curve that fit the alg, and the key's own alg, if
// any, equal to it. Empty means the provider's JWKS should be read again.
std::vector<const Jwk*> KeysFor(const JwsHeader& header, const std::vector<Jwk>& keys);

// Checks the JWS signature with cjose against `candidates` (from KeysFor) and returns the
// payload, parsed as a JSON object of claims.
absl::StatusOr<nlohmann::json> VerifyIdTokenSignature(std::string_view token,
                                                      const JwsHeader& header,
                                                      const std::vector<const Jwk*>& candidates);

struct IdTokenExpectations {
  std::string issuer;
  std::string client_id;
  std::string nonce;
  absl::Time now;
  absl::Duration clock_skew;
};

// The claims of a verified ID token: iss equal to the issuer; aud the client_id or an array
// holding it, and azp equal to the client_id when present (required when aud holds several
// audiences); exp after now - clock_skew; iat, and nbf when present, not after now +
// clock_skew; nonce equal to the login's; sub a non-empty string of at most 255 bytes; and,
// when the token has an email claim, ReadEmail of it. The identity's email is "" when the
// token has none (the caller may then ask the UserInfo endpoint).
absl::StatusOr<service::VerifiedIdentity> CheckIdTokenClaims(const nlohmann::json& claims,
                                                             const IdTokenExpectations& expect);

// The e-mail address of `claims` (an ID token's, or the UserInfo endpoint's answer; `source`
// names which in messages): a non-empty string with an @, at most 320 bytes, no white space
// or control character (Unicode's, not only ASCII's), double quote or angle bracket;
// email_verified absent, true or "true".
absl::StatusOr<std::string> ReadEmail(const nlohmann::json& claims, std::string_view source);

}  // namespace masa::api::web::internal
