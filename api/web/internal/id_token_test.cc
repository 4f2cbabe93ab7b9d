// The ID token's pieces on their own, for what api_web_id_token_fuzz found (each case here
// is also in its seeds); the whole sign-in is tested in oidc_test.cc.
#include "api/web/internal/id_token.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace masa::api::web::internal {
namespace {

using nlohmann::json;

// Found by the fuzz target: only NUL, CR, LF, tab and space were refused, so an address
// with an escape sequence (ESC [ 3 1 m), a vertical tab, DEL, a C1 control or Unicode white
// space came through as the identity's e-mail address.
TEST(ReadEmail, RefusesEveryWhiteSpaceAndControlCharacter) {
  for (const std::string& bad : std::vector<std::string>{
           "ana@example.com\x1b[31m", "ana@exam\x0bple.com", "ana@example.com\x0c",
           "ana\x7f@example.com", "ana@example.com\xc2\x85", "ana\xc2\xa0@example.com",
           "ana@example.com\xe2\x80\xa8", "ana@exa\xe2\x80\x89mple.com",
           "ana@example.com\xe3\x80\x80", "ana\xe1\x9a\x80@example.com",
           "ana@example.com\xe2\x81\x9f", std::string("ana@example.com\0x", 17)}) {
    SCOPED_TRACE(bad);
    absl::StatusOr<std::string> email = ReadEmail(json{{"email", bad}}, "the UserInfo answer");
    ASSERT_FALSE(email.ok());
    EXPECT_EQ(email.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_TRUE(absl::StrContains(email.status().message(), "carries an invalid e-mail address"))
        << email.status();
  }
  // Letters beyond ASCII are no white space (U+00A1 is the first after NO-BREAK SPACE).
  for (const std::string& good : std::vector<std::string>{
           "ana@example.com", "j\xc3\xbcrgen@ex\xc3\xa4mple.de", "\xc2\xa1@x"}) {
    absl::StatusOr<std::string> email = ReadEmail(json{{"email", good}}, "the UserInfo answer");
    ASSERT_TRUE(email.ok()) << email.status();
    EXPECT_EQ(*email, good);
  }
}

// A P-256 public key (its private half long gone).
constexpr char kEcKey[] =
    R"({"kty":"EC","crv":"P-256","kid":"idp-1","x":"GhXuvzTbRoVdxDDLEi80pIjGVxDO9d-pHap5NGIoIJY",)"
    R"("y":"y6Wx61OQfE1ElJC9BBs9jvuKyZmPhYSEJxQzd040Cbo"})";

// Found by the fuzz target: Debian's libcjose 0.6.2 aborts the process (by assert) when a
// value it decodes holds a '=' after one character of a four-character group, so a JWKS
// key or an ID token part like "l=T8" from the provider stopped masad.
TEST(ParseJwks, SkipsKeysWithValuesThatAreNotBase64Url) {
  json good = json::parse(kEcKey);
  json padded = good;
  padded["kid"] = "idp-2";
  padded["x"] = "G=huvzTbRoVdxDDLEi80pIjGVxDO9d-pHap5NGIoIJY";
  json rsa = {{"kty", "RSA"}, {"kid", "idp-3"}, {"n", "l=T8CXD_3W6LcQ9qtzFJVD"}, {"e", "AQAB"}};
  json odd_e = {{"kty", "RSA"}, {"kid", "idp-4"}, {"n", "AQAB"}, {"e", "A==="}};

  absl::StatusOr<std::vector<Jwk>> keys =
      ParseJwks(json{{"keys", {padded, rsa, odd_e, good}}}.dump(), "https://idp.example/jwks");
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].kid, "idp-1");

  absl::StatusOr<std::vector<Jwk>> none =
      ParseJwks(json{{"keys", {padded, rsa}}}.dump(), "https://idp.example/jwks");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnavailable);
}

TEST(VerifyIdTokenSignature, RefusesPartsThatAreNotBase64Url) {
  absl::StatusOr<std::vector<Jwk>> keys =
      ParseJwks(absl::StrCat(R"({"keys":[)", kEcKey, "]}"), "https://idp.example/jwks");
  ASSERT_TRUE(keys.ok()) << keys.status();
  const std::vector<const Jwk*> candidates = {&(*keys)[0]};
  const std::string header = "eyJhbGciOiJFUzI1NiJ9";  // {"alg":"ES256"}
  for (const std::string& token :
       {header + ".e30.A=AA", header + ".A===.AAAA", header + ".e30.AA+/", header + ".e30.A A"}) {
    SCOPED_TRACE(token);
    absl::StatusOr<JwsHeader> read = ReadJwsHeader(token);
    ASSERT_FALSE(read.ok());
    EXPECT_TRUE(absl::StrContains(read.status().message(), "not base64url")) << read.status();
    absl::StatusOr<json> claims =
        VerifyIdTokenSignature(token, JwsHeader{.alg = "ES256", .kid = std::nullopt}, candidates);
    ASSERT_FALSE(claims.ok());
    EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated);
  }
}

}  // namespace
}  // namespace masa::api::web::internal
