#include "api/grpc/internal/credentials.h"

#include "gtest/gtest.h"
#include "queue/bearer.h"

namespace masa::api::grpc_internal {
namespace {

using queue::BearerTokenOf;  // the authorization metadata is read as REST reads its header

TEST(GrpcCredentials, BearerSchemeInAnyCaseWithBlanksAround) {
  EXPECT_EQ(BearerTokenOf("Bearer abc"), "abc");
  EXPECT_EQ(BearerTokenOf("bEaReR \t abc.def \t"), "abc.def");
  EXPECT_EQ(BearerTokenOf("Bearer"), "");
  EXPECT_EQ(BearerTokenOf("Bearer   "), "");
  EXPECT_EQ(BearerTokenOf("Bearerabc"), "");
  EXPECT_EQ(BearerTokenOf("Basic YWxhZGRpbjpvcGVuc2VzYW1l"), "");
  EXPECT_EQ(BearerTokenOf(""), "");
}

TEST(GrpcCredentials, AccessTokenCookieAmongOthers) {
  EXPECT_EQ(AccessTokenCookieOf("access_token=t1"), "t1");
  EXPECT_EQ(AccessTokenCookieOf("session=x; access_token=t2; theme=dark"), "t2");
  EXPECT_EQ(AccessTokenCookieOf("a=1;access_token=t3"), "t3");
  EXPECT_EQ(AccessTokenCookieOf(" access_token = \"t4\" "), "t4");
  // The first one counts; the name is matched exactly.
  EXPECT_EQ(AccessTokenCookieOf("access_token=first; access_token=second"), "first");
  EXPECT_EQ(AccessTokenCookieOf("Access_Token=t; xaccess_token=u; access_tokens=v"), "");
  EXPECT_EQ(AccessTokenCookieOf("access_token; access_token="), "");
  EXPECT_EQ(AccessTokenCookieOf("access_token=; access_token=\"\"; access_token=t5"), "t5");
  EXPECT_EQ(AccessTokenCookieOf(";;; ; "), "");
  EXPECT_EQ(AccessTokenCookieOf("x=a=b; access_token=c=d"), "c=d");
}

TEST(GrpcCredentials, BearerFirstThenAnyCookieEntry) {
  EXPECT_EQ(TokenOf({"Bearer b"}, {"access_token=c"}), "b");
  EXPECT_EQ(TokenOf({"Basic x", "Bearer b2"}, {}), "b2");
  EXPECT_EQ(TokenOf({"Basic x"}, {"theme=dark", "access_token=c"}), "c");
  EXPECT_EQ(TokenOf({}, {"theme=dark"}), "");
  EXPECT_EQ(TokenOf({}, {}), "");
}

}  // namespace
}  // namespace masa::api::grpc_internal
