#include "queue/internal/request_target.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace masa::queue::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using namespace std::string_literals;

TEST(RequestTargetTest, DecodesPathAndQuery) {
  absl::StatusOr<RequestTarget> t =
      DecodeRequestTarget("/a%20b/c+d?x=1&y=two+words&x=3&na%6De=v%26w#frag");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->path, "/a b/c+d");
  EXPECT_THAT(t->query, ElementsAre(Pair("name", "v&w"), Pair("x", "1"), Pair("x", "3"),
                                    Pair("y", "two words")));
}

TEST(RequestTargetTest, EmptyQueryAndTrailingAmpersandAreNoParameters) {
  absl::StatusOr<RequestTarget> t = DecodeRequestTarget("/x?");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->query.empty());
  t = DecodeRequestTarget("/x?a=&");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->query, ElementsAre(Pair("a", "")));
  t = DecodeRequestTarget("/x#a?b=c");  // the '?' is in the fragment
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->path, "/x");
  EXPECT_TRUE(t->query.empty());
}

TEST(RequestTargetTest, RefusesWhatDoesNotDecode) {
  for (const std::string& bad :
       {"/q?novalue"s, "/q?=v"s, "/q?a=1&&b=2"s, "x/y"s, "*"s, ""s, "/a%00b"s, "/a\0b"s}) {
    absl::StatusOr<RequestTarget> t = DecodeRequestTarget(bad);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// Found by queue_target_fuzz: libevent copies decoded query values as C strings, so an
// encoded NUL cut the value short ("serial=A%00B" was serial=A), where the path refuses it.
TEST(RequestTargetTest, RefusesAnEncodedNulInTheQuery) {
  for (const char* bad : {"/v?serial=A%00B", "/v?a%00b=1", "/v?x=%00"}) {
    absl::StatusOr<RequestTarget> t = DecodeRequestTarget(bad);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(t.status().message(), HasSubstr("encoded NUL")) << bad;
  }
  absl::StatusOr<RequestTarget> t = DecodeRequestTarget("/v?serial=A%2500B");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->query, ElementsAre(Pair("serial", "A%00B")));
}

// Found by queue_target_fuzz: evhttp's URI parser read a target starting with "//" as an
// authority, so "//evil/x" (and "/%2Fevil/x" re-encoded) decoded to the path "/x".
TEST(RequestTargetTest, DoubleSlashIsAPathNotAnAuthority) {
  absl::StatusOr<RequestTarget> t = DecodeRequestTarget("//evil/x?a=b");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->path, "//evil/x");
  EXPECT_THAT(t->query, ElementsAre(Pair("a", "b")));
  t = DecodeRequestTarget("//");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->path, "//");
}

}  // namespace
}  // namespace masa::queue::internal
