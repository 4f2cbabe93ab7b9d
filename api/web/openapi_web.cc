// The OpenAPI operations and schemas of the web application's sign-in routes (/auth/*),
// merged into the one document by openapi.cc. The web application's files (/, /assets/)
// are not part of the API and not listed.
#include <vector>

#include "api/internal/openapi_ops.h"

namespace masa::api::internal {

const std::vector<OperationDoc>& WebOperations() {
  // clang-format off
  static const std::vector<OperationDoc>* ops = new std::vector<OperationDoc>{
      {"get", "/auth/config", "getAuthConfig", "web",
       "How this appliance signs people in: single sign-on (and the button's name), API "
       "token.", {}, nullptr, false, 200, "application/json", "AuthConfig", false},
      {"post", "/auth/token", "signInWithToken", "web",
       "Starts a web session with an API token: sets the session cookie "
       "(__Host-masa_session; HttpOnly, Secure, SameSite=Strict) and answers the session "
       "document. 401 for an unknown, revoked or expired token; 403 (urn:masa:problem:csrf) "
       "when an Origin header names another site.",
       {}, "TokenSignIn", true, 200, "application/json", "Session", false},
      {"get", "/auth/session", "getSession", "web",
       "The signed-in caller's profile (what the web application may show), the session's "
       "CSRF token, expiry and idle timeout, and whether the current licence terms are "
       "accepted. With an API token: the profile and licence only.",
       {}, nullptr, false, 200, "application/json", "Session", true},
      {"post", "/auth/logout", "signOut", "web",
       "Ends the caller's web session on the server and clears the cookie. 409 for an API "
       "token.", {}, nullptr, false, 204, nullptr, nullptr, true},
      {"get", "/auth/licence", "getLicence", "web",
       "The licence terms and their version (hex SHA-256 of the text).", {}, nullptr, false,
       200, "application/json", "Licence", false},
      {"post", "/auth/licence", "acceptLicence", "web",
       "Records (in the audit log) that the caller accepted the licence terms of this "
       "version. 409 when the version is not the current one.",
       {}, "LicenceAcceptance", true, 204, nullptr, nullptr, true},
      {"get", "/auth/oidc/login", "beginSsoLogin", "web",
       "Single sign-on: 302 to the identity provider (authorization code flow with PKCE), "
       "setting the cookie that binds the login to this browser. 404 when single sign-on is "
       "not configured.", {}, nullptr, false, 302, nullptr, nullptr, false},
      {"get", "/auth/oidc/callback", "finishSsoLogin", "web",
       "The identity provider's redirect back: checks the ID token, starts the session of the "
       "user its e-mail names, sets the session cookie and answers a page that moves on to "
       "/. A failure answers an HTML page saying why (401, 403, 503).",
       {{"code", "query", "string", "The authorization code."},
        {"state", "query", "string", "The login's state."},
        {"error", "query", "string", "The provider's error, instead of a code."},
        {"error_description", "query", "string", "The provider's explanation of error."}},
       nullptr, false, 200, "text/html", nullptr, false},
  };
  // clang-format on
  return *ops;
}

void AddWebSchemas(nlohmann::json& schemas) {
  using nlohmann::json;
  auto string = [](const char* description) {
    return json{{"type", "string"}, {"description", description}};
  };
  schemas["AuthConfig"] = {
      {"type", "object"},
      {"required", {"oidc", "oidc_name", "token_sign_in"}},
      {"properties",
       {{"oidc", {{"type", "boolean"}, {"description", "Single sign-on is configured."}}},
        {"oidc_name", string("The identity provider's name for the button: Sign in using "
                             "<oidc_name>.")},
        {"token_sign_in", {{"type", "boolean"}}}}}};
  schemas["TokenSignIn"] = {{"type", "object"},
                            {"required", {"token"}},
                            {"additionalProperties", false},
                            {"properties", {{"token", string("An API token (masa_...).")}}}};
  schemas["Profile"] = {
      {"type", "object"},
      {"properties",
       {{"principal_id", {{"type", "string"}}},
        {"name", string("Username (e-mail) or account name.")},
        {"kind", {{"type", "string"}, {"enum", {"user", "service-account"}}}},
        {"organization_id", {{"type", "string"}}},
        {"vendor", {{"type", "boolean"}}},
        {"bindings",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"properties",
             {{"group_id", {{"type", "string"}}},
              {"role", {{"type", "string"}}},
              {"grants", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}}}}},
        {"permissions",
         {{"type", "array"},
          {"items", {{"type", "string"}}},
          {"description",
           "Held on at least one group: view, request, download, archive, manage-pdcs, "
           "place-serials, admin, assign-serials, view-all-organizations, audit, keys."}}},
        {"licence_accepted_version", string("The version last accepted; \"\" when never.")}}}};
  schemas["Session"] = {
      {"type", "object"},
      {"required", {"profile", "licence"}},
      {"properties",
       {{"profile", {{"$ref", "#/components/schemas/Profile"}}},
        {"csrf_token", string("Send as X-CSRF-Token on every call that is not GET or HEAD "
                              "(session only).")},
        {"expires_at", {{"type", "string"}, {"format", "date-time"}}},
        {"idle_timeout_seconds", {{"type", "integer"}}},
        {"licence",
         {{"type", "object"},
          {"properties",
           {{"version", {{"type", "string"}}}, {"accepted", {{"type", "boolean"}}}}}}}}}};
  schemas["Licence"] = {
      {"type", "object"},
      {"required", {"version", "text"}},
      {"properties",
       {{"version", string("Hex SHA-256 of the text.")}, {"text", {{"type", "string"}}}}}};
  schemas["LicenceAcceptance"] = {{"type", "object"},
                                  {"required", {"version"}},
                                  {"additionalProperties", false},
                                  {"properties", {{"version", string("The version accepted.")}}}};
}

}  // namespace masa::api::internal
