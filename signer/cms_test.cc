#include "signer/cms.h"

#include <openssl/err.h>
#include <openssl/provider.h>

#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "signer/internal/test_pki.h"
#include "signer/voucher_json.h"

namespace masa::signer {
namespace {

using testing::Identity;
using testing::MakeIdentity;
using testing::TestNow;

// Vendor root -> MASA signer, as a MASA is deployed.
struct Pki {
  explicit Pki(const char* curve = "P-256", OSSL_LIB_CTX* libctx = nullptr) {
    root = MakeIdentity("CN=Vendor Root,O=Vendor", nullptr, true, curve, libctx, 3650, 1);
    masa = MakeIdentity("CN=MASA,O=Vendor", &root, false, curve, libctx, 365, 2);
  }
  Identity root;
  Identity masa;
};

// Verifies with OpenSSL's own CMS_verify (full chain, purpose any, fixed time) and returns
// the content, or nullopt.
std::optional<std::string> OpenSslVerify(const std::string& der, X509* anchor) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  UniquePtr<CMS_ContentInfo> cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (cms == nullptr) return std::nullopt;
  UniquePtr<X509_STORE> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), anchor);
  X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()),
                             static_cast<time_t>(absl::ToUnixSeconds(TestNow())));
  X509_STORE_set_purpose(store.get(), X509_PURPOSE_ANY);
  UniquePtr<BIO> out(BIO_new(BIO_s_mem()));
  if (CMS_verify(cms.get(), nullptr, store.get(), nullptr, out.get(), CMS_BINARY) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

VerifyOptions OptionsFor(X509* anchor) {
  VerifyOptions o;
  o.trust_anchors = {anchor};
  o.verification_time = TestNow();
  return o;
}

TEST(CmsContentTypeTest, Oids) {
  EXPECT_EQ(ContentTypeOid(CmsContentType::kAnimaJsonVoucher), "1.2.840.113549.1.9.16.1.40");
  EXPECT_EQ(ContentTypeOid(CmsContentType::kData), "1.2.840.113549.1.7.1");
  EXPECT_EQ(ContentTypeFromOid("1.2.840.113549.1.9.16.1.42"),
            CmsContentType::kSztpConveyedInfoXml);
  EXPECT_EQ(ContentTypeFromOid("1.2.840.113549.1.9.16.1.43"),
            CmsContentType::kSztpConveyedInfoJson);
  EXPECT_EQ(ContentTypeFromOid("1.2.3"), CmsContentType::kOther);
}

class CmsRoundTripTest : public ::testing::TestWithParam<CmsContentType> {};

TEST_P(CmsRoundTripTest, SignParseVerify) {
  Pki pki;
  auto signer = CmsSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {pki.root.cert.get()},
                                  GetParam(), nullptr, nullptr);
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ((*signer)->digest_name(), "SHA256");
  const std::string content = "{\"ietf-voucher:voucher\":{\"serial-number\":\"x\"}}";
  auto der = (*signer)->Sign(content);
  ASSERT_TRUE(der.ok()) << der.status();

  auto parsed = ParseSignedData(*der);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->content, content);
  EXPECT_TRUE(parsed->content_present);
  EXPECT_EQ(parsed->content_type, GetParam());
  EXPECT_EQ(parsed->content_type_oid, ContentTypeOid(GetParam()));
  ASSERT_EQ(parsed->certificates.size(), 2u);  // signer first, then the chain
  EXPECT_EQ(X509_cmp(parsed->certificates[0].get(), pki.masa.cert.get()), 0);
  EXPECT_EQ(X509_cmp(parsed->certificates[1].get(), pki.root.cert.get()), 0);
  ASSERT_EQ(parsed->signers.size(), 1u);
  EXPECT_EQ(parsed->signers[0].certificate, std::optional<size_t>(0));
  EXPECT_TRUE(parsed->signers[0].has_signed_attributes);
  EXPECT_EQ(parsed->signers[0].digest_algorithm, "SHA256");
  EXPECT_EQ(parsed->signers[0].issuer, "CN=Vendor Root,O=Vendor");
  EXPECT_EQ(parsed->signers[0].serial_hex, "02");

  auto verified = VerifySignedData(*der, OptionsFor(pki.root.cert.get()));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->content, content);
  EXPECT_EQ(X509_cmp(verified->signer.get(), pki.masa.cert.get()), 0);
  EXPECT_EQ(verified->chain.size(), 2u);

  // OpenSSL's own CMS_verify agrees.
  EXPECT_EQ(OpenSslVerify(*der, pki.root.cert.get()), content);
}

INSTANTIATE_TEST_SUITE_P(BothContentTypes, CmsRoundTripTest,
                         ::testing::Values(CmsContentType::kAnimaJsonVoucher,
                                           CmsContentType::kData));

TEST(CmsSignerTest, P384KeysSignWithSha384) {
  Pki pki("P-384");
  auto signer = CmsSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {},
                                  CmsContentType::kAnimaJsonVoucher, nullptr, nullptr);
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ((*signer)->digest_name(), "SHA384");
  auto der = (*signer)->Sign("hello");
  ASSERT_TRUE(der.ok());
  auto parsed = ParseSignedData(*der);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->signers.size(), 1u);
  EXPECT_EQ(parsed->signers[0].digest_algorithm, "SHA384");
  EXPECT_EQ(parsed->signers[0].signature_algorithm, "ecdsa-with-SHA384");
  EXPECT_EQ(parsed->certificates.size(), 1u);  // no chain given: only the signer
  EXPECT_EQ(OpenSslVerify(*der, pki.root.cert.get()), "hello");
}

TEST(CmsSignerTest, RefusesKeyThatDoesNotMatchCertificate) {
  Pki pki;
  auto other = testing::NewEcKey();
  auto signer = CmsSigner::Create(other.get(), pki.masa.cert.get(), {},
                                  CmsContentType::kData, nullptr, nullptr);
  ASSERT_FALSE(signer.ok());
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(signer.status().message()).find("does not match"), std::string::npos);
}

TEST(CmsSignerTest, SignsInAFreshLibraryContext) {
  UniquePtr<OSSL_LIB_CTX> libctx(OSSL_LIB_CTX_new());
  UniquePtr<OSSL_PROVIDER> provider(OSSL_PROVIDER_load(libctx.get(), "default"));
  ASSERT_NE(provider, nullptr);
  Pki pki("P-256", libctx.get());
  auto signer = VoucherSigner::Create(pki.masa.key.get(), pki.masa.cert.get(),
                                      {pki.root.cert.get()}, CmsContentType::kAnimaJsonVoucher,
                                      libctx.get(), "provider=default");
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto pdc = MakeIdentity("CN=Owner", nullptr, true);
  Voucher v;
  v.created_on = TestNow();
  v.assertion = Assertion::kLogged;
  v.serial_number = "SN-1";
  v.pinned_domain_cert = testing::CertDer(pdc.cert.get());
  auto der = (*signer)->Sign(v);
  ASSERT_TRUE(der.ok()) << der.status();
  auto verified = VerifySignedData(*der, OptionsFor(pki.root.cert.get()));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(DecodeVoucherJson(verified->content).value(), v);
}

TEST(CmsSignerTest, HonoursTheLibraryContextItIsGiven) {
  // A context with only the "base" provider has no signature or digest algorithms: if the
  // signer silently used the default context, Create would succeed.
  UniquePtr<OSSL_LIB_CTX> libctx(OSSL_LIB_CTX_new());
  UniquePtr<OSSL_PROVIDER> base(OSSL_PROVIDER_load(libctx.get(), "base"));
  ASSERT_NE(base, nullptr);
  Pki pki;
  auto signer = CmsSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {},
                                  CmsContentType::kAnimaJsonVoucher, libctx.get(), nullptr);
  ASSERT_FALSE(signer.ok());
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kFailedPrecondition) << signer.status();
  // And a property query nothing matches is honoured too.
  auto unmatched = CmsSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {},
                                     CmsContentType::kAnimaJsonVoucher, nullptr,
                                     "provider=no-such-provider");
  ASSERT_FALSE(unmatched.ok());
  EXPECT_EQ(unmatched.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(CmsSignerTest, ConcurrentSignsAllVerify) {
  Pki pki;
  auto signer = VoucherSigner::Create(pki.masa.key.get(), pki.masa.cert.get(),
                                      {pki.root.cert.get()});
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto pdc = MakeIdentity("CN=Owner", nullptr, true);
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::vector<std::string>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Voucher v;
        v.created_on = TestNow();
        v.assertion = Assertion::kVerified;
        v.serial_number = "SN-" + std::to_string(t) + "-" + std::to_string(i);
        v.pinned_domain_cert = testing::CertDer(pdc.cert.get());
        auto der = (*signer)->Sign(v);
        results[t].push_back(der.ok() ? *der : std::string());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kEach; ++i) {
      auto verified = VerifySignedData(results[t][i], OptionsFor(pki.root.cert.get()));
      ASSERT_TRUE(verified.ok()) << verified.status();
      auto v = DecodeVoucherJson(verified->content);
      ASSERT_TRUE(v.ok());
      EXPECT_EQ(*v->serial_number, "SN-" + std::to_string(t) + "-" + std::to_string(i));
    }
  }
}

TEST(VoucherSignerTest, RefusesInvalidVoucherNamingTheLeaf) {
  Pki pki;
  auto signer = VoucherSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {});
  ASSERT_TRUE(signer.ok());
  Voucher v;
  v.created_on = TestNow();
  v.assertion = Assertion::kVerified;
  v.pinned_domain_cert = testing::CertDer(pki.root.cert.get());
  auto der = (*signer)->Sign(v);
  ASSERT_FALSE(der.ok());
  EXPECT_EQ(der.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(der.status().message()).rfind("serial-number:", 0), 0u);
}

TEST(VoucherSignerTest, RefusesConveyedInformationContentType) {
  Pki pki;
  EXPECT_FALSE(VoucherSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {},
                                     CmsContentType::kSztpConveyedInfoJson)
                   .ok());
}

TEST(CmsVerifyTest, RejectsWrongAnchorTamperingAndExpiry) {
  Pki pki;
  Pki other;
  auto signer = CmsSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {},
                                  CmsContentType::kAnimaJsonVoucher, nullptr, nullptr);
  ASSERT_TRUE(signer.ok());
  auto der = (*signer)->Sign("the content to protect");
  ASSERT_TRUE(der.ok());

  auto wrong_anchor = VerifySignedData(*der, OptionsFor(other.root.cert.get()));
  ASSERT_FALSE(wrong_anchor.ok());
  EXPECT_EQ(wrong_anchor.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(std::string(wrong_anchor.status().message()).find("does not chain"),
            std::string::npos);

  std::string tampered = *der;
  size_t at = tampered.find("protect");
  ASSERT_NE(at, std::string::npos);
  tampered[at] ^= 1;
  auto bad = VerifySignedData(tampered, OptionsFor(pki.root.cert.get()));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(OpenSslVerify(tampered, pki.root.cert.get()).has_value());

  VerifyOptions late = OptionsFor(pki.root.cert.get());
  late.verification_time = TestNow() + absl::Hours(24 * 366);  // after the MASA cert expired
  auto expired = VerifySignedData(*der, late);
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(std::string(expired.status().message()).find("expired"), std::string::npos)
      << expired.status();

  EXPECT_EQ(VerifySignedData(*der + "x", OptionsFor(pki.root.cert.get())).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CmsVerifyTest, VerifySignedDataWithSignerChecksTheGivenCertificateOnly) {
  Pki pki;
  auto signer = CmsSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {},
                                  CmsContentType::kSztpConveyedInfoJson, nullptr, nullptr);
  ASSERT_TRUE(signer.ok());
  auto der = (*signer)->Sign("{}");
  ASSERT_TRUE(der.ok());
  auto ok = VerifySignedDataWithSigner(*der, pki.masa.cert.get());
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->content_type, CmsContentType::kSztpConveyedInfoJson);
  // The embedded MASA certificate must not be used when another signer is demanded.
  auto wrong = VerifySignedDataWithSigner(*der, pki.root.cert.get());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(CertificateBagTest, RoundTripKeepsOrderAndHasNoSigners) {
  Pki pki;
  auto bag = BuildCertificateBag({pki.masa.cert.get(), pki.root.cert.get()});
  ASSERT_TRUE(bag.ok()) << bag.status();
  auto certs = ParseCertificateBag(*bag);
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ(X509_cmp((*certs)[0].get(), pki.masa.cert.get()), 0);
  EXPECT_EQ(X509_cmp((*certs)[1].get(), pki.root.cert.get()), 0);
  auto parsed = ParseSignedData(*bag);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->signers.empty());
  EXPECT_FALSE(parsed->content_present);
  EXPECT_EQ(parsed->content_type, CmsContentType::kData);
  // A bag is not a signed object.
  EXPECT_FALSE(VerifySignedData(*bag, OptionsFor(pki.root.cert.get())).ok());
  EXPECT_FALSE(BuildCertificateBag({}).ok());
  EXPECT_FALSE(ParseCertificateBag("not der").ok());
}

}  // namespace
}  // namespace masa::signer
