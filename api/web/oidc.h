// The OpenID Connect relying party of the web application's "Sign in using SSO": the
// authorization code flow with PKCE (S256), `state` and `nonce` (OpenID Connect Core 1.0
// section 3.1, RFC 7636). It talks to the identity provider (discovery, JWKS, token
// endpoint) with libcurl and checks the ID token's JWS with cjose; it decides nothing about
// who may do what: the verified e-mail goes to service::Sessions.
//
//   MASA_ASSIGN_OR_RETURN(auto oidc, api::web::OidcClient::Create(options));
//   MASA_ASSIGN_OR_RETURN(auto start, oidc->Begin());          // GET /auth/oidc/login
//   // 302 to start.authorization_url; cookie start.browser_binding (see Begin)
//   MASA_ASSIGN_OR_RETURN(auto who, oidc->Finish(code, state, binding_cookie));  // callback
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/secret.h"
#include "common/time.h"
#include "service/sessions.h"

namespace masa::api::web {

struct OidcOptions {
  // The provider's issuer URL; its /.well-known/openid-configuration is read at Create()
  // (and again when a JWKS key id is unknown, at most once a minute). https, or http only
  // for a loopback host (127.0.0.1, ::1, localhost), as for masad's own plain HTTP.
  std::string issuer;
  std::string client_id;
  Secret client_secret;  // read by the caller from a file (never argv or the config itself)
  // Where the provider sends the browser back: this daemon's /auth/oidc/callback, as the
  // browser reaches it (e.g. "https://masa.example.com:8443/auth/oidc/callback"); it must be
  // registered with the provider.
  std::string redirect_uri;
  std::string scopes = "openid email";
  // PEM file of the CAs that sign the provider's TLS certificate; "" = the system's.
  std::string ca_file;
  // A login must be completed within this long of Begin().
  absl::Duration login_timeout = absl::Minutes(10);
  // Allowed clock skew for the ID token's exp / iat / nbf.
  absl::Duration clock_skew = absl::Minutes(2);
  absl::Duration http_timeout = absl::Seconds(10);
  // Login expiry and the ID token's times are judged by this clock (not owned; tests pass
  // a FixedClock); nullptr = SystemClock().
  const Clock* clock = nullptr;
};

struct OidcLogin {
  std::string authorization_url;  // the provider's authorization endpoint with every parameter
  // A random value for a cookie (__Host-masa_oidc, HttpOnly, Secure, SameSite=Lax, so the
  // provider's redirect back carries it): Finish() requires it, binding the login to the
  // browser that began it (against login CSRF). Not a credential of the principal.
  std::string browser_binding;
};

// Thread-safe. Pending logins are kept in memory (a restart forgets them: the person signs
// in again), at most 10000, each for login_timeout (past that, the oldest gives way).
// Create() and Finish() wait for the provider (Finish: the token endpoint, and at times the
// discovery document, JWKS and UserInfo endpoint, each within http_timeout): call them off
// the HTTP server's loop thread. Begin() and ForgetState() never wait.
class OidcClient {
 public:
  // Reads the provider's discovery document and JWKS. kInvalidArgument for a bad option
  // (names it); kUnavailable when the provider cannot be reached or answers nonsense (says
  // which URL and what was wrong).
  static absl::StatusOr<std::unique_ptr<OidcClient>> Create(OidcOptions options);
  virtual ~OidcClient() = default;

  // A new login: fresh state, nonce and PKCE verifier (each 32 random bytes, base64url).
  virtual absl::StatusOr<OidcLogin> Begin() = 0;

  // The provider's redirect back: exchanges `code` at the token endpoint (client_secret_basic,
  // with the PKCE verifier), then checks the ID token: JWS signature with a key of the
  // provider's JWKS (RS256/384/512, PS256, ES256/384; never "none" or HMAC), iss equal to
  // the issuer, aud containing client_id (azp = client_id when several), exp in the
  // future, iat not in the future, nonce equal to the login's, an email claim, and
  // email_verified not false (when the ID token has no email claim, the UserInfo endpoint's
  // answer about the same sub gives it, with the access token of the token endpoint). Each state is usable once. kUnauthenticated with a message a
  // person can read (what failed, never a secret or the token) for an unknown, expired or
  // replayed state, a binding that does not match, a token endpoint error, or an ID token
  // that fails a check; kUnavailable when the provider cannot be reached. (A callback that
  // carries the provider's `error` parameter instead of a code is answered by the caller,
  // which ends the login with ForgetState.)
  virtual absl::StatusOr<service::VerifiedIdentity> Finish(std::string_view code,
                                                           std::string_view state,
                                                           std::string_view browser_binding) = 0;

  // Drops a pending login (the provider answered with an error); unknown states are ignored.
  virtual void ForgetState(std::string_view state) = 0;
};

}  // namespace masa::api::web
