// The rules a pinned-domain certificate meets before it is stored or pinned (service/internal/
// pdc.h), through UploadPdc and a pasted PDC in RequestVouchers. Every certificate is made
// here with OpenSSL's own key generation.
#include <openssl/err.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "service/testing/fixture.h"

namespace masa::service {
namespace {

using absl::StatusCode;
using ::testing::HasSubstr;

UniquePtr<EVP_PKEY> RsaKey(size_t bits) {
  return UniquePtr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
}

class PdcInputTest : public testing::SmallServiceTest {
 protected:
  void SetUp() override {
    SmallServiceTest::SetUp();
    ASSERT_TRUE(
        service_->AssignSerialsOffline({"org-acme", "", {{"", "SN-1", "", "", {}}}, false}).ok());
  }

  // A self-signed certificate for `key` as PEM; `is_ca` false makes an end-entity one.
  std::string Pem(EVP_PKEY* key, std::string_view subject = "CN=Acme Owner,O=Acme Corp",
                  bool is_ca = true) {
    EXPECT_NE(key, nullptr) << "OpenSSL could not make the key";
    if (key == nullptr) return "";
    absl::Time now = clock_.Now();
    auto cert =
        signer::IssueCertificate(subject, key, nullptr, key, nullptr, nullptr, now - absl::Hours(1),
                                 now + absl::Hours(24 * 800), is_ca, 7);
    EXPECT_TRUE(cert.ok()) << cert.status();
    return cert.ok() ? *CertificateToPem(cert->get()) : "";
  }

  absl::Status Upload(const std::string& certificate) {
    return service_->UploadPdc(admin_, {"", certificate, "", false, std::nullopt}).status();
  }

  // A pasted PDC is checked synchronously, before anything is queued.
  absl::Status Paste(const std::string& certificate) {
    VoucherRequestInput in;
    in.serial_numbers = {"SN-1"};
    in.pdc_pem = certificate;
    return service_->RequestVouchers(admin_, std::move(in), [](auto) {});
  }

  // Refused both ways, kInvalidArgument with a message holding `why`.
  void ExpectRefused(const std::string& certificate, std::string_view why) {
    for (const absl::Status& s : {Upload(certificate), Paste(certificate)}) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
      EXPECT_THAT(s.message(), HasSubstr(why));
    }
    auto pdcs = service_->ListPdcs(admin_);
    ASSERT_TRUE(pdcs.ok()) << pdcs.status();
    EXPECT_TRUE(pdcs->empty()) << "a refused certificate was stored";
  }
};

TEST_F(PdcInputTest, WeakRsaKeysAreRefused) {
  ExpectRefused(Pem(RsaKey(1024).get()), "RSA key has 1024 bits; at least 2048");
  EXPECT_TRUE(Upload(Pem(RsaKey(2048).get())).ok());
}

TEST_F(PdcInputTest, EcCurvesBelowP256AndUnusualCurvesAreRefused) {
  // OpenSSL 3.0 (Debian 12) still generates P-192 and P-224 keys.
  ExpectRefused(Pem(testing::EcKey("prime192v1").get()), "prime192v1 (192 bits)");
  ExpectRefused(Pem(testing::EcKey("secp224r1").get()), "at least P-256");
  ExpectRefused(Pem(testing::EcKey("secp256k1").get()), "secp256k1, which devices");
  ExpectRefused(Pem(testing::EcKey("brainpoolP256r1").get()), "brainpoolP256r1");
}

TEST_F(PdcInputTest, NistCurvesEdwardsKeysAndEndEntityCertificatesAreAccepted) {
  EXPECT_TRUE(Upload(Pem(testing::EcKey("P-256").get())).ok());
  EXPECT_TRUE(Upload(Pem(testing::EcKey("P-384").get())).ok());
  EXPECT_TRUE(Upload(Pem(testing::EcKey("P-521").get())).ok());
  UniquePtr<EVP_PKEY> ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  EXPECT_TRUE(Upload(Pem(ed25519.get())).ok());
  UniquePtr<EVP_PKEY> ed448(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"));
  EXPECT_TRUE(Upload(Pem(ed448.get())).ok());
  // RFC 8995 pins the registrar's own (end-entity) certificate.
  std::string registrar = Pem(testing::EcKey().get(), "CN=registrar.acme.example", false);
  EXPECT_TRUE(Upload(registrar).ok());
  EXPECT_TRUE(Paste(registrar).ok());
}

TEST_F(PdcInputTest, PemFramingIsStrict) {
  std::string pem = Pem(testing::EcKey().get());
  ExpectRefused(pem + "junk\n", "data after the END CERTIFICATE line");
  ExpectRefused(pem + "-----BEGIN PRIVATE KEY-----\nMC4CAQA=\n-----END PRIVATE KEY-----\n",
                "\"PRIVATE KEY\" PEM block");
  ExpectRefused(pem + Pem(testing::EcKey().get(), "CN=Acme Root"), "holds 2 certificates");
  // Whitespace after the END line, and explanatory text before BEGIN (RFC 7468), are fine.
  EXPECT_TRUE(Upload(pem + "\n \r\n\t\n").ok());
  EXPECT_TRUE(Upload("Subject: CN=Acme Owner\n" + Pem(testing::EcKey().get())).ok());
}

TEST_F(PdcInputTest, SubjectsWithControlCharactersAreRefused) {
  ExpectRefused(Pem(testing::EcKey().get(), "CN=Acme\x1b[2J Owner,O=Acme Corp"),
                "subject attribute CN holds the control character U+001B");
  ExpectRefused(Pem(testing::EcKey().get(), "CN=Acme Owner,O=Acme\nCorp"),
                "subject attribute O holds the control character U+000A");
  ExpectRefused(Pem(testing::EcKey().get(), std::string("CN=Acme\0Owner", 13)), "U+0000");
  ExpectRefused(Pem(testing::EcKey().get(), "CN=Acme\xC2\x85Owner"), "U+0085");
  // Other non-ASCII text is fine.
  EXPECT_TRUE(Upload(Pem(testing::EcKey().get(), "CN=Zürich Owner,O=Acme AG")).ok());
}

// Fuzzing finding (service_pdc_fuzz): the label of a foreign PEM block went into the message
// as sent, control characters and line breaks included.
TEST_F(PdcInputTest, ForeignPemLabelsAreEscapedInTheMessage) {
  std::string hostile = Pem(testing::EcKey().get()) + "-----BEGIN \x1b[2J\nKEY-----\n";
  ExpectRefused(hostile, "\"\\x1B[2J\\x0AKEY\" PEM block");
  for (const absl::Status& s : {Upload(hostile), Paste(hostile)}) {
    for (char c : s.message()) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << s;
  }
}

// Found with the RFC 3339 fix: a GeneralizedTime validity in the year 0000 was taken, and
// could not be written back as RFC 3339 in listings and messages.
TEST_F(PdcInputTest, ValidityBeforeTheYearOneIsRefused) {
  UniquePtr<EVP_PKEY> key = testing::EcKey();
  absl::Time year_zero = absl::FromCivil(absl::CivilSecond(0, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  auto cert =
      signer::IssueCertificate("CN=Acme Owner,O=Acme Corp", key.get(), nullptr, key.get(), nullptr,
                               nullptr, year_zero, clock_.Now() + absl::Hours(24 * 800), true, 7);
  ASSERT_TRUE(cert.ok()) << cert.status();
  ExpectRefused(*CertificateToPem(cert->get()),
                "unreadable validity period (outside the years 0001 to 9999)");
}

// Fuzzing finding (service_pdc_fuzz): a certificate whose extensions do not decode was
// accepted as DER, leaving OpenSSL's error on the queue for the next message, and refused
// as PEM (the same stale error made the PEM reader fail). Now both are refused alike.
TEST_F(PdcInputTest, MalformedExtensionsAreRefusedAsPemAndAsDer) {
  std::string pem = Pem(testing::EcKey().get());
  auto cert = ParseCertificate(pem);
  ASSERT_TRUE(cert.ok()) << cert.status();
  std::string der = *CertificateToDer(cert->get());
  // basicConstraints cA: BOOLEAN TRUE becomes an INTEGER: the certificate still parses.
  const std::string ca_true("\x30\x03\x01\x01\xff", 5);
  size_t at = der.find(ca_true);
  ASSERT_NE(at, std::string::npos);
  der[at + 2] = '\x02';
  auto broken = ParseCertificate(der);
  ASSERT_TRUE(broken.ok()) << broken.status();
  EXPECT_EQ(ERR_peek_error(), 0u) << "ParseCertificate left an OpenSSL error behind";
  ExpectRefused(der, "its extensions cannot be read");
  ExpectRefused(*CertificateToPem(broken->get()), "its extensions cannot be read");
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(PdcInputTest, AStoredCertificateFromBeforeTheRulesIsStillListed) {
  // As if uploaded by an earlier version: written to the store directly.
  store::PinnedDomainCert weak;
  weak.id = "org-acme.pdc-old";
  weak.organization_id = "org-acme";
  weak.group_id = "org-acme";
  weak.name = "old";
  auto der = ParseCertificate(Pem(RsaKey(1024).get()));
  ASSERT_TRUE(der.ok()) << der.status();
  weak.certificate_der = *CertificateToDer(der->get());
  weak.created_at = clock_.Now();
  store::WriteBatch batch;
  batch.Insert(weak);
  ASSERT_TRUE(store_->Write(std::move(batch)).ok());
  auto pdcs = service_->ListPdcs(admin_);
  ASSERT_TRUE(pdcs.ok()) << pdcs.status();
  ASSERT_EQ(pdcs->size(), 1u);
  EXPECT_TRUE(service_->DeletePdc(admin_, weak.id).ok());
}

}  // namespace
}  // namespace masa::service
