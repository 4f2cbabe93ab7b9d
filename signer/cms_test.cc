#include "signer/cms.h"

#include <openssl/err.h>
#include <openssl/provider.h>

#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/time/civil_time.h"
#include "common/time.h"
#include "signer/internal/der.h"
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
  EXPECT_EQ(ContentTypeFromOid("1.2.840.113549.1.9.16.1.42"), CmsContentType::kSztpConveyedInfoXml);
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
  auto signer = CmsSigner::Create(other.get(), pki.masa.cert.get(), {}, CmsContentType::kData,
                                  nullptr, nullptr);
  ASSERT_FALSE(signer.ok());
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(signer.status().message()).find("does not match"), std::string::npos);
}

TEST(CmsSignerTest, SignsInAFreshLibraryContext) {
  UniquePtr<OSSL_LIB_CTX> libctx(OSSL_LIB_CTX_new());
  UniquePtr<OSSL_PROVIDER> provider(OSSL_PROVIDER_load(libctx.get(), "default"));
  ASSERT_NE(provider, nullptr);
  Pki pki("P-256", libctx.get());
  auto signer =
      VoucherSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {pki.root.cert.get()},
                            CmsContentType::kAnimaJsonVoucher, libctx.get(), "provider=default");
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
  auto unmatched =
      CmsSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {},
                        CmsContentType::kAnimaJsonVoucher, nullptr, "provider=no-such-provider");
  ASSERT_FALSE(unmatched.ok());
  EXPECT_EQ(unmatched.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(CmsSignerTest, ConcurrentSignsAllVerify) {
  Pki pki;
  auto signer =
      VoucherSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {pki.root.cert.get()});
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
  EXPECT_NE(std::string(wrong_anchor.status().message()).find("does not chain"), std::string::npos);

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

// --- The hand-built SignedData encoder against OpenSSL's own CMS code. ---

enum class KeyKind { kP256, kP384, kRsa };

std::string KindName(KeyKind kind) {
  switch (kind) {
    case KeyKind::kP256:
      return "P256";
    case KeyKind::kP384:
      return "P384";
    case KeyKind::kRsa:
      return "Rsa";
  }
  return "";
}

// A vendor root and a MASA signer. For RSA the root is a P-256 key, so that its (shorter)
// certificate sorts before the signer's in the DER SET OF: the comparison with OpenSSL then
// checks the certificate order too.
struct KindPki {
  explicit KindPki(KeyKind kind) {
    const char* curve = kind == KeyKind::kP384 ? "P-384" : "P-256";
    root = MakeIdentity("CN=Vendor Root,O=Vendor", nullptr, true, curve, nullptr, 3650, 1);
    if (kind != KeyKind::kRsa) {
      masa = MakeIdentity("CN=MASA,O=Vendor", &root, false, curve, nullptr, 365, 2);
      return;
    }
    masa.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
    EXPECT_NE(masa.key, nullptr);
    auto cert = IssueCertificate("CN=MASA,O=Vendor", masa.key.get(), root.cert.get(),
                                 root.key.get(), nullptr, nullptr, TestNow() - absl::Hours(24),
                                 TestNow() + absl::Hours(24 * 365), false, 2);
    EXPECT_TRUE(cert.ok()) << cert.status();
    if (cert.ok()) masa.cert = *std::move(cert);
  }
  Identity root;
  Identity masa;
};

// OpenSSL's CMS_sign of `content` with the flags CmsSigner documents and a fixed signingTime.
std::string OpenSslCmsSign(std::string_view content, const Identity& signer,
                           const std::vector<X509*>& chain, CmsContentType type,
                           const std::string& digest, absl::Time signing_time) {
  constexpr unsigned int kFlags = CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP;
  UniquePtr<CMS_ContentInfo> cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, kFlags));
  EXPECT_NE(cms, nullptr);
  if (type != CmsContentType::kData) {
    UniquePtr<ASN1_OBJECT> oid(OBJ_txt2obj(std::string(ContentTypeOid(type)).c_str(), 1));
    EXPECT_TRUE(CMS_set1_eContentType(cms.get(), oid.get()));
  }
  CMS_SignerInfo* si = CMS_add1_signer(cms.get(), signer.cert.get(), signer.key.get(),
                                       EVP_get_digestbyname(digest.c_str()), kFlags);
  EXPECT_NE(si, nullptr);
  UniquePtr<ASN1_STRING> time(
      ASN1_TIME_set(nullptr, static_cast<time_t>(absl::ToUnixSeconds(signing_time))));
  EXPECT_TRUE(CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, ASN1_STRING_type(time.get()),
                                          time.get(), -1));
  for (X509* c : chain) EXPECT_TRUE(CMS_add1_cert(cms.get(), c));
  UniquePtr<BIO> in(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
  EXPECT_TRUE(CMS_final(cms.get(), in.get(), nullptr, CMS_BINARY));
  unsigned char* der = nullptr;
  int len = i2d_CMS_ContentInfo(cms.get(), &der);
  EXPECT_GT(len, 0);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// The value octets of the TLVs directly inside the constructed TLV `tlv`, read by hand (not
// by OpenSSL, which would re-sort SET OFs on the way and hide an order mistake). Definite
// lengths only; empty when malformed.
std::vector<std::string_view> Children(std::string_view tlv) {
  auto extent = [](std::string_view in, size_t* value_offset) -> size_t {
    if (in.size() < 2) return 0;
    size_t len = static_cast<unsigned char>(in[1]);
    size_t offset = 2;
    if (len & 0x80) {
      size_t n = len & 0x7f;
      if (n == 0 || n > 4 || in.size() < 2 + n) return 0;
      len = 0;
      for (size_t i = 0; i < n; ++i) len = (len << 8) | static_cast<unsigned char>(in[2 + i]);
      offset += n;
    }
    if (in.size() - offset < len) return 0;
    *value_offset = offset;
    return offset + len;
  };
  std::vector<std::string_view> out;
  size_t offset = 0;
  size_t total = extent(tlv, &offset);
  if (total != tlv.size()) return {};
  std::string_view value = tlv.substr(offset);
  while (!value.empty()) {
    size_t child_offset = 0;
    size_t child = extent(value, &child_offset);
    if (child == 0) return {};
    out.push_back(value.substr(0, child));
    value.remove_prefix(child);
  }
  return out;
}

std::string Rewrap(std::string_view original, const std::vector<std::string_view>& children) {
  std::string value;
  for (std::string_view c : children) value.append(c.data(), c.size());
  std::string out;
  der::AppendTlv(static_cast<uint8_t>(original[0]), value, &out);
  return out;
}

// `cms` with the SignerInfo's signature OCTET STRING emptied and every enclosing length
// re-computed; every other octet is kept as it was. Empty when the shape is not
// ContentInfo { oid, [0] { SignedData { 5 fields, SET { SignerInfo { 6 fields } } } } }.
std::string WithoutSignature(std::string_view cms) {
  auto content_info = Children(cms);
  if (content_info.size() != 2) return "";
  auto explicit0 = Children(content_info[1]);
  if (explicit0.size() != 1) return "";
  auto signed_data = Children(explicit0[0]);
  if (signed_data.size() != 5) return "";
  auto signer_infos = Children(signed_data[4]);
  if (signer_infos.size() != 1) return "";
  auto signer_info = Children(signer_infos[0]);
  if (signer_info.size() != 6 || signer_info[5][0] != der::kOctetString) return "";
  const std::string kEmptySignature("\x04\x00", 2);
  signer_info[5] = kEmptySignature;
  std::string si = Rewrap(signer_infos[0], signer_info);
  std::string sis = Rewrap(signed_data[4], {si});
  signed_data[4] = sis;
  std::string sd = Rewrap(explicit0[0], signed_data);
  std::string e0 = Rewrap(content_info[1], {sd});
  return Rewrap(cms, {content_info[0], e0});
}

class CmsEncoderTest : public ::testing::TestWithParam<std::tuple<KeyKind, CmsContentType>> {};

TEST_P(CmsEncoderTest, VerifiesEverywhere) {
  auto [kind, type] = GetParam();
  KindPki pki(kind);
  FixedClock clock(TestNow());
  auto signer = CmsSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {pki.root.cert.get()},
                                  type, nullptr, nullptr, clock);
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ((*signer)->digest_name(), kind == KeyKind::kP384 ? "SHA384" : "SHA256");
  const std::string content =
      "{\"ietf-voucher:voucher\":{\"serial-number\":\"" + KindName(kind) + "\"}}";
  auto der = (*signer)->Sign(content);
  ASSERT_TRUE(der.ok()) << der.status();

  EXPECT_EQ(OpenSslVerify(*der, pki.root.cert.get()), content);
  auto parsed = ParseSignedData(*der);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->content, content);
  EXPECT_EQ(parsed->content_type, type);
  ASSERT_EQ(parsed->signers.size(), 1u);
  EXPECT_TRUE(parsed->signers[0].has_signed_attributes);
  EXPECT_EQ(parsed->signers[0].serial_hex, "02");
  ASSERT_TRUE(parsed->signers[0].certificate.has_value());
  EXPECT_EQ(
      X509_cmp(parsed->certificates[*parsed->signers[0].certificate].get(), pki.masa.cert.get()),
      0);
  auto verified = VerifySignedData(*der, OptionsFor(pki.root.cert.get()));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->content, content);
  EXPECT_EQ(verified->content_type, type);
  ASSERT_TRUE(VerifySignedDataWithSigner(*der, pki.masa.cert.get()).ok());
}

TEST_P(CmsEncoderTest, MatchesOpenSslCmsSignExceptForTheSignature) {
  auto [kind, type] = GetParam();
  KindPki pki(kind);
  // A second chain certificate given before the root: the output order must still be
  // OpenSSL's, whatever order the chain comes in.
  Identity other =
      MakeIdentity("CN=Vendor Issuing CA,O=Vendor", &pki.root, true, "P-384", nullptr, 3650, 3);
  const std::vector<X509*> chain = {other.cert.get(), pki.root.cert.get()};
  for (absl::Time at :
       {TestNow(), absl::FromCivil(absl::CivilSecond(2050, 1, 1, 0, 0, 0), absl::UTCTimeZone())}) {
    FixedClock clock(at);
    auto signer = CmsSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), chain, type, nullptr,
                                    nullptr, clock);
    ASSERT_TRUE(signer.ok()) << signer.status();
    const std::string content(700, 'v');
    auto ours = (*signer)->Sign(content);
    ASSERT_TRUE(ours.ok()) << ours.status();
    std::string theirs =
        OpenSslCmsSign(content, pki.masa, chain, type, (*signer)->digest_name(), at);
    if (kind == KeyKind::kRsa) {
      // RSASSA-PKCS1-v1_5 is deterministic: even the signature must be the same.
      EXPECT_EQ(*ours, theirs);
    } else {
      EXPECT_NE(*ours, theirs);  // ECDSA signatures are randomised
    }
    std::string ours_stripped = WithoutSignature(*ours);
    std::string theirs_stripped = WithoutSignature(theirs);
    ASSERT_FALSE(ours_stripped.empty());
    ASSERT_FALSE(theirs_stripped.empty());
    EXPECT_EQ(ours_stripped, theirs_stripped);
  }
}

INSTANTIATE_TEST_SUITE_P(
    KeysAndContentTypes, CmsEncoderTest,
    ::testing::Combine(::testing::Values(KeyKind::kP256, KeyKind::kP384, KeyKind::kRsa),
                       ::testing::Values(CmsContentType::kAnimaJsonVoucher, CmsContentType::kData)),
    [](const auto& info) {
      return KindName(std::get<0>(info.param)) +
             (std::get<1>(info.param) == CmsContentType::kData ? "Data" : "Voucher");
    });

// The signingTime attribute of the single signer of `der` as (ASN.1 type, text).
std::pair<int, std::string> SigningTime(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  UniquePtr<CMS_ContentInfo> cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (cms == nullptr) return {-1, ""};
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
  int at = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
  if (at < 0) return {-1, ""};
  ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, at), 0);
  if (value == nullptr ||
      (value->type != V_ASN1_UTCTIME && value->type != V_ASN1_GENERALIZEDTIME)) {
    return {-1, ""};
  }
  const ASN1_STRING* s = value->value.asn1_string;
  return {value->type, std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                   static_cast<size_t>(ASN1_STRING_length(s)))};
}

TEST(CmsSignerTest, SigningTimeSwitchesToGeneralizedTimeOutside1950To2049) {
  Pki pki;
  auto utc = [](int y, int mo, int d, int h, int mi, int s) {
    return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
  };
  FixedClock clock(TestNow());
  auto signer = CmsSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {},
                                  CmsContentType::kAnimaJsonVoucher, nullptr, nullptr, clock);
  ASSERT_TRUE(signer.ok()) << signer.status();
  struct Case {
    absl::Time at;
    int type;
    std::string text;
  };
  for (const Case& c :
       {Case{utc(2049, 12, 31, 23, 59, 59), V_ASN1_UTCTIME, "491231235959Z"},
        Case{utc(2050, 1, 1, 0, 0, 0), V_ASN1_GENERALIZEDTIME, "20500101000000Z"},
        Case{utc(1950, 1, 1, 0, 0, 0), V_ASN1_UTCTIME, "500101000000Z"},
        Case{utc(1949, 12, 31, 23, 59, 59), V_ASN1_GENERALIZEDTIME, "19491231235959Z"},
        Case{utc(2030, 6, 7, 8, 9, 10) + absl::Milliseconds(999), V_ASN1_UTCTIME,
             "300607080910Z"}}) {
    clock.Set(c.at);
    auto der = (*signer)->Sign("x");
    ASSERT_TRUE(der.ok()) << der.status();
    EXPECT_EQ(SigningTime(*der), std::make_pair(c.type, c.text));
    EXPECT_EQ(OpenSslVerify(*der, pki.root.cert.get()), "x");
  }
  clock.Set(utc(10000, 1, 1, 0, 0, 0));
  EXPECT_EQ((*signer)->Sign("x").status().code(), absl::StatusCode::kInternal);
}

TEST(CmsSignerTest, RefusesRsaPssKeys) {
  Pki pki;
  UniquePtr<EVP_PKEY_CTX> gen(EVP_PKEY_CTX_new_from_name(nullptr, "RSA-PSS", nullptr));
  EVP_PKEY* raw = nullptr;
  ASSERT_TRUE(gen != nullptr && EVP_PKEY_keygen_init(gen.get()) > 0 &&
              EVP_PKEY_CTX_set_rsa_keygen_bits(gen.get(), 2048) > 0 &&
              EVP_PKEY_generate(gen.get(), &raw) > 0);
  UniquePtr<EVP_PKEY> key(raw);
  auto cert = IssueCertificate("CN=MASA PSS,O=Vendor", key.get(), pki.root.cert.get(),
                               pki.root.key.get(), nullptr, nullptr, TestNow() - absl::Hours(24),
                               TestNow() + absl::Hours(24), false, 7);
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto signer = CmsSigner::Create(key.get(), cert->get(), {}, CmsContentType::kAnimaJsonVoucher,
                                  nullptr, nullptr);
  ASSERT_FALSE(signer.ok());
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument) << signer.status();
}

TEST(CmsSignerTest, ConcurrentCmsSignsVerifyWithOpenSsl) {
  KindPki pki(KeyKind::kP384);
  auto signer = CmsSigner::Create(pki.masa.key.get(), pki.masa.cert.get(), {pki.root.cert.get()},
                                  CmsContentType::kData, nullptr, nullptr);
  ASSERT_TRUE(signer.ok()) << signer.status();
  constexpr int kThreads = 4, kEach = 20;
  std::vector<std::vector<std::string>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto der = (*signer)->Sign("content " + std::to_string(t) + "/" + std::to_string(i));
        results[t].push_back(der.ok() ? *der : std::string());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kEach; ++i) {
      EXPECT_EQ(OpenSslVerify(results[t][i], pki.root.cert.get()),
                "content " + std::to_string(t) + "/" + std::to_string(i));
    }
  }
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
