// The bearer token format: what SplitToken accepts is exactly what TokenFromBytes writes.
#include <string>

#include "common/base64.h"
#include "gtest/gtest.h"
#include "service/internal/ids.h"

namespace masa::service::internal {
namespace {

TEST(TokenFormatTest, SplitsAMintedToken) {
  absl::StatusOr<Secret> secret = NewTokenSecret();
  ASSERT_TRUE(secret.ok());
  std::string token(secret->view());
  absl::StatusOr<TokenParts> parts = SplitToken(token);
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_EQ(parts->prefix, "masa_");
  EXPECT_EQ(std::string(parts->prefix) + std::string(parts->secret), token);
  EXPECT_EQ(parts->secret.size(), 43u);
}

TEST(TokenFormatTest, RefusesOtherShapesQuotingNothing) {
  std::string good = TokenFromBytes(std::string(32, '\x5a'));
  for (const std::string& bad :
       {std::string("Bearer hunter2"), good.substr(1), good + "A", "MASA_" + good.substr(5),
        good.substr(0, 20) + "+" + good.substr(21), good.substr(0, 20) + "=" + good.substr(21),
        std::string()}) {
    absl::StatusOr<TokenParts> parts = SplitToken(bad);
    ASSERT_EQ(parts.status().code(), absl::StatusCode::kUnauthenticated) << bad;
    EXPECT_EQ(parts.status().message(), "malformed bearer token (expected masa_...)");
  }
}

// Found by the round trip of service_token_format_fuzz (decode the secret, encode it again):
// the last of the 43 characters holds two bits past the 32 bytes, and the check took any
// value there, so four spellings passed for one secret ("...A", "...B", "...C", "...D").
// Only the one an encoder writes passes now.
TEST(TokenFormatTest, OneSpellingPerSecret) {
  std::string token = TokenFromBytes(std::string(32, '\0'));
  ASSERT_EQ(token, "masa_" + std::string(43, 'A'));
  EXPECT_TRUE(SplitToken(token).ok());
  for (char last : {'B', 'C', 'D', '_'}) {
    std::string other = token;
    other.back() = last;
    EXPECT_FALSE(SplitToken(other).ok()) << other;
  }
  absl::StatusOr<std::string> raw = Base64UrlDecode(token.substr(5));
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(*raw, std::string(32, '\0'));
}

// A web session's secret has the same rules under its own prefix, and neither kind passes
// for the other (service/sessions.h: a session is refused where a token is expected).
TEST(TokenFormatTest, SessionSecretsAndTokensAreNotInterchangeable) {
  absl::StatusOr<Secret> session = NewSessionSecret();
  ASSERT_TRUE(session.ok());
  std::string s(session->view());
  ASSERT_EQ(s.substr(0, 13), "masa_session_");
  EXPECT_EQ(s.size(), 13u + 43u);
  EXPECT_TRUE(CheckSessionSecret(s).ok());
  EXPECT_FALSE(SplitToken(s).ok());

  absl::StatusOr<Secret> token = NewTokenSecret();
  ASSERT_TRUE(token.ok());
  absl::Status refused = CheckSessionSecret(token->view());
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(refused.message(), "malformed session (expected masa_session_...)");
  for (const std::string& bad : {s.substr(1), s + "A", s.substr(0, 20) + "+" + s.substr(21),
                                 "masa_" + s.substr(13), std::string()}) {
    EXPECT_FALSE(CheckSessionSecret(bad).ok()) << bad;
  }
  EXPECT_NE(SessionIdFromHash(TokenHash(s)), TokenIdFromHash(TokenHash(s)));
  EXPECT_EQ(SessionIdFromHash(TokenHash(s)).substr(0, 4), "ses-");
}

}  // namespace
}  // namespace masa::service::internal
