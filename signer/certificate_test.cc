#include "signer/certificate.h"

#include <gtest/gtest.h>

#include "signer/internal/test_pki.h"

namespace masa::signer {
namespace {

using testing::NewEcKey;
using testing::TestNow;

bool IsCriticalExtension(X509* cert, int nid) {
  int at = X509_get_ext_by_NID(cert, nid, -1);
  return at >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, at));
}

TEST(IssueCertificateTest, SelfSignedCa) {
  auto key = NewEcKey("P-384");
  auto cert =
      IssueCertificate("CN=Vendor Root,O=Example\\, Inc.,C=US", key.get(), nullptr, key.get(),
                       nullptr, nullptr, TestNow(), TestNow() + absl::Hours(24), true, 7);
  ASSERT_TRUE(cert.ok()) << cert.status();
  X509* c = cert->get();
  EXPECT_EQ(SubjectName(c), "CN=Vendor Root,O=Example\\, Inc.,C=US");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c)), 0);
  EXPECT_EQ(X509_verify(c, key.get()), 1);
  EXPECT_EQ(X509_check_ca(c), 1);
  EXPECT_TRUE(IsCriticalExtension(c, NID_basic_constraints));
  EXPECT_TRUE(IsCriticalExtension(c, NID_key_usage));
  EXPECT_TRUE(X509_get_key_usage(c) & KU_KEY_CERT_SIGN);
  EXPECT_EQ(SubjectKeyId(c).size(), 20u);
  EXPECT_EQ(AuthorityKeyId(c), SubjectKeyId(c));
  EXPECT_EQ(ASN1_INTEGER_get(X509_get0_serialNumber(c)), 7);
  EXPECT_EQ(X509_get_signature_nid(c), NID_ecdsa_with_SHA384);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notBefore(c), absl::ToTimeT(TestNow())), 0);
}

TEST(IssueCertificateTest, EndEntityChainsToItsIssuer) {
  auto ca_key = NewEcKey();
  auto ca =
      IssueCertificate("/C=US/O=Owner/CN=Owner CA", ca_key.get(), nullptr, ca_key.get(), nullptr,
                       nullptr, TestNow() - absl::Hours(1), TestNow() + absl::Hours(48), true, 1);
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_EQ(SubjectName(ca->get()), "CN=Owner CA,O=Owner,C=US");
  auto ee_key = NewEcKey();
  auto ee =
      IssueCertificate("CN=owner.example.com", ee_key.get(), ca->get(), ca_key.get(), nullptr,
                       nullptr, TestNow() - absl::Hours(1), TestNow() + absl::Hours(24), false, 2);
  ASSERT_TRUE(ee.ok()) << ee.status();
  EXPECT_EQ(X509_check_ca(ee->get()), 0);
  EXPECT_TRUE(X509_get_key_usage(ee->get()) & KU_DIGITAL_SIGNATURE);
  EXPECT_FALSE(X509_get_key_usage(ee->get()) & KU_KEY_CERT_SIGN);
  EXPECT_EQ(AuthorityKeyId(ee->get()), SubjectKeyId(ca->get()));
  EXPECT_NE(SubjectKeyId(ee->get()), SubjectKeyId(ca->get()));
  EXPECT_EQ(X509_verify(ee->get(), ca_key.get()), 1);

  UniquePtr<X509_STORE> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca->get());
  UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), ee->get(), nullptr);
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(TestNow()));
  EXPECT_EQ(X509_verify_cert(ctx.get()), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

TEST(IssueCertificateTest, SignsInAFreshLibraryContext) {
  UniquePtr<OSSL_LIB_CTX> libctx(OSSL_LIB_CTX_new());
  UniquePtr<OSSL_PROVIDER> provider(OSSL_PROVIDER_load(libctx.get(), "default"));
  ASSERT_NE(provider, nullptr);
  auto key = NewEcKey("P-256", libctx.get());
  auto cert = IssueCertificate("CN=ctx", key.get(), nullptr, key.get(), libctx.get(), nullptr,
                               TestNow(), TestNow() + absl::Hours(1), true, 1);
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(X509_verify(cert->get(), key.get()), 1);

  // OpenSSL falls back to the key's own provider when the context lacks the algorithm, so
  // the property query is what proves the signing call took our parameters.
  auto refused =
      IssueCertificate("CN=ctx", key.get(), nullptr, key.get(), libctx.get(),
                       "provider=no-such-provider", TestNow(), TestNow() + absl::Hours(1), true, 1);
  EXPECT_FALSE(refused.ok());
}

TEST(IssueCertificateTest, RejectsBadInput) {
  auto key = NewEcKey();
  auto issue = [&](std::string_view dn, absl::Time nb, absl::Time na, uint64_t serial) {
    return IssueCertificate(dn, key.get(), nullptr, key.get(), nullptr, nullptr, nb, na, false,
                            serial);
  };
  const absl::Time t = TestNow();
  EXPECT_EQ(issue("", t, t + absl::Hours(1), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(issue("CN", t, t + absl::Hours(1), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(issue("XX=nope", t, t + absl::Hours(1), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(issue("CN=a", t, t, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(issue("CN=a", t, t + absl::Hours(1), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(IssueCertificate("CN=a", nullptr, nullptr, key.get(), nullptr, nullptr, t,
                             t + absl::Hours(1), false, 1)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CheckIssuedByTest, NameAndSignatureMustBothMatch) {
  testing::Identity owner = testing::MakeIdentity("CN=Owner CA,O=Owner", nullptr, true);
  testing::Identity pk = testing::MakeIdentity("CN=Platform Key,O=Owner", &owner, false);
  EXPECT_TRUE(CheckIssuedBy(pk.cert.get(), owner.cert.get()).ok());
  // An end-entity PDC (a registrar) that signed the certificate is accepted as its issuer.
  testing::Identity registrar = testing::MakeIdentity("CN=Registrar,O=Owner", &owner, false);
  testing::Identity pk2 = testing::MakeIdentity("CN=Platform Key 2,O=Owner", &registrar, false);
  EXPECT_TRUE(CheckIssuedBy(pk2.cert.get(), registrar.cert.get()).ok());
  // Another issuer name.
  absl::Status s = CheckIssuedBy(pk.cert.get(), registrar.cert.get());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("issuer"), std::string::npos) << s;
  // The same name but another key: an impostor CA.
  testing::Identity impostor = testing::MakeIdentity("CN=Owner CA,O=Owner", nullptr, true);
  s = CheckIssuedBy(pk.cert.get(), impostor.cert.get());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("signature"), std::string::npos) << s;
}

}  // namespace
}  // namespace masa::signer
