// Organizations and the operator's bootstrap: duplicates and bad names, the account team
// creating and listing organizations, vendor principals.
#include <set>
#include <string>
#include <vector>

#include "service/service.h"
#include "service/testing/hsm_fixture.h"

namespace masa::service::testing {
namespace {

TEST_F(ServiceTest, BootstrapRefusesDuplicatesAndBadNames) {
  EXPECT_EQ(service_->CreateOrganization("acme", "x@acme.example").status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(service_->CreateOrganization("Bad Name", "x@y.example").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->CreateOrganization("vendor", "x@y.example").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->InviteUser(admin_, "admin@acme.example").status().code(),
            StatusCode::kAlreadyExists);
  // A second vendor principal reuses the vendor organization.
  auto support = service_->CreateVendorPrincipal("s@vendor.example", Role::kSupport);
  ASSERT_TRUE(support.ok()) << support.status();
  Caller s = Login(support->token.secret.view());
  std::string id = Issue("SN-27");
  EXPECT_TRUE(service_->GetVoucher(s, id).ok());
  EXPECT_EQ(service_->ListAudit(s, {"org-acme", 0, 10}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(
      service_->AssignSerials(s, {"org-acme", "", {{"", "Z", "", "", {}}}, false}).status().code(),
      StatusCode::kPermissionDenied);
}

TEST_F(ServiceTest, AccountTeamCreatesAndListsOrganizationsCustomersCannot) {
  auto support = service_->CreateVendorPrincipal("s@vendor.example", Role::kSupport);
  ASSERT_TRUE(support.ok()) << support.status();
  Caller s = Login(support->token.secret.view());
  Caller viewer = User(admin_, "v@acme.example", Role::kViewer);

  // Customers, their admins included, and support may not; nothing is written.
  const uint64_t before = AuditSize();
  for (const Caller* c : {&admin_, &other_admin_, &viewer, &s}) {
    auto refused = service_->CreateOrganization(*c, "rogue", "r@rogue.example");
    EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied) << refused.status();
  }
  EXPECT_EQ(service_->CreateOrganization(Caller(), "rogue", "r@rogue.example").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(AuditSize(), before);

  auto made = service_->CreateOrganization(account_team_, "delta", "admin@delta.example");
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(made->organization_id, "org-delta");
  EXPECT_EQ(made->principal.organization_id, "org-delta");
  // Its admin administers it at once.
  Caller delta = Login(made->token.secret.view());
  EXPECT_EQ(delta.organization_id(), "org-delta");
  EXPECT_TRUE(service_->InviteUser(delta, "u@delta.example").ok());
  // Audited like the bootstrap, with the account-team principal as actor.
  auto audit = service_->ListAudit(account_team_, {"org-delta", 0, 100});
  ASSERT_TRUE(audit.ok()) << audit.status();
  std::set<std::string> by_account_team;
  for (const auto& e : audit->entries) {
    if (e.actor == account_team_.principal_id()) by_account_team.insert(e.action);
  }
  EXPECT_EQ(by_account_team,
            (std::set<std::string>{"org.create", "user.invite", "role.bind", "token.create"}));

  EXPECT_EQ(service_->CreateOrganization(account_team_, "delta", "x@delta.example").status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(service_->CreateOrganization(account_team_, "Bad Name", "x@y.example").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->CreateOrganization(account_team_, "vendor", "x@y.example").status().code(),
            StatusCode::kInvalidArgument);
  // OVGS names users "admin" or "srv-ztp": plain names are usernames too; spaces are not.
  EXPECT_EQ(service_->CreateOrganization(account_team_, "epsilon", "not an email").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(service_->CreateOrganization(account_team_, "zeta", "admin").ok());

  auto ids = [&](const Caller& c) {
    std::vector<std::string> out;
    auto list = service_->ListOrganizations(c);
    EXPECT_TRUE(list.ok()) << list.status();
    if (list.ok()) {
      for (const auto& o : *list) out.push_back(o.organization_id);
    }
    return out;
  };
  const std::vector<std::string> all = {"org-acme", "org-delta", "org-other", "org-vendor",
                                        "org-zeta"};
  EXPECT_EQ(ids(account_team_), all);
  EXPECT_EQ(ids(s), all);
  EXPECT_EQ(ids(admin_), std::vector<std::string>{"org-acme"});
  EXPECT_EQ(ids(viewer), std::vector<std::string>{"org-acme"});
  EXPECT_EQ(ids(delta), std::vector<std::string>{"org-delta"});
  auto list = service_->ListOrganizations(account_team_);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[1].name, "delta");
  EXPECT_EQ((*list)[1].created_at, clock_.Now());
}

TEST_F(ServiceTest, VendorPrincipalsTakeOnlyVendorRoles) {
  const uint64_t audit_before = AuditSize();
  // Names that are no role ("root", "") never reach the service: masactl refuses them with
  // the same words (tests/masactl_cli_test.cc).
  for (Role role : {Role::kAdmin, Role::kAssigner, Role::kRequestor, Role::kViewer}) {
    SCOPED_TRACE(RoleName(role));
    auto r = service_->CreateVendorPrincipal("x@vendor.example", role);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
    EXPECT_NE(r.status().message().find("support, account-team or security-officer"),
              std::string_view::npos)
        << r.status();
  }
  EXPECT_EQ(AuditSize(), audit_before) << "a refused vendor principal left a trace";
  EXPECT_TRUE(service_->CreateVendorPrincipal("so@vendor.example", Role::kSecurityOfficer).ok());
}

}  // namespace
}  // namespace masa::service::testing
