#include "api/grpc/internal/credentials.h"

#include "queue/bearer.h"

namespace masa::api::grpc_internal {
namespace {

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

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
    std::string token = queue::BearerTokenOf(value);
    if (!token.empty()) return token;
  }
  for (std::string_view value : cookie) {
    std::string token = AccessTokenCookieOf(value);
    if (!token.empty()) return token;
  }
  return "";
}

}  // namespace masa::api::grpc_internal
