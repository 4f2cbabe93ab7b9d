// Who may do what: the permission matrix, grants, group subtrees, organizations apart, the
// account team, tokens, PDCs, and the audit trail of every state change.
#include <set>
#include <string>
#include <vector>

#include "service/service.h"
#include "service/testing/hsm_fixture.h"

namespace masa::service::testing {
namespace {

TEST_F(ServiceTest, PermissionMatrix) {
  std::string id = Issue("SN-05");
  Caller viewer = User(admin_, "viewer@acme.example", Role::kViewer);
  Caller requestor = User(admin_, "req@acme.example", Role::kRequestor);
  Caller assigner = User(admin_, "asg@acme.example", Role::kAssigner);

  struct Row {
    const char* who;
    Caller* caller;
    StatusCode get, download, request, upload_pdc, invite;
  };
  Row rows[] = {
      {"viewer", &viewer, StatusCode::kOk, StatusCode::kPermissionDenied,
       StatusCode::kPermissionDenied, StatusCode::kPermissionDenied, StatusCode::kPermissionDenied},
      {"requestor", &requestor, StatusCode::kOk, StatusCode::kOk, StatusCode::kOk,
       StatusCode::kPermissionDenied, StatusCode::kPermissionDenied},
      {"assigner", &assigner, StatusCode::kOk, StatusCode::kOk, StatusCode::kOk, StatusCode::kOk,
       StatusCode::kPermissionDenied},
      {"admin", &admin_, StatusCode::kOk, StatusCode::kOk, StatusCode::kOk, StatusCode::kOk,
       StatusCode::kOk},
      {"account-team", &account_team_, StatusCode::kOk, StatusCode::kPermissionDenied,
       StatusCode::kPermissionDenied, StatusCode::kPermissionDenied, StatusCode::kPermissionDenied},
      {"other org", &other_admin_, StatusCode::kNotFound, StatusCode::kNotFound,
       StatusCode::kOk /* its own serial OT-1 */, StatusCode::kOk, StatusCode::kOk},
  };
  int n = 0;
  for (const Row& row : rows) {
    SCOPED_TRACE(row.who);
    const Caller& c = *row.caller;
    EXPECT_EQ(service_->GetVoucher(c, id).status().code(), row.get);
    EXPECT_EQ(service_->DownloadVoucher(c, id).status().code(), row.download);
    std::string serial =
        c.organization_id() == "org-other" ? "OT-1" : absl::StrFormat("SN-%02d", 10 + n);
    Owner* pdc = &acme_pdc_;
    EXPECT_EQ(Request(c, Input({serial}, pdc)).status().code(), row.request);
    EXPECT_EQ(service_->UploadPdc(c, {"", acme_pdc_.pem, "", false, std::nullopt}).status().code(),
              row.upload_pdc);
    EXPECT_EQ(service_->InviteUser(c, absl::StrFormat("u%d@x.example", n)).status().code(),
              row.invite);
    ++n;
  }
  // Archive: assigner yes, requestor no; the other organization cannot see it.
  EXPECT_EQ(service_->ArchiveVoucher(requestor, id).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->ArchiveVoucher(other_admin_, id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->ArchiveVoucher(account_team_, id).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(service_->ArchiveVoucher(assigner, id).ok());
  // Renew needs request.
  std::string id2 = Issue("SN-06");
  EXPECT_EQ(Renew(viewer, id2).status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Renew(requestor, id2).ok());
  // Roles, groups and tokens of others are for admins.
  EXPECT_EQ(service_->CreateGroup(assigner, "", "west").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->BindRole(requestor, requestor.principal_id(), "org-acme", Role::kAdmin)
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(
      service_->CreateToken(requestor, {viewer.principal_id(), std::nullopt, ""}).status().code(),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->ListAudit(requestor, {}).status().code(), StatusCode::kPermissionDenied);
  // Only the account team assigns serials.
  EXPECT_EQ(service_->AssignSerials(admin_, {"org-acme", "", {{"", "NEW-1", "", "", {}}}, false})
                .status()
                .code(),
            StatusCode::kPermissionDenied);
}

TEST_F(ServiceTest, ViewerWithGrantsGainsExactlyThosePermissions) {
  std::string id = Issue("SN-07");
  std::string binding;
  Caller user = User(admin_, "user@acme.example", Role::kViewer, "", &binding);
  EXPECT_EQ(service_->DownloadVoucher(user, id).status().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(service_->GrantPermission(admin_, binding, Grant::kDownload).ok());
  EXPECT_TRUE(service_->DownloadVoucher(user, id).ok());
  EXPECT_EQ(Request(user, Input({"SN-08"})).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->ArchiveVoucher(user, id).status().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(service_->GrantPermission(admin_, binding, Grant::kRequest).ok());
  auto r = Request(user, Input({"SN-08"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(StatusName(r->serials[0].status), "completed");
  ASSERT_TRUE(service_->RevokePermission(admin_, binding, Grant::kDownload).ok());
  EXPECT_EQ(service_->DownloadVoucher(user, id).status().code(), StatusCode::kPermissionDenied);
  // A name that is no grant ("admin") never reaches the service: the API refuses it with 400
  // (api/rest_api_test.cc RoleAndGrantNamesAreParsedAtTheEdge).
  EXPECT_EQ(service_->GrantPermission(user, binding, Grant::kArchive).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(ServiceTest, GroupBindingCoversItsSubtreeOnly) {
  Caller east_req = User(admin_, "east@acme.example", Role::kRequestor, east_);
  auto r = Request(east_req, Input({"EAST-1", "SN-09"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(StatusName(r->serials[0].status), "completed");
  EXPECT_EQ(StatusName(r->serials[1].status), "failed");
  EXPECT_EQ(r->serials[1].code, StatusCode::kNotFound);  // not visible to an east-only user
  auto sub = service_->CreateGroup(admin_, east_, "east-dc1");
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(service_->PlaceSerials(admin_, sub->group_id, {{"", "EAST-2"}}).ok());
  auto r2 = Request(east_req, Input({"EAST-2"}));
  ASSERT_TRUE(r2.ok());
  // The subgroup is in the binding's subtree.
  EXPECT_EQ(StatusName(r2->serials[0].status), "completed");
  std::string root_voucher = Issue("SN-09");
  EXPECT_EQ(service_->GetVoucher(east_req, root_voucher).status().code(), StatusCode::kNotFound);
  auto page = service_->ListVouchers(east_req, {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 2u);
  auto groups = service_->ListGroups(east_req);
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(groups->size(), 2u);  // east and east-dc1, not the root
  // Groups with children or serials stay.
  EXPECT_EQ(service_->DeleteGroup(admin_, east_).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->DeleteGroup(admin_, sub->group_id).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(service_->PlaceSerials(admin_, east_, {{"", "EAST-2"}}).ok());
  EXPECT_TRUE(service_->DeleteGroup(admin_, sub->group_id).ok());
  EXPECT_EQ(service_->DeleteGroup(admin_, "org-acme").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->CreateGroup(admin_, "", "east").status().code(), StatusCode::kAlreadyExists);
}

TEST_F(ServiceTest, AnotherOrganizationSeesAndTouchesNothing) {
  std::string id = Issue("SN-11");
  auto pdc = service_->UploadPdc(admin_, {"acme", acme_pdc_.pem, "", false, std::nullopt});
  ASSERT_TRUE(pdc.ok()) << pdc.status();
  auto req = service_->GetVoucher(admin_, id)->req_id;
  const Caller& o = other_admin_;
  EXPECT_EQ(service_->ListVouchers(o, {})->total, 0u);
  EXPECT_EQ(service_->GetVoucher(o, id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->DownloadVoucher(o, id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->GetRequest(o, req).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->DownloadRequest(o, req).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Renew(o, id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->ArchiveVoucher(o, id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->InclusionProof(o, id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(service_->ListPdcs(o)->empty());
  EXPECT_EQ(service_->GetPdc(o, pdc->cert_id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->DeletePdc(o, pdc->cert_id).code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->BindRole(o, o.principal_id(), "org-acme", Role::kAdmin).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(
      service_->BindRole(o, admin_.principal_id(), "org-other", Role::kViewer).status().code(),
      StatusCode::kNotFound);
  EXPECT_EQ(service_->CreateGroup(o, "org-acme", "x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->DeleteGroup(o, east_).code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->PlaceSerials(o, "org-other", {{"", "SN-11"}}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->DisablePrincipal(o, admin_.principal_id()).code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->RevokeToken(o, admin_.token_id()).code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->ListTokens(o, admin_.principal_id())->size(), 0u);
  EXPECT_EQ(service_->ListBindings(o, admin_.principal_id())->size(), 0u);
  auto groups = service_->ListGroups(o);
  ASSERT_TRUE(groups.ok());
  for (const auto& g : *groups) EXPECT_EQ(g.organization_id, "org-other");
  auto principals = service_->ListPrincipals(o);
  ASSERT_TRUE(principals.ok());
  for (const auto& p : *principals) EXPECT_EQ(p.organization_id, "org-other");
  EXPECT_EQ(service_->ListAudit(o, {"org-acme", 0, 100}).status().code(), StatusCode::kNotFound);
  auto audit = service_->ListAudit(o, {});
  ASSERT_TRUE(audit.ok());
  EXPECT_FALSE(audit->entries.empty());
  for (const auto& e : audit->entries) EXPECT_EQ(e.target.rfind("org-other/", 0), 0u) << e.target;
  // And acme still has all of it.
  EXPECT_TRUE(service_->GetVoucher(admin_, id).ok());
}

TEST_F(ServiceTest, AccountTeamViewsEveryOrganizationAndAssigns) {
  std::string id = Issue("SN-12");
  auto page = service_->ListVouchers(account_team_, {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 1u);
  EXPECT_TRUE(service_->GetVoucher(account_team_, id).ok());
  auto audit = service_->ListAudit(account_team_, {"org-acme", 0, 1000});
  ASSERT_TRUE(audit.ok()) << audit.status();
  bool saw_issue = false;
  for (const auto& e : audit->entries) {
    EXPECT_EQ(e.target.rfind("org-acme/", 0), 0u);
    saw_issue |= e.action == "voucher.issue";
  }
  EXPECT_TRUE(saw_issue);
  // Thousands at once, in several store transactions.
  AssignInput big{"org-other", "", {}, false};
  for (int i = 0; i < 2500; ++i)
    big.serials.push_back({"", absl::StrFormat("BULK-%05d", i), "m", "", {}});
  auto r = service_->AssignSerials(account_team_, big);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->assigned, 2500u);
  r = service_->AssignSerials(account_team_, big);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->unchanged, 2500u);
  // Moving a serial of another organization needs reassign.
  AssignInput steal{"org-other", "", {{"", "SN-13", "", "", {}}}, false};
  EXPECT_EQ(service_->AssignSerials(account_team_, steal).status().code(),
            StatusCode::kFailedPrecondition);
  steal.reassign = true;
  EXPECT_TRUE(service_->AssignSerials(account_team_, steal).ok());
  auto lost = Request(admin_, Input({"SN-13"}));
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(lost->serials[0].code, StatusCode::kNotFound);
}

TEST_F(ServiceTest, TokensExpireAndRevokeAtOnce) {
  auto p = service_->CreateServiceAccount(admin_, "ztp-server");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(service_->BindRole(admin_, p->principal_id, "org-acme", Role::kRequestor).ok());
  auto t = service_->CreateToken(admin_, {p->principal_id, absl::Hours(1), "ztp"});
  ASSERT_TRUE(t.ok()) << t.status();
  std::string secret(t->secret.view());
  EXPECT_EQ(secret.rfind("masa_", 0), 0u);
  auto caller = service_->Authenticate(secret);
  ASSERT_TRUE(caller.ok());
  EXPECT_TRUE(service_->ListVouchers(*caller, {}).ok());
  // Lists show the id, never the secret, and nothing stored contains it.
  auto list = service_->ListTokens(admin_, p->principal_id);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].token_id, t->info.token_id);
  auto audit = service_->ListAudit(admin_, {"", 0, 1000});
  for (const auto& e : audit->entries) {
    EXPECT_EQ(e.outcome.find(secret.substr(5, 20)), std::string::npos);
    EXPECT_EQ(e.target.find(secret.substr(5, 20)), std::string::npos);
  }
  // Expired: refused at once, also for a Caller obtained before.
  clock_.Set(clock_.Now() + absl::Hours(2));
  auto expired = service_->Authenticate(secret);
  EXPECT_EQ(expired.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(std::string(expired.status().message()).find(secret), std::string::npos);
  EXPECT_EQ(service_->ListVouchers(*caller, {}).status().code(), StatusCode::kUnauthenticated);
  // Revoked: likewise.
  auto t2 = service_->CreateToken(admin_, {p->principal_id, std::nullopt, ""});
  ASSERT_TRUE(t2.ok());
  Caller c2 = Login(t2->secret.view());
  ASSERT_TRUE(service_->RevokeToken(admin_, t2->info.token_id).ok());
  EXPECT_EQ(service_->Authenticate(t2->secret.view()).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->GetVoucher(c2, "v-x").status().code(), StatusCode::kUnauthenticated);
  // Disabled principal: every token stops.
  auto t3 = service_->CreateToken(admin_, {p->principal_id, std::nullopt, ""});
  ASSERT_TRUE(service_->DisablePrincipal(admin_, p->principal_id).ok());
  EXPECT_EQ(service_->Authenticate(t3->secret.view()).status().code(),
            StatusCode::kUnauthenticated);
  // Limits and garbage.
  EXPECT_EQ(service_->CreateToken(admin_, {"", absl::Hours(24 * 200), ""}).status().code(),
            StatusCode::kInvalidArgument);
  auto garbage = service_->Authenticate("Bearer hunter2");
  EXPECT_EQ(garbage.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(std::string(garbage.status().message()).find("hunter2"), std::string::npos);
  EXPECT_EQ(service_->Authenticate("masa_" + std::string(43, 'A')).status().code(),
            StatusCode::kUnauthenticated);
  // A user may make and revoke its own tokens.
  Caller v = User(admin_, "self@acme.example", Role::kViewer);
  auto own = service_->CreateToken(v, {"", absl::Hours(5), "laptop"});
  ASSERT_TRUE(own.ok());
  EXPECT_TRUE(service_->RevokeToken(v, own->info.token_id).ok());
}

TEST_F(ServiceTest, EveryStateChangeIsAudited) {
  std::string id = Issue("SN-16");
  ASSERT_TRUE(Renew(admin_, id).ok());
  ASSERT_TRUE(service_->ArchiveVoucher(admin_, id).ok());
  auto pdc = service_->UploadPdc(admin_, {"", acme_pdc_.der, "", false, std::nullopt});
  ASSERT_TRUE(pdc.ok()) << pdc.status();
  ASSERT_TRUE(service_->DeletePdc(admin_, pdc->cert_id).ok());
  auto user = service_->InviteUser(admin_, "bob@acme.example");
  auto sa = service_->CreateServiceAccount(admin_, "bot");
  auto b = service_->BindRole(admin_, user->principal_id, "org-acme", Role::kViewer);
  ASSERT_TRUE(service_->GrantPermission(admin_, b->binding_id, Grant::kDownload).ok());
  ASSERT_TRUE(service_->RevokePermission(admin_, b->binding_id, Grant::kDownload).ok());
  ASSERT_TRUE(service_->DeleteBinding(admin_, b->binding_id).ok());
  auto t = service_->CreateToken(admin_, {sa->principal_id, std::nullopt, ""});
  ASSERT_TRUE(service_->RevokeToken(admin_, t->info.token_id).ok());
  ASSERT_TRUE(service_->DisablePrincipal(admin_, sa->principal_id).ok());
  auto g = service_->CreateGroup(admin_, "", "lab");
  ASSERT_TRUE(service_->PlaceSerials(admin_, g->group_id, {{"", "SN-17"}}).ok());
  ASSERT_TRUE(service_->PlaceSerials(admin_, "org-acme", {{"", "SN-17"}}).ok());
  ASSERT_TRUE(service_->DeleteGroup(admin_, g->group_id).ok());
  auto actions = AuditActions();
  std::set<std::string> got(actions.begin(), actions.end());
  for (const char* a : {"org.create",
                        "user.invite",
                        "role.bind",
                        "token.create",
                        "serial.assign",
                        "group.create",
                        "voucher.issue",
                        "request.create",
                        "voucher.renew",
                        "voucher.archive",
                        "pdc.upload",
                        "pdc.delete",
                        "service-account.create",
                        "permission.grant",
                        "permission.revoke",
                        "role.unbind",
                        "token.revoke",
                        "principal.disable",
                        "serial.place",
                        "group.delete"}) {
    EXPECT_TRUE(got.count(a)) << a;
  }
  // Every entry names its actor and an organization-scoped target.
  auto snap = store_->Read();
  for (uint64_t i = 0; i < *snap->AuditSize(); ++i) {
    auto e = snap->GetAuditEntry(i);
    EXPECT_FALSE(e->actor.empty());
    EXPECT_EQ(e->target.rfind("org-", 0), 0u) << e->target;
  }
}

TEST_F(ServiceTest, UploadedPdcCanBeUsedByIdAndDeleted) {
  Caller requestor = User(admin_, "r3@acme.example", Role::kRequestor);
  auto pdc = service_->UploadPdc(admin_, {"", acme_pdc_.pem, "", false, std::nullopt});
  ASSERT_TRUE(pdc.ok()) << pdc.status();
  EXPECT_EQ(pdc->pdc_organization, "Acme Corp");
  EXPECT_EQ(pdc->name, "Acme Owner CA");
  EXPECT_EQ(pdc->certificate_der, acme_pdc_.der);
  EXPECT_EQ(service_->ListPdcs(requestor)->size(), 1u);
  VoucherRequestInput in;
  in.serial_numbers = {"SN-25"};
  in.pdc_cert_id = pdc->cert_id;
  auto r = Request(requestor, in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(StatusName(r->serials[0].status), "completed");
  EXPECT_EQ(service_->GetVoucher(admin_, r->serials[0].voucher_id)->pdc_id, pdc->cert_id);
  EXPECT_EQ(service_->DeletePdc(requestor, pdc->cert_id).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(service_->DeletePdc(admin_, pdc->cert_id).ok());
  EXPECT_EQ(service_->GetPdc(admin_, pdc->cert_id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->UploadPdc(admin_, {"", "garbage", "", false, std::nullopt}).status().code(),
            StatusCode::kInvalidArgument);
  // Vouchers issued with it still renew: the certificate lives in their CMS.
  EXPECT_TRUE(Renew(admin_, r->serials[0].voucher_id).ok());
}

}  // namespace
}  // namespace masa::service::testing
