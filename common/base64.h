// Base64 (RFC 4648 section 4, with padding) as used by every binary leaf of a voucher.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace masa {

std::string Base64Encode(std::string_view data);

// Strict decoding: only the standard alphabet, correct padding, no whitespace.
// kInvalidArgument names the offending position.
absl::StatusOr<std::string> Base64Decode(std::string_view text);

// Lower-case hexadecimal, two digits a byte (hashes and ids in messages and JSON).
std::string HexEncode(std::string_view data);

// base64url without padding (RFC 4648 section 5): JOSE values, PKCE, CSRF tokens.
std::string Base64UrlEncode(std::string_view data);

// Decoding of base64url without padding (RFC 4648 section 5), as some voucher nonces use.
absl::StatusOr<std::string> Base64UrlDecode(std::string_view text);

}  // namespace masa
