#include "api/grpc/internal/credentials.h"

#include "absl/strings/ascii.h"

namespace masa::api::grpc_internal {
namespace {

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// `s` equals the lower-case `lower` without regard to ASCII case.
bool EqualsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(s[i])) != lower[i]) return false;
  }
  return true;
}

}  // namespace

std::string BearerTokenOf(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !EqualsLower(authorization.substr(0, kScheme.size()), kScheme)) {
    return "";
  }
  std::string_view rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ' && rest.front() != '\t') return "";  // "Bearerx" is another scheme
  return std::string(TrimBlanks(rest));
}

std::string AccessTokenCookieOf(std::string_view cookie) {
  constexpr std::string_view kName = "access_token";
  while (!cookie.empty()) {
    size_t semicolon = cookie.find(';');
    std::string_view pair = TrimBlanks(cookie.substr(0, semicolon));
    cookie =
        semicolon == std::string_view::npos ? std::string_view() : cookie.substr(semicolon + 1);
    size_t equals = pair.find('=');
    if (equals == std::string_view::npos || TrimBlanks(pair.substr(0, equals)) != kName) continue;
    std::string_view value = TrimBlanks(pair.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = TrimBlanks(value.substr(1, value.size() - 2));
    }
    if (!value.empty()) return std::string(value);
  }
  return "";
}

std::string TokenOf(const std::vector<std::string_view>& authorization,
                    const std::vector<std::string_view>& cookie) {
  for (std::string_view value : authorization) {
    std::string token = BearerTokenOf(value);
    if (!token.empty()) return token;
  }
  for (std::string_view value : cookie) {
    std::string token = AccessTokenCookieOf(value);
    if (!token.empty()) return token;
  }
  return "";
}

}  // namespace masa::api::grpc_internal
