// The service against the real store (temp LMDB), a real SoftHSM2 token behind the OpenSSL
// provider, and the real work queue (fixture: internal/test_fixture.h).
#include "service/internal/test_fixture.h"

#include <set>

#include "common/sha256.h"

namespace masa::service::testing {
namespace {

TEST_F(ServiceTest, IssuedVoucherVerifiesOnTheDeviceSide) {
  auto r = Request(admin_, Input({"SN-00"}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->serials.size(), 1u);
  ASSERT_EQ(StatusName(r->serials[0].status), "completed") << r->serials[0].reason;
  auto file = service_->DownloadVoucher(admin_, r->serials[0].voucher_id);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->serial_number, "SN-00");
  auto v = Verify(file->cms, "SN-00");
  ASSERT_TRUE(v.ok()) << v.status;
  EXPECT_EQ(*v.voucher.pinned_domain_cert, acme_pdc_.der);
  EXPECT_EQ(v.voucher.assertion, signer::Assertion::kLogged);  // the default setting
  EXPECT_FALSE(v.voucher.platform_key_certificate.has_value());
  EXPECT_EQ(*v.voucher.created_on, clock_.Now());
  EXPECT_EQ(*v.voucher.expires_on, clock_.Now() + absl::Hours(24 * 365));
  EXPECT_FALSE(v.voucher.domain_cert_revocation_checks.has_value());
  // A device with another serial refuses it.
  EXPECT_FALSE(Verify(file->cms, "SN-01").ok());

  auto info = service_->GetVoucher(admin_, r->serials[0].voucher_id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->req_id, r->req_id);
  EXPECT_EQ(StatusName(info->status), "completed");
  EXPECT_EQ(info->assertion, "logged");
  EXPECT_EQ(info->pdc_organization, "Acme Corp");
  EXPECT_EQ(info->requested_by, "admin@acme.example");
  EXPECT_EQ(info->serial_number, "SN-00");
  EXPECT_EQ(info->created_at, clock_.Now());
  EXPECT_FALSE(info->last_renewal_at.has_value());
  EXPECT_EQ(info->content_type_oid, "1.2.840.113549.1.9.16.1.40");
}

TEST_F(ServiceTest, ProfilesChooseContentTypeAndRevocationLeaf) {
  VoucherRequestInput in = Input({"SN-01"});
  in.os_type = "ios-xe";
  in.security_profile = "revocation-checks";
  auto r = Request(admin_, in);
  ASSERT_TRUE(r.ok()) << r.status();
  auto file = service_->DownloadVoucher(admin_, r->serials[0].voucher_id);
  ASSERT_TRUE(file.ok());
  auto parsed = signer::ParseSignedData(file->cms);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->content_type, signer::CmsContentType::kData);
  auto v = Verify(file->cms, "SN-01");
  ASSERT_TRUE(v.ok()) << v.status;
  EXPECT_EQ(v.voucher.domain_cert_revocation_checks, true);

  in.os_type = "windows";
  EXPECT_EQ(Request(admin_, in).status().code(), StatusCode::kInvalidArgument);
  in.os_type = "";
  in.security_profile = "paranoid";
  EXPECT_EQ(Request(admin_, in).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, TwentySerialsAreIssuedAndTwentyOneRefused) {
  std::vector<std::string> serials;
  for (int i = 0; i < 20; ++i) serials.push_back(absl::StrFormat("SN-%02d", i));
  auto r = Request(admin_, Input(serials));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->serials.size(), 20u);
  std::set<std::string> ids;
  for (const auto& s : r->serials) {
    EXPECT_EQ(StatusName(s.status), "completed") << s.reason;
    ids.insert(s.voucher_id);
  }
  EXPECT_EQ(ids.size(), 20u);
  auto req = service_->GetRequest(admin_, r->req_id);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->vouchers.size(), 20u);
  EXPECT_EQ(StatusName(req->status), "completed");
  auto files = service_->DownloadRequest(admin_, r->req_id);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 20u);
  for (const auto& f : *files) EXPECT_TRUE(Verify(f.cms, f.serial_number).ok());

  uint64_t before = AuditSize();
  serials.push_back("SN-20");
  auto refused = Request(admin_, Input(serials));
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("21"), absl::string_view::npos)
      << refused.status();
  EXPECT_EQ(Request(admin_, Input({})).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AuditSize(), before);
}

TEST_F(ServiceTest, BadInputIsRefusedUpFront) {
  uint64_t before = AuditSize();
  VoucherRequestInput in = Input({"SN-00", "SN-00"});
  EXPECT_EQ(Request(admin_, in).status().code(), StatusCode::kInvalidArgument);
  in = Input({"SN-00"});
  in.pdc_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  EXPECT_EQ(Request(admin_, in).status().code(), StatusCode::kInvalidArgument);
  in = Input({"SN-00"});
  in.pdc_cert_id = "org-acme.pdc-nope";
  EXPECT_EQ(Request(admin_, in).status().code(), StatusCode::kInvalidArgument);  // both given
  in.pdc_pem.clear();
  EXPECT_EQ(Request(admin_, in).status().code(), StatusCode::kNotFound);
  in = Input({"SN-00"});
  in.expires_at = clock_.Now() - absl::Hours(1);
  EXPECT_EQ(Request(admin_, in).status().code(), StatusCode::kInvalidArgument);
  in.expires_at = clock_.Now() + absl::Hours(24 * 365 * 4);  // beyond max_validity
  EXPECT_EQ(Request(admin_, in).status().code(), StatusCode::kInvalidArgument);
  in.expires_at = clock_.Now() + absl::Hours(24 * 900);  // beyond the PDC's notAfter
  EXPECT_EQ(Request(admin_, in).status().code(), StatusCode::kInvalidArgument);
  in = Input({"SN 00"});
  EXPECT_EQ(Request(admin_, in).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AuditSize(), before);
}

TEST_F(ServiceTest, SerialOfAnotherOrganizationFailsWhileOthersProceed) {
  auto r = Request(admin_, Input({"SN-00", "OT-1", "NOPE-1", "EAST-0"}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->serials.size(), 4u);
  EXPECT_EQ(StatusName(r->serials[0].status), "completed");
  EXPECT_EQ(StatusName(r->serials[1].status), "failed");
  EXPECT_EQ(r->serials[1].code, StatusCode::kNotFound);
  EXPECT_EQ(r->serials[2].code, StatusCode::kNotFound);
  // Same words whether the serial exists elsewhere or not at all.
  EXPECT_EQ(r->serials[1].reason.substr(r->serials[1].reason.find(' ', 7)),
            r->serials[2].reason.substr(r->serials[2].reason.find(' ', 7)));
  EXPECT_EQ(StatusName(r->serials[3].status), "completed");
  auto req = service_->GetRequest(admin_, r->req_id);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(StatusName(req->status), "partial");
  EXPECT_EQ(StatusName(req->serials[1].status), "failed");
  EXPECT_EQ(req->serials[1].code, StatusCode::kNotFound);
  EXPECT_EQ(req->vouchers.size(), 2u);
}

TEST_F(ServiceTest, OverrideIsNeededForALiveVoucherPinnedElsewhere) {
  std::string first = Issue("SN-02");
  // Same PDC again: no conflict.
  auto same = Request(admin_, Input({"SN-02"}));
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(StatusName(same->serials[0].status), "completed");
  auto other = Request(admin_, Input({"SN-02"}, &acme_pdc2_));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(StatusName(other->serials[0].status), "failed");
  EXPECT_EQ(other->serials[0].code, StatusCode::kAlreadyExists);
  VoucherRequestInput in = Input({"SN-02"}, &acme_pdc2_);
  in.override_conflicts = true;
  auto forced = Request(admin_, in);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(StatusName(forced->serials[0].status), "completed");
  auto info = service_->GetVoucher(admin_, forced->serials[0].voucher_id);
  EXPECT_EQ(info->pdc_organization, "Acme Labs");
}

TEST_F(ServiceTest, ExpiryEndsTheConflictAndOnlyLiveVouchersCount) {
  // A short-lived voucher pinned to the first certificate, then a year-long one on it.
  VoucherRequestInput short_lived = Input({"SN-05"});
  short_lived.expires_at = clock_.Now() + absl::Hours(24);
  auto r = Request(admin_, short_lived);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(StatusName(r->serials[0].status), "completed") << r->serials[0].reason;
  VoucherRequestInput other_in = Input({"SN-05"}, &acme_pdc2_);
  other_in.override_conflicts = true;
  auto other = Request(admin_, other_in);  // now pinned to both
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(StatusName(other->serials[0].status), "completed");
  // Asking for the first certificate conflicts with the live second one, and the reason
  // names it.
  auto first_again = Request(admin_, Input({"SN-05"}));
  ASSERT_TRUE(first_again.ok());
  EXPECT_EQ(first_again->serials[0].code, StatusCode::kAlreadyExists);
  EXPECT_NE(first_again->serials[0].reason.find(other->serials[0].voucher_id), std::string::npos)
      << first_again->serials[0].reason;
  // Once the short-lived voucher of the first certificate has expired, the second
  // certificate is free to be requested without override.
  clock_.Set(clock_.Now() + absl::Hours(48));
  auto second_again = Request(admin_, Input({"SN-05"}, &acme_pdc2_));
  ASSERT_TRUE(second_again.ok());
  EXPECT_EQ(StatusName(second_again->serials[0].status), "completed")
      << second_again->serials[0].reason;
}

TEST_F(ServiceTest, ArchiveEndsTheConflictAndIsAudited) {
  std::string id = Issue("SN-03");
  auto archived = service_->ArchiveVoucher(admin_, id);
  ASSERT_TRUE(archived.ok()) << archived.status();
  EXPECT_EQ(StatusName(archived->status), "archived");
  EXPECT_EQ(service_->ArchiveVoucher(admin_, id).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Renew(admin_, id).status().code(), StatusCode::kFailedPrecondition);
  auto r = Request(admin_, Input({"SN-03"}, &acme_pdc2_));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(StatusName(r->serials[0].status), "completed") << r->serials[0].reason;
  auto actions = AuditActions();
  EXPECT_NE(std::find(actions.begin(), actions.end(), "voucher.archive"), actions.end());
}

TEST_F(ServiceTest, RenewResignsWithFreshValidity) {
  std::string id = Issue("SN-04");
  auto before = service_->DownloadVoucher(admin_, id);
  absl::Time issued = clock_.Now();
  clock_.Set(issued + absl::Hours(24 * 20));
  auto r = Renew(admin_, id);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->serials[0].voucher_id, id);
  auto info = service_->GetVoucher(admin_, id);
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->last_renewal_at.has_value());
  EXPECT_EQ(*info->last_renewal_at, clock_.Now());
  EXPECT_EQ(info->created_at, issued);
  EXPECT_EQ(info->expires_at, clock_.Now() + absl::Hours(24 * 365));
  auto after = service_->DownloadVoucher(admin_, id);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->cms, before->cms);
  auto v = Verify(after->cms, "SN-04");
  ASSERT_TRUE(v.ok()) << v.status;
  EXPECT_EQ(*v.voucher.created_on, clock_.Now());
  EXPECT_EQ(*v.voucher.pinned_domain_cert, acme_pdc_.der);
  auto actions = AuditActions();
  EXPECT_NE(std::find(actions.begin(), actions.end(), "voucher.renew"), actions.end());
}

TEST_F(ServiceTest, AssertionIsASettingAndARenewalKeepsTheVouchersOwn) {
  RestartWithAssertion(signer::Assertion::kProximity);
  std::string id = Issue("SN-06");
  auto first = service_->DownloadVoucher(admin_, id);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Verify(first->cms, "SN-06").voucher.assertion, signer::Assertion::kProximity);
  EXPECT_EQ(service_->GetVoucher(admin_, id)->assertion, "proximity");
  // The vendor changes the setting; the voucher renewed afterwards still says what it said.
  RestartWithAssertion(signer::Assertion::kVerified);
  clock_.Set(clock_.Now() + absl::Hours(24));
  ASSERT_TRUE(Renew(admin_, id).ok());
  auto renewed = service_->DownloadVoucher(admin_, id);
  ASSERT_TRUE(renewed.ok());
  auto v = Verify(renewed->cms, "SN-06");
  ASSERT_TRUE(v.ok()) << v.status;
  EXPECT_EQ(v.voucher.assertion, signer::Assertion::kProximity);
  EXPECT_EQ(service_->GetVoucher(admin_, id)->assertion, "proximity");
  // New vouchers follow the new setting.
  auto other = service_->DownloadVoucher(admin_, Issue("SN-07"));
  EXPECT_EQ(Verify(other->cms, "SN-07").voucher.assertion, signer::Assertion::kVerified);
}

TEST_F(ServiceTest, PlatformCertificateIssuedByThePdcIsCarriedByTheVoucherAndItsRenewal) {
  const absl::Time now = clock_.Now();
  VoucherRequestInput in = Input({"SN-08"});
  in.platform_certificate_pem = PlatformCert(acme_pdc_.cert.get(), acme_pdc_.key.get(),
                                             now - absl::Hours(1), now + absl::Hours(24 * 400));
  const std::string pk_der = *CertificateToDer(ParseCertificate(in.platform_certificate_pem)->get());
  auto r = Request(admin_, in);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(StatusName(r->serials[0].status), "completed") << r->serials[0].reason;
  const std::string id = r->serials[0].voucher_id;
  auto file = service_->DownloadVoucher(admin_, id);
  ASSERT_TRUE(file.ok());
  auto v = Verify(file->cms, "SN-08");
  ASSERT_TRUE(v.ok()) << v.status;
  EXPECT_EQ(v.voucher.platform_key_certificate, pk_der);
  EXPECT_NE(signer::ParseSignedData(file->cms)->content.find(
                "\"masa-extended-voucher:platform-key-certificate\":\""),
            std::string::npos);
  // The renewal re-signs with the same certificate.
  clock_.Set(now + absl::Hours(24));
  ASSERT_TRUE(Renew(admin_, id).ok());
  auto renewed = service_->DownloadVoucher(admin_, id);
  ASSERT_TRUE(renewed.ok());
  ASSERT_NE(renewed->cms, file->cms);
  EXPECT_EQ(Verify(renewed->cms, "SN-08").voucher.platform_key_certificate, pk_der);
}

TEST_F(ServiceTest, PlatformCertificateNotIssuedByThePdcIsRefused) {
  const absl::Time now = clock_.Now();
  const uint64_t audit_before = AuditSize();
  auto refused = [&](const std::string& pem, const std::string& why) {
    SCOPED_TRACE(why);
    VoucherRequestInput in = Input({"SN-09"});
    in.platform_certificate_pem = pem;
    auto r = Request(admin_, in);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
    EXPECT_NE(std::string(r.status().message()).find("platform_cert: " + why), std::string::npos)
        << r.status();
  };
  const absl::Time from = now - absl::Hours(1), to = now + absl::Hours(24 * 400);
  // Issued by the other PDC of the same organization, not the one this request pins.
  refused(PlatformCert(acme_pdc2_.cert.get(), acme_pdc2_.key.get(), from, to),
          "not issued by the pinned-domain certificate: its issuer");
  // Same issuer name as the PDC, another key: an impostor.
  Owner impostor = MakeOwner("CN=Acme Owner CA,O=Acme Corp", now, absl::Hours(24 * 800));
  refused(PlatformCert(impostor.cert.get(), impostor.key.get(), from, to),
          "not issued by the pinned-domain certificate: its signature");
  // Self-signed.
  refused(acme_pdc2_.pem, "not issued by the pinned-domain certificate");
  // Issued by the PDC but expired, or not yet valid.
  refused(PlatformCert(acme_pdc_.cert.get(), acme_pdc_.key.get(), now - absl::Hours(48),
                       now - absl::Hours(24)),
          "not valid now");
  refused(PlatformCert(acme_pdc_.cert.get(), acme_pdc_.key.get(), now + absl::Hours(24),
                       to),
          "not valid now");
  // Not a certificate; two certificates.
  refused("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a PEM");
  refused(PlatformCert(acme_pdc_.cert.get(), acme_pdc_.key.get(), from, to) + acme_pdc_.pem,
          "expected one certificate, got 2");
  EXPECT_EQ(AuditSize(), audit_before) << "a refused request writes nothing";
}

TEST_F(ServiceTest, PermissionMatrix) {
  std::string id = Issue("SN-05");
  Caller viewer = User(admin_, "viewer@acme.example", "viewer");
  Caller requestor = User(admin_, "req@acme.example", "requestor");
  Caller assigner = User(admin_, "asg@acme.example", "assigner");

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
       StatusCode::kPermissionDenied, StatusCode::kPermissionDenied,
       StatusCode::kPermissionDenied},
      {"other org", &other_admin_, StatusCode::kNotFound, StatusCode::kNotFound,
       StatusCode::kOk /* its own serial OT-1 */, StatusCode::kOk, StatusCode::kOk},
  };
  int n = 0;
  for (const Row& row : rows) {
    SCOPED_TRACE(row.who);
    const Caller& c = *row.caller;
    EXPECT_EQ(service_->GetVoucher(c, id).status().code(), row.get);
    EXPECT_EQ(service_->DownloadVoucher(c, id).status().code(), row.download);
    std::string serial = c.organization_id() == "org-other" ? "OT-1" : absl::StrFormat("SN-%02d", 10 + n);
    Owner* pdc = &acme_pdc_;
    EXPECT_EQ(Request(c, Input({serial}, pdc)).status().code(), row.request);
    EXPECT_EQ(service_->UploadPdc(c, {"", acme_pdc_.pem, ""}).status().code(), row.upload_pdc);
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
  EXPECT_EQ(service_->BindRole(requestor, requestor.principal_id(), "org-acme", "admin")
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->CreateToken(requestor, {viewer.principal_id(), std::nullopt, ""})
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->ListAudit(requestor, {}).status().code(), StatusCode::kPermissionDenied);
  // Only the account team assigns serials.
  EXPECT_EQ(service_->AssignSerials(admin_, {"org-acme", "", {{"", "NEW-1", ""}}, false})
                .status()
                .code(),
            StatusCode::kPermissionDenied);
}

TEST_F(ServiceTest, ViewerWithGrantsGainsExactlyThosePermissions) {
  std::string id = Issue("SN-07");
  std::string binding;
  Caller user = User(admin_, "user@acme.example", "viewer", "", &binding);
  EXPECT_EQ(service_->DownloadVoucher(user, id).status().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(service_->GrantPermission(admin_, binding, "download").ok());
  EXPECT_TRUE(service_->DownloadVoucher(user, id).ok());
  EXPECT_EQ(Request(user, Input({"SN-08"})).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->ArchiveVoucher(user, id).status().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(service_->GrantPermission(admin_, binding, "request").ok());
  auto r = Request(user, Input({"SN-08"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(StatusName(r->serials[0].status), "completed");
  ASSERT_TRUE(service_->RevokePermission(admin_, binding, "download").ok());
  EXPECT_EQ(service_->DownloadVoucher(user, id).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->GrantPermission(admin_, binding, "admin").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->GrantPermission(user, binding, "archive").status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(ServiceTest, GroupBindingCoversItsSubtreeOnly) {
  Caller east_req = User(admin_, "east@acme.example", "requestor", east_);
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
  EXPECT_EQ(service_->DeleteGroup(admin_, "org-acme").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->CreateGroup(admin_, "", "east").status().code(), StatusCode::kAlreadyExists);
}

TEST_F(ServiceTest, AnotherOrganizationSeesAndTouchesNothing) {
  std::string id = Issue("SN-11");
  auto pdc = service_->UploadPdc(admin_, {"acme", acme_pdc_.pem, ""});
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
  EXPECT_EQ(service_->BindRole(o, o.principal_id(), "org-acme", "admin").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->BindRole(o, admin_.principal_id(), "org-other", "viewer").status().code(),
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
  for (int i = 0; i < 2500; ++i) big.serials.push_back({"", absl::StrFormat("BULK-%05d", i), "m"});
  auto r = service_->AssignSerials(account_team_, big);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->assigned, 2500u);
  r = service_->AssignSerials(account_team_, big);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->unchanged, 2500u);
  // Moving a serial of another organization needs reassign.
  AssignInput steal{"org-other", "", {{"", "SN-13", ""}}, false};
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
  ASSERT_TRUE(service_->BindRole(admin_, p->principal_id, "org-acme", "requestor").ok());
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
  Caller v = User(admin_, "self@acme.example", "viewer");
  auto own = service_->CreateToken(v, {"", absl::Hours(5), "laptop"});
  ASSERT_TRUE(own.ok());
  EXPECT_TRUE(service_->RevokeToken(v, own->info.token_id).ok());
}

TEST_F(ServiceTest, FullQueueRefusesTheWholeRequestAndWritesNothing) {
  service_.reset();
  MakeQueue({.workers = 1, .capacity = 2, .max_batch = 1});
  ServiceOptions options;
  options.store = store_.get();
  options.work_queue = queue_.get();
  options.signing_keys = SharedPki().keys;
  options.clock = &clock_;
  service_ = *Service::Create(options);
  absl::Notification started, release;
  ASSERT_TRUE(queue_->TryEnqueueAll({{[&] { started.Notify(); release.WaitForNotification(); }, {}}}).ok());
  started.WaitForNotification();
  ASSERT_TRUE(queue_->TryEnqueueAll({{[] {}, {}}}).ok());  // one of two slots left
  uint64_t before = AuditSize();
  auto r = Request(admin_, Input({"SN-14", "SN-15"}));
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status();
  EXPECT_EQ(AuditSize(), before);
  EXPECT_TRUE(service_->ListVouchers(admin_, {})->vouchers.empty());
  EXPECT_EQ(service_->metrics().requests_busy.load(), 1u);
  release.Notify();
  // Once drained, the same request goes through.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (queue_->depth() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  auto ok = Request(admin_, Input({"SN-14", "SN-15"}));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(StatusName(ok->serials[1].status), "completed");
}

TEST_F(ServiceTest, EveryStateChangeIsAudited) {
  std::string id = Issue("SN-16");
  ASSERT_TRUE(Renew(admin_, id).ok());
  ASSERT_TRUE(service_->ArchiveVoucher(admin_, id).ok());
  auto pdc = service_->UploadPdc(admin_, {"", acme_pdc_.der, ""});
  ASSERT_TRUE(pdc.ok()) << pdc.status();
  ASSERT_TRUE(service_->DeletePdc(admin_, pdc->cert_id).ok());
  auto user = service_->InviteUser(admin_, "bob@acme.example");
  auto sa = service_->CreateServiceAccount(admin_, "bot");
  auto b = service_->BindRole(admin_, user->principal_id, "org-acme", "viewer");
  ASSERT_TRUE(service_->GrantPermission(admin_, b->binding_id, "download").ok());
  ASSERT_TRUE(service_->RevokePermission(admin_, b->binding_id, "download").ok());
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
  for (const char* a : {"org.create", "user.invite", "role.bind", "token.create", "serial.assign",
                        "group.create", "voucher.issue", "request.create", "voucher.renew",
                        "voucher.archive", "pdc.upload", "pdc.delete", "service-account.create",
                        "permission.grant", "permission.revoke", "role.unbind", "token.revoke",
                        "principal.disable", "serial.place", "group.delete"}) {
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

TEST_F(ServiceTest, ListFiltersSortsGroupsAndPages) {
  auto r1 = Request(admin_, Input({"SN-20", "SN-21", "SN-22"}));
  clock_.Set(clock_.Now() + absl::Minutes(1));
  Caller req = User(admin_, "req2@acme.example", "requestor");
  auto r2 = Request(req, Input({"SN-23", "SN-24"}, &acme_pdc2_));
  ASSERT_TRUE(r1.ok() && r2.ok());
  ASSERT_TRUE(service_->ArchiveVoucher(admin_, r1->serials[0].voucher_id).ok());

  ListVouchersInput in;
  in.sort_by = VoucherColumn::kSerialNumber;
  in.descending = false;
  in.page_size = 2;
  std::vector<std::string> seen;
  while (true) {
    auto page = service_->ListVouchers(admin_, in);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->total, 5u);
    for (const auto& v : page->vouchers) seen.push_back(v.serial_number);
    if (page->next_page_token.empty()) break;
    in.page_token = page->next_page_token;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"SN-20", "SN-21", "SN-22", "SN-23", "SN-24"}));
  ListVouchersInput bad = in;
  bad.sort_by = VoucherColumn::kExpiresAt;
  EXPECT_EQ(service_->ListVouchers(admin_, bad).status().code(), StatusCode::kInvalidArgument);

  auto by = [&](const std::function<void(VoucherFilter&)>& set) {
    ListVouchersInput q;
    set(q.filter);
    return service_->ListVouchers(admin_, q)->total;
  };
  EXPECT_EQ(by([&](VoucherFilter& f) { f.serial_number = "SN-21"; }), 1u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.status = VoucherStatus::kArchived; }), 1u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.status = VoucherStatus::kCompleted; }), 4u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.assertion = "logged"; }), 5u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.assertion = "verified"; }), 0u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.requested_by = "req2@acme.example"; }), 2u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.requested_by = req.principal_id(); }), 2u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.pdc_organization = "Acme Labs"; }), 2u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.req_id = r1->req_id; }), 3u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.requested_from = clock_.Now(); }), 2u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.requested_to = clock_.Now(); }), 3u);
  EXPECT_EQ(by([&](VoucherFilter& f) { f.archived = false; }), 4u);

  ListVouchersInput grouped;
  grouped.group_by = VoucherColumn::kPdcOrganization;
  grouped.sort_by = VoucherColumn::kRequestedAt;
  grouped.descending = false;
  auto g = service_->ListVouchers(admin_, grouped);
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->groups.size(), 2u);
  EXPECT_EQ(g->groups[0].value, "Acme Corp");
  EXPECT_EQ(g->groups[0].count, 3u);
  EXPECT_EQ(g->vouchers[3].pdc_organization, "Acme Labs");
  EXPECT_EQ(ParseVoucherColumn("pdc_organization"), VoucherColumn::kPdcOrganization);
  EXPECT_EQ(VoucherColumnName(VoucherColumn::kLastRenewalAt), "last_renewal_at");
}

TEST_F(ServiceTest, UploadedPdcCanBeUsedByIdAndDeleted) {
  Caller requestor = User(admin_, "r3@acme.example", "requestor");
  auto pdc = service_->UploadPdc(admin_, {"", acme_pdc_.pem, ""});
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
  EXPECT_EQ(service_->UploadPdc(admin_, {"", "garbage", ""}).status().code(),
            StatusCode::kInvalidArgument);
  // Vouchers issued with it still renew: the certificate lives in their CMS.
  EXPECT_TRUE(Renew(admin_, r->serials[0].voucher_id).ok());
}

TEST_F(ServiceTest, InclusionProofOfAVoucherVerifies) {
  std::string id = Issue("SN-26");
  EXPECT_EQ(service_->InclusionProof(admin_, id).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->WriteCheckpoint().ok());
  auto proof = service_->InclusionProof(admin_, id);
  ASSERT_TRUE(proof.ok()) << proof.status();
  auto cp = store::ParseCheckpointNote(proof->checkpoint);
  ASSERT_TRUE(cp.ok());
  EXPECT_TRUE(store::VerifyInclusion(store::LeafHash(proof->entry_bytes), proof->seq,
                                     proof->tree_size, proof->proof, cp->root_hash)
                  .ok());
  auto entry = store::DecodeAuditEntry(proof->entry_bytes);
  EXPECT_EQ(entry->action, "voucher.issue");
  EXPECT_EQ(entry->object_hash, Sha256(service_->DownloadVoucher(admin_, id)->cms));
}

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
  auto support = service_->CreateVendorPrincipal("s@vendor.example", "support");
  ASSERT_TRUE(support.ok()) << support.status();
  Caller s = Login(support->token.secret.view());
  std::string id = Issue("SN-27");
  EXPECT_TRUE(service_->GetVoucher(s, id).ok());
  EXPECT_EQ(service_->ListAudit(s, {"org-acme", 0, 10}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->AssignSerials(s, {"org-acme", "", {{"", "Z", ""}}, false}).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(ServiceTest, AccountTeamCreatesAndListsOrganizationsCustomersCannot) {
  auto support = service_->CreateVendorPrincipal("s@vendor.example", "support");
  ASSERT_TRUE(support.ok()) << support.status();
  Caller s = Login(support->token.secret.view());
  Caller viewer = User(admin_, "v@acme.example", "viewer");

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

  EXPECT_EQ(service_->CreateOrganization(account_team_, "delta", "x@delta.example")
                .status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(service_->CreateOrganization(account_team_, "Bad Name", "x@y.example")
                .status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->CreateOrganization(account_team_, "vendor", "x@y.example")
                .status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->CreateOrganization(account_team_, "epsilon", "not-an-email")
                .status().code(), StatusCode::kInvalidArgument);

  auto ids = [&](const Caller& c) {
    std::vector<std::string> out;
    auto list = service_->ListOrganizations(c);
    EXPECT_TRUE(list.ok()) << list.status();
    if (list.ok()) {
      for (const auto& o : *list) out.push_back(o.organization_id);
    }
    return out;
  };
  const std::vector<std::string> all = {"org-acme", "org-delta", "org-other", "org-vendor"};
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
  for (const char* role : {"admin", "assigner", "requestor", "viewer", "root", ""}) {
    SCOPED_TRACE(role);
    auto r = service_->CreateVendorPrincipal("x@vendor.example", role);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
    EXPECT_NE(r.status().message().find("support, account-team or security-officer"),
              std::string_view::npos)
        << r.status();
  }
  EXPECT_EQ(AuditSize(), audit_before) << "a refused vendor principal left a trace";
  EXPECT_TRUE(service_->CreateVendorPrincipal("so@vendor.example", "security-officer").ok());
}

TEST_F(ServiceTest, VoucherListOfAnOrganizationTheCallerCannotSeeIsNotFound) {
  Issue("SN-26");
  ListVouchersInput in;
  in.filter.organization_id = "org-other";
  auto foreign = service_->ListVouchers(admin_, in);
  EXPECT_EQ(foreign.status().code(), StatusCode::kNotFound) << foreign.status();
  in.filter.organization_id = "org-acme";
  auto own = service_->ListVouchers(admin_, in);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->total, 1u);
  // The account team sees every organization, but not one that does not exist.
  EXPECT_EQ(service_->ListVouchers(account_team_, in)->total, 1u);
  in.filter.organization_id = "org-nosuch";
  EXPECT_EQ(service_->ListVouchers(account_team_, in).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace masa::service::testing
