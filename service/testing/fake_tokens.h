// A fake Tokens: mints token "tok-1" (secret "masa_secret"), or every call fails with one
// chosen status.
#pragma once

#include <string_view>
#include <vector>

#include "service/tokens.h"

namespace masa::service::testing {

// Not thread-safe: tests call it from one thread at a time.
class FakeTokens final : public Tokens {
 public:
  absl::Status fail_with = absl::OkStatus();  // when not OK, every method returns it

  TokenInput last_create;  // what it saw

  absl::StatusOr<NewToken> CreateToken(const Caller&, TokenInput input) override {
    if (!fail_with.ok()) return fail_with;
    last_create = std::move(input);
    NewToken t;
    t.info.token_id = "tok-1";
    t.secret = Secret("masa_secret");
    return t;
  }
  absl::StatusOr<std::vector<TokenInfo>> ListTokens(const Caller&,
                                                    std::string_view) const override {
    if (!fail_with.ok()) return fail_with;
    return std::vector<TokenInfo>{};
  }
  absl::Status RevokeToken(const Caller&, std::string_view) override { return fail_with; }
};

}  // namespace masa::service::testing
