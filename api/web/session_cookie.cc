#include "api/web/session_cookie.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/base64.h"
#include "common/secret.h"
#include "common/utf8.h"
#include "queue/problem.h"

namespace masa::api::web {
namespace {

constexpr std::string_view kCsrfLabel = "masa-csrf-v1";

}  // namespace

std::optional<std::string> CookieOf(const queue::HttpRequest& request, std::string_view name) {
  auto it = request.headers.find("cookie");
  if (it == request.headers.end()) return std::nullopt;
  for (absl::string_view piece : absl::StrSplit(it->second, ';')) {
    piece = absl::StripAsciiWhitespace(piece);
    std::string_view pair(piece.data(), piece.size());
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    std::string_view value = pair.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (value.empty()) return std::nullopt;
    return std::string(value);
  }
  return std::nullopt;
}

std::string SessionCookieHeader(std::string_view secret) {
  return absl::StrCat(kSessionCookie, "=", std::string(secret),
                      "; Path=/; Secure; HttpOnly; SameSite=Strict");
}

std::string ClearSessionCookieHeader() {
  return absl::StrCat(kSessionCookie, "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
}

std::string OidcCookieHeader(std::string_view binding) {
  return absl::StrCat(kOidcCookie, "=", std::string(binding),
                      "; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600");
}

std::string ClearOidcCookieHeader() {
  return absl::StrCat(kOidcCookie, "=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0");
}

std::string CsrfTokenFor(std::string_view session_secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), session_secret.data(), static_cast<int>(session_secret.size()),
           reinterpret_cast<const unsigned char*>(kCsrfLabel.data()), kCsrfLabel.size(), mac,
           &mac_len) == nullptr) {
    // Only when memory is exhausted; an empty token matches no request.
    return "";
  }
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

std::string OwnOrigin(const queue::HttpRequest& request) {
  return absl::StrCat(request.tls ? "https" : "http", "://", request.Header("host"));
}

absl::Status CheckOrigin(const queue::HttpRequest& request) {
  auto it = request.headers.find("origin");
  if (it == request.headers.end()) return absl::OkStatus();
  std::string own = OwnOrigin(request);
  if (absl::AsciiStrToLower(it->second) == absl::AsciiStrToLower(own)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("The request comes from another origin (Origin: ", ShowUntrusted(it->second),
                   "); this appliance accepts it only from ", ShowUntrusted(own), "."));
}

absl::Status CheckCsrf(const queue::HttpRequest& request, std::string_view session_secret) {
  if (request.method == "GET" || request.method == "HEAD") return absl::OkStatus();
  auto it = request.headers.find(kCsrfHeader);
  if (it == request.headers.end() || it->second.empty()) {
    return absl::PermissionDeniedError(
        "A call signed in with the session cookie must carry the header X-CSRF-Token (the "
        "csrf_token of GET /auth/session).");
  }
  std::string expected = CsrfTokenFor(session_secret);
  if (expected.empty() || !SecretsEqual(it->second, expected)) {
    return absl::PermissionDeniedError(
        "The X-CSRF-Token header does not match this session (sign in again, or take "
        "csrf_token from GET /auth/session).");
  }
  return CheckOrigin(request);
}

queue::HttpResponse CsrfProblem(const absl::Status& refusal) {
  return queue::Problem(403, kCsrfProblemType, "Cross-site request refused",
                        std::string(refusal.message()));
}

void AddSecurityHeaders(bool tls, queue::HttpResponse& response) {
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  if (tls) response.headers.emplace_back("Strict-Transport-Security", "max-age=63072000");
  const bool html = absl::StartsWith(absl::AsciiStrToLower(response.content_type), "text/html");
  response.headers.emplace_back(
      "Content-Security-Policy",
      html ? "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
             "form-action 'self'"
           : "default-src 'none'; frame-ancestors 'none'");
}

}  // namespace masa::api::web
