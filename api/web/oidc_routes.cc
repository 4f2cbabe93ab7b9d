// Single sign-on routes: GET /auth/oidc/login sends the browser to the identity provider
// (api/web/oidc.h Begin) with the binding cookie; GET /auth/oidc/callback finishes the
// login (Finish), starts the session (Sessions::StartSessionForIdentity) and answers a small
// HTML page that moves the browser on to / (not a redirect: a SameSite=Strict cookie set
// during a cross-site redirect chain is not sent on the redirect's target). Every failure is
// a plain HTML page saying what was wrong, with a link back to /; no script anywhere.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/internal/problem.h"
#include "api/internal/responses.h"
#include "api/internal/rest_api_impl.h"
#include "api/web/oidc.h"
#include "api/web/session_cookie.h"
#include "common/html.h"
#include "common/log.h"
#include "common/status.h"
#include "common/utf8.h"

namespace masa::api::internal {
namespace {

using queue::HttpResponse;

HttpResponse HtmlPage(int status, std::string_view title, std::string_view head_extra,
                      std::string_view body_html) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = absl::StrCat(
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
      std::string(head_extra), "<title>", HtmlEscape(title),
      "</title>\n<link rel=\"stylesheet\" href=\"/assets/css/app.css\">\n</head>\n<body>\n"
      "<main class=\"signin-message\">\n<h1>",
      HtmlEscape(title), "</h1>\n", std::string(body_html), "</main>\n</body>\n</html>\n");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// The page for a failed sign-in: `message` (escaped) and a link back to the sign-in page.
HttpResponse FailurePage(int status, std::string_view message) {
  return HtmlPage(status, "Sign-in failed", "",
                  absl::StrCat("<p data-testid=\"signin-error\">", HtmlEscape(message),
                               "</p>\n<p><a href=\"/\">Back to the sign-in page</a></p>\n"));
}

// The failure page for a status of Finish or StartSessionForIdentity: what the person can
// act on is shown (refused: 401/403, unavailable: 503); an internal error only says so.
HttpResponse FailurePageFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kInvalidArgument:
      return FailurePage(401, std::string(status.message()));
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
      return FailurePage(403, std::string(status.message()));
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kDeadlineExceeded:
      return FailurePage(503, std::string(status.message()));
    default:
      Log(LogLevel::kWarning, absl::StrCat("single sign-on failed: ", status.ToString()));
      return FailurePage(500,
                         "The appliance failed to complete the sign-in; try again, and "
                         "tell its operator if this persists.");
  }
}

std::string QueryValue(const queue::HttpRequest& request, const std::string& name) {
  auto it = request.query.find(name);
  return it == request.query.end() ? "" : it->second;
}

}  // namespace

absl::StatusOr<HttpResponse> RestApiImpl::OidcLogin(Call& call) {
  if (options_.web.oidc == nullptr) {
    return Problem(404, "urn:masa:problem:no-such-route", "Not found",
                   "Single sign-on is not configured on this appliance ([oidc] in masad.toml); "
                   "sign in with an API token.");
  }
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(web::OidcLogin login, options_.web.oidc->Begin());
  HttpResponse r;
  r.status = 302;
  r.headers.emplace_back("Location", login.authorization_url);
  r.headers.emplace_back("Set-Cookie", web::OidcCookieHeader(login.browser_binding));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

absl::StatusOr<HttpResponse> RestApiImpl::OidcCallback(Call& call) {
  web::OidcClient* oidc = options_.web.oidc;
  if (oidc == nullptr) {
    return FailurePage(404, "Single sign-on is not configured on this appliance.");
  }
  const queue::HttpRequest& request = call.request;
  std::string state = QueryValue(request, "state");
  if (request.query.count("error") > 0) {
    oidc->ForgetState(state);
    std::string why = QueryValue(request, "error_description");
    if (why.empty()) why = QueryValue(request, "error");
    return FailurePage(
        401, absl::StrCat("The identity provider refused the sign-in: ", ShowUntrusted(why, 200)));
  }
  std::string code = QueryValue(request, "code");
  if (code.empty() || state.empty()) {
    return FailurePage(401,
                       "The identity provider's answer lacks its code or state; start "
                       "the sign-in again.");
  }
  std::optional<std::string> binding = web::CookieOf(request, web::kOidcCookie);
  if (!binding) {
    return FailurePage(401,
                       "This browser did not begin this sign-in (its sign-in cookie is "
                       "missing or expired); start the sign-in again.");
  }
  absl::StatusOr<service::VerifiedIdentity> who = oidc->Finish(code, state, *binding);
  if (!who.ok()) return FailurePageFor(who.status());
  absl::StatusOr<service::NewSession> session =
      options_.services.sessions->StartSessionForIdentity(*who);
  if (!session.ok()) return FailurePageFor(session.status());
  HttpResponse r = HtmlPage(200, "Signed in", "<meta http-equiv=\"refresh\" content=\"0;url=/\">\n",
                            "<p><a href=\"/\">Continue to the appliance</a></p>\n");
  r.headers.emplace_back("Set-Cookie", web::SessionCookieHeader(session->secret.view()));
  r.headers.emplace_back("Set-Cookie", web::ClearOidcCookieHeader());
  return r;
}

}  // namespace masa::api::internal
