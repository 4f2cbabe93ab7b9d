// The web application's cookies and its defence against cross-site request forgery, as the
// REST API applies them (rest_api.cc Dispatch, api/web/auth_routes.cc):
//  - the session cookie __Host-masa_session holds the session secret (HttpOnly, Secure,
//    SameSite=Strict, Path=/, no Max-Age: the server enforces the idle and absolute
//    timeouts); the sign-in cookie __Host-masa_oidc binds an SSO login to its browser
//    (SameSite=Lax, so the provider's redirect back carries it; Max-Age=600);
//  - a call authenticated by the session cookie whose method is not GET or HEAD carries
//    "X-CSRF-Token: base64url(HMAC-SHA256(key = session secret, "masa-csrf-v1"))", computed
//    from the cookie (nothing stored), and its Origin, when sent, is the daemon's own.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "queue/http_server.h"

namespace masa::api::web {

inline constexpr char kSessionCookie[] = "__Host-masa_session";
inline constexpr char kOidcCookie[] = "__Host-masa_oidc";
inline constexpr char kCsrfHeader[] = "x-csrf-token";  // as HttpRequest::headers names it
inline constexpr std::string_view kCsrfProblemType = "urn:masa:problem:csrf";

// The value of cookie `name` in the request's Cookie header; nullopt when absent or empty.
std::optional<std::string> CookieOf(const queue::HttpRequest& request, std::string_view name);

// Set-Cookie values: the session cookie carrying `secret`, and the one that clears it; the
// OIDC binding cookie and the one that clears it.
std::string SessionCookieHeader(std::string_view secret);
std::string ClearSessionCookieHeader();
std::string OidcCookieHeader(std::string_view binding);
std::string ClearOidcCookieHeader();

// base64url (no padding) of HMAC-SHA256(key = session_secret, "masa-csrf-v1").
std::string CsrfTokenFor(std::string_view session_secret);

// The daemon's own origin as the request reached it: "http(s)://" + its Host header.
std::string OwnOrigin(const queue::HttpRequest& request);

// OK, or kPermissionDenied with a message saying what was wrong, for a request whose Origin
// header is present and not the daemon's own (a cross-site request).
absl::Status CheckOrigin(const queue::HttpRequest& request);

// The CSRF rule for a request authenticated by the session cookie `session_secret`: GET and
// HEAD pass; any other method needs X-CSRF-Token equal to CsrfTokenFor(session_secret)
// (compared in constant time) and passes CheckOrigin. kPermissionDenied says what was
// missing or wrong.
absl::Status CheckCsrf(const queue::HttpRequest& request, std::string_view session_secret);

// The 403 problem+json answer (type urn:masa:problem:csrf) for a refusal of the above.
queue::HttpResponse CsrfProblem(const absl::Status& refusal);

// Adds the security headers every answer of the API listener carries: nosniff,
// no-referrer, frame denial, HSTS over TLS, and the Content-Security-Policy for HTML
// (scripts, styles, images, connections only from the daemon; nothing inline) or for
// anything else (nothing at all).
void AddSecurityHeaders(bool tls, queue::HttpResponse& response);

}  // namespace masa::api::web
