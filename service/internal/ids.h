// Identifiers, token secrets and hashes of the service. Ids that belong to an organization
// start with its id and a '.', so one organization's records form a key range.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/secret.h"

namespace masa::service::internal {

// `prefix` + `hex_bytes` random bytes as lower-case hex, e.g. NewId("v-", 8).
std::string NewId(std::string_view prefix, size_t hex_bytes = 8);

// A new voucher or request id: a UUIDv7 of `now` (common/uuid.h). These records are written
// at a high rate; ids that sort by creation put a transaction's inserts on the same few
// B-tree pages instead of dirtying a random page each.
std::string NewVoucherId(absl::Time now);
std::string NewRequestId(absl::Time now);

// The store key of a voucher / request id a caller gave (service.h: a UUID in either case,
// or an id of the pre-UUID form, which names the UUID the store migration moved it to).
// kNotFound ("voucher ... not found", as for an unknown id) for anything else; the message
// quotes at most the first 64 characters of the id, escaped.
absl::StatusOr<std::string> VoucherKey(std::string_view voucher_id);
absl::StatusOr<std::string> RequestKey(std::string_view req_id);

// A bearer token: "masa_" + base64url (no padding) of 32 random bytes.
absl::StatusOr<Secret> NewTokenSecret();
// The token for the 32 secret bytes `raw`: "masa_" + base64url of them without padding.
std::string TokenFromBytes(std::string_view raw);

// A bearer token split into its parts, views into the token given: prefix + secret is the
// token.
struct TokenParts {
  std::string_view prefix;  // "masa_"
  std::string_view secret;  // 43 base64url characters, the canonical encoding of 32 bytes
};
// Splits a token of the shape NewTokenSecret() produces: "masa_", then 43 characters of the
// base64url alphabet whose last one leaves the two bits past the 32 bytes zero (as every
// encoder writes them, so that one secret has one spelling). kUnauthenticated "malformed
// bearer token (expected masa_...)" for anything else; the message quotes nothing of
// `token`. Constant work: the length is checked first.
absl::StatusOr<TokenParts> SplitToken(std::string_view token);
// Lower-case hex SHA-256 of the token: the store::ApiToken key.
std::string TokenHash(std::string_view token);
// "tok-" + the first 16 hex digits of the hash.
std::string TokenIdFromHash(std::string_view token_hash);

// store::ApiToken::kind of a web session ("" is an API token).
inline constexpr std::string_view kSessionKind = "session";

// A web session's secret (service/sessions.h): "masa_session_" + base64url (no padding) of
// 32 random bytes. Its hash (TokenHash) keys its store::ApiToken record of kind "session".
absl::StatusOr<Secret> NewSessionSecret();
// OK when `secret` has the shape NewSessionSecret() produces (the rules of SplitToken, with
// the prefix "masa_session_"); kUnauthenticated "malformed session (expected
// masa_session_...)" otherwise, quoting nothing of it. An API token is malformed here, and
// a session secret is malformed for SplitToken.
absl::Status CheckSessionSecret(std::string_view secret);
// "ses-" + the first 16 hex digits of the hash.
std::string SessionIdFromHash(std::string_view session_hash);

// True when `key` starts with `prefix`.
inline bool HasPrefix(std::string_view key, std::string_view prefix) {
  return key.substr(0, prefix.size()) == prefix;
}

}  // namespace masa::service::internal
