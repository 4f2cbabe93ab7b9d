#include "signer/verifier.h"

#include <openssl/err.h>

#include <gtest/gtest.h>

#include "common/base64.h"
#include "common/time.h"
#include "signer/internal/test_pki.h"
#include "signer/voucher_json.h"

namespace masa::signer {
namespace {

using testing::Identity;
using testing::MakeIdentity;
using testing::TestNow;

std::string StepOf(const VerificationResult& r) {
  return std::string(VerifyStepName(r.failed_step));
}

// Asserts that `r` failed at `step` with a message that starts with "<step>: ".
void ExpectFailedAt(const VerificationResult& r, VerifyStep step) {
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(StepOf(r), VerifyStepName(step)) << r.status;
  std::string prefix = std::string(VerifyStepName(step)) + ": ";
  EXPECT_EQ(std::string(r.status.message()).rfind(prefix, 0), 0u) << r.status;
}

TEST(VerifyStepTest, Names) {
  EXPECT_EQ(VerifyStepName(VerifyStep::kSignature), "signature");
  EXPECT_EQ(VerifyStepName(VerifyStep::kParse), "parse");
  EXPECT_EQ(VerifyStepName(VerifyStep::kValidity), "validity");
  EXPECT_EQ(VerifyStepName(VerifyStep::kAssertion), "assertion");
  EXPECT_EQ(VerifyStepName(VerifyStep::kSerialNumber), "serial-number");
  EXPECT_EQ(VerifyStepName(VerifyStep::kIdevidIssuer), "idevid-issuer");
  EXPECT_EQ(VerifyStepName(VerifyStep::kPinnedDomainCert), "pinned-domain-cert");
  EXPECT_EQ(VerifyStepName(VerifyStep::kPlatformKeyCertificate), "platform-key-certificate");
  EXPECT_EQ(VerifyStepName(VerifyStep::kOwnerCertificate), "owner-certificate");
  EXPECT_EQ(VerifyStepName(VerifyStep::kConveyedInformation), "conveyed-information");
}

// The RFC 8995 Appendix C voucher, as a real pledge would receive it.
class Rfc8995VoucherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string b64 = testing::Vector("rfc8995/voucher_00-D0-E5-F2-00-02.b64");
    b64.erase(std::remove_if(b64.begin(), b64.end(), [](char c) { return isspace(c); }), b64.end());
    auto der = Base64Decode(b64);
    ASSERT_TRUE(der.ok()) << der.status();
    der_ = *der;
    auto vendor = ParseCertificate(testing::Vector("rfc8995/vendor.crt"));
    ASSERT_TRUE(vendor.ok()) << vendor.status();
    vendor_ = *std::move(vendor);
    device_ = DeviceProfile{};
    device_.vendor_trust_anchors = {vendor_.get()};
    device_.serial_number = "00-D0-E5-F2-00-02";
    device_.expected_nonce = Base64UrlDecode("-_XE9zK9q8Ll1qylMtLKeg").value();
    device_.clock = &clock_;
  }
  // A copy of the voucher with the byte at `offset` flipped.
  std::string Flipped(size_t offset) {
    std::string copy = der_;
    copy[offset] = static_cast<char>(copy[offset] ^ 0x01);
    return copy;
  }
  std::string der_;
  UniquePtr<X509> vendor_;
  FixedClock clock_{ParseRfc3339("2021-06-01T00:00:00Z").value()};
  DeviceProfile device_;
};

TEST_F(Rfc8995VoucherTest, Accepted) {
  VerificationResult r = VerifyOwnershipVoucher(device_, der_);
  ASSERT_TRUE(r.ok()) << r.status;
  EXPECT_EQ(r.failed_step, VerifyStep::kNone);
  EXPECT_EQ(r.voucher.serial_number, "00-D0-E5-F2-00-02");
  EXPECT_EQ(r.voucher.assertion, Assertion::kLogged);
  EXPECT_FALSE(r.voucher.expires_on.has_value());
  EXPECT_EQ(r.voucher.created_on, ParseRfc3339("2021-04-13T21:43:24.589Z").value());
  ASSERT_NE(r.pinned_domain_cert, nullptr);
  ASSERT_NE(r.voucher_signer, nullptr);
  auto masa = ParseCertificate(testing::Vector("rfc8995/masa.crt"));
  ASSERT_TRUE(masa.ok());
  EXPECT_EQ(X509_cmp(r.voucher_signer.get(), masa->get()), 0);
  auto parsed = ParseSignedData(der_);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->content_type, CmsContentType::kData);
}

// A device provisioned with the MASA's own certificate (not the vendor CA) as its anchor.
TEST_F(Rfc8995VoucherTest, TheMasaCertificateItselfIsAnAcceptedTrustAnchor) {
  auto masa = ParseCertificate(testing::Vector("rfc8995/masa.crt"));
  ASSERT_TRUE(masa.ok());
  device_.vendor_trust_anchors = {masa->get()};
  VerificationResult r = VerifyOwnershipVoucher(device_, der_);
  EXPECT_TRUE(r.ok()) << r.status;
  // A device that insists on a self-signed root still refuses it.
  device_.partial_chain = false;
  ExpectFailedAt(VerifyOwnershipVoucher(device_, der_), VerifyStep::kSignature);
  // And an unrelated certificate is no anchor either way.
  auto owner = ParseCertificate(testing::Vector("rfc8995/ownerca_secp384r1.crt"));
  ASSERT_TRUE(owner.ok());
  device_.partial_chain = true;
  device_.vendor_trust_anchors = {owner->get()};
  ExpectFailedAt(VerifyOwnershipVoucher(device_, der_), VerifyStep::kSignature);
}

TEST_F(Rfc8995VoucherTest, RejectsOtherDevicesAndTimes) {
  device_.serial_number = "00-D0-E5-F2-00-03";
  ExpectFailedAt(VerifyOwnershipVoucher(device_, der_), VerifyStep::kSerialNumber);
  SetUp();
  device_.acceptable_assertions = {Assertion::kVerified};
  ExpectFailedAt(VerifyOwnershipVoucher(device_, der_), VerifyStep::kAssertion);
  SetUp();
  device_.expected_nonce = std::string(16, 'x');
  ExpectFailedAt(VerifyOwnershipVoucher(device_, der_), VerifyStep::kNonce);
  SetUp();
  device_.expected_nonce.reset();
  ExpectFailedAt(VerifyOwnershipVoucher(device_, der_), VerifyStep::kNonce);
  SetUp();
  clock_.Set(ParseRfc3339("2021-04-01T00:00:00Z").value());  // before created-on
  EXPECT_FALSE(VerifyOwnershipVoucher(device_, der_).ok());
  SetUp();
  clock_.Set(ParseRfc3339("2030-01-01T00:00:00Z").value());  // the MASA cert has expired
  ExpectFailedAt(VerifyOwnershipVoucher(device_, der_), VerifyStep::kSignature);
}

TEST_F(Rfc8995VoucherTest, RejectsChangedContent) {
  size_t at = der_.find("00-D0-E5-F2-00-02");
  ASSERT_NE(at, std::string::npos);
  ExpectFailedAt(VerifyOwnershipVoucher(device_, Flipped(at + 3)), VerifyStep::kSignature);
}

TEST_F(Rfc8995VoucherTest, RejectsChangedSignature) {
  // The signature is the last OCTET STRING of the (single) SignerInfo: flip a byte near the
  // end, inside the ECDSA signature value.
  ExpectFailedAt(VerifyOwnershipVoucher(device_, Flipped(der_.size() - 5)), VerifyStep::kSignature);
}

TEST_F(Rfc8995VoucherTest, RejectsChangedEmbeddedCertificate) {
  auto parsed = ParseSignedData(der_);
  ASSERT_TRUE(parsed.ok());
  ASSERT_FALSE(parsed->certificates.empty());
  std::string cert_der = testing::CertDer(parsed->certificates[0].get());
  size_t at = der_.find(cert_der);
  ASSERT_NE(at, std::string::npos);
  // A byte in the middle of the certificate (its public key / extensions) ...
  VerificationResult r = VerifyOwnershipVoucher(device_, Flipped(at + cert_der.size() / 2));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.failed_step == VerifyStep::kSignature || r.failed_step == VerifyStep::kParse)
      << r.status;
  // ... and in its tag: the CMS no longer parses.
  ExpectFailedAt(VerifyOwnershipVoucher(device_, Flipped(at)), VerifyStep::kParse);
}

TEST_F(Rfc8995VoucherTest, RejectsGarbage) {
  ExpectFailedAt(VerifyOwnershipVoucher(device_, "not a CMS"), VerifyStep::kParse);
}

// A whole SZTP ownership chain: vendor root -> MASA signs the voucher pinning the owner CA;
// owner CA -> owner certificate signs the onboarding information.
class OwnershipChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vendor_ = MakeIdentity("CN=Vendor Root,O=Vendor", nullptr, true, "P-384", nullptr, 3650, 1);
    masa_ = MakeIdentity("CN=MASA,O=Vendor", &vendor_, false, "P-256", nullptr, 365, 2);
    owner_ca_ = MakeIdentity("CN=Owner CA,O=Owner", nullptr, true, "P-256", nullptr, 3650, 1);
    owner_sub_ =
        MakeIdentity("CN=Owner Issuing CA,O=Owner", &owner_ca_, true, "P-256", nullptr, 3650, 2);
    owner_ =
        MakeIdentity("CN=owner.example.com,O=Owner", &owner_sub_, false, "P-256", nullptr, 365, 3);
    voucher_.created_on = TestNow() - absl::Hours(1);
    voucher_.expires_on = TestNow() + absl::Hours(24);
    voucher_.assertion = Assertion::kVerified;
    voucher_.serial_number = "SN-42";
    voucher_.idevid_issuer = std::string(20, '\x17');
    voucher_.pinned_domain_cert = testing::CertDer(owner_ca_.cert.get());
    device_.vendor_trust_anchors = {vendor_.cert.get()};
    device_.serial_number = "SN-42";
    device_.idevid_issuer = std::string(20, '\x17');
    device_.clock = &clock_;
    conveyed_ = "{\"ietf-sztp-conveyed-info:onboarding-information\":{}}";
  }
  std::string SignVoucher(const Voucher& v) {
    auto signer = VoucherSigner::Create(masa_.key.get(), masa_.cert.get(), {});
    EXPECT_TRUE(signer.ok()) << signer.status();
    auto der = (*signer)->Sign(v);
    EXPECT_TRUE(der.ok()) << der.status();
    return der.ok() ? *der : "";
  }
  std::string OwnerBag(std::vector<X509*> certs) {
    auto bag = BuildCertificateBag(certs);
    EXPECT_TRUE(bag.ok());
    return bag.ok() ? *bag : "";
  }
  std::string SignInfo(const Identity& by,
                       CmsContentType type = CmsContentType::kSztpConveyedInfoJson) {
    auto der = SignConveyedInformation(conveyed_, type, by.key.get(), by.cert.get(), {});
    EXPECT_TRUE(der.ok()) << der.status();
    return der.ok() ? *der : "";
  }
  VerificationResult Run(const std::string& ov, const std::string& oc, const std::string& ci) {
    return VerifyOnboarding(device_, {ov, oc, ci});
  }

  Identity vendor_, masa_, owner_ca_, owner_sub_, owner_;
  Voucher voucher_;
  DeviceProfile device_;
  FixedClock clock_{TestNow()};
  std::string conveyed_;
};

TEST_F(OwnershipChainTest, EndToEnd) {
  std::string ov = SignVoucher(voucher_);
  std::string oc = OwnerBag({owner_.cert.get(), owner_sub_.cert.get()});
  std::string ci = SignInfo(owner_);
  VerificationResult r = Run(ov, oc, ci);
  ASSERT_TRUE(r.ok()) << r.status;
  EXPECT_EQ(r.conveyed_information, conveyed_);
  EXPECT_EQ(r.conveyed_information_type, CmsContentType::kSztpConveyedInfoJson);
  ASSERT_NE(r.owner_certificate, nullptr);
  EXPECT_EQ(X509_cmp(r.owner_certificate.get(), owner_.cert.get()), 0);
  EXPECT_EQ(X509_cmp(r.pinned_domain_cert.get(), owner_ca_.cert.get()), 0);
  // The XML flavour too, and a bag listing the intermediate first.
  r = Run(ov, OwnerBag({owner_sub_.cert.get(), owner_.cert.get()}),
          SignInfo(owner_, CmsContentType::kSztpConveyedInfoXml));
  ASSERT_TRUE(r.ok()) << r.status;
  EXPECT_EQ(r.conveyed_information_type, CmsContentType::kSztpConveyedInfoXml);
}

TEST_F(OwnershipChainTest, PlatformKeyCertificateMustBeIssuedByThePinnedDomainCert) {
  Identity pk = MakeIdentity("CN=Platform Key,O=Owner", &owner_ca_, false);
  voucher_.platform_key_certificate = testing::CertDer(pk.cert.get());
  VerificationResult r = VerifyOwnershipVoucher(device_, SignVoucher(voucher_));
  ASSERT_TRUE(r.ok()) << r.status;
  ASSERT_NE(r.platform_key_certificate, nullptr);
  EXPECT_EQ(X509_cmp(r.platform_key_certificate.get(), pk.cert.get()), 0);
  // One the owner's sub-CA issued is not the pinned certificate's: refused.
  Identity other = MakeIdentity("CN=Platform Key,O=Owner", &owner_sub_, false);
  voucher_.platform_key_certificate = testing::CertDer(other.cert.get());
  ExpectFailedAt(VerifyOwnershipVoucher(device_, SignVoucher(voucher_)),
                 VerifyStep::kPlatformKeyCertificate);
}

TEST_F(OwnershipChainTest, PinnedEndEntityCertificateIsItsOwnAnchor) {
  voucher_.pinned_domain_cert = testing::CertDer(owner_.cert.get());
  VerificationResult r =
      Run(SignVoucher(voucher_), OwnerBag({owner_.cert.get()}), SignInfo(owner_));
  EXPECT_TRUE(r.ok()) << r.status;
}

TEST_F(OwnershipChainTest, OwnerCertificateFromAnotherPkiIsRefused) {
  Identity stranger_ca = MakeIdentity("CN=Owner CA,O=Owner", nullptr, true);  // same name!
  Identity stranger = MakeIdentity("CN=owner.example.com,O=Owner", &stranger_ca, false);
  VerificationResult r =
      Run(SignVoucher(voucher_), OwnerBag({stranger.cert.get()}), SignInfo(stranger));
  ExpectFailedAt(r, VerifyStep::kOwnerCertificate);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(OwnershipChainTest, MissingIntermediateIsRefused) {
  VerificationResult r =
      Run(SignVoucher(voucher_), OwnerBag({owner_.cert.get()}), SignInfo(owner_));
  ExpectFailedAt(r, VerifyStep::kOwnerCertificate);
}

TEST_F(OwnershipChainTest, ConveyedInformationSignedByAnotherKeyIsRefused) {
  Identity other = MakeIdentity("CN=owner.example.com,O=Owner", &owner_sub_, false, "P-256",
                                nullptr, 365, 3);  // same name and serial, other key
  VerificationResult r = Run(SignVoucher(voucher_),
                             OwnerBag({owner_.cert.get(), owner_sub_.cert.get()}), SignInfo(other));
  ExpectFailedAt(r, VerifyStep::kConveyedInformation);
  EXPECT_FALSE(r.conveyed_information.size());
  // And one signed by the owner but with a non-SZTP content type.
  auto wrong_type = CmsSigner::Create(owner_.key.get(), owner_.cert.get(), {},
                                      CmsContentType::kData, nullptr, nullptr);
  ASSERT_TRUE(wrong_type.ok());
  r = Run(SignVoucher(voucher_), OwnerBag({owner_.cert.get(), owner_sub_.cert.get()}),
          (*wrong_type)->Sign(conveyed_).value());
  ExpectFailedAt(r, VerifyStep::kConveyedInformation);
}

TEST_F(OwnershipChainTest, ExpiredVoucherIsRefused) {
  std::string ov = SignVoucher(voucher_);
  clock_.Set(*voucher_.expires_on + absl::Seconds(1));
  ExpectFailedAt(Run(ov, "", ""), VerifyStep::kValidity);
  clock_.Set(*voucher_.created_on - absl::Hours(1));  // created in the future
  ExpectFailedAt(Run(ov, "", ""), VerifyStep::kValidity);
}

TEST_F(OwnershipChainTest, WrongSerialAssertionAndIdevidIssuerAreRefused) {
  std::string ov = SignVoucher(voucher_);
  device_.serial_number = "SN-43";
  ExpectFailedAt(Run(ov, "", ""), VerifyStep::kSerialNumber);
  device_.serial_number = "SN-42";
  device_.acceptable_assertions = {Assertion::kProximity};
  ExpectFailedAt(Run(ov, "", ""), VerifyStep::kAssertion);
  device_.acceptable_assertions = {Assertion::kVerified};
  device_.idevid_issuer = std::string(20, '\x18');
  ExpectFailedAt(Run(ov, "", ""), VerifyStep::kIdevidIssuer);
  device_.idevid_issuer.reset();  // the device does not know its AKI: not checked
  EXPECT_TRUE(Run(ov, "", "").ok());
}

TEST_F(OwnershipChainTest, VoucherFromAnotherVendorIsRefused) {
  Identity rogue = MakeIdentity("CN=MASA,O=Vendor", nullptr, true);
  auto signer = VoucherSigner::Create(rogue.key.get(), rogue.cert.get(), {});
  ASSERT_TRUE(signer.ok());
  ExpectFailedAt(Run((*signer)->Sign(voucher_).value(), "", ""), VerifyStep::kSignature);
}

TEST_F(OwnershipChainTest, VoucherPinningOnlyAKeyCannotAuthenticateAnOwner) {
  voucher_.pinned_domain_cert.reset();
  voucher_.pinned_domain_pubk_sha256 = std::string(32, '\x01');
  ExpectFailedAt(Run(SignVoucher(voucher_), "", ""), VerifyStep::kPinnedDomainCert);
}

TEST_F(OwnershipChainTest, ConveyedInformationNeedsAnOwnerCertificate) {
  ExpectFailedAt(Run(SignVoucher(voucher_), "", SignInfo(owner_)), VerifyStep::kOwnerCertificate);
}

TEST_F(OwnershipChainTest, RevocationChecksRequireCrls) {
  voucher_.domain_cert_revocation_checks = true;
  VerificationResult r =
      Run(SignVoucher(voucher_), OwnerBag({owner_.cert.get(), owner_sub_.cert.get()}),
          SignInfo(owner_));
  ExpectFailedAt(r, VerifyStep::kOwnerCertificate);
  voucher_.domain_cert_revocation_checks = false;
  r = Run(SignVoucher(voucher_), OwnerBag({owner_.cert.get(), owner_sub_.cert.get()}),
          SignInfo(owner_));
  EXPECT_TRUE(r.ok()) << r.status;
}

TEST(SignConveyedInformationTest, RefusesOtherContentTypes) {
  Identity owner = MakeIdentity("CN=o", nullptr, false);
  EXPECT_EQ(SignConveyedInformation("x", CmsContentType::kAnimaJsonVoucher, owner.key.get(),
                                    owner.cert.get(), {})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// The bounds of VerifyOnboarding's contract: a CMS or bag with more certificates than a real
// PKI has is refused before any chain building, and a chain deeper than kMaxChainDepth fails.
TEST_F(OwnershipChainTest, RefusesMoreCertificatesThanTheBound) {
  std::vector<Identity> extra;
  std::vector<X509*> many;
  for (size_t i = 0; i < kMaxCmsCertificates; ++i) {
    extra.push_back(MakeIdentity("CN=Extra " + std::to_string(i), &vendor_, false));
    many.push_back(extra.back().cert.get());
  }
  auto signer = VoucherSigner::Create(masa_.key.get(), masa_.cert.get(), many);
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto ov = (*signer)->Sign(voucher_);
  ASSERT_TRUE(ov.ok()) << ov.status();
  VerificationResult r = Run(*ov, "", "");
  ExpectFailedAt(r, VerifyStep::kSignature);
  EXPECT_NE(std::string(r.status.message()).find("carries 17 certificates; at most 16"),
            std::string::npos)
      << r.status;

  many.push_back(owner_.cert.get());  // the owner certificate and 16 more
  r = Run(SignVoucher(voucher_), OwnerBag(many), "");
  ExpectFailedAt(r, VerifyStep::kOwnerCertificate);
  EXPECT_NE(std::string(r.status.message()).find("holds 17 certificates; at most 16"),
            std::string::npos)
      << r.status;
}

TEST_F(OwnershipChainTest, RefusesOwnerChainsDeeperThanTheBound) {
  // owner_ca_ (pinned) -> kMaxChainDepth + 1 intermediates -> leaf.
  std::vector<Identity> cas;
  cas.reserve(kMaxChainDepth + 1);  // `issuer` points into it
  const Identity* issuer = &owner_ca_;
  for (int i = 0; i <= kMaxChainDepth; ++i) {
    cas.push_back(MakeIdentity("CN=Owner CA " + std::to_string(i), issuer, true, "P-256", nullptr,
                               3650, static_cast<uint64_t>(10 + i)));
    issuer = &cas.back();
  }
  Identity leaf = MakeIdentity("CN=deep.example.com", issuer, false, "P-256", nullptr, 365, 99);
  std::vector<X509*> bag = {leaf.cert.get()};
  for (size_t i = 1; i < cas.size(); ++i) bag.push_back(cas[i].cert.get());
  std::string ov = SignVoucher(voucher_);
  // Without the first intermediate the chain is kMaxChainDepth deep: accepted only when that
  // intermediate is the pin.
  Voucher shallow = voucher_;
  shallow.pinned_domain_cert = testing::CertDer(cas[0].cert.get());
  VerificationResult r = Run(SignVoucher(shallow), OwnerBag(bag), "");
  EXPECT_TRUE(r.ok()) << r.status;
  bag.push_back(cas[0].cert.get());
  r = Run(ov, OwnerBag(bag), "");
  ExpectFailedAt(r, VerifyStep::kOwnerCertificate);
  EXPECT_NE(std::string(r.status.message()).find("too long"), std::string::npos) << r.status;
}

// Fuzzing finding: a bag certificate whose public key does not decode left OpenSSL's error
// queue non-empty (X509_check_issued while finding the owner certificate), and the next
// failure on the thread reported that stale error as its own.
TEST_F(OwnershipChainTest, LeavesNoOpenSslErrorBehind) {
  std::string der = testing::CertDer(owner_sub_.cert.get());
  const ASN1_BIT_STRING* key = X509_get0_pubkey_bitstr(owner_sub_.cert.get());
  std::string point(reinterpret_cast<const char*>(ASN1_STRING_get0_data(key)),
                    static_cast<size_t>(ASN1_STRING_length(key)));
  size_t at = der.find(point);
  ASSERT_NE(at, std::string::npos);
  der[at + 10] = static_cast<char>(der[at + 10] ^ 0x01);  // the point leaves the curve
  auto broken = ParseCertificate(der);
  ASSERT_TRUE(broken.ok()) << broken.status();
  ERR_clear_error();
  VerificationResult r =
      Run(SignVoucher(voucher_), OwnerBag({owner_.cert.get(), broken->get()}), "");
  ExpectFailedAt(r, VerifyStep::kOwnerCertificate);
  EXPECT_EQ(ERR_peek_error(), 0u) << "an OpenSSL error was left on the queue";
}

}  // namespace
}  // namespace masa::signer
