#include "service/internal/ids.h"

#include <openssl/rand.h>

#include <cstdlib>

#include "common/base64.h"
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

}  // namespace

std::string NewId(std::string_view prefix, size_t hex_bytes) {
  return std::string(prefix) + HexEncode(RandomBytes(hex_bytes));
}

std::string NewTimeOrderedId(std::string_view prefix, absl::Time now) {
  uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(now)) & 0xffffffffffffULL;
  std::string time(6, '\0');
  for (int i = 5; i >= 0; --i, ms >>= 8) time[i] = static_cast<char>(ms & 0xff);
  return std::string(prefix) + HexEncode(time) + HexEncode(RandomBytes(8));
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

std::string TokenHash(std::string_view token) { return HexEncode(store::Sha256(token)); }

std::string TokenIdFromHash(std::string_view token_hash) {
  return "tok-" + std::string(token_hash.substr(0, 16));
}

}  // namespace masa::service::internal
