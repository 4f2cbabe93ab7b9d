// Token minting against the real store: a token minted through the API never outlives the
// token that minted it and dies with it (service.h, CreateToken and RevokeToken).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "service/testing/fixture.h"

namespace masa::service {
namespace {

using absl::StatusCode;
using ::testing::HasSubstr;

class TokenMintingTest : public testing::SmallServiceTest {
 protected:
  // A new token of `by`'s principal (or `principal_id`'s), with its secret.
  NewToken Mint(const Caller& by, std::optional<absl::Duration> validity,
                std::string principal_id = "") {
    auto t = service_->CreateToken(by, {std::move(principal_id), validity, "test"});
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *std::move(t) : NewToken{};
  }

  std::optional<TokenInfo> Listed(const Caller& by, const std::string& principal_id,
                                  const std::string& token_id) {
    auto list = service_->ListTokens(by, principal_id);
    EXPECT_TRUE(list.ok()) << list.status();
    if (!list.ok()) return std::nullopt;
    for (const TokenInfo& t : *list) {
      if (t.token_id == token_id) return t;
    }
    return std::nullopt;
  }

  std::string ServiceAccount(const std::string& name) {
    auto sa = service_->CreateServiceAccount(admin_, name);
    EXPECT_TRUE(sa.ok()) << sa.status();
    return sa.ok() ? sa->principal_id : "";
  }

  int AuditCount(std::string_view action) {
    auto snap = store_->Read();
    int n = 0;
    for (uint64_t i = 0; i < *snap->AuditSize(); ++i) n += snap->GetAuditEntry(i)->action == action;
    return n;
  }
};

TEST_F(TokenMintingTest, ADayTokenCannotMintAHalfYearOne) {
  NewToken day = Mint(admin_, absl::Hours(24));
  Caller short_lived = Login(day.secret.view());

  auto half_year = service_->CreateToken(short_lived, {"", absl::Hours(24 * 183), "long"});
  ASSERT_EQ(half_year.status().code(), StatusCode::kInvalidArgument) << half_year.status();
  // The refusal names the limit: the minting token and when it expires.
  EXPECT_THAT(half_year.status().message(), HasSubstr(day.info.token_id));
  EXPECT_THAT(half_year.status().message(), HasSubstr(FormatRfc3339(day.info.expires_at)));
  EXPECT_THAT(half_year.status().message(), HasSubstr("at most 24h,"));

  // Without a validity the default (30 days) is cut to the minter's expiry.
  NewToken child = Mint(short_lived, std::nullopt);
  EXPECT_LE(child.info.expires_at, day.info.expires_at);
  EXPECT_EQ(child.info.minted_by, day.info.token_id);
  Caller child_caller = Login(child.secret.view());
  // And what the child mints is bounded the same way.
  EXPECT_EQ(service_->CreateToken(child_caller, {"", absl::Hours(25), ""}).status().code(),
            StatusCode::kInvalidArgument);

  clock_.Advance(absl::Hours(24) + absl::Seconds(1));
  EXPECT_EQ(service_->Authenticate(day.secret.view()).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->Authenticate(child.secret.view()).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(TokenMintingTest, AnAdminMintingForAServiceAccountIsBoundedByItsOwnToken) {
  const std::string ztp = ServiceAccount("ztp");
  Caller admin_two_days = Login(Mint(admin_, absl::Hours(48)).secret.view());
  auto week = service_->CreateToken(admin_two_days, {ztp, absl::Hours(24 * 7), "ztp"});
  EXPECT_EQ(week.status().code(), StatusCode::kInvalidArgument) << week.status();
  NewToken bounded = Mint(admin_two_days, std::nullopt, ztp);
  EXPECT_LE(bounded.info.expires_at, clock_.Now() + absl::Hours(48));
  EXPECT_EQ(bounded.info.principal_id, ztp);
}

TEST_F(TokenMintingTest, RevokingATokenRevokesWhatItMintedTransitivelyAtOnce) {
  const std::string ztp = ServiceAccount("ztp");
  NewToken first = Mint(admin_, absl::Hours(24 * 7));
  Caller first_caller = Login(first.secret.view());
  NewToken second = Mint(first_caller, absl::Hours(24));
  Caller second_caller = Login(second.secret.view());
  NewToken for_ztp = Mint(second_caller, absl::Hours(12), ztp);
  Caller ztp_caller = Login(for_ztp.secret.view());
  const int revocations_before = AuditCount("token.revoke");

  ASSERT_TRUE(service_->RevokeToken(admin_, first.info.token_id).ok());

  for (const NewToken* t : {&first, &second, &for_ztp}) {
    SCOPED_TRACE(t->info.token_id);
    EXPECT_EQ(service_->Authenticate(t->secret.view()).status().code(),
              StatusCode::kUnauthenticated);
  }
  // Callers already authenticated are refused on their next call.
  EXPECT_EQ(service_->ListTokens(second_caller, "").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->ListTokens(ztp_caller, "").status().code(), StatusCode::kUnauthenticated);
  // The lists show them revoked, and each revocation is audited.
  auto listed = Listed(admin_, admin_.principal_id(), second.info.token_id);
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(listed->revoked);
  listed = Listed(admin_, ztp, for_ztp.info.token_id);
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(listed->revoked);
  EXPECT_EQ(AuditCount("token.revoke"), revocations_before + 3);
  // The admin's own (masactl) token is untouched.
  EXPECT_TRUE(service_->ListTokens(admin_, "").ok());
}

TEST_F(TokenMintingTest, RevokingAMintedTokenLeavesItsMinterAndSiblingsAlone) {
  NewToken parent = Mint(admin_, absl::Hours(24 * 7));
  Caller parent_caller = Login(parent.secret.view());
  NewToken a = Mint(parent_caller, absl::Hours(24));
  NewToken b = Mint(parent_caller, absl::Hours(24));
  ASSERT_TRUE(service_->RevokeToken(admin_, a.info.token_id).ok());
  EXPECT_EQ(service_->Authenticate(a.secret.view()).status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(service_->Authenticate(b.secret.view()).ok());
  EXPECT_TRUE(service_->Authenticate(parent.secret.view()).ok());
}

class BootstrapTokenTest : public testing::SmallServiceTest {
 protected:
  void Configure(ServiceOptions& options) override {
    options.default_token_validity = options.max_token_validity;
  }
};

TEST_F(BootstrapTokenTest, TokensFromMasactlHaveNoMinterAndMintUpToSixMonths) {
  auto own = service_->ListTokens(admin_, "");
  ASSERT_TRUE(own.ok()) << own.status();
  ASSERT_EQ(own->size(), 1u);
  EXPECT_EQ((*own)[0].minted_by, "");
  auto longest = service_->CreateToken(admin_, {"", absl::Hours(24 * 183) - absl::Minutes(1), ""});
  ASSERT_TRUE(longest.ok()) << longest.status();
  EXPECT_EQ(longest->info.minted_by, admin_.token_id());
}

// Every API token descends from one the operator issued and dies with it, so once an
// organization's tokens have expired or been revoked only the operator lets it back in.
TEST_F(TokenMintingTest, TheOperatorIssuesARootTokenOnceAnOrganizationsTokensAreGone) {
  NewToken half_year =
      *service_->IssueTokenOffline("org-acme", "admin@acme.example", absl::Hours(24 * 183));
  EXPECT_EQ(half_year.info.principal_id, admin_.principal_id());
  EXPECT_EQ(half_year.info.expires_at - half_year.info.created_at, absl::Hours(24 * 183));
  // It is a root: the admin's first token being revoked does not take it along.
  ASSERT_TRUE(service_->RevokeToken(admin_, admin_.token_id()).ok());
  Caller again = Login(half_year.secret.view());
  EXPECT_EQ(again.principal_id(), admin_.principal_id());
  // And it mints as any token does, within its own life.
  EXPECT_TRUE(service_->CreateToken(again, {"", absl::Hours(24 * 90), "ci"}).ok());
  EXPECT_EQ(AuditCount("token.create"), 3);  // bootstrap, operator, minted

  EXPECT_EQ(service_->IssueTokenOffline("org-acme", "nobody@acme.example", {}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->IssueTokenOffline("org-nope", "admin@acme.example", {}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->IssueTokenOffline("org-acme", "admin@acme.example", absl::Hours(24 * 184))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace masa::service
