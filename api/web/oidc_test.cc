// The OpenID Connect relying party against a stand-in identity provider on loopback: a real
// queue::HttpServer serving discovery, a JWKS and a token endpoint whose ID tokens the test
// signs with OpenSSL keys made here (RS256, ES256), so that every bad token can be made on
// demand (the browser tests use the real npm oidc-provider). The relying party's clock is a
// FixedClock, so that expiries are judged without waiting.
#include "api/web/oidc.h"

#include <openssl/hmac.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "api/web/internal/provider_http.h"
#include "common/base64.h"
#include "common/openssl.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "queue/http_server.h"
#include "queue/testing/http_test_util.h"

namespace masa::api::web {
namespace {

using ::masa::Base64UrlEncode;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kClientId[] = "masa";
// Characters that client_secret_basic must form-encode before base64.
constexpr char kClientSecret[] = "s3cr%t:with space";
constexpr char kCode[] = "the-authorization-code-4711";
constexpr char kRedirect[] = "https://127.0.0.1:8444/auth/oidc/callback";

std::string Bn(const EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1) << name;
  UniquePtr<BIGNUM> owned(bn);
  std::string out(pad > 0 ? pad : BN_num_bytes(bn), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  return out;
}

struct SigningKey {
  std::string kid;
  std::string alg;  // RS256 or ES256
  UniquePtr<EVP_PKEY> key;

  json Public() const {
    if (alg == "ES256") {
      return {{"kty", "EC"},
              {"crv", "P-256"},
              {"kid", kid},
              {"use", "sig"},
              {"alg", alg},
              {"x", Base64UrlEncode(Bn(key.get(), "qx", 32))},
              {"y", Base64UrlEncode(Bn(key.get(), "qy", 32))}};
    }
    return {{"kty", "RSA"},
            {"kid", kid},
            {"use", "sig"},
            {"alg", alg},
            {"n", Base64UrlEncode(Bn(key.get(), "n"))},
            {"e", Base64UrlEncode(Bn(key.get(), "e"))}};
  }

  std::string Sign(std::string_view input) const {
    UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()), 1);
    size_t len = 0;
    auto* in = reinterpret_cast<const unsigned char*>(input.data());
    EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()), 1);
    std::string sig(len, '\0');
    EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                             input.size()),
              1);
    sig.resize(len);
    if (alg != "ES256") return sig;
    // JWS wants ECDSA's r || s, each 32 bytes, not OpenSSL's DER.
    auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    UniquePtr<ECDSA_SIG> ecdsa(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), reinterpret_cast<unsigned char*>(raw.data()) + 32,
                 32);
    return raw;
  }
};

// A compact JWS of `claims` (raw JSON text, so that malformed claims can be sent too).
std::string Jws(const json& header, std::string_view claims,
                const std::function<std::string(std::string_view)>& sign) {
  std::string input =
      absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(std::string(claims)));
  return absl::StrCat(input, ".", Base64UrlEncode(sign(input)));
}

std::string Token(const SigningKey& key, const json& claims, const char* kid = nullptr) {
  json header = {{"alg", key.alg}, {"typ", "JWT"}, {"kid", kid != nullptr ? kid : key.kid}};
  return Jws(header, claims.dump(), [&](std::string_view in) { return key.Sign(in); });
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> FormOf(std::string_view text) {
  std::map<std::string, std::string> out;
  for (absl::string_view pair : absl::StrSplit(Sv(text), '&')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    out[PercentDecode(kv.first)] = PercentDecode(kv.second);
  }
  return out;
}

// The stand-in provider. Handle() runs on the server's loop thread; the test thread sets
// what it answers.
class StandInProvider : public queue::HttpHandler {
 public:
  void Handle(queue::HttpRequest request, queue::HttpResponder respond) override {
    absl::MutexLock lock(&mu_);
    queue::HttpResponse answer;
    answer.content_type = "application/json";
    if (request.method == "GET" && request.path == "/.well-known/openid-configuration") {
      json doc = {{"issuer", discovery_issuer_.empty() ? issuer_ : discovery_issuer_},
                  {"authorization_endpoint", issuer_ + "/authorize?prompt=login"},
                  {"token_endpoint", issuer_ + "/token"},
                  {"jwks_uri", issuer_ + "/jwks"},
                  {"code_challenge_methods_supported", {"S256"}}};
      if (!userinfo_body_.empty()) doc["userinfo_endpoint"] = issuer_ + "/userinfo";
      answer.body = discovery_override_.empty() ? doc.dump() : discovery_override_;
    } else if (request.method == "GET" && request.path == "/userinfo") {
      userinfo_authorization_ = request.Header("authorization");
      answer.body = userinfo_body_;
    } else if (request.method == "GET" && request.path == "/jwks") {
      ++jwks_fetches_;
      answer.body = json{{"keys", jwks_}}.dump();
    } else if (request.method == "POST" && request.path == "/token") {
      token_requests_.push_back(request);
      answer.status = token_status_;
      std::map<std::string, std::string> form = FormOf(request.body);
      auto by_code = token_by_code_.find(form["code"]);
      answer.body = by_code != token_by_code_.end() ? by_code->second : token_body_;
    } else {
      answer.status = 404;
    }
    respond(std::move(answer));
  }

  void SetIssuer(std::string issuer) {
    absl::MutexLock lock(&mu_);
    issuer_ = std::move(issuer);
  }
  void SetDiscoveryIssuer(std::string issuer) {
    absl::MutexLock lock(&mu_);
    discovery_issuer_ = std::move(issuer);
  }
  void SetDiscovery(std::string body) {
    absl::MutexLock lock(&mu_);
    discovery_override_ = std::move(body);
  }
  // The discovery document names a UserInfo endpoint, which answers `body`.
  void AnswerUserInfo(std::string body) {
    absl::MutexLock lock(&mu_);
    userinfo_body_ = std::move(body);
  }
  std::string userinfo_authorization() {
    absl::MutexLock lock(&mu_);
    return userinfo_authorization_;
  }
  void Publish(std::vector<json> keys) {
    absl::MutexLock lock(&mu_);
    jwks_ = std::move(keys);
  }
  void AnswerToken(int status, std::string body) {
    absl::MutexLock lock(&mu_);
    token_status_ = status;
    token_body_ = std::move(body);
  }
  // The token endpoint's answer (status 200) for one authorization code.
  void AnswerTokenFor(const std::string& code, std::string body) {
    absl::MutexLock lock(&mu_);
    token_status_ = 200;
    token_by_code_[code] = std::move(body);
  }
  int jwks_fetches() {
    absl::MutexLock lock(&mu_);
    return jwks_fetches_;
  }
  std::vector<queue::HttpRequest> token_requests() {
    absl::MutexLock lock(&mu_);
    return token_requests_;
  }

 private:
  absl::Mutex mu_;
  std::string issuer_ ABSL_GUARDED_BY(mu_);
  std::string discovery_issuer_ ABSL_GUARDED_BY(mu_);
  std::string discovery_override_ ABSL_GUARDED_BY(mu_);
  std::vector<json> jwks_ ABSL_GUARDED_BY(mu_);
  std::string userinfo_body_ ABSL_GUARDED_BY(mu_);
  std::string userinfo_authorization_ ABSL_GUARDED_BY(mu_);
  int jwks_fetches_ ABSL_GUARDED_BY(mu_) = 0;
  int token_status_ ABSL_GUARDED_BY(mu_) = 500;
  std::string token_body_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> token_by_code_ ABSL_GUARDED_BY(mu_);
  std::vector<queue::HttpRequest> token_requests_ ABSL_GUARDED_BY(mu_);
};

// One login as the browser would carry it: Begin()'s answer and the authorization URL's
// parameters.
struct Login {
  OidcLogin begun;
  std::string endpoint;  // before the '?'
  std::map<std::string, std::string> params;
};

class OidcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new SigningKey{"rsa-1", "RS256", UniquePtr<EVP_PKEY>(EVP_RSA_gen(2048))};
    rsa2_ = new SigningKey{"rsa-2", "RS256", UniquePtr<EVP_PKEY>(EVP_RSA_gen(2048))};
    ec_ = new SigningKey{"ec-1", "ES256", UniquePtr<EVP_PKEY>(EVP_EC_gen("P-256"))};
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete rsa2_;
    delete ec_;
  }

  void SetUp() override {
    queue::HttpServerOptions options;
    options.allow_plain_http_on_loopback = true;
    absl::StatusOr<std::unique_ptr<queue::HttpServer>> server =
        queue::HttpServer::Create(options, &idp_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_TRUE(server_->Start().ok());
    issuer_ = absl::StrCat("http://127.0.0.1:", server_->port());
    idp_.SetIssuer(issuer_);
    idp_.Publish({rsa_->Public(), ec_->Public()});
  }

  void TearDown() override { server_->Shutdown(absl::ZeroDuration()); }

  OidcOptions Options() {
    return {.issuer = issuer_,
            .client_id = kClientId,
            .client_secret = Secret(kClientSecret),
            .redirect_uri = kRedirect,
            .ca_file = "",
            .http_timeout = absl::Seconds(10),
            .clock = &clock_};
  }

  void CreateClient() {
    absl::StatusOr<std::unique_ptr<OidcClient>> client = OidcClient::Create(Options());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  Login Begin() {
    absl::StatusOr<OidcLogin> begun = client_->Begin();
    EXPECT_TRUE(begun.ok()) << begun.status();
    Login login;
    login.begun = *begun;
    std::pair<std::string, std::string> parts =
        absl::StrSplit(login.begun.authorization_url, absl::MaxSplits('?', 1));
    login.endpoint = parts.first;
    login.params = FormOf(parts.second);
    return login;
  }

  // The claims of a good ID token for `login`.
  json Claims(const Login& login) {
    int64_t now = absl::ToUnixSeconds(clock_.Now());
    return {{"iss", issuer_},
            {"sub", "user-7"},
            {"aud", kClientId},
            {"exp", now + 300},
            {"iat", now},
            {"nonce", login.params.at("nonce")},
            {"email", "ana@example.com"},
            {"email_verified", true}};
  }

  // The provider's token endpoint answers `id_token`, and the browser comes back.
  absl::StatusOr<service::VerifiedIdentity> Finish(const Login& login,
                                                   const std::string& id_token) {
    idp_.AnswerToken(
        200,
        json{{"access_token", "at-1"}, {"token_type", "Bearer"}, {"id_token", id_token}}.dump());
    absl::StatusOr<service::VerifiedIdentity> who =
        client_->Finish(kCode, login.params.at("state"), login.begun.browser_binding);
    if (!who.ok()) {
      // Whatever went wrong, the message shows no secret, code or token.
      EXPECT_THAT(who.status().message(), Not(HasSubstr(kClientSecret)));
      EXPECT_THAT(who.status().message(), Not(HasSubstr(kCode)));
      EXPECT_THAT(who.status().message(), Not(HasSubstr(id_token.substr(0, 20))));
    }
    return who;
  }

  // A token of `claims` after Begin(), refused with kUnauthenticated and `says`.
  void ExpectRefused(const std::string& id_token, const Login& login, const std::string& says) {
    absl::StatusOr<service::VerifiedIdentity> who = Finish(login, id_token);
    ASSERT_FALSE(who.ok());
    EXPECT_EQ(who.status().code(), absl::StatusCode::kUnauthenticated) << who.status();
    EXPECT_THAT(who.status().message(), HasSubstr(says));
  }

  static SigningKey* rsa_;
  static SigningKey* rsa2_;
  static SigningKey* ec_;
  FixedClock clock_{absl::FromUnixSeconds(1800000000)};
  StandInProvider idp_;
  std::unique_ptr<queue::HttpServer> server_;
  std::string issuer_;
  std::unique_ptr<OidcClient> client_;
};

SigningKey* OidcTest::rsa_ = nullptr;
SigningKey* OidcTest::rsa2_ = nullptr;
SigningKey* OidcTest::ec_ = nullptr;

TEST_F(OidcTest, GoodLoginReturnsTheVerifiedIdentityAndSendsPkceAndBasicAuth) {
  CreateClient();
  Login login = Begin();
  EXPECT_EQ(login.endpoint, issuer_ + "/authorize");
  EXPECT_EQ(login.params.at("prompt"), "login");  // the endpoint's own query is kept
  EXPECT_EQ(login.params.at("response_type"), "code");
  EXPECT_EQ(login.params.at("client_id"), kClientId);
  EXPECT_EQ(login.params.at("redirect_uri"), kRedirect);
  EXPECT_EQ(login.params.at("scope"), "openid email");
  EXPECT_EQ(login.params.at("code_challenge_method"), "S256");
  EXPECT_THAT(login.begun.authorization_url, HasSubstr("redirect_uri=https%3A%2F%2F127.0.0.1"));
  EXPECT_THAT(login.begun.authorization_url, HasSubstr("scope=openid%20email"));
  for (const char* name : {"state", "nonce", "code_challenge"}) {
    EXPECT_EQ(login.params.at(name).size(), 43u) << name;  // 32 bytes, base64url
  }
  EXPECT_EQ(login.begun.browser_binding.size(), 43u);
  EXPECT_NE(login.params.at("state"), login.params.at("nonce"));

  absl::StatusOr<service::VerifiedIdentity> who = Finish(login, Token(*rsa_, Claims(login)));
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->issuer, issuer_);
  EXPECT_EQ(who->subject, "user-7");
  EXPECT_EQ(who->email, "ana@example.com");

  std::vector<queue::HttpRequest> posts = idp_.token_requests();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_THAT(posts[0].Header("content-type"), HasSubstr("application/x-www-form-urlencoded"));
  std::map<std::string, std::string> form = FormOf(posts[0].body);
  EXPECT_EQ(form.at("grant_type"), "authorization_code");
  EXPECT_EQ(form.at("code"), kCode);
  EXPECT_EQ(form.at("redirect_uri"), kRedirect);
  // The verifier is the one whose S256 challenge went to the authorization endpoint.
  EXPECT_EQ(Base64UrlEncode(Sha256(form.at("code_verifier"))), login.params.at("code_challenge"));
  EXPECT_EQ(form.count("client_secret"), 0u);
  std::string basic = posts[0].Header("authorization");
  ASSERT_TRUE(absl::StartsWith(basic, "Basic ")) << basic;
  absl::StatusOr<std::string> credentials = Base64Decode(basic.substr(6));
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(*credentials, "masa:s3cr%25t%3Awith%20space");
}

TEST_F(OidcTest, Es256TokenIsAccepted) {
  CreateClient();
  Login login = Begin();
  absl::StatusOr<service::VerifiedIdentity> who = Finish(login, Token(*ec_, Claims(login)));
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->email, "ana@example.com");
}

TEST_F(OidcTest, BadSignatureIsRefused) {
  CreateClient();
  Login login = Begin();
  std::string good = Token(*rsa_, Claims(login));
  json other = Claims(login);
  other["email"] = "mallory@example.com";
  std::vector<std::string> parts = absl::StrSplit(good, '.');
  std::string forged = absl::StrCat(parts[0], ".", Base64UrlEncode(other.dump()), ".", parts[2]);
  ExpectRefused(forged, login, "signature that does not verify");
  // Signed by a key of the same kid that the provider does not hold.
  Login again = Begin();
  ExpectRefused(Token(*rsa2_, Claims(again), "rsa-1"), again, "does not verify");
}

TEST_F(OidcTest, UnsignedAndHmacTokensAreRefused) {
  CreateClient();
  Login login = Begin();
  ExpectRefused(Jws({{"alg", "none"}}, Claims(login).dump(), [](auto) { return std::string(); }),
                login, "not signed (alg \"none\")");
  // HS256 keyed with the client secret, which the relying party knows: never accepted.
  Login again = Begin();
  auto hmac = [](std::string_view input) {
    unsigned char mac[32];
    unsigned int len = sizeof(mac);
    HMAC(EVP_sha256(), kClientSecret, sizeof(kClientSecret) - 1,
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    return std::string(reinterpret_cast<char*>(mac), len);
  };
  ExpectRefused(Jws({{"alg", "HS256"}, {"kid", "rsa-1"}}, Claims(again).dump(), hmac), again,
                "alg \"HS256\"");
}

TEST_F(OidcTest, ClaimsThatDoNotFitAreRefused) {
  CreateClient();
  struct Case {
    std::function<void(json&)> change;
    std::string says;
  };
  const int64_t now = absl::ToUnixSeconds(clock_.Now());
  std::vector<Case> cases = {
      {[&](json& c) { c["iss"] = issuer_ + "/other"; }, "not by the configured issuer"},
      {[](json& c) { c["aud"] = "someone-else"; }, "does not hold the client id"},
      {[](json& c) {
         c["aud"] = {"someone-else", "another"};
       },
       "does not hold the client id"},
      {[](json& c) {
         c["aud"] = {"masa", "another"};
       },
       "authorized party (azp)"},
      {[](json& c) { c["azp"] = "another"; }, "authorized party (azp)"},
      {[&](json& c) { c["exp"] = now - 180; }, "expired at"},
      {[](json& c) { c.erase("exp"); }, "no valid expiry"},
      {[&](json& c) { c["iat"] = now + 300; }, "issued in the future"},
      {[&](json& c) { c["nbf"] = now + 300; }, "not valid before"},
      {[](json& c) { c["nonce"] = "another-login"; }, "nonce"},
      {[](json& c) { c.erase("nonce"); }, "nonce"},
      {[](json& c) { c.erase("email"); }, "carries no e-mail address"},
      {[](json& c) { c["email_verified"] = false; }, "is not verified"},
      {[](json& c) { c["email_verified"] = "false"; }, "is not verified"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.says);
    Login login = Begin();
    json claims = Claims(login);
    c.change(claims);
    ExpectRefused(Token(*rsa_, claims), login, c.says);
  }
  // Within the clock skew (2 minutes) is fine; so are several audiences with azp.
  Login login = Begin();
  json claims = Claims(login);
  claims["exp"] = now - 60;
  claims["iat"] = now + 60;
  claims["aud"] = {"another", kClientId};
  claims["azp"] = kClientId;
  claims.erase("email_verified");
  absl::StatusOr<service::VerifiedIdentity> who = Finish(login, Token(*ec_, claims));
  EXPECT_TRUE(who.ok()) << who.status();
}

TEST_F(OidcTest, EmailComesFromUserInfoWhenTheIdTokenHasNone) {
  idp_.AnswerUserInfo(R"({"sub":"user-7","email":"ana@example.com","email_verified":true})");
  CreateClient();
  auto without_email = [&](const Login& login) {
    json claims = Claims(login);
    claims.erase("email");
    claims.erase("email_verified");
    return Token(*rsa_, claims);
  };
  Login login = Begin();
  absl::StatusOr<service::VerifiedIdentity> who = Finish(login, without_email(login));
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->email, "ana@example.com");
  EXPECT_EQ(idp_.userinfo_authorization(), "Bearer at-1");  // the token endpoint's access token

  // About another subject, or unverified: refused.
  idp_.AnswerUserInfo(R"({"sub":"user-8","email":"bob@example.com"})");
  Login other = Begin();
  ExpectRefused(without_email(other), other, "another subject");
  idp_.AnswerUserInfo(R"({"sub":"user-7","email":"ana@example.com","email_verified":false})");
  Login unverified = Begin();
  ExpectRefused(without_email(unverified), unverified, "UserInfo answer says the e-mail address");
  // An e-mail address in the ID token is taken from there, whatever UserInfo says.
  Login in_token = Begin();
  who = Finish(in_token, Token(*rsa_, Claims(in_token)));
  ASSERT_TRUE(who.ok()) << who.status();
}

TEST_F(OidcTest, ClaimsWithAKeyTwiceAreRefused) {
  CreateClient();
  Login login = Begin();
  std::string claims = Claims(login).dump();
  claims.insert(1, "\"email\":\"mallory@example.com\",");
  json header = {{"alg", "RS256"}, {"kid", "rsa-1"}};
  ExpectRefused(Jws(header, claims, [&](std::string_view in) { return rsa_->Sign(in); }), login,
                "\"email\" twice");
}

TEST_F(OidcTest, EachStateIsUsedOnceAndOnlyByItsBrowser) {
  CreateClient();
  Login login = Begin();
  ASSERT_TRUE(Finish(login, Token(*rsa_, Claims(login))).ok());
  ExpectRefused(Token(*rsa_, Claims(login)), login, "already completed");  // replayed

  absl::StatusOr<service::VerifiedIdentity> unknown =
      client_->Finish(kCode, "made-up-state", login.begun.browser_binding);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown"));

  // Another browser's callback (login CSRF): refused, and the state is spent.
  Login victim = Begin();
  absl::StatusOr<service::VerifiedIdentity> other =
      client_->Finish(kCode, victim.params.at("state"), Begin().begun.browser_binding);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(other.status().message(), HasSubstr("another browser"));
  Login no_cookie = Begin();
  absl::StatusOr<service::VerifiedIdentity> missing =
      client_->Finish(kCode, no_cookie.params.at("state"), "");
  EXPECT_THAT(missing.status().message(), HasSubstr("did not send the sign-in cookie"));
  ExpectRefused(Token(*rsa_, Claims(victim)), victim, "already completed");
  // Neither reached the token endpoint.
  EXPECT_EQ(idp_.token_requests().size(), 1u);

  // The provider answered with an error: the caller forgets the state.
  Login failed = Begin();
  client_->ForgetState(failed.params.at("state"));
  client_->ForgetState("never-issued");
  ExpectRefused(Token(*rsa_, Claims(failed)), failed, "unknown");
}

TEST_F(OidcTest, PastTenThousandPendingLoginsTheOldestGivesWay) {
  CreateClient();
  Login first = Begin();
  clock_.Set(clock_.Now() + absl::Seconds(1));
  Login second = Begin();
  for (int i = 0; i < 9998; ++i) ASSERT_TRUE(client_->Begin().ok());
  Login last = Begin();  // the 10001st
  ExpectRefused(Token(*rsa_, Claims(first)), first, "unknown");
  EXPECT_TRUE(Finish(second, Token(*rsa_, Claims(second))).ok());
  EXPECT_TRUE(Finish(last, Token(*rsa_, Claims(last))).ok());
}

TEST_F(OidcTest, LoginsInSeveralThreadsAtOnceEachGetTheirOwnIdentity) {
  CreateClient();
  constexpr int kThreads = 4;
  constexpr int kLoginsEach = 5;
  std::vector<std::thread> threads;
  std::atomic<int> signed_in{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLoginsEach; ++i) {
        absl::StatusOr<OidcLogin> begun = client_->Begin();
        ASSERT_TRUE(begun.ok());
        std::map<std::string, std::string> params =
            FormOf(begun->authorization_url.substr(begun->authorization_url.find('?') + 1));
        std::string email = absl::StrCat("user", t, "-", i, "@example.com");
        json claims = {{"iss", issuer_},
                       {"sub", email},
                       {"aud", kClientId},
                       {"exp", absl::ToUnixSeconds(clock_.Now()) + 300},
                       {"iat", absl::ToUnixSeconds(clock_.Now())},
                       {"nonce", params.at("nonce")},
                       {"email", email}};
        std::string code = absl::StrCat("code-", t, "-", i);
        idp_.AnswerTokenFor(code, json{{"id_token", Token(t % 2 ? *ec_ : *rsa_, claims)}}.dump());
        absl::StatusOr<service::VerifiedIdentity> who =
            client_->Finish(code, params.at("state"), begun->browser_binding);
        ASSERT_TRUE(who.ok()) << who.status();
        EXPECT_EQ(who->email, email);
        ++signed_in;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(signed_in.load(), kThreads * kLoginsEach);
}

TEST_F(OidcTest, LoginThatTakesTooLongIsRefused) {
  CreateClient();
  Login login = Begin();
  clock_.Set(clock_.Now() + absl::Minutes(10) + absl::Seconds(1));
  ExpectRefused(Token(*rsa_, Claims(login)), login, "took longer than 10m");
  EXPECT_TRUE(idp_.token_requests().empty());
}

TEST_F(OidcTest, RotatedKeyIsFetchedAgainButNotMoreThanOnceAMinute) {
  CreateClient();
  EXPECT_EQ(idp_.jwks_fetches(), 1);
  idp_.Publish({rsa2_->Public()});  // the provider rotated its key
  Login login = Begin();
  absl::StatusOr<service::VerifiedIdentity> who = Finish(login, Token(*rsa2_, Claims(login)));
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(idp_.jwks_fetches(), 2);

  // An unknown key id right after: not fetched again.
  Login next = Begin();
  ExpectRefused(Token(*rsa2_, Claims(next), "rsa-9"), next,
                "key it does not publish (kid \"rsa-9\")");
  EXPECT_EQ(idp_.jwks_fetches(), 2);
  // A minute later it is.
  clock_.Set(clock_.Now() + absl::Seconds(61));
  Login later = Begin();
  ExpectRefused(Token(*rsa2_, Claims(later), "rsa-9"), later, "does not publish");
  EXPECT_EQ(idp_.jwks_fetches(), 3);
}

TEST_F(OidcTest, TokenEndpointErrorsSayWhatTheProviderSaid) {
  CreateClient();
  Login login = Begin();
  idp_.AnswerToken(400, R"({"error":"invalid_grant","error_description":"code expired"})");
  absl::StatusOr<service::VerifiedIdentity> who =
      client_->Finish(kCode, login.params.at("state"), login.begun.browser_binding);
  EXPECT_EQ(who.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(who.status().message(), HasSubstr("HTTP 400: invalid_grant (code expired)"));
  EXPECT_THAT(who.status().message(), Not(HasSubstr(kCode)));

  Login broken = Begin();
  idp_.AnswerToken(502, "<html>bad gateway</html>");
  who = client_->Finish(kCode, broken.params.at("state"), broken.begun.browser_binding);
  EXPECT_EQ(who.status().code(), absl::StatusCode::kUnavailable);

  Login no_token = Begin();
  idp_.AnswerToken(200, R"({"access_token":"at","token_type":"Bearer"})");
  who = client_->Finish(kCode, no_token.params.at("state"), no_token.begun.browser_binding);
  EXPECT_THAT(who.status().message(), HasSubstr("without an ID token"));
}

TEST_F(OidcTest, ProviderDownIsUnavailable) {
  CreateClient();
  Login login = Begin();
  server_->Shutdown(absl::ZeroDuration());
  absl::StatusOr<service::VerifiedIdentity> who =
      client_->Finish(kCode, login.params.at("state"), login.begun.browser_binding);
  EXPECT_EQ(who.status().code(), absl::StatusCode::kUnavailable) << who.status();
  EXPECT_THAT(who.status().message(), HasSubstr(issuer_ + "/token"));

  absl::StatusOr<std::unique_ptr<OidcClient>> client = OidcClient::Create(Options());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(client.status().message(), HasSubstr(issuer_ + "/.well-known/openid-configuration"));
}

TEST_F(OidcTest, HttpsProviderIsTrustedThroughItsCaFileAndNeverSendsUsToPlainHttp) {
  queue::testing::TempDir dir;
  queue::testing::TestCert cert = queue::testing::MakeTestCert(dir.path());
  StandInProvider tls_idp;
  queue::HttpServerOptions options;
  options.tls_chain = {cert.cert.get()};
  options.tls_key = cert.key.get();
  std::unique_ptr<queue::HttpServer> server = queue::testing::StartServer(options, &tls_idp);
  ASSERT_NE(server, nullptr);
  issuer_ = absl::StrCat("https://127.0.0.1:", server->port());
  tls_idp.SetIssuer(issuer_);
  tls_idp.Publish({ec_->Public()});

  OidcOptions trusting = Options();
  trusting.ca_file = cert.pem_path;
  absl::StatusOr<std::unique_ptr<OidcClient>> client = OidcClient::Create(std::move(trusting));
  ASSERT_TRUE(client.ok()) << client.status();
  client_ = *std::move(client);
  Login login = Begin();
  EXPECT_EQ(login.endpoint, issuer_ + "/authorize");
  tls_idp.AnswerToken(200, json{{"id_token", Token(*ec_, Claims(login))}}.dump());
  absl::StatusOr<service::VerifiedIdentity> who =
      client_->Finish(kCode, login.params.at("state"), login.begun.browser_binding);
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->issuer, issuer_);

  // The system's CAs do not know the provider's certificate.
  client = OidcClient::Create(Options());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(client.status().message(), HasSubstr("cannot reach " + issuer_));

  // An https provider naming a plain-http endpoint, even on loopback, is not followed.
  tls_idp.SetDiscovery(json{{"issuer", issuer_},
                            {"authorization_endpoint", issuer_ + "/authorize"},
                            {"token_endpoint", issuer_},
                            {"jwks_uri", "http://127.0.0.1:1/jwks"}}
                           .dump());
  trusting = Options();
  trusting.ca_file = cert.pem_path;
  client = OidcClient::Create(std::move(trusting));
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(client.status().message(), HasSubstr("plain http while the issuer is https"));
  server->Shutdown(absl::ZeroDuration());
}

TEST_F(OidcTest, DiscoveryMustNameTheIssuerAndUsableEndpoints) {
  idp_.SetDiscoveryIssuer(issuer_ + "/");
  absl::StatusOr<std::unique_ptr<OidcClient>> client = OidcClient::Create(Options());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(client.status().message(), HasSubstr("names the issuer"));

  idp_.SetDiscovery(json{{"issuer", issuer_},
                         {"authorization_endpoint", "http://idp.example.com/authorize"},
                         {"token_endpoint", issuer_ + "/token"},
                         {"jwks_uri", issuer_ + "/jwks"}}
                        .dump());
  client = OidcClient::Create(Options());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(client.status().message(), HasSubstr("authorization_endpoint"));
  EXPECT_THAT(client.status().message(), HasSubstr("use https"));

  // Careful parsing: a key twice, deep nesting, not JSON, more than 1 MiB.
  std::string twice = absl::StrCat(R"({"issuer":"http://elsewhere","issuer":")", issuer_, "\"}");
  for (const auto& [body, says] : std::vector<std::pair<std::string, std::string>>{
           {twice, "\"issuer\" twice"},
           {std::string(40, '[') + std::string(40, ']'), "nests deeper"},
           {"{\"issuer\": ", "not valid JSON"},
           {absl::StrCat("{\"x\":\"", std::string(1024 * 1024, 'a'), "\"}"), "more than 1024 KiB"},
           {"[]", "not a JSON object"}}) {
    idp_.SetDiscovery(body);
    client = OidcClient::Create(Options());
    EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(client.status().message(), HasSubstr(says));
  }
}

TEST_F(OidcTest, JwksWithoutUsableKeyIsRefused) {
  json oct = {{"kty", "oct"}, {"kid", "h"}, {"k", Base64UrlEncode(kClientSecret)}};
  json enc = rsa_->Public();
  enc["use"] = "enc";
  SigningKey small{"rsa-1024", "RS256", UniquePtr<EVP_PKEY>(EVP_RSA_gen(1024))};
  idp_.Publish({oct, enc, small.Public()});
  absl::StatusOr<std::unique_ptr<OidcClient>> client = OidcClient::Create(Options());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(client.status().message(), HasSubstr("holds no signing key"));
}

TEST_F(OidcTest, BadOptionsAreNamed) {
  auto refused = [](OidcOptions options, const std::string& says) {
    absl::StatusOr<std::unique_ptr<OidcClient>> client = OidcClient::Create(std::move(options));
    EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument) << says;
    EXPECT_THAT(client.status().message(), HasSubstr(says));
  };
  OidcOptions o = Options();
  o.issuer = "http://idp.example.com";
  refused(std::move(o), "not loopback");
  o = Options();
  o.issuer = "ftp://127.0.0.1";
  refused(std::move(o), "not an https URL");
  o = Options();
  o.client_secret = Secret();
  refused(std::move(o), "client secret is empty");
  o = Options();
  o.client_id = "";
  refused(std::move(o), "client_id");
  o = Options();
  o.scopes = "email profile";
  refused(std::move(o), "must include \"openid\"");
  o = Options();
  o.redirect_uri = "/auth/oidc/callback";
  refused(std::move(o), "redirect_uri");
  o = Options();
  o.ca_file = "/nonexistent/ca.pem";
  refused(std::move(o), "ca_file");
}

}  // namespace
}  // namespace masa::api::web
