// The web application's sign-in routes (/auth/*, "Web contract"): sign-in with an API
// token, the session document, sign-out, the licence terms. Single sign-on is in
// oidc_routes.cc, the files in static_files.cc.
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/internal/problem.h"
#include "api/internal/responses.h"
#include "api/internal/rest_api_impl.h"
#include "api/web/session_cookie.h"
#include "common/status.h"
#include "common/time.h"

namespace masa::api::internal {
namespace {

using nlohmann::json;
using queue::HttpResponse;

json ProfileJson(const service::CallerProfile& p) {
  json bindings = json::array();
  for (const service::CallerProfile::Binding& b : p.bindings) {
    json grants = json::array();
    for (service::Grant g : b.grants) grants.push_back(std::string(service::GrantName(g)));
    bindings.push_back({{"group_id", b.group_id},
                        {"role", std::string(service::RoleName(b.role))},
                        {"grants", std::move(grants)}});
  }
  return {{"principal_id", p.principal_id},
          {"name", p.name},
          {"kind", std::string(service::PrincipalKindName(p.kind))},
          {"organization_id", p.organization_id},
          {"vendor", p.vendor},
          {"bindings", std::move(bindings)},
          {"permissions", p.permissions},
          {"licence_accepted_version", p.licence_accepted_version}};
}

// Answers that carry a secret or a personal document are never cached.
HttpResponse NoStore(HttpResponse r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace

absl::StatusOr<HttpResponse> RestApiImpl::SessionDocument(const service::Caller& caller,
                                                          std::string_view session_secret) {
  MASA_ASSIGN_OR_RETURN(service::CallerProfile profile,
                        options_.services.sessions->DescribeCaller(caller));
  json doc = {{"profile", ProfileJson(profile)},
              {"licence",
               {{"version", licence_version_},
                {"accepted", profile.licence_accepted_version == licence_version_}}}};
  if (!session_secret.empty()) {
    doc["csrf_token"] = web::CsrfTokenFor(session_secret);
    doc["expires_at"] = FormatRfc3339(profile.session_expires_at);
    doc["idle_timeout_seconds"] = absl::ToInt64Seconds(profile.session_idle_timeout);
  }
  return NoStore(Ok(doc));
}

absl::StatusOr<HttpResponse> RestApiImpl::AuthConfig(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  return Ok(json{{"oidc", options_.web.oidc != nullptr},
                 {"oidc_name", options_.web.oidc_name},
                 {"token_sign_in", true}});
}

absl::StatusOr<HttpResponse> RestApiImpl::AuthToken(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  // Login CSRF: another site must not sign a browser in to an account of its choosing.
  if (absl::Status origin = web::CheckOrigin(call.request); !origin.ok()) {
    return web::CsrfProblem(origin);
  }
  MASA_ASSIGN_OR_RETURN(json body, ParseJsonObject(call.request.body, /*allow_empty=*/false));
  ObjectReader reader(body);
  std::optional<std::string> token_text = reader.String("token", true, 1024);
  MASA_RETURN_IF_ERROR(reader.Finish());
  Secret token(*std::move(token_text));
  if (token.empty()) return absl::InvalidArgumentError("token: must not be empty");
  MASA_ASSIGN_OR_RETURN(service::Caller by_token,
                        options_.services.authenticator->Authenticate(token.view()));
  MASA_ASSIGN_OR_RETURN(service::NewSession session,
                        options_.services.sessions->StartSessionWithToken(by_token));
  MASA_ASSIGN_OR_RETURN(service::Caller caller,
                        options_.services.sessions->AuthenticateSession(session.secret.view()));
  MASA_ASSIGN_OR_RETURN(HttpResponse r, SessionDocument(caller, session.secret.view()));
  r.headers.emplace_back("Set-Cookie", web::SessionCookieHeader(session.secret.view()));
  return r;
}

absl::StatusOr<HttpResponse> RestApiImpl::AuthSession(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  return SessionDocument(call.caller, call.session.view());
}

absl::StatusOr<HttpResponse> RestApiImpl::AuthLogout(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_RETURN_IF_ERROR(ParseJsonObject(call.request.body, /*allow_empty=*/true).status());
  if (call.session.empty()) {
    return absl::FailedPreconditionError(
        "sign-out ends a web session; this call was made with an API token (revoke it with "
        "DELETE /tokens/{token_id})");
  }
  MASA_RETURN_IF_ERROR(options_.services.sessions->EndSession(call.caller));
  HttpResponse r;
  r.status = 204;
  r.headers.emplace_back("Set-Cookie", web::ClearSessionCookieHeader());
  return NoStore(std::move(r));
}

absl::StatusOr<HttpResponse> RestApiImpl::GetLicence(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  return Ok(json{{"version", licence_version_}, {"text", options_.web.licence_text}});
}

absl::StatusOr<HttpResponse> RestApiImpl::AcceptLicence(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(json body, ParseJsonObject(call.request.body, /*allow_empty=*/false));
  ObjectReader reader(body);
  std::optional<std::string> version = reader.String("version", true, 64);
  MASA_RETURN_IF_ERROR(reader.Finish());
  // Only the terms this daemon shows can be accepted: a page loaded before the text changed
  // must show the new text first.
  if (absl::AsciiStrToLower(*version) != licence_version_) {
    return absl::FailedPreconditionError(
        "version: these are not the current licence terms (they changed); reload them with "
        "GET /auth/licence and accept those");
  }
  MASA_RETURN_IF_ERROR(options_.services.sessions->AcceptLicence(call.caller, licence_version_));
  HttpResponse r;
  r.status = 204;
  return r;
}

}  // namespace masa::api::internal
