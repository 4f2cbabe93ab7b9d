#include "queue/internal/admission.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace masa::queue::internal {

std::string ClientOf(const sockaddr* address, socklen_t length) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    in_addr a = reinterpret_cast<const sockaddr_in*>(address)->sin_addr;
    return inet_ntop(AF_INET, &a, text, sizeof(text)) != nullptr ? text : "";
  }
  if (address->sa_family != AF_INET6 || length < static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    return "";
  }
  in6_addr a = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&a)) {
    in_addr v4;
    std::memcpy(&v4, &a.s6_addr[12], sizeof(v4));
    return inet_ntop(AF_INET, &v4, text, sizeof(text)) != nullptr ? text : "";
  }
  std::memset(&a.s6_addr[8], 0, 8);
  if (inet_ntop(AF_INET6, &a, text, sizeof(text)) == nullptr) return "";
  return std::string(text) + "/64";
}

size_t PerClientCap(size_t max_connections, size_t max_per_client) {
  size_t most = std::max<size_t>(1, max_connections - max_connections / 4);
  return std::min(max_per_client, most);
}

bool ClientConnections::Admit(const std::string& client) {
  auto it = open_.find(client);
  size_t held = it == open_.end() ? 0 : it->second;
  if (held >= cap_) return false;
  open_[client] = held + 1;
  return true;
}

void ClientConnections::Release(const std::string& client) {
  auto it = open_.find(client);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

size_t ClientConnections::connections(const std::string& client) const {
  auto it = open_.find(client);
  return it == open_.end() ? 0 : it->second;
}

}  // namespace masa::queue::internal
