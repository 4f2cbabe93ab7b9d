// Fuzzes the token readers of a gRPC call's metadata (internal/credentials.h), which see
// every call's authorization and cookie values before anything else does. The input is
// split at its first NUL into an authorization value and a cookie value. Beyond not
// crashing, it asserts:
//  - a token found is a part of the value it came from, with no space or tab at either end
//    (nothing is added);
//  - the bearer scheme is matched without regard to case;
//  - TokenOf prefers the bearer token, and otherwise answers the cookie's;
//  - an access_token cookie put in front of any cookie value is the one found, and one
//    after it is found only when the value held none.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/grpc/internal/credentials.h"
#include "queue/bearer.h"

namespace {

using masa::api::grpc_internal::AccessTokenCookieOf;
using masa::queue::BearerTokenOf;
using masa::api::grpc_internal::TokenOf;

void NoBlankEnds(const std::string& token) {
  if (token.empty()) return;
  for (char end : {token.front(), token.back()}) {
    if (end == ' ' || end == '\t') abort();
  }
}

// The input's letters and digits: a cookie value with no separator in it.
std::string Plain(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view authorization = input.substr(0, nul);
  std::string_view cookie = nul == std::string_view::npos ? "" : input.substr(nul + 1);

  std::string bearer = BearerTokenOf(authorization);
  NoBlankEnds(bearer);
  if (!bearer.empty() && authorization.find(bearer) == std::string_view::npos) abort();
  std::string flipped(authorization);
  for (size_t i = 0; i < flipped.size() && i < 6; ++i) {
    unsigned char c = static_cast<unsigned char>(flipped[i]);
    flipped[i] = static_cast<char>(std::isupper(c) ? std::tolower(c) : std::toupper(c));
  }
  if (BearerTokenOf(flipped) != bearer) abort();

  std::string from_cookie = AccessTokenCookieOf(cookie);
  NoBlankEnds(from_cookie);
  if (!from_cookie.empty() && cookie.find(from_cookie) == std::string_view::npos) abort();

  std::string token = TokenOf({authorization}, {cookie});
  if (token != (bearer.empty() ? from_cookie : bearer)) abort();

  std::string plain = Plain(input);
  if (!plain.empty()) {
    std::string front = "access_token=" + plain + "; " + std::string(cookie);
    if (AccessTokenCookieOf(front) != plain) abort();
    std::string back = std::string(cookie) + "; access_token=" + plain;
    if (AccessTokenCookieOf(back) != (from_cookie.empty() ? plain : from_cookie)) abort();
    if (TokenOf({}, {cookie, front}) != (from_cookie.empty() ? plain : from_cookie)) abort();
  }
  return 0;
}
