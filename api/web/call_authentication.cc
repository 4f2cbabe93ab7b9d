// Who is calling an authenticated route: an "Authorization: Bearer" API token (exactly as
// before the web application), or else the web session cookie, whose calls that change
// state must also pass the CSRF rule (api/web/session_cookie.h).
#include <optional>
#include <string>
#include <utility>

#include "api/internal/problem.h"
#include "api/internal/rest_api_impl.h"
#include "api/web/session_cookie.h"
#include "queue/bearer.h"

namespace masa::api::internal {
namespace {

using queue::HttpResponse;

// The token of "Authorization: Bearer <token>" (BearerTokenOf). nullopt when the header is
// absent; "" when it is not a bearer token.
std::optional<std::string> BearerToken(const queue::HttpRequest& request) {
  auto it = request.headers.find("authorization");
  if (it == request.headers.end()) return std::nullopt;
  return queue::BearerTokenOf(it->second);
}

HttpResponse Unauthenticated(std::string_view detail, bool invalid_request) {
  return Problem(
      401, "urn:masa:problem:unauthenticated", "Authentication required", detail,
      {{"WWW-Authenticate", invalid_request ? "Bearer realm=\"masa\", error=\"invalid_request\""
                                            : "Bearer realm=\"masa\""}});
}

}  // namespace

std::optional<HttpResponse> RestApiImpl::AuthenticateCall(Call& call) const {
  std::optional<std::string> token = BearerToken(call.request);
  if (token) {
    if (token->empty()) {
      return Unauthenticated(
          "The Authorization header must be \"Bearer <token>\" with a non-empty token.", true);
    }
    absl::StatusOr<service::Caller> caller = options_.services.authenticator->Authenticate(*token);
    if (!caller.ok()) return Fail(caller.status());
    call.caller = *std::move(caller);
    return std::nullopt;
  }
  std::optional<std::string> cookie = web::CookieOf(call.request, web::kSessionCookie);
  if (!cookie) {
    return Unauthenticated(
        "This API needs a token: send the header \"Authorization: Bearer <token>\" "
        "(masactl org create prints the first one; POST /tokens makes more), or sign in to "
        "the web application.",
        false);
  }
  // The web application's session: a call that changes state must prove it comes from our
  // own pages (CSRF), judged first so that a forged call never reaches the service (nor
  // counts as the session's activity); then the service decides whether it is still alive.
  Secret secret(*std::move(cookie));
  if (absl::Status csrf = web::CheckCsrf(call.request, secret.view()); !csrf.ok()) {
    return web::CsrfProblem(csrf);
  }
  absl::StatusOr<service::Caller> caller =
      options_.services.sessions->AuthenticateSession(secret.view());
  if (!caller.ok()) return Fail(caller.status());
  call.caller = *std::move(caller);
  call.session = std::move(secret);
  return std::nullopt;
}

}  // namespace masa::api::internal
