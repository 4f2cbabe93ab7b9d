// OVGS GetOwnershipVoucher(s) in the domain (VoucherRequests::IssueComponentVouchers): one
// voucher per component pinned to an uploaded PDC, all or nothing, in input order, with the
// component's TPM data, through the batched pipeline and audited with the caller.
#include <openssl/x509.h>

#include <future>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "service/testing/hsm_fixture.h"
#include "signer/cms.h"
#include "signer/voucher_json.h"

namespace masa::service::testing {
namespace {

using absl::StatusCode;

class ComponentVouchersTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    if (HasFatalFailure()) return;
    auto pdc = service_->UploadPdc(
        admin_, {"", acme_pdc_.pem, "", true, clock_.Now() + absl::Hours(24 * 30)});
    ASSERT_TRUE(pdc.ok()) << pdc.status();
    cert_id_ = pdc->cert_id;
  }

  // IssueComponentVouchers, waited for.
  absl::StatusOr<std::vector<ComponentVoucher>> Issue(const Caller& c, ComponentVoucherInput in) {
    std::promise<absl::StatusOr<std::vector<ComponentVoucher>>> p;
    auto f = p.get_future();
    absl::Status s = service_->IssueComponentVouchers(c, std::move(in),
                                                      [&p](auto r) { p.set_value(std::move(r)); });
    if (!s.ok()) return s;
    return f.get();
  }

  ComponentVoucherInput Input(std::vector<std::string> serials, absl::Duration life) {
    ComponentVoucherInput in;
    for (auto& s : serials) in.components.push_back({"9", s});
    in.cert_id = cert_id_;
    in.expires_at = clock_.Now() + life;
    return in;
  }

  signer::Voucher Decode(const std::string& cms) {
    auto parsed = signer::ParseSignedData(cms);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    auto v = signer::DecodeVoucherJson(parsed->content);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : signer::Voucher{};
  }

  size_t VoucherCount(const Caller& c) { return service_->ListVouchers(c, {})->total; }

  std::string cert_id_;
};

TEST_F(ComponentVouchersTest, HundredComponentsInOrderWithTheirTpmDataInOneRequest) {
  // 100 more serials of acme, with TPM data, loaded by the account team in reverse order.
  AssignInput more{"org-acme", "", {}, false};
  std::vector<std::string> keys;
  for (int i = 99; i >= 0; --i) {
    keys.push_back(PublicKeyDer());
    more.serials.push_back({"",
                            absl::StrFormat("C-%03d", i),
                            "DCS-7800-SUP",
                            absl::StrFormat("00:1c:73:00:00:%02x", i),
                            {keys.back(), "", ""}});
  }
  ASSERT_TRUE(service_->AssignSerials(account_team_, more).ok());
  // Asked in an order that is neither the assignment's nor the store's.
  std::vector<std::string> serials;
  for (int i = 0; i < 100; ++i) serials.push_back(absl::StrFormat("C-%03d", (i * 37) % 100));
  const uint64_t audit_before = AuditSize();
  const absl::Time expiry = clock_.Now() + absl::Hours(24 * 7);
  ComponentVoucherInput in = Input(serials, absl::Hours(24 * 7));
  auto r = Issue(admin_, in);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 100u);
  std::set<std::string> requests;
  for (size_t i = 0; i < 100; ++i) {
    const ComponentVoucher& v = (*r)[i];
    SCOPED_TRACE(serials[i]);
    int n = std::stoi(serials[i].substr(2));
    EXPECT_EQ(v.tpm.endorsement_key, keys[99 - n]);
    EXPECT_TRUE(v.tpm.ek_certificate.empty());
    signer::VerificationResult verified = Verify(v.cms, serials[i]);
    EXPECT_TRUE(verified.status.ok()) << verified.status;
    signer::Voucher sv = Decode(v.cms);
    EXPECT_EQ(sv.serial_number, serials[i]);
    EXPECT_EQ(sv.expires_on, expiry);
    EXPECT_EQ(sv.pinned_domain_cert, acme_pdc_.der);
    auto info = service_->GetVoucher(admin_, v.voucher_id);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->pdc_id, cert_id_);
    requests.insert(info->req_id);
  }
  ASSERT_EQ(requests.size(), 1u);  // one request record
  auto req = service_->GetRequest(admin_, *requests.begin());
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->requested_by, "admin@acme.example");
  EXPECT_EQ(req->status, RequestStatus::kCompleted);
  // Audited with the caller: one entry per voucher and one for the request.
  auto snap = store_->Read();
  uint64_t issued = 0, created = 0;
  for (uint64_t i = audit_before; i < *snap->AuditSize(); ++i) {
    auto e = snap->GetAuditEntry(i);
    EXPECT_EQ(e->actor, admin_.principal_id());
    issued += e->action == "voucher.issue";
    created += e->action == "request.create";
  }
  EXPECT_EQ(issued, 100u);
  EXPECT_EQ(created, 1u);
}

TEST_F(ComponentVouchersTest, RevocationChecksOfThePdcIsTheVouchersLeaf) {
  auto off = service_->UploadPdc(
      admin_, {"", acme_pdc_.pem, "", false, clock_.Now() + absl::Hours(24 * 30)});
  ASSERT_TRUE(off.ok()) << off.status();
  auto on = Issue(admin_, Input({"SN-01"}, absl::Hours(1)));
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_EQ(Decode((*on)[0].cms).domain_cert_revocation_checks, std::optional<bool>(true));
  ComponentVoucherInput in = Input({"SN-01"}, absl::Hours(1));
  in.cert_id = off->cert_id;
  auto r = Issue(admin_, in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Decode((*r)[0].cms).domain_cert_revocation_checks, std::optional<bool>(false));
}

TEST_F(ComponentVouchersTest, OneBadComponentIssuesNothingAndStoresNothing) {
  const size_t vouchers = VoucherCount(admin_);
  const uint64_t audit = AuditSize();
  auto r = Issue(admin_, Input({"SN-01", "SN-02", "NO-SUCH", "SN-03"}, absl::Hours(1)));
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status();
  EXPECT_NE(r.status().message().find("NO-SUCH"), std::string::npos) << r.status();
  // Another organization's serial is just as unknown to this caller.
  r = Issue(admin_, Input({"SN-01", "OT-1"}, absl::Hours(1)));
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status();
  EXPECT_EQ(VoucherCount(admin_), vouchers);
  EXPECT_EQ(AuditSize(), audit);
}

TEST_F(ComponentVouchersTest, EveryCallIssuesANewVoucher) {
  auto a = Issue(admin_, Input({"SN-04"}, absl::Hours(2)));
  auto b = Issue(admin_, Input({"SN-04"}, absl::Hours(2)));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)[0].voucher_id, (*b)[0].voucher_id);
  EXPECT_TRUE(Verify((*a)[0].cms, "SN-04").status.ok());
  EXPECT_TRUE(Verify((*b)[0].cms, "SN-04").status.ok());
}

TEST_F(ComponentVouchersTest, ErrorCodes) {
  const size_t vouchers = VoucherCount(admin_);
  auto code = [&](const Caller& c, ComponentVoucherInput in) {
    return Issue(c, in).status().code();
  };
  ComponentVoucherInput in = Input({"SN-05"}, absl::Hours(1));
  // Empty fields.
  in.cert_id.clear();
  EXPECT_EQ(code(admin_, in), StatusCode::kInvalidArgument);
  in = Input({""}, absl::Hours(1));
  EXPECT_EQ(code(admin_, in), StatusCode::kInvalidArgument);
  in = Input({"SN-05"}, absl::Hours(1));
  in.components[0].ien.clear();
  EXPECT_EQ(code(admin_, in), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(admin_, Input({}, absl::Hours(1))), StatusCode::kInvalidArgument);
  in = Input({"SN-05"}, absl::Hours(1));
  in.expires_at = absl::Time();  // not given
  EXPECT_EQ(code(admin_, in), StatusCode::kInvalidArgument);
  // Lifetime in the past, beyond the PDC's expiry_time (30 days), beyond its notAfter.
  EXPECT_EQ(code(admin_, Input({"SN-05"}, -absl::Hours(1))), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(admin_, Input({"SN-05"}, absl::Hours(24 * 31))), StatusCode::kInvalidArgument);
  auto plain = service_->UploadPdc(admin_, {"", acme_pdc2_.pem, "", false, std::nullopt});
  ASSERT_TRUE(plain.ok()) << plain.status();
  in = Input({"SN-05"}, absl::Hours(24 * 801));
  in.cert_id = plain->cert_id;
  EXPECT_EQ(code(admin_, in), StatusCode::kInvalidArgument);
  // An IEN this MASA does not serve.
  in = Input({"SN-05"}, absl::Hours(1));
  in.components[0].ien = "30065";
  EXPECT_EQ(code(admin_, in), StatusCode::kInvalidArgument);
  // A serial listed twice.
  EXPECT_EQ(code(admin_, Input({"SN-05", "SN-05"}, absl::Hours(1))), StatusCode::kInvalidArgument);
  // Too many.
  std::vector<std::string> many;
  for (int i = 0; i < 1001; ++i) many.push_back(absl::StrFormat("X-%04d", i));
  EXPECT_EQ(code(admin_, Input(many, absl::Hours(1))), StatusCode::kInvalidArgument);
  // Unknown certificate; another organization's certificate is unknown too.
  in = Input({"SN-05"}, absl::Hours(1));
  in.cert_id = "org-acme.pdc-0000";
  EXPECT_EQ(code(admin_, in), StatusCode::kFailedPrecondition);
  auto theirs = service_->UploadPdc(other_admin_, {"", acme_pdc_.pem, "", false, std::nullopt});
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  in.cert_id = theirs->cert_id;
  EXPECT_EQ(code(admin_, in), StatusCode::kFailedPrecondition);
  // Certificate and serial of different organizations, by a caller who sees both.
  in = Input({"OT-1"}, absl::Hours(1));
  EXPECT_EQ(code(account_team_, in), StatusCode::kInvalidArgument);
  // Seen but not requestable: a viewer.
  Caller viewer = User(admin_, "viewer@acme.example", Role::kViewer);
  EXPECT_EQ(code(viewer, Input({"SN-05"}, absl::Hours(1))), StatusCode::kPermissionDenied);
  // A requestor of east may not see the root group's serial, nor the root's certificate.
  Caller east = User(admin_, "east@acme.example", Role::kRequestor, east_);
  EXPECT_EQ(code(east, Input({"SN-05"}, absl::Hours(1))), StatusCode::kFailedPrecondition);
  EXPECT_EQ(VoucherCount(admin_), vouchers);
  // An east certificate works for east's serials.
  auto east_pdc = service_->UploadPdc(
      admin_, {"", acme_pdc_.pem, east_, false, clock_.Now() + absl::Hours(24)});
  ASSERT_TRUE(east_pdc.ok()) << east_pdc.status();
  in = Input({"EAST-1", "EAST-2"}, absl::Hours(1));
  in.cert_id = east_pdc->cert_id;
  auto r = Issue(east, in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 2u);
}

TEST_F(ComponentVouchersTest, RestRequestsHonourTheUploadedPdcsSettings) {
  VoucherRequestInput in;
  in.serial_numbers = {"SN-06"};
  in.pdc_cert_id = cert_id_;  // revocation_checks, expiry_time in 30 days
  auto r = Request(admin_, in);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->serials[0].status, SerialStatus::kCompleted) << r->serials[0].reason;
  auto file = service_->DownloadVoucher(admin_, r->serials[0].voucher_id);
  ASSERT_TRUE(file.ok()) << file.status();
  signer::Voucher v = Decode(file->cms);
  EXPECT_EQ(v.domain_cert_revocation_checks, std::optional<bool>(true));
  EXPECT_LE(*v.expires_on, clock_.Now() + absl::Hours(24 * 30));  // default clamped
  in.expires_at = clock_.Now() + absl::Hours(24 * 31);
  EXPECT_EQ(Request(admin_, in).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace masa::service::testing
