// Web sessions against the real store (service/sessions.h): sign-in with a token or an
// identity, the idle and absolute timeouts on an injected clock, everything that ends a
// session taking effect on the next call, the caller's profile and the licence acceptance.
#include <atomic>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "service/testing/fixture.h"

namespace masa::service {
namespace {

using absl::StatusCode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kLicence[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr char kLicence2[] = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

class SessionsTest : public testing::SmallServiceTest {
 protected:
  void Configure(ServiceOptions& options) override {
    options.session_lifetime = absl::Hours(12);
    options.session_idle_timeout = absl::Minutes(30);
  }

  // A new user of acme with `role` on acme's root group, and its API token.
  struct User {
    std::string principal_id;
    std::string binding_id;
    Caller token;
  };
  User AddUser(const std::string& username, std::optional<Role> role = Role::kViewer) {
    User u;
    auto p = service_->InviteUser(admin_, username);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return u;
    u.principal_id = p->principal_id;
    if (role) {
      auto b = service_->BindRole(admin_, u.principal_id, "org-acme", *role);
      EXPECT_TRUE(b.ok()) << b.status();
      if (b.ok()) u.binding_id = b->binding_id;
    }
    auto t = service_->IssueTokenOffline("org-acme", username, std::nullopt);
    EXPECT_TRUE(t.ok()) << t.status();
    if (t.ok()) u.token = Login(t->secret.view());
    return u;
  }

  NewSession Start(const Caller& token_caller) {
    auto s = service_->StartSessionWithToken(token_caller);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : NewSession{};
  }

  StatusCode SessionCode(const NewSession& s) {
    return service_->AuthenticateSession(s.secret.view()).status().code();
  }

  std::vector<store::AuditEntry> Audit() {
    std::vector<store::AuditEntry> out;
    auto snap = store_->Read();
    for (uint64_t i = 0; i < *snap->AuditSize(); ++i) out.push_back(*snap->GetAuditEntry(i));
    return out;
  }
  std::vector<store::AuditEntry> AuditOf(std::string_view action) {
    std::vector<store::AuditEntry> out;
    for (auto& e : Audit()) {
      if (e.action == action) out.push_back(std::move(e));
    }
    return out;
  }
  // No audit entry holds `secret` (nor its second half, in case of a cut).
  void ExpectNotAudited(std::string_view secret) {
    std::string_view tail = secret.substr(secret.size() / 2);
    for (const auto& e : Audit()) {
      for (const std::string* field : {&e.actor, &e.action, &e.target, &e.outcome}) {
        EXPECT_EQ(field->find(tail), std::string::npos) << e.action << ": " << *field;
      }
    }
  }

  std::vector<std::string> Permissions(const Caller& c) {
    auto profile = service_->DescribeCaller(c);
    EXPECT_TRUE(profile.ok()) << profile.status();
    return profile.ok() ? profile->permissions : std::vector<std::string>{};
  }
};

TEST_F(SessionsTest, ATokenStartsASessionThatAuthenticatesOnlyAsASession) {
  NewSession s = Start(admin_);
  EXPECT_THAT(std::string(s.secret.view()), StartsWith("masa_session_"));
  EXPECT_THAT(s.info.session_id, StartsWith("ses-"));
  EXPECT_EQ(s.info.method, "token");
  EXPECT_EQ(s.info.principal_id, admin_.principal_id());
  EXPECT_EQ(s.info.expires_at, clock_.Now() + absl::Hours(12));
  EXPECT_EQ(s.info.idle_timeout, absl::Minutes(30));

  auto caller = service_->AuthenticateSession(s.secret.view());
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->principal_id(), admin_.principal_id());
  EXPECT_EQ(caller->token_id(), s.info.session_id);
  // The session acts as its principal.
  EXPECT_TRUE(service_->ListPrincipals(*caller).ok());

  // Not interchangeable: a session secret is no bearer token, an API token no session.
  EXPECT_EQ(service_->Authenticate(s.secret.view()).status().code(), StatusCode::kUnauthenticated);
  auto token = service_->IssueTokenOffline("org-acme", "admin@acme.example", std::nullopt);
  ASSERT_TRUE(token.ok());
  auto as_session = service_->AuthenticateSession(token->secret.view());
  EXPECT_EQ(as_session.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(as_session.status().message(), Not(HasSubstr(std::string(token->secret.view()))));
  // A session does not start another one, and is not an API token in the lists.
  EXPECT_EQ(service_->StartSessionWithToken(*caller).status().code(),
            StatusCode::kFailedPrecondition);
  auto tokens = service_->ListTokens(admin_, "");
  ASSERT_TRUE(tokens.ok());
  for (const TokenInfo& t : *tokens) EXPECT_THAT(t.token_id, StartsWith("tok-"));

  auto started = AuditOf("session.start");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].actor, admin_.principal_id());
  EXPECT_EQ(started[0].target, "org-acme/" + s.info.session_id);
  EXPECT_THAT(started[0].outcome, HasSubstr("token sign-in"));
  EXPECT_THAT(started[0].outcome, HasSubstr(admin_.token_id()));
  ExpectNotAudited(s.secret.view());
}

TEST_F(SessionsTest, AnIdentityStartsASessionForTheOneUserWithThatEmailInAnyCase) {
  User jane = AddUser("jane@acme.example");
  auto s = service_->StartSessionForIdentity(
      {"https://idp.example", "subject-jane", "Jane@ACME.example"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->info.principal_id, jane.principal_id);
  EXPECT_EQ(s->info.method, "oidc");
  EXPECT_EQ(s->info.expires_at, clock_.Now() + absl::Hours(12));
  auto caller = service_->AuthenticateSession(s->secret.view());
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->principal_id(), jane.principal_id);

  auto started = AuditOf("session.start");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].actor, jane.principal_id);
  EXPECT_THAT(started[0].outcome, HasSubstr("oidc sign-in"));
  EXPECT_THAT(started[0].outcome, HasSubstr("https://idp.example"));
  EXPECT_THAT(started[0].outcome, HasSubstr("subject-jane"));
  ExpectNotAudited(s->secret.view());
}

TEST_F(SessionsTest, AnIdentityNotNamingExactlyOneEnabledUserIsRefusedSayingWhy) {
  auto unknown = service_->StartSessionForIdentity({"https://idp", "x", "nobody@acme.example"});
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("nobody@acme.example"));
  EXPECT_THAT(unknown.status().message(), HasSubstr("ask your organization's administrator"));

  // A service account's name is no person's e-mail.
  ASSERT_TRUE(service_->CreateServiceAccount(admin_, "ztp").ok());
  EXPECT_EQ(service_->StartSessionForIdentity({"https://idp", "x", "ztp"}).status().code(),
            StatusCode::kNotFound);

  User bob = AddUser("bob@acme.example");
  ASSERT_TRUE(service_->DisablePrincipal(admin_, bob.principal_id).ok());
  auto disabled = service_->StartSessionForIdentity({"https://idp", "b", "bob@acme.example"});
  EXPECT_EQ(disabled.status().code(), StatusCode::kPermissionDenied) << disabled.status();

  // The same person in two organizations: the sign-in cannot choose.
  ASSERT_TRUE(service_->CreateOrganization("beta", "Admin@Acme.Example").ok());
  auto two = service_->StartSessionForIdentity({"https://idp", "a", "admin@acme.example"});
  EXPECT_EQ(two.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(two.status().message(), HasSubstr("org-acme"));
  EXPECT_THAT(two.status().message(), HasSubstr("org-beta"));
  EXPECT_THAT(AuditOf("session.start"), IsEmpty());
}

TEST_F(SessionsTest, IdleSessionIsRefusedAndEachCallExtendsIt) {
  NewSession s = Start(admin_);
  auto held = service_->AuthenticateSession(s.secret.view());
  ASSERT_TRUE(held.ok());
  for (int i = 0; i < 4; ++i) {  // 80 minutes of calls 20 minutes apart
    clock_.Advance(absl::Minutes(20));
    EXPECT_EQ(SessionCode(s), StatusCode::kOk) << i;
  }
  clock_.Advance(absl::Minutes(30));
  auto idle = service_->AuthenticateSession(s.secret.view());
  EXPECT_EQ(idle.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(idle.status().message(), HasSubstr("no activity"));
  // A caller held from before is refused by the next call of any method, and the refused
  // attempts do not count as activity.
  EXPECT_EQ(service_->ListPdcs(*held).status().code(), StatusCode::kUnauthenticated);
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(SessionCode(s), StatusCode::kUnauthenticated);
}

TEST_F(SessionsTest, ARestartedServiceCountsIdleTimeFromTheWrittenActivity) {
  NewSession s = Start(admin_);
  clock_.Advance(absl::Minutes(20));
  ASSERT_EQ(SessionCode(s), StatusCode::kOk);  // written: a minute or more since the last
  MakeService();                               // waits for that write
  ASSERT_FALSE(HasFatalFailure());
  clock_.Advance(absl::Minutes(25));  // 45 minutes after sign-in, 25 after the last call
  EXPECT_EQ(SessionCode(s), StatusCode::kOk);
  MakeService();
  ASSERT_FALSE(HasFatalFailure());
  clock_.Advance(absl::Minutes(31));
  EXPECT_EQ(SessionCode(s), StatusCode::kUnauthenticated);
}

TEST_F(SessionsTest, ParallelCallsOfOneSessionAreAllAnswered) {
  // A browser sends several requests at once; their activity is recorded from each thread
  // while the clock moves on (16 minutes in all: never idle, never expired).
  NewSession s = Start(admin_);
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        auto caller = service_->AuthenticateSession(s.secret.view());
        if (!caller.ok() || !service_->DescribeCaller(*caller).ok()) ++refused;
      }
    });
  }
  for (int i = 0; i < 48; ++i) clock_.Advance(absl::Seconds(20));
  for (auto& t : threads) t.join();
  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(SessionCode(s), StatusCode::kOk);
}

TEST_F(SessionsTest, ASessionExpiresAfterItsLifetimeHoweverActive) {
  NewSession s = Start(admin_);
  for (int i = 0; i < 35; ++i) {  // 11h40m
    clock_.Advance(absl::Minutes(20));
    ASSERT_EQ(SessionCode(s), StatusCode::kOk) << i;
  }
  clock_.Advance(absl::Minutes(20));
  auto expired = service_->AuthenticateSession(s.secret.view());
  EXPECT_EQ(expired.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(expired.status().message(), HasSubstr("expired"));
}

TEST_F(SessionsTest, ASessionStartedWithATokenEndsWithIt) {
  auto hour = service_->CreateToken(admin_, {"", absl::Hours(1), "short"});
  ASSERT_TRUE(hour.ok()) << hour.status();
  NewSession s = Start(Login(hour->secret.view()));
  EXPECT_EQ(s.info.expires_at, hour->info.expires_at);
  clock_.Advance(absl::Minutes(25));
  EXPECT_EQ(SessionCode(s), StatusCode::kOk);
  clock_.Advance(absl::Minutes(25));
  EXPECT_EQ(SessionCode(s), StatusCode::kOk);
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(SessionCode(s), StatusCode::kUnauthenticated);
}

TEST_F(SessionsTest, RevokingTheSigningInTokenEndsTheSessionAtOnce) {
  User jane = AddUser("jane@acme.example", Role::kRequestor);
  NewSession s = Start(jane.token);
  auto held = service_->AuthenticateSession(s.secret.view());
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(service_->RevokeToken(admin_, jane.token.token_id()).ok());
  EXPECT_EQ(SessionCode(s), StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->ListVouchers(*held, {}).status().code(), StatusCode::kUnauthenticated);
  // Audited with the token it was minted by.
  bool session_revoked = false;
  for (const auto& e : AuditOf("token.revoke")) {
    session_revoked |= absl::StrContains(e.target, s.info.session_id);
  }
  EXPECT_TRUE(session_revoked);
}

TEST_F(SessionsTest, DisablingThePrincipalEndsItsSessionsAtTheNextCall) {
  User jane = AddUser("jane@acme.example");
  auto oidc = service_->StartSessionForIdentity({"https://idp", "j", "jane@acme.example"});
  ASSERT_TRUE(oidc.ok()) << oidc.status();
  NewSession with_token = Start(jane.token);
  auto held = service_->AuthenticateSession(oidc->secret.view());
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(service_->GetGroup(*held, "org-acme").ok());

  ASSERT_TRUE(service_->DisablePrincipal(admin_, jane.principal_id).ok());

  EXPECT_EQ(service_->GetGroup(*held, "org-acme").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->DescribeCaller(*held).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(SessionCode(*oidc), StatusCode::kUnauthenticated);
  EXPECT_EQ(SessionCode(with_token), StatusCode::kUnauthenticated);
}

TEST_F(SessionsTest, SignOutEndsTheSessionOnlyForASession) {
  NewSession s = Start(admin_);
  auto caller = service_->AuthenticateSession(s.secret.view());
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(service_->EndSession(admin_).code(), StatusCode::kFailedPrecondition);

  ASSERT_TRUE(service_->EndSession(*caller).ok());
  auto ended = service_->AuthenticateSession(s.secret.view());
  EXPECT_EQ(ended.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(ended.status().message(), HasSubstr("ended"));
  EXPECT_EQ(service_->DescribeCaller(*caller).status().code(), StatusCode::kUnauthenticated);
  auto end = AuditOf("session.end");
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].actor, admin_.principal_id());
  EXPECT_EQ(end[0].target, "org-acme/" + s.info.session_id);
  // The token it was started with is untouched.
  EXPECT_TRUE(service_->ListTokens(admin_, "").ok());
  ExpectNotAudited(s.secret.view());
}

TEST_F(SessionsTest, TokensMadeInASessionOutliveIt) {
  User jane = AddUser("jane@acme.example");
  auto oidc = service_->StartSessionForIdentity({"https://idp", "j", "jane@acme.example"});
  ASSERT_TRUE(oidc.ok()) << oidc.status();
  auto caller = service_->AuthenticateSession(oidc->secret.view());
  ASSERT_TRUE(caller.ok());
  auto half_year = service_->CreateToken(*caller, {"", absl::Hours(24 * 183), "ci"});
  ASSERT_TRUE(half_year.ok()) << half_year.status();
  EXPECT_EQ(half_year->info.minted_by, oidc->info.session_id);
  ASSERT_TRUE(service_->EndSession(*caller).ok());
  EXPECT_TRUE(service_->Authenticate(half_year->secret.view()).ok());

  // In a session started with a token, that token mints and bounds.
  auto day = service_->CreateToken(admin_, {"", absl::Hours(24), "day"});
  ASSERT_TRUE(day.ok());
  NewSession s = Start(Login(day->secret.view()));
  auto in_session = service_->AuthenticateSession(s.secret.view());
  ASSERT_TRUE(in_session.ok());
  EXPECT_EQ(service_->CreateToken(*in_session, {"", absl::Hours(48), ""}).status().code(),
            StatusCode::kInvalidArgument);
  auto bounded = service_->CreateToken(*in_session, {"", std::nullopt, ""});
  ASSERT_TRUE(bounded.ok()) << bounded.status();
  EXPECT_EQ(bounded->info.minted_by, day->info.token_id);
}

TEST_F(SessionsTest, TheProfileListsThePermissionsOfTheCurrentBindings) {
  User viewer = AddUser("viewer@acme.example", Role::kViewer);
  EXPECT_THAT(Permissions(viewer.token), ElementsAre("view"));

  User requestor = AddUser("req@acme.example", Role::kRequestor);
  EXPECT_THAT(Permissions(requestor.token), ElementsAre("view", "request", "download"));
  ASSERT_TRUE(service_->GrantPermission(admin_, requestor.binding_id, Grant::kArchive).ok());
  EXPECT_THAT(Permissions(requestor.token), ElementsAre("view", "request", "download", "archive"));

  EXPECT_THAT(Permissions(admin_), ElementsAre("view", "request", "download", "archive",
                                               "manage-pdcs", "place-serials", "admin", "audit"));

  auto team = service_->CreateVendorPrincipal("team@vendor.example", Role::kAccountTeam);
  ASSERT_TRUE(team.ok()) << team.status();
  Caller team_caller = Login(team->token.secret.view());
  EXPECT_THAT(Permissions(team_caller),
              ElementsAre("view", "assign-serials", "view-all-organizations", "audit"));

  auto officer = service_->CreateVendorPrincipal("so@vendor.example", Role::kSecurityOfficer);
  ASSERT_TRUE(officer.ok()) << officer.status();
  EXPECT_THAT(Permissions(Login(officer->token.secret.view())), ElementsAre("keys"));

  // The rest of the profile, for a session and for a token.
  auto p = service_->DescribeCaller(team_caller);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->vendor);
  EXPECT_EQ(p->name, "team@vendor.example");
  ASSERT_EQ(p->bindings.size(), 1u);
  EXPECT_EQ(p->bindings[0].role, Role::kAccountTeam);
  EXPECT_TRUE(p->session_id.empty());

  NewSession s = Start(requestor.token);
  auto in_session = service_->AuthenticateSession(s.secret.view());
  ASSERT_TRUE(in_session.ok());
  p = service_->DescribeCaller(*in_session);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->vendor);
  EXPECT_EQ(p->principal_id, requestor.principal_id);
  EXPECT_EQ(p->organization_id, "org-acme");
  EXPECT_EQ(p->kind, PrincipalKind::kUser);
  ASSERT_EQ(p->bindings.size(), 1u);
  EXPECT_EQ(p->bindings[0].group_id, "org-acme");
  EXPECT_EQ(p->bindings[0].role, Role::kRequestor);
  EXPECT_THAT(p->bindings[0].grants, ElementsAre(Grant::kArchive));
  EXPECT_EQ(p->session_id, s.info.session_id);
  EXPECT_EQ(p->session_expires_at, s.info.expires_at);
  EXPECT_EQ(p->session_idle_timeout, absl::Minutes(30));

  // A role taken away is gone from the next profile.
  ASSERT_TRUE(service_->DeleteBinding(admin_, requestor.binding_id).ok());
  EXPECT_THAT(Permissions(*in_session), IsEmpty());
}

TEST_F(SessionsTest, AcceptingTheLicenceIsAuditedOncePerVersion) {
  EXPECT_EQ(service_->AcceptLicence(admin_, "not-a-version").code(), StatusCode::kInvalidArgument);
  auto before = service_->DescribeCaller(admin_);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->licence_accepted_version, "");

  ASSERT_TRUE(service_->AcceptLicence(admin_, kLicence).ok());
  ASSERT_TRUE(service_->AcceptLicence(admin_, kLicence).ok());
  auto accepted = AuditOf("licence.accept");
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].actor, admin_.principal_id());
  EXPECT_THAT(accepted[0].outcome, HasSubstr(kLicence));
  auto after = service_->DescribeCaller(admin_);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->licence_accepted_version, kLicence);

  // New terms: accepted again, audited again.
  ASSERT_TRUE(service_->AcceptLicence(admin_, kLicence2).ok());
  EXPECT_EQ(AuditOf("licence.accept").size(), 2u);
}

TEST_F(SessionsTest, TheSessionTimeoutsMustBePositive) {
  ServiceOptions options = Options();
  options.session_idle_timeout = absl::ZeroDuration();
  EXPECT_EQ(Service::Create(options).status().code(), StatusCode::kInvalidArgument);
  options = Options();
  options.session_lifetime = -absl::Hours(1);
  EXPECT_EQ(Service::Create(options).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace masa::service
