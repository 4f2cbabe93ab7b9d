#include "hsm/provider/provider.h"

#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/openssl.h"
#include "gtest/gtest.h"
#include "hsm/testing/softhsm_token.h"

namespace masa::hsm {
namespace {

class ProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = testing::TempToken::Create();
    ASSERT_TRUE(token.ok()) << token.status();
    temp_ = std::move(*token);
    auto ctx = ProviderContext::Create(temp_->token());
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    ctx_ = std::move(*ctx);
  }

  UniquePtr<EVP_PKEY> Load(KeyType type, const std::string& label, KeyInfo* info_out = nullptr) {
    auto info = temp_->token()->GenerateKeyPair(type, label);
    EXPECT_TRUE(info.ok()) << info.status();
    if (!info.ok()) return nullptr;
    if (info_out != nullptr) *info_out = *info;
    auto key = ctx_->LoadPrivateKey(info->uri);
    EXPECT_TRUE(key.ok()) << key.status();
    return key.ok() ? std::move(*key) : nullptr;
  }

  std::string Sign(EVP_PKEY* key, const char* md, std::string_view data, int padding = 0) {
    UniquePtr<EVP_MD_CTX> mctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    EXPECT_EQ(EVP_DigestSignInit_ex(mctx.get(), &pctx, md, ctx_->libctx(), nullptr, key, nullptr),
              1)
        << FromOpenSslErrors("init");
    if (padding != 0) {
      EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(pctx, padding), 1);
    }
    size_t len = 0;
    EXPECT_EQ(EVP_DigestSign(mctx.get(), nullptr, &len,
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()),
              1);
    std::string sig(len, '\0');
    EXPECT_EQ(EVP_DigestSign(mctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()),
              1)
        << FromOpenSslErrors("sign");
    sig.resize(len);
    return sig;
  }

  // Verifies with the public key alone, in the default library context, as a device would.
  bool Verify(const KeyInfo& info, const char* md, std::string_view data, std::string_view sig,
              int padding = 0) {
    auto pub = ctx_->PublicKey(info);
    EXPECT_TRUE(pub.ok()) << pub.status();
    UniquePtr<EVP_MD_CTX> mctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    EVP_DigestVerifyInit_ex(mctx.get(), &pctx, md, nullptr, nullptr, pub->get(), nullptr);
    if (padding != 0) EVP_PKEY_CTX_set_rsa_padding(pctx, padding);
    return EVP_DigestVerify(mctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                            sig.size(), reinterpret_cast<const unsigned char*>(data.data()),
                            data.size()) == 1;
  }

  std::unique_ptr<testing::TempToken> temp_;
  std::unique_ptr<ProviderContext> ctx_;
};

TEST_F(ProviderTest, EcdsaP256SignatureVerifiesWithThePublicKey) {
  KeyInfo info;
  auto key = Load(KeyType::kEcP256, "p256", &info);
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 256);
  std::string sig = Sign(key.get(), "SHA256", "voucher bytes");
  EXPECT_TRUE(Verify(info, "SHA256", "voucher bytes", sig));
  EXPECT_FALSE(Verify(info, "SHA256", "voucher byteS", sig));
}

TEST_F(ProviderTest, EcdsaP384WithSha384) {
  KeyInfo info;
  auto key = Load(KeyType::kEcP384, "p384", &info);
  ASSERT_NE(key, nullptr);
  char name[64] = {};
  ASSERT_GT(EVP_PKEY_get_default_digest_name(key.get(), name, sizeof(name)), 0);
  EXPECT_STREQ(name, "SHA384");
  std::string sig = Sign(key.get(), "SHA384", "data");
  EXPECT_TRUE(Verify(info, "SHA384", "data", sig));
}

TEST_F(ProviderTest, RsaPkcs1AndPss) {
  KeyInfo info;
  auto key = Load(KeyType::kRsa3072, "rsa", &info);
  ASSERT_NE(key, nullptr);
  std::string sig = Sign(key.get(), "SHA256", "data");
  EXPECT_EQ(sig.size(), 384u);
  EXPECT_TRUE(Verify(info, "SHA256", "data", sig));
  std::string pss = Sign(key.get(), "SHA256", "data", RSA_PKCS1_PSS_PADDING);
  EXPECT_TRUE(Verify(info, "SHA256", "data", pss, RSA_PKCS1_PSS_PADDING));
  EXPECT_FALSE(Verify(info, "SHA256", "data", pss));  // not a PKCS#1 v1.5 signature
}

TEST_F(ProviderTest, Ed25519SignsTheWholeMessageInOneShot) {
  KeyInfo info;
  auto key = Load(KeyType::kEd25519, "ed", &info);
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "ED25519"));
  EXPECT_EQ(EVP_PKEY_get_size(key.get()), 64);
  std::string message(5000, 'v');  // longer than any digest: the token gets all of it
  std::string sig = Sign(key.get(), nullptr, message);
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(Verify(info, nullptr, message, sig));
  EXPECT_FALSE(Verify(info, nullptr, message + "!", sig));
  // A digest makes no sense for PureEdDSA and is refused.
  UniquePtr<EVP_MD_CTX> mctx(EVP_MD_CTX_new());
  EXPECT_NE(EVP_DigestSignInit_ex(mctx.get(), nullptr, "SHA256", ctx_->libctx(), nullptr, key.get(),
                                  nullptr),
            1);
  ERR_clear_error();
}

TEST_F(ProviderTest, Ed25519SelfSignedCertificateThroughTheHsm) {
  KeyInfo info;
  auto key = Load(KeyType::kEd25519, "ed-ca", &info);
  ASSERT_NE(key, nullptr);
  auto pub = ctx_->PublicKey(info);
  ASSERT_TRUE(pub.ok()) << pub.status();
  UniquePtr<X509> cert(X509_new_ex(ctx_->libctx(), nullptr));
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 9);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Ed25519 HSM"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), pub->get());
  UniquePtr<EVP_MD_CTX> mctx(EVP_MD_CTX_new());
  ASSERT_EQ(EVP_DigestSignInit_ex(mctx.get(), nullptr, nullptr, ctx_->libctx(), nullptr, key.get(),
                                  nullptr),
            1)
      << FromOpenSslErrors("init");
  ASSERT_GT(X509_sign_ctx(cert.get(), mctx.get()), 0) << FromOpenSslErrors("X509_sign_ctx");
  EXPECT_EQ(OBJ_obj2nid(X509_get0_tbs_sigalg(cert.get())->algorithm), NID_ED25519);
  EXPECT_EQ(X509_verify(cert.get(), pub->get()), 1);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1) << FromOpenSslErrors("check");
}

TEST_F(ProviderTest, PrivateKeyNeverLeavesTheToken) {
  auto key = Load(KeyType::kEcP256, "sealed");
  ASSERT_NE(key, nullptr);
  unsigned char* der = nullptr;
  EXPECT_LE(i2d_PrivateKey(key.get(), &der), 0);
  OPENSSL_free(der);
  BIGNUM* priv = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &priv), 0);
  BN_free(priv);
}

TEST_F(ProviderTest, SelfSignedCertificateAndCmsThroughTheHsm) {
  KeyInfo info;
  auto key = Load(KeyType::kEcP256, "ca", &info);
  ASSERT_NE(key, nullptr);
  auto pub = ctx_->PublicKey(info);
  ASSERT_TRUE(pub.ok());

  UniquePtr<X509> cert(X509_new_ex(ctx_->libctx(), nullptr));
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("HSM test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), pub->get());
  UniquePtr<EVP_MD_CTX> mctx(EVP_MD_CTX_new());
  ASSERT_EQ(EVP_DigestSignInit_ex(mctx.get(), nullptr, "SHA256", ctx_->libctx(), nullptr, key.get(),
                                  nullptr),
            1);
  ASSERT_GT(X509_sign_ctx(cert.get(), mctx.get()), 0) << FromOpenSslErrors("X509_sign_ctx");
  EXPECT_EQ(X509_verify(cert.get(), pub->get()), 1);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);

  UniquePtr<BIO> in(BIO_new_mem_buf("payload", 7));
  UniquePtr<CMS_ContentInfo> cms(
      CMS_sign_ex(cert.get(), key.get(), nullptr, in.get(), CMS_BINARY, ctx_->libctx(), nullptr));
  ASSERT_NE(cms, nullptr) << FromOpenSslErrors("CMS_sign_ex");
  // Verify what a device receives: the DER, parsed afresh in the default context.
  unsigned char* der = nullptr;
  int der_len = i2d_CMS_ContentInfo(cms.get(), &der);
  ASSERT_GT(der_len, 0);
  const unsigned char* p = der;
  cms.reset(d2i_CMS_ContentInfo(nullptr, &p, der_len));
  OPENSSL_free(der);
  ASSERT_NE(cms, nullptr);
  UniquePtr<X509_STORE> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), cert.get());
  UniquePtr<BIO> out(BIO_new(BIO_s_mem()));
  ERR_clear_error();
  EXPECT_EQ(CMS_verify(cms.get(), nullptr, store.get(), nullptr, out.get(), CMS_BINARY), 1)
      << FromOpenSslErrors("CMS_verify");
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  EXPECT_EQ(std::string(data, static_cast<size_t>(len)), "payload");
}

TEST_F(ProviderTest, ConcurrentSigningFromMoreThreadsThanSessions) {
  KeyInfo info;
  auto key = Load(KeyType::kEcP256, "busy", &info);
  ASSERT_NE(key, nullptr);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string msg = "message " + std::to_string(t) + "/" + std::to_string(i);
        if (Verify(info, "SHA256", msg, Sign(key.get(), "SHA256", msg))) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 400);
}

TEST_F(ProviderTest, UnknownAndMalformedUrisSayWhy) {
  auto missing = ctx_->LoadPrivateKey("pkcs11:object=no-such-key;type=private");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  auto bad = ctx_->LoadPrivateKey("file:/etc/passwd");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << bad.status();
}

}  // namespace
}  // namespace masa::hsm
