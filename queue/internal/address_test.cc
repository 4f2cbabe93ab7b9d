#include "queue/internal/address.h"

#include "gtest/gtest.h"

namespace masa::queue::internal {
namespace {

TEST(AddressTest, LoopbackLiterals) {
  EXPECT_TRUE(IsLoopbackLiteral("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackLiteral("127.255.3.4"));
  EXPECT_TRUE(IsLoopbackLiteral("::1"));
  EXPECT_TRUE(IsLoopbackLiteral("::ffff:127.0.0.1"));
  EXPECT_FALSE(IsLoopbackLiteral("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackLiteral("::"));
  EXPECT_FALSE(IsLoopbackLiteral("128.0.0.1"));
  EXPECT_FALSE(IsLoopbackLiteral("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackLiteral("localhost"));  // a name, not a literal
  EXPECT_FALSE(IsLoopbackLiteral("127.0.0.1.example.com"));
  EXPECT_FALSE(IsLoopbackLiteral(""));
}

TEST(AddressTest, FormatsPeers) {
  EXPECT_EQ(FormatPeer("127.0.0.1", 8443), "127.0.0.1:8443");
  EXPECT_EQ(FormatPeer("::1", 8443), "[::1]:8443");
}

}  // namespace
}  // namespace masa::queue::internal
