// Address helpers of the HTTP server: loopback detection and peer formatting.
#pragma once

#include <cstdint>
#include <string>

namespace masa::queue::internal {

// True for a literal IPv4 address in 127.0.0.0/8, the IPv6 loopback ::1, or an IPv4-mapped
// IPv6 loopback (::ffff:127.x.y.z). Host names ("localhost") are not literals: false.
bool IsLoopbackLiteral(const std::string& address);

// "127.0.0.1:53412", or "[::1]:53412" for IPv6.
std::string FormatPeer(const std::string& address, uint16_t port);

}  // namespace masa::queue::internal
