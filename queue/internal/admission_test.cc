#include "queue/internal/admission.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "gtest/gtest.h"

namespace masa::queue::internal {
namespace {

std::string ClientOfText(const char* text) {
  sockaddr_in6 six{};
  sockaddr_in four{};
  if (inet_pton(AF_INET, text, &four.sin_addr) == 1) {
    four.sin_family = AF_INET;
    four.sin_port = htons(1234);
    return ClientOf(reinterpret_cast<sockaddr*>(&four), sizeof(four));
  }
  EXPECT_EQ(inet_pton(AF_INET6, text, &six.sin6_addr), 1) << text;
  six.sin6_family = AF_INET6;
  return ClientOf(reinterpret_cast<sockaddr*>(&six), sizeof(six));
}

TEST(AdmissionTest, ClientIsTheIpv4AddressOrTheIpv6Slash64) {
  EXPECT_EQ(ClientOfText("127.0.0.2"), "127.0.0.2");
  EXPECT_EQ(ClientOfText("::ffff:10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(ClientOfText("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientOfText("2001:db8:1:2::1"), ClientOfText("2001:db8:1:2:ffff::9"));
  EXPECT_NE(ClientOfText("2001:db8:1:2::1"), ClientOfText("2001:db8:1:3::1"));
  sockaddr unix_address{};
  unix_address.sa_family = AF_UNIX;
  EXPECT_EQ(ClientOf(&unix_address, sizeof(unix_address)), "");
}

TEST(AdmissionTest, OneClientNeverHoldsMoreThanThreeQuartersOfTheServer) {
  EXPECT_EQ(PerClientCap(1024, 64), 64u);
  EXPECT_EQ(PerClientCap(1024, 5000), 768u);
  EXPECT_EQ(PerClientCap(40, 1000), 30u);
  EXPECT_EQ(PerClientCap(2, 64), 2u);
  EXPECT_EQ(PerClientCap(1, 64), 1u);
}

TEST(AdmissionTest, CountsEachClientUpToTheCap) {
  ClientConnections c(2);
  EXPECT_TRUE(c.Admit("a"));
  EXPECT_TRUE(c.Admit("a"));
  EXPECT_FALSE(c.Admit("a"));
  EXPECT_TRUE(c.Admit("b"));
  EXPECT_EQ(c.connections("a"), 2u);
  EXPECT_EQ(c.clients(), 2u);
  c.Release("a");
  EXPECT_TRUE(c.Admit("a"));
  c.Release("b");
  EXPECT_EQ(c.connections("b"), 0u);
  EXPECT_EQ(c.clients(), 1u);  // a client with no connection is forgotten
}

}  // namespace
}  // namespace masa::queue::internal
