// A fake Authenticator: one token is valid, every other is kUnauthenticated.
#pragma once

#include <string_view>

#include "service/authentication.h"

namespace masa::service::testing {

class FakeAuthenticator final : public Authenticator {
 public:
  // The token Authenticate() accepts; the Caller it returns is empty.
  static constexpr std::string_view kToken = "masa_test-token";

  absl::StatusOr<Caller> Authenticate(std::string_view bearer) const override {
    if (bearer != kToken) return absl::UnauthenticatedError("unknown or expired token");
    return Caller();
  }
};

}  // namespace masa::service::testing
