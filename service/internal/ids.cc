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

absl::StatusOr<Secret> NewTokenSecret() {
  std::string raw = RandomBytes(kTokenBytes);
  std::string b64 = Base64Encode(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  std::string token(kTokenPrefix);
  for (char c : b64) {
    if (c == '=') break;
    token.push_back(c == '+' ? '-' : c == '/' ? '_' : c);
  }
  OPENSSL_cleanse(b64.data(), b64.size());
  return Secret(std::move(token));
}

bool LooksLikeToken(std::string_view token) {
  if (token.size() != kTokenPrefix.size() + kTokenChars) return false;
  if (!HasPrefix(token, kTokenPrefix)) return false;
  for (char c : token.substr(kTokenPrefix.size())) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string TokenHash(std::string_view token) { return HexEncode(Sha256(token)); }

std::string TokenIdFromHash(std::string_view token_hash) {
  return "tok-" + std::string(token_hash.substr(0, 16));
}

}  // namespace masa::service::internal
