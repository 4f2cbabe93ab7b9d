// Connection admission of the HTTP server: which client a peer address stands for, and how
// many connections each client holds, so that one client cannot take every connection.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <string>
#include <unordered_map>

namespace masa::queue::internal {

// The client a peer address stands for: an IPv4 address itself (also when IPv4-mapped in
// IPv6), or the /64 prefix of an IPv6 address, since one host commonly holds a whole /64.
// "" for an address of another family.
std::string ClientOf(const sockaddr* address, socklen_t length);

// The per-client cap the server applies: max_per_client, but never more than three quarters
// of max_connections (at least 1), so that one client always leaves a quarter of the
// connections to the others.
size_t PerClientCap(size_t max_connections, size_t max_per_client);

// Open connections per client, under a cap. Not thread-safe (the server's loop thread).
class ClientConnections {
 public:
  explicit ClientConnections(size_t cap) : cap_(cap) {}

  // Counts one more connection of `client` and returns true, or returns false and counts
  // nothing when `client` holds `cap` connections already.
  bool Admit(const std::string& client);
  // The end of a connection Admit() counted.
  void Release(const std::string& client);

  size_t connections(const std::string& client) const;
  size_t clients() const { return open_.size(); }

 private:
  const size_t cap_;
  std::unordered_map<std::string, size_t> open_;  // no entry holds zero
};

}  // namespace masa::queue::internal
