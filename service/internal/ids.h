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

// `prefix` + 12 hex digits of the time in milliseconds + 8 random bytes as hex, for records
// written at a high rate (vouchers, requests): ids sort by creation, so a transaction's
// inserts land on the same few B-tree pages instead of dirtying a random page each.
std::string NewTimeOrderedId(std::string_view prefix, absl::Time now);

// A bearer token: "masa_" + base64url (no padding) of 32 random bytes.
absl::StatusOr<Secret> NewTokenSecret();
// True when `token` has the shape NewTokenSecret() produces.
bool LooksLikeToken(std::string_view token);
// Lower-case hex SHA-256 of the token: the store::ApiToken key.
std::string TokenHash(std::string_view token);
// "tok-" + the first 16 hex digits of the hash.
std::string TokenIdFromHash(std::string_view token_hash);

// True when `key` starts with `prefix`.
inline bool HasPrefix(std::string_view key, std::string_view prefix) {
  return key.substr(0, prefix.size()) == prefix;
}

}  // namespace masa::service::internal
