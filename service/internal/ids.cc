#include "service/internal/ids.h"

#include <openssl/rand.h>

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/base64.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/uuid.h"
#include "store/audit.h"

namespace masa::service::internal {
namespace {

constexpr std::string_view kTokenPrefix = "masa_";
constexpr std::string_view kSessionPrefix = "masa_session_";
constexpr size_t kTokenBytes = 32;
constexpr size_t kTokenChars = 43;  // base64url of 32 bytes, unpadded

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  // The DRBG failing means the process cannot make secrets at all: a broken invariant.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();
  }
  return out;
}

// The id prefixes before ids were UUIDs (store schema 4).
constexpr std::string_view kOldVoucherPrefix = "v-";
constexpr std::string_view kOldRequestPrefix = "req-";

absl::StatusOr<std::string> RecordKey(std::string_view id, std::string_view old_prefix,
                                      std::string_view what) {
  if (std::optional<std::string> uuid = CanonicalUuid(id)) return *std::move(uuid);
  if (std::optional<std::string> uuid = LegacyIdToUuid(id, old_prefix)) return *std::move(uuid);
  constexpr size_t kQuoted = 64;
  return absl::NotFoundError(
      absl::StrCat(Sv(what), " \"", absl::CHexEscape(Sv(id.substr(0, kQuoted))),
                   id.size() > kQuoted ? "...\"" : "\"", " not found: ", Sv(what),
                   " ids are UUIDs such as 0192f0c4-7c1e-7a3b-9d2e-4f5a6b7c8d9e"));
}

}  // namespace

std::string NewId(std::string_view prefix, size_t hex_bytes) {
  return std::string(prefix) + HexEncode(RandomBytes(hex_bytes));
}

std::string NewVoucherId(absl::Time now) { return NewUuidV7(now); }
std::string NewRequestId(absl::Time now) { return NewUuidV7(now); }

absl::StatusOr<std::string> VoucherKey(std::string_view voucher_id) {
  return RecordKey(voucher_id, kOldVoucherPrefix, "voucher");
}
absl::StatusOr<std::string> RequestKey(std::string_view req_id) {
  return RecordKey(req_id, kOldRequestPrefix, "request");
}

namespace {

std::string SecretFromBytes(std::string_view prefix, std::string_view raw) {
  std::string b64 = Base64Encode(raw);
  std::string token(prefix);
  for (char c : b64) {
    if (c == '=') break;
    token.push_back(c == '+' ? '-' : c == '/' ? '_' : c);
  }
  OPENSSL_cleanse(b64.data(), b64.size());
  return token;
}

absl::StatusOr<Secret> NewSecret(std::string_view prefix) {
  std::string raw = RandomBytes(kTokenBytes);
  std::string token = SecretFromBytes(prefix, raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return Secret(std::move(token));
}

// True when `token` is `prefix` + the canonical unpadded base64url of 32 bytes.
bool WellFormed(std::string_view token, std::string_view prefix) {
  if (token.size() != prefix.size() + kTokenChars) return false;
  if (!HasPrefix(token, prefix)) return false;
  std::string_view secret = token.substr(prefix.size());
  int last_value = 0;
  for (char c : secret) {
    if (c >= 'A' && c <= 'Z') {
      last_value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      last_value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      last_value = c - '0' + 52;
    } else if (c == '-' || c == '_') {
      last_value = c == '-' ? 62 : 63;
    } else {
      return false;
    }
  }
  // 43 characters carry 258 bits: the last one's low two bits are past the 32 bytes.
  return last_value % 4 == 0;
}

}  // namespace

absl::StatusOr<Secret> NewTokenSecret() { return NewSecret(kTokenPrefix); }

std::string TokenFromBytes(std::string_view raw) { return SecretFromBytes(kTokenPrefix, raw); }

absl::StatusOr<TokenParts> SplitToken(std::string_view token) {
  if (!WellFormed(token, kTokenPrefix)) {
    return absl::UnauthenticatedError("malformed bearer token (expected masa_...)");
  }
  return TokenParts{token.substr(0, kTokenPrefix.size()), token.substr(kTokenPrefix.size())};
}

absl::StatusOr<Secret> NewSessionSecret() { return NewSecret(kSessionPrefix); }

absl::Status CheckSessionSecret(std::string_view secret) {
  if (!WellFormed(secret, kSessionPrefix)) {
    return absl::UnauthenticatedError("malformed session (expected masa_session_...)");
  }
  return absl::OkStatus();
}

std::string TokenHash(std::string_view token) { return HexEncode(Sha256(token)); }

std::string TokenIdFromHash(std::string_view token_hash) {
  return "tok-" + std::string(token_hash.substr(0, 16));
}

std::string SessionIdFromHash(std::string_view session_hash) {
  return "ses-" + std::string(session_hash.substr(0, 16));
}

}  // namespace masa::service::internal
