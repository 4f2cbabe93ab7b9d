// The full ownership chain through the CLI, made as a customer would with the openssl CLI:
// owner CA (the pinned-domain-cert) -> owner certificate -> signed onboarding information,
// the voucher from `masactl voucher sign`, all verified by `masactl voucher verify`.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/internal/e2e.h"

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;

constexpr char kSerial[] = "SN-OWNER-0001";
constexpr char kOnboarding[] =
    R"({"ietf-sztp-conveyed-info:onboarding-information":{"boot-image":{"os-name":"demo"}}})";
constexpr char kConveyedInfoOid[] = "1.2.840.113549.1.9.16.1.43";

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

class OwnershipChainTest : public ::testing::Test {
 protected:
  // One state and one customer PKI; the tests only read them.
  static void SetUpTestSuite() {
    root_ = new TempFolder();
    state_ = new DevState(MakeDevState(*root_ / "state"));
    const std::string& d = root_->path();
    MakeCa(d, "owner-ca");
    MakeLeaf(d, "owner", "owner-ca");
    MakeCa(d, "other-ca");
    MakeLeaf(d, "other-owner", "other-ca");
    OwnerCertCms("owner", "owner-cert.cms");
    OwnerCertCms("other-owner", "other-owner-cert.cms");
    WriteFile(*root_ / "onboarding.json", kOnboarding);
    ConveyedInfo("owner", "conveyed-info.cms");
    ConveyedInfo("other-owner", "other-conveyed-info.cms");
    ProcessResult r = Masactl({"voucher", "sign", "--state", state_->dir, "--serial", kSerial,
                               "--pdc", *root_ / "owner-ca.pem", "--out", voucher()});
    EXPECT_EQ(r.exit_code, 0) << r;
  }
  static void TearDownTestSuite() {
    delete state_;
    delete root_;
    ClearWatchedSecrets();
  }
  void SetUp() override {
    ASSERT_FALSE(state_->user_pin.empty()) << "dev-init failed in SetUpTestSuite";
    ASSERT_TRUE(Exists(voucher())) << "signing failed in SetUpTestSuite";
  }

  // The owner certificate as SZTP conveys it: CMS SignedData without signers.
  static void OwnerCertCms(const std::string& cert, const std::string& out) {
    ProcessResult r = RunTool({OPENSSL_CLI, "crl2pkcs7", "-nocrl", "-certfile",
                               *root_ / (cert + ".pem"), "-outform", "DER", "-out", *root_ / out});
    EXPECT_EQ(r.exit_code, 0) << r;
  }
  // Onboarding information signed with `signer`'s key (id-ct-sztpConveyedInfoJSON).
  static void ConveyedInfo(const std::string& signer, const std::string& out) {
    ProcessResult r = RunTool({OPENSSL_CLI,
                               "cms",
                               "-sign",
                               "-binary",
                               "-nodetach",
                               "-md",
                               "sha256",
                               "-econtent_type",
                               kConveyedInfoOid,
                               "-signer",
                               *root_ / (signer + ".pem"),
                               "-inkey",
                               *root_ / (signer + ".key"),
                               "-nocerts",
                               "-in",
                               *root_ / "onboarding.json",
                               "-outform",
                               "DER",
                               "-out",
                               *root_ / out});
    EXPECT_EQ(r.exit_code, 0) << r;
  }

  static std::string voucher() { return *root_ / (std::string(kSerial) + ".vcj"); }

  static ProcessResult Verify(const std::string& voucher_path, const std::string& owner_cert,
                              const std::string& info, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"voucher",  "verify", "--trust-anchor", state_->trust_anchor(),
                                     "--serial", kSerial};
    if (!owner_cert.empty()) args.insert(args.end(), {"--owner-cert", *root_ / owner_cert});
    if (!info.empty()) args.insert(args.end(), {"--conveyed-info", *root_ / info});
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(voucher_path);
    return Masactl(args);
  }

  static TempFolder* root_;
  static DevState* state_;
};

TempFolder* OwnershipChainTest::root_ = nullptr;
DevState* OwnershipChainTest::state_ = nullptr;

TEST_F(OwnershipChainTest, VerifiesEndToEnd) {
  ProcessResult r = Verify(voucher(), "owner-cert.cms", "conveyed-info.cms");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("voucher signature: OK (signer CN=MASA Development Signer")) << r;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("serial-number ", kSerial, ", assertion logged")));
  EXPECT_THAT(r.out, HasSubstr("pinned-domain-cert: CN=owner-ca,O=Example Customer")) << r;
  EXPECT_THAT(r.out, HasSubstr("owner certificate: OK (CN=owner,O=Example Customer)")) << r;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("conveyed information: OK (",
                                            std::string(kOnboarding).size(), " bytes)")))
      << r;
  EXPECT_THAT(r.out, HasSubstr("verification OK")) << r;
  EXPECT_EQ(r.err, "") << r;
}

TEST_F(OwnershipChainTest, ConveyedInformationSignedByAnotherKeyFails) {
  ProcessResult r = Verify(voucher(), "owner-cert.cms", "other-conveyed-info.cms");
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(FailedStep(r.err), "conveyed-information") << r;
  EXPECT_THAT(r.out, Not(HasSubstr("verification OK"))) << r;
}

TEST_F(OwnershipChainTest, OwnerCertificateFromAnotherCaFails) {
  ProcessResult r = Verify(voucher(), "other-owner-cert.cms", "other-conveyed-info.cms");
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(FailedStep(r.err), "owner-certificate") << r;
  ProcessResult alone = Verify(voucher(), "other-owner-cert.cms", "");
  EXPECT_NE(alone.exit_code, 0) << alone;
  EXPECT_EQ(FailedStep(alone.err), "owner-certificate") << alone;
}

TEST_F(OwnershipChainTest, AlteredConveyedInformationFails) {
  std::string der = ReadFileOrEmpty(*root_ / "conveyed-info.cms");
  size_t at = der.find("\"os-name\":\"demo\"");
  ASSERT_NE(at, std::string::npos);
  TempFolder dir;
  der[at + 11] = 'D';  // "demo" -> "Demo"
  WriteFile(dir / "altered.cms", der);
  ProcessResult r =
      Verify(voucher(), "owner-cert.cms", "", {"--conveyed-info", dir / "altered.cms"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(FailedStep(r.err), "conveyed-information") << r;
}

TEST_F(OwnershipChainTest, ConveyedInformationNeedsTheOwnerCertificate) {
  ProcessResult r = Verify(voucher(), "", "conveyed-info.cms");
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("--conveyed-info needs --owner-cert")) << r;
}

// masactl refuses to sign a voucher that has already expired, so sign one that expires in an
// hour and verify it as of two hours from now (and, as a control, half an hour from now).
TEST_F(OwnershipChainTest, ExpiredVoucherFailsAtValidity) {
  TempFolder dir;
  const absl::Time now = absl::Now();
  const std::string expiring = dir / "expiring.vcj";
  ProcessResult sign = Masactl({"voucher", "sign", "--state", state_->dir, "--serial", kSerial,
                                "--pdc", *root_ / "owner-ca.pem", "--out", expiring, "--expires",
                                Rfc3339(now + absl::Hours(1))});
  ASSERT_EQ(sign.exit_code, 0) << sign;

  ProcessResult before = Verify(expiring, "owner-cert.cms", "conveyed-info.cms",
                                {"--at", Rfc3339(now + absl::Minutes(30))});
  EXPECT_EQ(before.exit_code, 0) << before;
  EXPECT_THAT(before.out, HasSubstr("expires-on " + Rfc3339(now + absl::Hours(1)))) << before;

  ProcessResult after = Verify(expiring, "owner-cert.cms", "conveyed-info.cms",
                               {"--at", Rfc3339(now + absl::Hours(2))});
  EXPECT_NE(after.exit_code, 0) << after;
  EXPECT_EQ(FailedStep(after.err), "validity") << after;
  EXPECT_THAT(after.err, HasSubstr("expired")) << after;
}

TEST_F(OwnershipChainTest, SigningAnAlreadyExpiredVoucherIsRefused) {
  TempFolder dir;
  ProcessResult r = Masactl({"voucher", "sign", "--state", state_->dir, "--serial", kSerial,
                             "--pdc", *root_ / "owner-ca.pem", "--out", dir / "past.vcj",
                             "--expires", "2020-01-01T00:00:00Z"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("expires-on")) << r;
  EXPECT_FALSE(Exists(dir / "past.vcj"));
}

}  // namespace
}  // namespace masa::e2e
