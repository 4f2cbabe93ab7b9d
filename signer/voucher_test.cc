#include "signer/voucher.h"

#include <vector>

#include <gtest/gtest.h>

#include "signer/internal/test_pki.h"

namespace masa::signer {
namespace {

using testing::CertDer;
using testing::MakeIdentity;
using testing::TestNow;

class VoucherValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pdc_ = MakeIdentity("CN=Owner CA,O=Owner", nullptr, true);
    v_.created_on = TestNow();
    v_.assertion = Assertion::kVerified;
    v_.serial_number = "SN-0001";
    v_.pinned_domain_cert = CertDer(pdc_.cert.get());
  }
  // Expects Validate to fail with a message that starts with `leaf`.
  void ExpectLeafError(const std::string& leaf) {
    absl::Status s = Validate(v_);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_EQ(std::string(s.message()).rfind(leaf + ": ", 0), 0u) << s;
  }
  testing::Identity pdc_;
  Voucher v_;
};

TEST(AssertionTest, NamesRoundTrip) {
  for (Assertion a : {Assertion::kVerified, Assertion::kLogged, Assertion::kProximity,
                      Assertion::kAgentProximity}) {
    EXPECT_EQ(ParseAssertion(AssertionName(a)), a);
  }
  EXPECT_EQ(AssertionName(Assertion::kAgentProximity), "agent-proximity");
  EXPECT_FALSE(ParseAssertion("Verified").has_value());
  EXPECT_FALSE(ParseAssertion("").has_value());
}

TEST_F(VoucherValidateTest, MinimalVoucherIsValid) { EXPECT_TRUE(Validate(v_).ok()); }

TEST_F(VoucherValidateTest, MandatoryLeaves) {
  v_.created_on.reset();
  ExpectLeafError("created-on");
  SetUp();
  v_.assertion.reset();
  ExpectLeafError("assertion");
  SetUp();
  v_.serial_number.reset();
  ExpectLeafError("serial-number");
  SetUp();
  v_.serial_number = "";
  ExpectLeafError("serial-number");
  SetUp();
  v_.serial_number = "SN\n1";
  ExpectLeafError("serial-number");
}

TEST_F(VoucherValidateTest, NeedsOnePinningLeaf) {
  v_.pinned_domain_cert.reset();
  ExpectLeafError("pinned-domain-cert");
  // Either public-key form is enough.
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pdc_.key.get(), &der);
  ASSERT_GT(len, 0);
  v_.pinned_domain_pubk = std::string(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  EXPECT_TRUE(Validate(v_).ok());
  v_.pinned_domain_pubk.reset();
  v_.pinned_domain_pubk_sha256 = std::string(32, '\x01');
  EXPECT_TRUE(Validate(v_).ok());
  v_.pinned_domain_pubk_sha256 = std::string(31, '\x01');
  ExpectLeafError("pinned-domain-pubk-sha256");
  v_.pinned_domain_pubk_sha256.reset();
  v_.pinned_domain_pubk = "not a key";
  ExpectLeafError("pinned-domain-pubk");
}

TEST_F(VoucherValidateTest, PinnedDomainCertMustBeOneDerCertificate) {
  v_.pinned_domain_cert = "garbage";
  ExpectLeafError("pinned-domain-cert");
  v_.pinned_domain_cert = CertDer(pdc_.cert.get()) + "x";
  ExpectLeafError("pinned-domain-cert");
}

TEST_F(VoucherValidateTest, PlatformKeyCertificateMustBeOneDerCertificate) {
  v_.platform_key_certificate = CertDer(pdc_.cert.get());
  EXPECT_TRUE(Validate(v_).ok());
  v_.platform_key_certificate = "garbage";
  ExpectLeafError("masa-extended-voucher:platform-key-certificate");
  v_.platform_key_certificate = CertDer(pdc_.cert.get()) + "x";
  ExpectLeafError("masa-extended-voucher:platform-key-certificate");
}

TEST_F(VoucherValidateTest, ExpiresOnRules) {
  v_.expires_on = TestNow();
  ExpectLeafError("expires-on");  // not after created-on
  v_.expires_on = TestNow() + absl::Hours(1);
  EXPECT_TRUE(Validate(v_).ok());
  v_.expires_on = TestNow() + absl::Hours(24 * 400);  // beyond the PDC's notAfter (365 days)
  ExpectLeafError("expires-on");
}

TEST_F(VoucherValidateTest, EachPinnedDomainCertIsCheckedAgainstItsOwnNotAfter) {
  // Validate remembers recently parsed PDCs per thread; interleaving PDCs that differ only in
  // their validity, and more of them than it remembers, must not mix their notAfter up.
  std::vector<testing::Identity> pdcs;
  for (int days = 10; days < 22; ++days) {
    pdcs.push_back(MakeIdentity("CN=Owner CA,O=Owner", nullptr, true, "P-256", nullptr, days));
  }
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < pdcs.size(); ++i) {
      const int days = 10 + static_cast<int>(i);
      v_.pinned_domain_cert = CertDer(pdcs[i].cert.get());
      v_.expires_on = TestNow() + absl::Hours(24 * days);
      EXPECT_TRUE(Validate(v_).ok()) << i;
      v_.expires_on = TestNow() + absl::Hours(24 * days + 1);
      ExpectLeafError("expires-on");
      v_.pinned_domain_cert = CertDer(pdcs[i].cert.get()) + "x";
      ExpectLeafError("pinned-domain-cert");
    }
  }
}

TEST_F(VoucherValidateTest, NonceAndExpiresOnAreExclusive) {
  v_.nonce = std::string(16, 'n');
  EXPECT_TRUE(Validate(v_).ok());
  v_.expires_on = TestNow() + absl::Hours(1);
  ExpectLeafError("nonce");
}

TEST_F(VoucherValidateTest, NonceLength) {
  v_.nonce = std::string(7, 'n');
  ExpectLeafError("nonce");
  v_.nonce = std::string(8, 'n');
  EXPECT_TRUE(Validate(v_).ok());
  v_.nonce = std::string(32, 'n');
  EXPECT_TRUE(Validate(v_).ok());
  v_.nonce = std::string(33, 'n');
  ExpectLeafError("nonce");
}

TEST_F(VoucherValidateTest, LastRenewalDateOnlyWithExpiresOn) {
  v_.last_renewal_date = TestNow() + absl::Hours(48);
  ExpectLeafError("last-renewal-date");
  v_.expires_on = TestNow() + absl::Hours(24);
  EXPECT_TRUE(Validate(v_).ok());
  v_.last_renewal_date = TestNow() - absl::Hours(1);
  ExpectLeafError("last-renewal-date");
}

TEST_F(VoucherValidateTest, RevocationChecksNeedAPinnedCertificate) {
  v_.domain_cert_revocation_checks = false;
  EXPECT_TRUE(Validate(v_).ok());
  v_.pinned_domain_cert.reset();
  v_.pinned_domain_pubk_sha256 = std::string(32, '\x01');
  ExpectLeafError("domain-cert-revocation-checks");
}

TEST_F(VoucherValidateTest, IdevidIssuerNotEmpty) {
  v_.idevid_issuer = "";
  ExpectLeafError("idevid-issuer");
  v_.idevid_issuer = std::string(20, '\x42');
  EXPECT_TRUE(Validate(v_).ok());
}

TEST_F(VoucherValidateTest, UriLeaves) {
  v_.est_domain = "https://est.example.com:8443/.well-known/est";
  v_.additional_configuration = "https://config.example.com/phone";
  EXPECT_TRUE(Validate(v_).ok());
  v_.est_domain = "est.example.com";
  ExpectLeafError("est-domain");
  v_.est_domain.reset();
  v_.additional_configuration = "https://exa mple.com";
  ExpectLeafError("additional-configuration");
}

}  // namespace
}  // namespace masa::signer
