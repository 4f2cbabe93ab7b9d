// Authentication: a bearer token in, the Caller it belongs to out. Every front end calls
// it first; every other interface takes the Caller it returns.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "service/types.h"

namespace masa::service {

// Thread-safe: every method may be called from any thread at once.
class Authenticator {
 public:
  virtual ~Authenticator() = default;

  // The principal a bearer token belongs to. kUnauthenticated (message never echoes the
  // token) when unknown, malformed, revoked, expired, or its principal is disabled.
  virtual absl::StatusOr<Caller> Authenticate(std::string_view bearer_token) const = 0;
};

}  // namespace masa::service
