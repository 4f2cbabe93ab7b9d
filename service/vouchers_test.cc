// The voucher pipeline on the whole domain's fixture: issue (device-side verification,
// profiles, limits, bad input), per-serial outcomes, conflicts and override, expiry,
// archive, renewal, assertion, platform certificates, and a full signing queue.
#include <set>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "gmock/gmock.h"
#include "service/service.h"
#include "service/testing/hsm_fixture.h"

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
  EXPECT_EQ(info->assertion, signer::Assertion::kLogged);
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
  EXPECT_NE(refused.status().message().find("21"), absl::string_view::npos) << refused.status();
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
  EXPECT_EQ(service_->ArchiveVoucher(admin_, id).status().code(), StatusCode::kFailedPrecondition);
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
  // The renewal's audit entry names the renewed voucher and the hash of its new CMS.
  auto snap = store_->Read();
  ASSERT_TRUE(snap.ok());
  auto last = snap->GetAuditEntry(*snap->AuditSize() - 1);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->action, "voucher.renew");
  EXPECT_THAT(last->target, ::testing::EndsWith("/" + id));
  EXPECT_EQ(last->object_hash, Sha256(after->cms));
}

TEST_F(ServiceTest, AssertionIsASettingAndARenewalKeepsTheVouchersOwn) {
  RestartWithAssertion(signer::Assertion::kProximity);
  std::string id = Issue("SN-06");
  auto first = service_->DownloadVoucher(admin_, id);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Verify(first->cms, "SN-06").voucher.assertion, signer::Assertion::kProximity);
  EXPECT_EQ(service_->GetVoucher(admin_, id)->assertion, signer::Assertion::kProximity);
  // The vendor changes the setting; the voucher renewed afterwards still says what it said.
  RestartWithAssertion(signer::Assertion::kVerified);
  clock_.Set(clock_.Now() + absl::Hours(24));
  ASSERT_TRUE(Renew(admin_, id).ok());
  auto renewed = service_->DownloadVoucher(admin_, id);
  ASSERT_TRUE(renewed.ok());
  auto v = Verify(renewed->cms, "SN-06");
  ASSERT_TRUE(v.ok()) << v.status;
  EXPECT_EQ(v.voucher.assertion, signer::Assertion::kProximity);
  EXPECT_EQ(service_->GetVoucher(admin_, id)->assertion, signer::Assertion::kProximity);
  // New vouchers follow the new setting.
  auto other = service_->DownloadVoucher(admin_, Issue("SN-07"));
  EXPECT_EQ(Verify(other->cms, "SN-07").voucher.assertion, signer::Assertion::kVerified);
}

TEST_F(ServiceTest, PlatformCertificateIssuedByThePdcIsCarriedByTheVoucherAndItsRenewal) {
  const absl::Time now = clock_.Now();
  VoucherRequestInput in = Input({"SN-08"});
  in.platform_certificate_pem = PlatformCert(acme_pdc_.cert.get(), acme_pdc_.key.get(),
                                             now - absl::Hours(1), now + absl::Hours(24 * 400));
  const std::string pk_der =
      *CertificateToDer(ParseCertificate(in.platform_certificate_pem)->get());
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
  refused(PlatformCert(acme_pdc_.cert.get(), acme_pdc_.key.get(), now + absl::Hours(24), to),
          "not valid now");
  // Not a certificate; two certificates.
  refused("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a PEM");
  refused(PlatformCert(acme_pdc_.cert.get(), acme_pdc_.key.get(), from, to) + acme_pdc_.pem,
          "expected one certificate, got 2");
  EXPECT_EQ(AuditSize(), audit_before) << "a refused request writes nothing";
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
  ASSERT_TRUE(queue_
                  ->TryEnqueueAll({{[&] {
                                      started.Notify();
                                      release.WaitForNotification();
                                    },
                                    {}}})
                  .ok());
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

}  // namespace
}  // namespace masa::service::testing
