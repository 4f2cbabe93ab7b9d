// The web application's side of the REST API over the service fakes: the session cookie
// authenticates, state changes need the CSRF token and our own Origin (bearer tokens need
// neither), sign-in with a token, sign-out, the licence terms, single sign-on through a fake
// relying party, the files of the web root, and the security headers on every answer.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "api/rest_api.h"
#include "api/testing/test_util.h"
#include "api/web/oidc.h"
#include "api/web/session_cookie.h"
#include "common/base64.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace masa::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;
using service::testing::FakeAuthenticator;
using service::testing::FakeSessions;
using testing::FakeServices;
using testing::HeaderOf;

constexpr std::string_view kLicence = "Terms of use: be nice.\n";

// A relying party that knows one login: state "st-1", binding "bind-1", code "code-1"
// naming `email`.
class FakeOidc final : public web::OidcClient {
 public:
  std::string email = std::string(FakeSessions::kEmail);
  std::string forgotten;
  absl::Status finish_fails = absl::OkStatus();

  absl::StatusOr<web::OidcLogin> Begin() override {
    return web::OidcLogin{"http://127.0.0.1:1/authorize?state=st-1", "bind-1"};
  }
  absl::StatusOr<service::VerifiedIdentity> Finish(std::string_view code, std::string_view state,
                                                   std::string_view binding) override {
    if (!finish_fails.ok()) return finish_fails;
    if (code != "code-1" || state != "st-1" || binding != "bind-1") {
      return absl::UnauthenticatedError("unknown or replayed sign-in state");
    }
    return service::VerifiedIdentity{"http://127.0.0.1:1", "sub-1", email};
  }
  void ForgetState(std::string_view state) override { forgotten = std::string(state); }
};

std::vector<std::string> HeadersOf(const queue::HttpResponse& r, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : r.headers) {
    if (k == name) out.push_back(v);
  }
  return out;
}

class WebRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "/webroot-XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    root_ = templ;
    Write("index.html", "<!doctype html><title>MASA</title>");
    Write("assets/js/app.js", "export {};\n");
    Write("assets/css/app.css", "body{}\n");
    Write("assets/img/logo.svg", "<svg/>");
    Write("assets/.hidden.js", "secret");
    Write("assets/notes.exe", "MZ");
    Write("outside.txt", "not under assets");
    std::filesystem::create_symlink(root_ + "/outside.txt", root_ + "/assets/link.txt");
    Make();
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Make(web::OidcClient* oidc = nullptr, std::string root = "-") {
    RestApiOptions options;
    options.services = fakes_.services();
    options.handler_threads = 0;
    options.web.root = root == "-" ? root_ : root;
    options.web.licence_text = std::string(kLicence);
    options.web.oidc = oidc;
    options.web.oidc_name = "Acme SSO";
    auto api = RestApi::Create(options);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
  }

  void Write(const std::string& rel, const std::string& text) {
    std::filesystem::path p = std::filesystem::path(root_) / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

  static queue::HttpRequest Request(std::string method, std::string path, std::string body = "") {
    queue::HttpRequest r = testing::MakeRequest(std::move(method), std::move(path), std::move(body),
                                                /*with_token=*/false);
    r.headers["host"] = "127.0.0.1:8443";
    return r;
  }
  // A request of the signed-in browser: the session cookie (and for state changes the
  // CSRF token and our Origin, as the web application sends them).
  static queue::HttpRequest Browser(std::string method, std::string path, std::string body = "",
                                    bool csrf = true) {
    queue::HttpRequest r = Request(method, std::move(path), std::move(body));
    r.headers["cookie"] = "theme=dark; " + std::string(web::kSessionCookie) + "=" +
                          std::string(FakeSessions::kSecret);
    if (csrf && method != "GET") {
      r.headers["x-csrf-token"] = web::CsrfTokenFor(FakeSessions::kSecret);
      r.headers["origin"] = "http://127.0.0.1:8443";
    }
    return r;
  }

  queue::HttpResponse Do(queue::HttpRequest r) { return testing::Call(*api_, std::move(r)); }

  static json Body(const queue::HttpResponse& r) { return json::parse(r.body, nullptr, false); }

  std::string root_;
  FakeServices fakes_;
  std::unique_ptr<RestApi> api_;
};

TEST_F(WebRoutesTest, TheCsrfTokenIsTheHmacOfTheSessionSecret) {
  // base64url(HMAC-SHA256(key = "key", "masa-csrf-v1")), computed independently with
  // `printf masa-csrf-v1 | openssl dgst -sha256 -hmac key -binary | basenc --base64url`.
  EXPECT_EQ(web::CsrfTokenFor("key"), "jCDWUJAE2umaHGSR3bChIHTz2n31nIpt1MDwbe3cmN8");
  EXPECT_NE(web::CsrfTokenFor("key"), web::CsrfTokenFor("other key"));
}

TEST_F(WebRoutesTest, TheSessionCookieAuthenticatesAndTheSessionDocumentDescribesTheCaller) {
  queue::HttpResponse r = Do(Browser("GET", "/auth/session"));
  ASSERT_EQ(r.status, 200) << r.body;
  json doc = Body(r);
  EXPECT_EQ(doc["profile"]["name"], FakeSessions::kEmail);
  EXPECT_EQ(doc["profile"]["organization_id"], "org-acme");
  EXPECT_EQ(doc["profile"]["kind"], "user");
  EXPECT_EQ(doc["profile"]["permissions"], json::array({"view", "download"}));
  EXPECT_EQ(doc["profile"]["bindings"][0]["role"], "viewer");
  EXPECT_EQ(doc["profile"]["bindings"][0]["grants"], json::array({"download"}));
  EXPECT_EQ(doc["csrf_token"], web::CsrfTokenFor(FakeSessions::kSecret));
  EXPECT_EQ(doc["expires_at"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(doc["idle_timeout_seconds"], 1800);
  EXPECT_EQ(doc["licence"]["version"], HexEncode(Sha256(kLicence)));
  EXPECT_EQ(doc["licence"]["accepted"], false);
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-store");

  // An API route reads the cookie just the same.
  EXPECT_EQ(Do(Browser("GET", "/principals")).status, 200);
}

TEST_F(WebRoutesTest, WithoutTokenOrCookieTheAnswerIs401AndAnEndedSessionToo) {
  queue::HttpResponse none = Do(Request("GET", "/auth/session"));
  EXPECT_EQ(none.status, 401);
  EXPECT_THAT(Body(none)["detail"].get<std::string>(), HasSubstr("sign in to the web application"));

  queue::HttpRequest wrong = Browser("GET", "/auth/session");
  wrong.headers["cookie"] = std::string(web::kSessionCookie) + "=masa_session_forged";
  EXPECT_EQ(Do(std::move(wrong)).status, 401);
}

TEST_F(WebRoutesTest, AStateChangeWithTheCookieNeedsTheCsrfTokenAndOurOrigin) {
  const std::string body = R"({"description":"ci","validity_days":30})";
  struct Case {
    const char* what;
    std::function<void(queue::HttpRequest&)> change;
    const char* detail;
  } cases[] = {
      {"no header", [](queue::HttpRequest& r) { r.headers.erase("x-csrf-token"); },
       "must carry the header X-CSRF-Token"},
      {"wrong token", [](queue::HttpRequest& r) { r.headers["x-csrf-token"] = "AAAA"; },
       "does not match this session"},
      {"other origin", [](queue::HttpRequest& r) { r.headers["origin"] = "https://evil.example"; },
       "another origin (Origin: https://evil.example); this appliance accepts it only from "
       "http://127.0.0.1:8443."},
      {"null origin", [](queue::HttpRequest& r) { r.headers["origin"] = "null"; },
       "another origin"},
      {"other scheme",
       [](queue::HttpRequest& r) { r.headers["origin"] = "https://127.0.0.1:8443"; },
       "another origin"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    queue::HttpRequest r = Browser("POST", "/tokens", body);
    c.change(r);
    queue::HttpResponse refused = Do(std::move(r));
    EXPECT_EQ(refused.status, 403);
    EXPECT_EQ(refused.content_type, "application/problem+json");
    json problem = Body(refused);
    EXPECT_EQ(problem["type"], "urn:masa:problem:csrf");
    EXPECT_THAT(problem["detail"].get<std::string>(), HasSubstr(c.detail));
    EXPECT_EQ(fakes_.tokens.last_create.description, "") << "the service was called";
  }
  // With both (and without an Origin, as some clients send none) it goes through.
  EXPECT_EQ(Do(Browser("POST", "/tokens", body)).status, 201);
  queue::HttpRequest no_origin = Browser("POST", "/tokens", body);
  no_origin.headers.erase("origin");
  EXPECT_EQ(Do(std::move(no_origin)).status, 201);
  // GET needs neither.
  EXPECT_EQ(Do(Browser("GET", "/tokens", "", /*csrf=*/false)).status, 200);
}

TEST_F(WebRoutesTest, ABearerTokenNeedsNoCsrfTokenAndWinsOverTheCookie) {
  queue::HttpRequest r = testing::MakeRequest("POST", "/tokens", R"({"description":"ci"})");
  r.headers["origin"] = "https://evil.example";  // a script elsewhere cannot hold the token
  r.headers["cookie"] = std::string(web::kSessionCookie) + "=masa_session_forged";
  EXPECT_EQ(Do(std::move(r)).status, 201);
}

TEST_F(WebRoutesTest, SignInWithATokenSetsTheSessionCookie) {
  queue::HttpRequest r =
      Request("POST", "/auth/token", json{{"token", FakeAuthenticator::kToken}}.dump());
  r.headers["origin"] = "http://127.0.0.1:8443";
  queue::HttpResponse signed_in = Do(std::move(r));
  ASSERT_EQ(signed_in.status, 200) << signed_in.body;
  EXPECT_EQ(fakes_.sessions.started, 1);
  EXPECT_EQ(HeadersOf(signed_in, "Set-Cookie"),
            std::vector<std::string>{"__Host-masa_session=" + std::string(FakeSessions::kSecret) +
                                     "; Path=/; Secure; HttpOnly; SameSite=Strict"});
  EXPECT_EQ(Body(signed_in)["csrf_token"], web::CsrfTokenFor(FakeSessions::kSecret));
  EXPECT_EQ(HeaderOf(signed_in, "Cache-Control"), "no-store");

  queue::HttpResponse bad = Do(Request("POST", "/auth/token", R"({"token":"masa_nope"})"));
  EXPECT_EQ(bad.status, 401);
  EXPECT_TRUE(HeadersOf(bad, "Set-Cookie").empty());

  queue::HttpRequest cross =
      Request("POST", "/auth/token", json{{"token", FakeAuthenticator::kToken}}.dump());
  cross.headers["origin"] = "https://evil.example";
  queue::HttpResponse refused = Do(std::move(cross));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(Body(refused)["type"], "urn:masa:problem:csrf");
  EXPECT_EQ(fakes_.sessions.started, 1);

  EXPECT_EQ(Do(Request("POST", "/auth/token", R"({"secret":"x"})")).status, 400);
}

TEST_F(WebRoutesTest, SignOutEndsTheSessionClearsTheCookieAndThen401) {
  EXPECT_EQ(Do(Browser("POST", "/auth/logout", "", /*csrf=*/false)).status, 403);
  EXPECT_FALSE(fakes_.sessions.ended);
  queue::HttpResponse out = Do(Browser("POST", "/auth/logout"));
  EXPECT_EQ(out.status, 204);
  EXPECT_TRUE(fakes_.sessions.ended);
  EXPECT_EQ(HeadersOf(out, "Set-Cookie"),
            std::vector<std::string>{
                "__Host-masa_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"});
  EXPECT_EQ(Do(Browser("GET", "/auth/session")).status, 401);

  // An API token has no session to end.
  EXPECT_EQ(Do(testing::MakeRequest("POST", "/auth/logout")).status, 409);
}

TEST_F(WebRoutesTest, TheLicenceTermsAreShownAndTheCurrentVersionAccepted) {
  queue::HttpResponse terms = Do(Request("GET", "/auth/licence"));
  ASSERT_EQ(terms.status, 200);
  const std::string version = HexEncode(Sha256(kLicence));
  EXPECT_EQ(Body(terms), (json{{"version", version}, {"text", kLicence}}));

  queue::HttpResponse old =
      Do(Browser("POST", "/auth/licence", json{{"version", std::string(64, 'a')}}.dump()));
  EXPECT_EQ(old.status, 409);
  EXPECT_THAT(Body(old)["detail"].get<std::string>(), HasSubstr("not the current licence terms"));
  EXPECT_EQ(fakes_.sessions.accepted_version, "");

  EXPECT_EQ(Do(Browser("POST", "/auth/licence", json{{"version", version}}.dump(), false)).status,
            403);
  EXPECT_EQ(Do(Browser("POST", "/auth/licence", json{{"version", version}}.dump())).status, 204);
  EXPECT_EQ(fakes_.sessions.accepted_version, version);
  EXPECT_EQ(Body(Do(Browser("GET", "/auth/session")))["licence"]["accepted"], true);
}

TEST_F(WebRoutesTest, AuthConfigAndSsoRoutesWithoutSso) {
  queue::HttpResponse config = Do(Request("GET", "/auth/config"));
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(Body(config),
            (json{{"oidc", false}, {"oidc_name", "Acme SSO"}, {"token_sign_in", true}}));
  queue::HttpResponse login = Do(Request("GET", "/auth/oidc/login"));
  EXPECT_EQ(login.status, 404);
  EXPECT_THAT(Body(login)["detail"].get<std::string>(), HasSubstr("[oidc]"));
}

TEST_F(WebRoutesTest, SingleSignOnRedirectsThenStartsTheSessionWithAPageNotARedirect) {
  FakeOidc oidc;
  Make(&oidc);
  EXPECT_EQ(Body(Do(Request("GET", "/auth/config")))["oidc"], true);

  queue::HttpResponse login = Do(Request("GET", "/auth/oidc/login"));
  EXPECT_EQ(login.status, 302);
  EXPECT_EQ(HeaderOf(login, "Location"), "http://127.0.0.1:1/authorize?state=st-1");
  EXPECT_EQ(HeadersOf(login, "Set-Cookie"),
            std::vector<std::string>{
                "__Host-masa_oidc=bind-1; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600"});

  queue::HttpRequest back = Request("GET", "/auth/oidc/callback");
  back.query = {{"code", "code-1"}, {"state", "st-1"}};
  back.headers["cookie"] = "__Host-masa_oidc=bind-1";
  queue::HttpResponse done = Do(back);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.content_type, "text/html; charset=utf-8");
  EXPECT_THAT(done.body, HasSubstr("<meta http-equiv=\"refresh\" content=\"0;url=/\">"));
  EXPECT_THAT(done.body, Not(HasSubstr("<script")));
  EXPECT_EQ(HeadersOf(done, "Set-Cookie"),
            (std::vector<std::string>{
                "__Host-masa_session=" + std::string(FakeSessions::kSecret) +
                    "; Path=/; Secure; HttpOnly; SameSite=Strict",
                "__Host-masa_oidc=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"}));
  EXPECT_EQ(fakes_.sessions.last_identity.email, FakeSessions::kEmail);
  EXPECT_THAT(HeaderOf(done, "Content-Security-Policy"), HasSubstr("script-src 'self'"));

  // Without the browser's binding cookie: refused before the provider is asked.
  queue::HttpRequest elsewhere = back;
  elsewhere.headers.erase("cookie");
  queue::HttpResponse unbound = Do(elsewhere);
  EXPECT_EQ(unbound.status, 401);
  EXPECT_THAT(unbound.body, HasSubstr("did not begin this sign-in"));
}

TEST_F(WebRoutesTest, SsoFailuresArePlainPagesWithTheReasonEscaped) {
  FakeOidc oidc;
  Make(&oidc);
  queue::HttpRequest back = Request("GET", "/auth/oidc/callback");
  back.headers["cookie"] = "__Host-masa_oidc=bind-1";

  // The provider's error, with markup in its description: shown as text.
  queue::HttpRequest error = back;
  error.query = {{"error", "access_denied"},
                 {"error_description", "<script>alert(1)</script>"},
                 {"state", "st-1"}};
  queue::HttpResponse denied = Do(error);
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(oidc.forgotten, "st-1");
  EXPECT_THAT(denied.body, Not(HasSubstr("<script>")));
  EXPECT_THAT(denied.body, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(denied.body, HasSubstr("<a href=\"/\">"));

  // A person the appliance does not know: 403 with the service's explanation.
  oidc.email = "<b>mallory@evil.example</b>";
  queue::HttpRequest unknown = back;
  unknown.query = {{"code", "code-1"}, {"state", "st-1"}};
  queue::HttpResponse refused = Do(unknown);
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(refused.body, HasSubstr("no user with the e-mail &lt;b&gt;mallory@evil.example"));
  EXPECT_TRUE(HeadersOf(refused, "Set-Cookie").empty());

  // The provider cannot be reached: 503.
  oidc.finish_fails = absl::UnavailableError("the identity provider did not answer");
  queue::HttpResponse down = Do(unknown);
  EXPECT_EQ(down.status, 503);
  EXPECT_THAT(down.body, HasSubstr("did not answer"));
}

TEST_F(WebRoutesTest, TheWebRootsFilesAreServedWithTheirTypes) {
  struct Case {
    const char* path;
    const char* type;
  } cases[] = {
      {"/", "text/html; charset=utf-8"},
      {"/index.html", "text/html; charset=utf-8"},
      {"/assets/js/app.js", "text/javascript; charset=utf-8"},
      {"/assets/css/app.css", "text/css; charset=utf-8"},
      {"/assets/img/logo.svg", "image/svg+xml"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    queue::HttpResponse r = Do(Request("GET", c.path));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, c.type);
    EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");
    EXPECT_FALSE(r.body.empty());
  }
  EXPECT_EQ(Do(Request("GET", "/")).body, "<!doctype html><title>MASA</title>");
  EXPECT_EQ(Do(Request("HEAD", "/assets/js/app.js")).status, 200);
  EXPECT_EQ(Do(Request("POST", "/assets/js/app.js")).status, 405);
}

TEST_F(WebRoutesTest, NothingOutsideTheAssetsNorHiddenNorAFolderIsServed) {
  for (const char* path :
       {"/assets/../outside.txt", "/assets/js/../../outside.txt", "/assets/.hidden.js",
        "/assets/js", "/assets/js/", "/assets/", "/assets/notes.exe", "/assets/link.txt",
        "/assets//js/app.js", "/assets/missing.js", "/outside.txt", "/assets/js/app.js\\"}) {
    SCOPED_TRACE(path);
    queue::HttpResponse r = Do(Request("GET", path));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.content_type, "application/problem+json");
  }
  Make(nullptr, /*root=*/"");
  EXPECT_EQ(Do(Request("GET", "/")).status, 404);
}

TEST_F(WebRoutesTest, EveryAnswerCarriesTheSecurityHeaders) {
  queue::HttpResponse html = Do(Request("GET", "/"));
  EXPECT_EQ(HeaderOf(html, "Content-Security-Policy"),
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
            "form-action 'self'");
  for (const queue::HttpResponse& r :
       {html, Do(Request("GET", "/auth/config")), Do(Request("GET", "/no/such/route")),
        Do(Request("GET", "/auth/session"))}) {
    EXPECT_EQ(HeaderOf(r, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(HeaderOf(r, "Referrer-Policy"), "no-referrer");
    EXPECT_EQ(HeaderOf(r, "X-Frame-Options"), "DENY");
    EXPECT_EQ(HeaderOf(r, "Strict-Transport-Security"), "") << "not over plain HTTP";
  }
  EXPECT_EQ(HeaderOf(Do(Request("GET", "/auth/config")), "Content-Security-Policy"),
            "default-src 'none'; frame-ancestors 'none'");
  queue::HttpRequest tls = Request("GET", "/auth/config");
  tls.tls = true;
  EXPECT_EQ(HeaderOf(Do(std::move(tls)), "Strict-Transport-Security"), "max-age=63072000");
}

}  // namespace
}  // namespace masa::api
