// Fuzzes SplitToken, the format check every bearer token passes before the service hashes it
// and looks it up (service.cc Authenticate). The input is the token. Beyond not crashing, it
// asserts:
//  - an accepted token re-assembles to the same string: prefix + secret is the token, and
//    the secret decodes (base64url) to 32 bytes from which TokenFromBytes writes the token
//    again, so each secret has exactly one spelling;
//  - a refusal is kUnauthenticated with one fixed message, the same for every token, so it
//    never contains the secret part; and every token that TokenFromBytes writes is
//    accepted (checked on the input's first 32 bytes).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/base64.h"
#include "service/internal/ids.h"

namespace {

using masa::service::internal::SplitToken;
using masa::service::internal::TokenFromBytes;
using masa::service::internal::TokenParts;

// A refusal says the same thing whatever the token was, so it can hold nothing of the
// secret (an "8 bytes of the input" test would trip on inputs that copy the message).
void CheckRefusal(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnauthenticated) abort();
  if (status.message() != "malformed bearer token (expected masa_...)") abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view token(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<TokenParts> parts = SplitToken(token);
  if (!parts.ok()) {
    CheckRefusal(parts.status());
  } else {
    if (std::string(parts->prefix) + std::string(parts->secret) != token) abort();
    if (parts->prefix != "masa_") abort();
    absl::StatusOr<std::string> raw = masa::Base64UrlDecode(parts->secret);
    if (!raw.ok() || raw->size() != 32) abort();
    if (TokenFromBytes(*raw) != token) abort();
  }
  if (size >= 32) {
    std::string minted = TokenFromBytes(token.substr(0, 32));
    absl::StatusOr<TokenParts> again = SplitToken(minted);
    if (!again.ok() || again->secret != std::string_view(minted).substr(5)) abort();
  }
  return 0;
}
