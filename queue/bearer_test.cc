#include "queue/bearer.h"

#include "gtest/gtest.h"

namespace masa::queue {
namespace {

TEST(BearerTokenTest, TakesTheTokenOfABearerCredential) {
  EXPECT_EQ(BearerTokenOf("Bearer masa_abc"), "masa_abc");
  EXPECT_EQ(BearerTokenOf("bEARER masa_abc"), "masa_abc");
  EXPECT_EQ(BearerTokenOf("Bearer    masa_abc   "), "masa_abc");
  EXPECT_EQ(BearerTokenOf("Bearer a+b/c=="), "a+b/c==");
}

TEST(BearerTokenTest, OtherSchemesAndEmptyTokensAreEmpty) {
  EXPECT_EQ(BearerTokenOf(""), "");
  EXPECT_EQ(BearerTokenOf("Bearer"), "");
  EXPECT_EQ(BearerTokenOf("Bearer "), "");
  EXPECT_EQ(BearerTokenOf("Bearer    "), "");
  EXPECT_EQ(BearerTokenOf("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(BearerTokenOf("Bearer\tmasa_abc"), "");
  EXPECT_EQ(BearerTokenOf("Bearermasa_abc"), "");
}

// Found by api_bearer_token_fuzz: only spaces were trimmed, so "Bearer \tmasa_abc\t" gave
// the token "\tmasa_abc\t" (the service then refused it as malformed, not as the token).
TEST(BearerTokenTest, TabsAroundTheTokenAreTrimmed) {
  EXPECT_EQ(BearerTokenOf("Bearer \tmasa_abc\t "), "masa_abc");
  EXPECT_EQ(BearerTokenOf("Bearer \t"), "");
}

}  // namespace
}  // namespace masa::queue
