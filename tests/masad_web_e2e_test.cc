// The web application's sign-in end to end, as a browser does it but driven by curl: a real
// masad on a fresh dev-init state serves the page (with its Content-Security-Policy), signs
// in with an API token into a session cookie (a curl cookie jar), answers the session
// document with its CSRF token, refuses a state change without that token or from another
// Origin (a bearer token needs neither), records the licence acceptance, and refuses the
// cookie after sign-out. Secrets never reach argv: the token goes in a body file, the
// cookie in the jar, the CSRF token and bearer in curl config files.
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/internal/e2e.h"
#include "tests/internal/masad.h"

#ifndef MASAD
#error "MASAD must name the masad binary"
#endif
#ifndef WEB_ROOT
#error "WEB_ROOT must name the source tree's web/"
#endif

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

struct Answer {
  int status = 0;
  std::string headers;  // as received, lower-cased
  std::string body;
  json Json() const { return json::parse(body, nullptr, false); }
};

class Curl {
 public:
  Curl(std::string url, std::string ca, std::string dir)
      : url_(std::move(url)), ca_(std::move(ca)), dir_(std::move(dir)) {}

  // One request; `extra` are more curl arguments (never a secret: those go in files).
  Answer Call(const std::string& method, const std::string& path,
              const std::vector<std::string>& extra = {}) {
    const std::string n = std::to_string(++count_);
    const std::string headers = dir_ + "/h" + n, body = dir_ + "/b" + n;
    std::vector<std::string> argv = {CURL_CLI, "-sS",   "--cacert", ca_,  "-X", method,
                                     "-D",     headers, "-o",       body, "-w", "%{http_code}"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url_ + path);
    ProcessResult r = RunTool(argv);
    EXPECT_EQ(r.exit_code, 0) << r;
    Answer a;
    EXPECT_TRUE(absl::SimpleAtoi(r.out, &a.status)) << r;
    a.headers = absl::AsciiStrToLower(ReadFileOrEmpty(headers));
    a.body = ReadFileOrEmpty(body);
    return a;
  }

  // A 0600 curl config file that sends `header` (e.g. "X-CSRF-Token: ...").
  std::string HeaderFile(const std::string& name, const std::string& header) {
    std::string path = dir_ + "/" + name + ".conf";
    WriteFile(path, absl::StrCat("header = \"", header, "\"\n"));
    return path;
  }
  std::string File(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    WriteFile(path, text);
    return path;
  }

 private:
  std::string url_, ca_, dir_;
  int count_ = 0;
};

TEST(MasadWebE2eTest, TokenSignInCsrfLicenceAndSignOutWithCurl) {
  TempFolder root;
  DevState dev = MakeDevState(root / "state");
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const std::string token_file = root / "admin.token";
  ProcessResult org = Masactl({"org", "create", "--state", dev.dir, "--name", "acme", "--admin",
                               "admin@acme.example", "--token-out", token_file});
  ASSERT_EQ(org.exit_code, 0) << org;
  std::string token(absl::StripAsciiWhitespace(ReadFileOrEmpty(token_file)));
  const std::string terms = "Test terms: sign in only to test.\n";
  WriteFile(root / "terms.txt", terms);
  {
    std::string toml = ReadFileOrEmpty(dev.dir + "/masad.toml");
    toml += absl::StrCat("\n[web]\nroot = \"", WEB_ROOT, "\"\nlicence_file = \"",
                         root / "terms.txt", "\"\n");
    WriteFile(dev.dir + "/masad.toml", toml);
  }
  auto masad = StartMasad({.binary = MASAD, .state = dev.dir});
  ASSERT_TRUE(masad.ok()) << masad.status();
  const std::string url = (*masad)->ready_rest();
  Curl curl(url, dev.dir + "/tls-ca.pem", root.path());
  const std::string jar = root / "cookies.txt";
  const std::string json_type = "Content-Type: application/json";

  // The page, with the policy that allows no inline script.
  Answer page = curl.Call("GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.headers, HasSubstr("content-security-policy: default-src 'self'; "
                                      "script-src 'self';"));
  EXPECT_THAT(page.body, HasSubstr("/assets/js/app.js"));
  EXPECT_EQ(curl.Call("GET", "/assets/../masad.toml").status, 404);

  // Sign in with the token: the cookie lands in the jar.
  const std::string signin = curl.File("signin.json", json{{"token", token}}.dump());
  Answer in = curl.Call(
      "POST", "/auth/token",
      {"-c", jar, "-H", json_type, "-H", "Origin: " + url, "--data-binary", "@" + signin});
  ASSERT_EQ(in.status, 200) << in.body;
  EXPECT_THAT(in.headers, HasSubstr("set-cookie: __host-masa_session=masa_session_"));
  EXPECT_THAT(in.headers, HasSubstr("; path=/; secure; httponly; samesite=strict"));
  EXPECT_THAT(ReadFileOrEmpty(jar), HasSubstr("__Host-masa_session"));
  const std::string csrf = in.Json().value("csrf_token", "");
  ASSERT_FALSE(csrf.empty()) << in.body;
  const std::string csrf_file = curl.HeaderFile("csrf", "X-CSRF-Token: " + csrf);

  Answer session = curl.Call("GET", "/auth/session", {"-b", jar});
  ASSERT_EQ(session.status, 200) << session.body;
  EXPECT_EQ(session.Json()["profile"]["name"], "admin@acme.example");
  EXPECT_EQ(session.Json()["csrf_token"], csrf);
  EXPECT_EQ(session.Json()["licence"]["accepted"], false);

  // A state change with the cookie: without the CSRF token, or from another site, refused.
  const std::string made = curl.File("token.json", R"({"description":"from the web"})");
  Answer bare =
      curl.Call("POST", "/tokens", {"-b", jar, "-H", json_type, "--data-binary", "@" + made});
  EXPECT_EQ(bare.status, 403) << bare.body;
  EXPECT_EQ(bare.Json()["type"], "urn:masa:problem:csrf");
  Answer cross = curl.Call("POST", "/tokens",
                           {"-b", jar, "-K", csrf_file, "-H", "Origin: https://evil.example", "-H",
                            json_type, "--data-binary", "@" + made});
  EXPECT_EQ(cross.status, 403) << cross.body;
  EXPECT_THAT(cross.Json().value("detail", ""), HasSubstr("another origin"));
  Answer good = curl.Call("POST", "/tokens",
                          {"-b", jar, "-K", csrf_file, "-H", "Origin: " + url, "-H", json_type,
                           "--data-binary", "@" + made});
  EXPECT_EQ(good.status, 201) << good.body;
  // A bearer token is not a browser's ambient credential: no CSRF token needed.
  const std::string bearer = curl.HeaderFile("bearer", "Authorization: Bearer " + token);
  EXPECT_EQ(curl.Call("POST", "/tokens",
                      {"-K", bearer, "-H", "Origin: https://evil.example", "-H", json_type,
                       "--data-binary", "@" + made})
                .status,
            201);

  // The licence terms, accepted once.
  Answer licence = curl.Call("GET", "/auth/licence");
  ASSERT_EQ(licence.status, 200);
  EXPECT_EQ(licence.Json()["text"], terms);
  const std::string accept =
      curl.File("accept.json", json{{"version", licence.Json()["version"]}}.dump());
  EXPECT_EQ(curl.Call("POST", "/auth/licence",
                      {"-b", jar, "-K", csrf_file, "-H", json_type, "--data-binary", "@" + accept})
                .status,
            204);
  EXPECT_EQ(curl.Call("GET", "/auth/session", {"-b", jar}).Json()["licence"]["accepted"], true);

  // Sign-out ends the session on the server: the same cookie is refused afterwards.
  Answer out = curl.Call("POST", "/auth/logout", {"-b", jar, "-K", csrf_file});
  EXPECT_EQ(out.status, 204) << out.body;
  EXPECT_THAT(out.headers, HasSubstr("set-cookie: __host-masa_session=;"));
  Answer after = curl.Call("GET", "/auth/session", {"-b", jar});
  EXPECT_EQ(after.status, 401) << after.body;
  EXPECT_EQ(curl.Call("GET", "/principals", {"-b", jar}).status, 401);

  EXPECT_EQ((*masad)->Terminate(absl::Seconds(30)), 0) << (*masad)->log();
  ClearWatchedSecrets();
}

}  // namespace
}  // namespace masa::e2e
