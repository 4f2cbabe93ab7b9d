// Groups as OVGS shows them (GetGroup, descriptions, deletion), user roles by (username,
// kind, organization) tuple, delegated organizations, and the vendor's support role.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "service/service.h"
#include "service/testing/hsm_fixture.h"

namespace masa::service::testing {
namespace {

class GroupsTest : public ServiceTest {
 protected:
  // A new principal of `by`'s organization (no role), logged in with a token of its own.
  Caller NewPrincipal(const Caller& by, const std::string& name,
                      PrincipalKind kind = PrincipalKind::kUser) {
    auto p = kind == PrincipalKind::kUser ? service_->InviteUser(by, name)
                                          : service_->CreateServiceAccount(by, name);
    EXPECT_TRUE(p.ok()) << p.status();
    auto t = service_->CreateToken(by, {p->principal_id, std::nullopt, "test"});
    EXPECT_TRUE(t.ok()) << t.status();
    return Login(t->secret.view());
  }

  static UserRef Ref(const Caller& c, PrincipalKind kind = PrincipalKind::kUser) {
    return {c.name(), kind, c.organization_id()};
  }

  std::string Group(const Caller& by, const std::string& parent, const std::string& name) {
    auto g = service_->CreateGroup(by, parent, name);
    EXPECT_TRUE(g.ok()) << g.status();
    return g.ok() ? g->group_id : "";
  }

  static std::set<std::string> Usernames(const GroupDetails& d) {
    std::set<std::string> out;
    for (const auto& u : d.users) out.insert(u.user.username + "/" + u.user.organization_id);
    return out;
  }
};

TEST_F(GroupsTest, DescriptionsAreOvgsText) {
  // Spaces and non-ASCII letters are allowed, up to 256 characters (not bytes).
  EXPECT_TRUE(service_->CreateGroup(admin_, "", "Acme Business Unit 1").ok());
  std::string accents;
  for (int i = 0; i < 256; ++i) accents += "\xC3\xA9";  // é
  EXPECT_TRUE(service_->CreateGroup(admin_, "", accents).ok());
  for (const std::string& bad :
       {std::string(), std::string(257, 'x'), accents + "e", std::string("tab\there"),
        std::string("\xC2\x85next line"), std::string("\xFF")}) {
    EXPECT_EQ(service_->CreateGroup(admin_, "", bad).status().code(), StatusCode::kInvalidArgument)
        << bad;
  }
  // The same (parent, description) pair again.
  EXPECT_EQ(service_->CreateGroup(admin_, "org-acme", "Acme Business Unit 1").status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_TRUE(service_->CreateGroup(admin_, east_, "Acme Business Unit 1").ok());
}

TEST_F(GroupsTest, OvgsUsernamesAreUsernames) {
  EXPECT_TRUE(service_->InviteUser(admin_, "admin").ok());
  EXPECT_TRUE(service_->CreateServiceAccount(admin_, "srv-ztp").ok());
  EXPECT_TRUE(service_->InviteUser(admin_, "carol@acme.example").ok());
  EXPECT_EQ(service_->InviteUser(admin_, "two words").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->InviteUser(admin_, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->InviteUser(admin_, "admin").status().code(), StatusCode::kAlreadyExists);
}

TEST_F(GroupsTest, DeleteGroupRefusesWhatIsStillInIt) {
  EXPECT_EQ(service_->DeleteGroup(admin_, "org-acme").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->DeleteGroup(admin_, "org-acme.g-nothere").code(), StatusCode::kNotFound);
  // Users.
  std::string lab = Group(admin_, "", "lab");
  Caller bob = NewPrincipal(admin_, "bob");
  ASSERT_TRUE(service_->AddUserRole(admin_, Ref(bob), lab, Role::kRequestor).ok());
  EXPECT_EQ(service_->DeleteGroup(admin_, lab).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(service_->RemoveUserRole(admin_, Ref(bob), lab).ok());
  // Children.
  std::string child = Group(admin_, lab, "child");
  EXPECT_EQ(service_->DeleteGroup(admin_, lab).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(service_->DeleteGroup(admin_, child).ok());
  // Certificates.
  auto pdc = service_->UploadPdc(admin_, {"", acme_pdc_.pem, lab, false, std::nullopt});
  ASSERT_TRUE(pdc.ok()) << pdc.status();
  EXPECT_EQ(service_->DeleteGroup(admin_, lab).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(service_->DeletePdc(admin_, pdc->cert_id).ok());
  // Serials.
  ASSERT_TRUE(service_->PlaceSerials(admin_, lab, {{"", "SN-01"}}).ok());
  EXPECT_EQ(service_->DeleteGroup(admin_, lab).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(service_->PlaceSerials(admin_, "org-acme", {{"", "SN-01"}}).ok());
  // Users of a delegated organization, whose bindings sit under their own organization.
  ASSERT_TRUE(service_->AddDelegatedOrganization(admin_, lab, "org-other").ok());
  Caller ot = NewPrincipal(other_admin_, "ot");
  ASSERT_TRUE(service_->AddUserRole(admin_, Ref(ot), lab, Role::kViewer).ok());
  EXPECT_EQ(service_->DeleteGroup(admin_, lab).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(service_->RemoveUserRole(admin_, Ref(ot), lab).ok());
  EXPECT_TRUE(service_->DeleteGroup(admin_, lab).ok());
  EXPECT_EQ(service_->GetGroup(admin_, lab).status().code(), StatusCode::kNotFound);
}

TEST_F(GroupsTest, GetGroupShowsCertsComponentsUsersChildrenAndDelegations) {
  std::string dc1 = Group(admin_, east_, "dc1");
  auto pdc = service_->UploadPdc(admin_, {"", acme_pdc_.pem, east_, false, std::nullopt});
  ASSERT_TRUE(pdc.ok()) << pdc.status();
  ASSERT_TRUE(service_->UploadPdc(admin_, {"", acme_pdc2_.pem, dc1, false, std::nullopt}).ok());
  Caller srv = NewPrincipal(admin_, "srv-ztp", PrincipalKind::kServiceAccount);
  ASSERT_TRUE(
      service_->AddUserRole(admin_, Ref(srv, PrincipalKind::kServiceAccount), east_, Role::kAdmin)
          .ok());
  ASSERT_TRUE(service_->AddDelegatedOrganization(admin_, "org-acme", "org-other").ok());

  auto d = service_->GetGroup(admin_, east_);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->group.group_id, east_);
  EXPECT_EQ(d->group.name, "east");
  // Only this group's certificates: dc1's is not listed.
  EXPECT_EQ(d->cert_ids, std::vector<std::string>{pdc->cert_id});
  std::set<std::string> serials;
  for (const auto& c : d->components) serials.insert(c.serial_number);
  EXPECT_EQ(serials, (std::set<std::string>{"EAST-0", "EAST-1", "EAST-2", "EAST-3", "EAST-4"}));
  ASSERT_EQ(d->users.size(), 1u);
  EXPECT_EQ(d->users[0].user.username, "srv-ztp");
  EXPECT_EQ(d->users[0].user.kind, PrincipalKind::kServiceAccount);
  EXPECT_EQ(d->users[0].user.organization_id, "org-acme");
  EXPECT_EQ(d->users[0].role, Role::kAdmin);
  EXPECT_EQ(d->child_group_ids, std::vector<std::string>{dc1});
  // Inherited from the root group.
  EXPECT_EQ(d->delegated_orgs,
            (std::map<std::string, std::vector<std::string>>{{"org-other", {"org-acme"}}}));

  // The root group lists every serial of the organization, placed below it or not.
  auto root = service_->GetGroup(admin_, "org-acme");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->components.size(), 35u);
  EXPECT_EQ(Usernames(*root), std::set<std::string>{"admin@acme.example/org-acme"});
  EXPECT_EQ(root->child_group_ids, std::vector<std::string>{east_});
  EXPECT_TRUE(root->cert_ids.empty());

  // Needs view: a user of east sees east, not the root; another organization nothing.
  EXPECT_TRUE(service_->GetGroup(srv, dc1).ok());
  EXPECT_EQ(service_->GetGroup(srv, "org-acme").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->GetGroup(other_admin_, east_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->GetGroup(admin_, "org-acme.g-nothere").status().code(),
            StatusCode::kNotFound);
}

TEST_F(GroupsTest, UserRolesOnePerGroupByTuple) {
  Caller bob = NewPrincipal(admin_, "bob");
  const UserRef unknown{"nobody", PrincipalKind::kUser, "org-acme"};
  const UserRef wrong_kind{"bob", PrincipalKind::kServiceAccount, "org-acme"};

  ASSERT_TRUE(service_->AddUserRole(admin_, Ref(bob), east_, Role::kRequestor).ok());
  EXPECT_EQ(service_->AddUserRole(admin_, Ref(bob), east_, Role::kAdmin).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(service_->AddUserRole(admin_, unknown, east_, Role::kAdmin).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->AddUserRole(admin_, wrong_kind, east_, Role::kAdmin).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      service_->AddUserRole(admin_, Ref(bob), "org-acme.g-nothere", Role::kAdmin).status().code(),
      StatusCode::kNotFound);
  auto roles = service_->GetUserRoles(admin_, Ref(bob));
  ASSERT_TRUE(roles.ok()) << roles.status();
  EXPECT_EQ(*roles, (std::map<std::string, Role>{{east_, Role::kRequestor}}));
  EXPECT_EQ(service_->GetUserRoles(admin_, unknown).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->GetUserRoles(admin_, wrong_kind).status().code(), StatusCode::kNotFound);

  // Admin only: an assigner may not give roles (OVGS would let it give requestor).
  Caller assigner = User(admin_, "asg@acme.example", Role::kAssigner);
  Caller carol = NewPrincipal(admin_, "carol");
  EXPECT_EQ(service_->AddUserRole(assigner, Ref(carol), east_, Role::kRequestor).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->RemoveUserRole(assigner, Ref(bob), east_).code(),
            StatusCode::kPermissionDenied);
  // Another organization sees neither the group nor anything about it.
  EXPECT_EQ(service_->AddUserRole(other_admin_, Ref(carol), east_, Role::kViewer).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->RemoveUserRole(other_admin_, Ref(bob), east_).code(), StatusCode::kNotFound);
  // An organization's user needs a delegation to hold roles in another's tree.
  Caller ot = NewPrincipal(other_admin_, "ot");
  EXPECT_EQ(service_->AddUserRole(admin_, Ref(ot), east_, Role::kViewer).status().code(),
            StatusCode::kFailedPrecondition);
  // Vendor roles: only on the vendor's root group, support only by support.
  EXPECT_EQ(service_->AddUserRole(admin_, Ref(carol), east_, Role::kSupport).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->AddUserRole(admin_, Ref(carol), east_, Role::kAccountTeam).status().code(),
            StatusCode::kInvalidArgument);

  ASSERT_TRUE(service_->RemoveUserRole(admin_, Ref(bob), east_).ok());
  EXPECT_EQ(service_->RemoveUserRole(admin_, Ref(bob), east_).code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->RemoveUserRole(admin_, unknown, east_).code(), StatusCode::kNotFound);
  EXPECT_TRUE(service_->GetUserRoles(admin_, Ref(bob))->empty());

  auto actions = AuditActions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "role.unbind"), 1);
}

TEST_F(GroupsTest, TheHigherRoleWinsOverTheSubtree) {
  Caller bob = NewPrincipal(admin_, "bob");
  std::string dc1 = Group(admin_, east_, "dc1");
  // Requestor on the root, admin on east: admin in east's subtree, requestor elsewhere.
  ASSERT_TRUE(service_->AddUserRole(admin_, Ref(bob), "org-acme", Role::kRequestor).ok());
  ASSERT_TRUE(service_->AddUserRole(admin_, Ref(bob), east_, Role::kAdmin).ok());
  EXPECT_TRUE(service_->CreateGroup(bob, dc1, "rack 1").ok());
  EXPECT_EQ(service_->CreateGroup(bob, "org-acme", "west").status().code(),
            StatusCode::kPermissionDenied);
  // Admin on the root, viewer on east: still admin on east.
  Caller carol = NewPrincipal(admin_, "carol");
  ASSERT_TRUE(service_->AddUserRole(admin_, Ref(carol), "org-acme", Role::kAdmin).ok());
  ASSERT_TRUE(service_->AddUserRole(admin_, Ref(carol), east_, Role::kViewer).ok());
  EXPECT_TRUE(service_->CreateGroup(carol, east_, "rack 2").ok());
  auto roles = service_->GetUserRoles(admin_, Ref(carol));
  ASSERT_TRUE(roles.ok()) << roles.status();
  EXPECT_EQ(*roles,
            (std::map<std::string, Role>{{"org-acme", Role::kAdmin}, {east_, Role::kViewer}}));
  // Shown where the caller holds a role on the group or above: bob (requestor on the root)
  // sees both of carol's roles; dave, with a role on dc1 only, sees none.
  auto seen_by_bob = service_->GetUserRoles(bob, Ref(carol));
  ASSERT_TRUE(seen_by_bob.ok());
  EXPECT_EQ(seen_by_bob->size(), 2u);
  Caller dave = NewPrincipal(admin_, "dave");
  ASSERT_TRUE(service_->AddUserRole(admin_, Ref(dave), dc1, Role::kAdmin).ok());
  auto seen_by_dave = service_->GetUserRoles(dave, Ref(carol));
  ASSERT_TRUE(seen_by_dave.ok());
  EXPECT_TRUE(seen_by_dave->empty());
  // A caller without any role sees nothing, and the tuple exists: not kNotFound.
  Caller nobody = NewPrincipal(admin_, "nobody");
  auto seen_by_nobody = service_->GetUserRoles(nobody, Ref(carol));
  ASSERT_TRUE(seen_by_nobody.ok());
  EXPECT_TRUE(seen_by_nobody->empty());
}

// A delegated assigner works in the owner's tree: what it uploads or moves there belongs to
// the group's organization, not its own.
TEST_F(GroupsTest, ADelegatedAssignerWritesIntoTheOwnersGroups) {
  std::string dc1 = Group(admin_, east_, "dc1");
  Caller ot = NewPrincipal(other_admin_, "ot-assigner");
  ASSERT_TRUE(service_->AddDelegatedOrganization(admin_, east_, "org-other").ok());
  ASSERT_TRUE(service_->AddUserRole(admin_, Ref(ot), east_, Role::kAssigner).ok());

  auto pdc = service_->UploadPdc(ot, {"", acme_pdc_.pem, dc1, false, std::nullopt});
  ASSERT_TRUE(pdc.ok()) << pdc.status();
  EXPECT_EQ(pdc->organization_id, "org-acme");
  EXPECT_EQ(pdc->group_id, dc1);
  EXPECT_TRUE(service_->GetPdc(admin_, pdc->cert_id).ok());

  auto placed = service_->PlaceSerials(ot, dc1, {{"", "EAST-1"}});
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(placed->assigned, 1u);
  auto details = service_->GetGroup(admin_, dc1);
  ASSERT_TRUE(details.ok());
  EXPECT_EQ(details->cert_ids, std::vector<std::string>{pdc->cert_id});
  ASSERT_EQ(details->components.size(), 1u);
  EXPECT_EQ(details->components[0].serial_number, "EAST-1");
  // Outside the delegated subtree, nothing: the root's serials stay out of reach.
  EXPECT_EQ(service_->PlaceSerials(ot, dc1, {{"", "SN-01"}}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(
      service_->UploadPdc(ot, {"", acme_pdc_.pem, "org-acme", false, std::nullopt}).status().code(),
      StatusCode::kNotFound);
}

TEST_F(GroupsTest, DelegationLetsAnotherOrganizationIn) {
  std::string dc1 = Group(admin_, east_, "dc1");
  Caller ot = NewPrincipal(other_admin_, "ot");
  Caller ot2 = NewPrincipal(other_admin_, "ot2");
  Caller bob = NewPrincipal(admin_, "bob");
  ASSERT_TRUE(service_->AddUserRole(admin_, Ref(bob), east_, Role::kAdmin).ok());

  // Before: no role for org-other's users, nothing visible.
  EXPECT_EQ(service_->AddUserRole(admin_, Ref(ot), east_, Role::kAdmin).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->GetGroup(ot, east_).status().code(), StatusCode::kNotFound);

  // Only an admin of the owner's root group delegates; errors.
  EXPECT_EQ(service_->AddDelegatedOrganization(bob, east_, "org-other").code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->AddDelegatedOrganization(other_admin_, east_, "org-other").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->AddDelegatedOrganization(admin_, east_, "org-acme").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->AddDelegatedOrganization(admin_, east_, "org-nothere").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->AddDelegatedOrganization(admin_, east_, "not an org").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->AddDelegatedOrganization(admin_, "org-acme.g-nothere", "org-other").code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(service_->AddDelegatedOrganization(admin_, east_, "org-other").ok());
  EXPECT_EQ(service_->AddDelegatedOrganization(admin_, east_, "org-other").code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(service_->RemoveDelegatedOrganization(admin_, dc1, "org-other").code(),
            StatusCode::kNotFound);  // delegated on east, not on dc1

  // After: an owner admin (or an admin of east) gives org-other's user a role.
  ASSERT_TRUE(service_->AddUserRole(bob, Ref(ot), east_, Role::kAdmin).ok());
  auto seen = service_->GetGroup(ot, east_);
  ASSERT_TRUE(seen.ok()) << seen.status();
  // The delegated caller sees its own organization's users only.
  EXPECT_EQ(Usernames(*seen), std::set<std::string>{"ot/org-other"});
  EXPECT_EQ(seen->delegated_orgs,
            (std::map<std::string, std::vector<std::string>>{{"org-other", {east_}}}));
  auto full = service_->GetGroup(admin_, east_);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(Usernames(*full), (std::set<std::string>{"bob/org-acme", "ot/org-other"}));
  // The subtree, present and future, is reached; the root is not.
  std::string dc2 = Group(admin_, east_, "dc2");
  EXPECT_TRUE(service_->GetGroup(ot, dc1).ok());
  auto d2 = service_->GetGroup(ot, dc2);
  ASSERT_TRUE(d2.ok()) << d2.status();
  EXPECT_EQ(d2->delegated_orgs,
            (std::map<std::string, std::vector<std::string>>{{"org-other", {east_}}}));
  EXPECT_EQ(service_->GetGroup(ot, "org-acme").status().code(), StatusCode::kNotFound);
  // A delegated admin acts in the subtree...
  EXPECT_TRUE(service_->CreateGroup(ot, dc1, "rack").ok());
  ASSERT_TRUE(service_->AddUserRole(ot, Ref(ot2), dc1, Role::kRequestor).ok());
  // ...for its own organization's users only, and cannot delegate further.
  Caller carol = NewPrincipal(admin_, "carol");
  EXPECT_EQ(service_->AddUserRole(ot, Ref(carol), dc1, Role::kViewer).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->RemoveUserRole(ot, Ref(bob), east_).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->AddDelegatedOrganization(ot, dc1, "org-other").code(),
            StatusCode::kPermissionDenied);

  // GetUserRole: a delegated caller sees its own organization's users' roles, not others'.
  EXPECT_EQ(*service_->GetUserRoles(ot, Ref(ot2)),
            (std::map<std::string, Role>{{dc1, Role::kRequestor}}));
  EXPECT_TRUE(service_->GetUserRoles(ot, Ref(bob))->empty());
  // The owner sees the delegated user's roles in its tree.
  EXPECT_EQ(*service_->GetUserRoles(admin_, Ref(ot)),
            (std::map<std::string, Role>{{east_, Role::kAdmin}}));
  // The owner's admin lists the delegated bindings with its own.
  auto bindings = service_->ListBindings(admin_, "");
  ASSERT_TRUE(bindings.ok()) << bindings.status();
  std::set<std::string> bound;
  for (const auto& b : *bindings) bound.insert(b.principal_id);
  EXPECT_TRUE(bound.count(ot.principal_id()) && bound.count(ot2.principal_id()));

  // Removal is refused while org-other's users hold roles only this delegation allows...
  EXPECT_EQ(service_->RemoveDelegatedOrganization(admin_, east_, "org-other").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->RemoveDelegatedOrganization(ot, east_, "org-other").code(),
            StatusCode::kPermissionDenied);
  // ...but not when another delegation ("*" on the root) still lets them in.
  ASSERT_TRUE(service_->AddDelegatedOrganization(admin_, "org-acme", "*").ok());
  ASSERT_TRUE(service_->RemoveDelegatedOrganization(admin_, east_, "org-other").ok());
  EXPECT_TRUE(service_->GetGroup(ot, east_).ok());
  auto via_star = service_->GetGroup(ot, dc1);
  ASSERT_TRUE(via_star.ok());
  EXPECT_EQ(via_star->delegated_orgs,
            (std::map<std::string, std::vector<std::string>>{{"*", {"org-acme"}}}));
  EXPECT_EQ(service_->RemoveDelegatedOrganization(admin_, "org-acme", "*").code(),
            StatusCode::kFailedPrecondition);

  // Access ends with the roles; then the delegation may go.
  ASSERT_TRUE(service_->RemoveUserRole(ot, Ref(ot2), dc1).ok());
  ASSERT_TRUE(service_->RemoveUserRole(admin_, Ref(ot), east_).ok());
  EXPECT_EQ(service_->GetGroup(ot, east_).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(service_->RemoveDelegatedOrganization(admin_, "org-acme", "*").ok());
  EXPECT_EQ(service_->RemoveDelegatedOrganization(admin_, "org-acme", "*").code(),
            StatusCode::kNotFound);

  auto actions = AuditActions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "group.delegate"), 2);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "group.undelegate"), 2);
}

// Authorization re-reads the delegations at each decision: a binding of another
// organization's principal whose delegation is gone gives nothing. (The service refuses to
// remove a delegation that bindings need; the record is written here directly, as a store
// restored from an older backup could hold it.)
TEST_F(GroupsTest, ABindingCountsOnlyWhileADelegationEnablesIt) {
  Caller ot = NewPrincipal(other_admin_, "ot");
  ASSERT_TRUE(service_->AddDelegatedOrganization(admin_, east_, "org-other").ok());
  ASSERT_TRUE(service_->AddUserRole(admin_, Ref(ot), east_, Role::kAdmin).ok());
  ASSERT_TRUE(service_->GetGroup(ot, east_).ok());
  store::WriteBatch batch;
  batch.Do([&](store::WriteTxn& txn) -> absl::Status {
    auto g = txn.Get<store::Group>(east_);
    if (!g.ok()) return g.status();
    g->delegated_orgs.clear();
    return txn.Put(*g);
  });
  auto written = store_->Write(std::move(batch));
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(service_->GetGroup(ot, east_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->CreateGroup(ot, east_, "x").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(service_->AddDelegatedOrganization(admin_, "org-acme", "org-other").ok());
  EXPECT_TRUE(service_->GetGroup(ot, east_).ok());
  EXPECT_TRUE(service_->CreateGroup(ot, east_, "x").ok());
}

TEST_F(GroupsTest, SupportIsReadWriteInCustomerOrganizations) {
  auto sup = service_->CreateVendorPrincipal("sup@vendor.example", Role::kSupport);
  ASSERT_TRUE(sup.ok()) << sup.status();
  Caller support = Login(sup->token.secret.view());
  Caller bob = NewPrincipal(admin_, "bob");
  EXPECT_TRUE(service_->CreateGroup(support, east_, "by support").ok());
  EXPECT_TRUE(service_->AddUserRole(support, Ref(bob), east_, Role::kAssigner).ok());
  EXPECT_TRUE(service_->GetGroup(support, "org-acme").ok());
  EXPECT_EQ(*service_->GetUserRoles(support, Ref(bob)),
            (std::map<std::string, Role>{{east_, Role::kAssigner}}));
  // Not: delegations (owner root admins only), the audit log, the vendor organization.
  EXPECT_EQ(service_->AddDelegatedOrganization(support, east_, "org-other").code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->InviteUser(support, "x@vendor.example").status().code(),
            StatusCode::kPermissionDenied);
  // SUPPORT is given by support only, to vendor principals on the vendor's root group.
  auto vendor_user = service_->CreateVendorPrincipal("sup2@vendor.example", Role::kAccountTeam);
  ASSERT_TRUE(vendor_user.ok());
  const UserRef sup2{"sup2@vendor.example", PrincipalKind::kUser, "org-vendor"};
  EXPECT_EQ(
      service_->AddUserRole(account_team_, sup2, "org-vendor", Role::kSupport).status().code(),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->AddUserRole(support, Ref(bob), "org-acme", Role::kSupport).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->AddUserRole(support, sup2, "org-vendor", Role::kSupport).status().code(),
            StatusCode::kAlreadyExists);  // account-team there already: one role per group
  EXPECT_EQ(service_->RemoveUserRole(support, sup2, "org-vendor").code(),
            StatusCode::kPermissionDenied);  // an account-team role: vendor admins only
}

}  // namespace
}  // namespace masa::service::testing
