// The HSM key vault over a real SoftHSM2 token (and a group of two): keys of every algorithm
// made inside the HSM, CSRs and certificates signed there, the checks an imported chain must
// pass, and signers that sign vouchers and checkpoints with the new keys.
#include "service/key_vault.h"

#include <openssl/x509.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hsm/provider/provider.h"
#include "hsm/testing/softhsm_token.h"
#include "hsm/token_group.h"
#include "signer/certificate.h"
#include "signer/cms.h"
#include "store/checkpoint.h"

namespace masa::service {
namespace {

using ::testing::HasSubstr;

UniquePtr<X509> SelfSignedCa(hsm::ProviderContext& provider, hsm::KeyType type,
                             const std::string& label, const std::string& subject,
                             std::string* uri) {
  auto info = provider.token().GenerateKeyPair(type, label);
  EXPECT_TRUE(info.ok()) << info.status();
  auto key = provider.LoadPrivateKey(info->uri);
  auto pub = provider.PublicKey(*info);
  EXPECT_TRUE(key.ok() && pub.ok());
  absl::Time now = absl::Now();
  auto ca =
      signer::IssueCertificate(subject, pub->get(), nullptr, key->get(), provider.libctx(), nullptr,
                               now - absl::Hours(1), now + absl::Hours(24 * 365), true, 1);
  EXPECT_TRUE(ca.ok()) << ca.status();
  *uri = info->uri;
  return *std::move(ca);
}

std::string Der(X509* cert) { return *CertificateToDer(cert); }

class KeyVaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto temp = hsm::testing::TempToken::Create();
    ASSERT_TRUE(temp.ok()) << temp.status();
    temp_ = *std::move(temp);
    provider_ = *hsm::ProviderContext::Create(temp_->token());
    ca_ = SelfSignedCa(*provider_, hsm::KeyType::kEcP256, "vendor-ca", "CN=Vendor CA,O=Example",
                       &ca_uri_);
    HsmKeyVaultOptions options;
    options.provider = provider_.get();
    options.ca_key_uri = ca_uri_;
    options.ca_chain_der = {Der(ca_.get())};
    options.trust_anchor_der = Der(ca_.get());
    auto vault = NewHsmKeyVault(std::move(options));
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
  }

  std::unique_ptr<hsm::testing::TempToken> temp_;
  std::unique_ptr<hsm::ProviderContext> provider_;
  UniquePtr<X509> ca_;
  std::string ca_uri_;
  std::unique_ptr<KeyVault> vault_;
};

std::string AlgorithmTestName(const ::testing::TestParamInfo<KeyAlgorithm>& info) {
  static const char* const kNames[] = {"P256", "P384", "Rsa3072", "Ed25519"};
  return kNames[static_cast<int>(info.param)];
}

class KeyVaultAlgorithmTest : public KeyVaultTest,
                              public ::testing::WithParamInterface<KeyAlgorithm> {};

TEST_P(KeyVaultAlgorithmTest, GeneratedKeyGetsACsrACertificateAndSignsVouchers) {
  auto key = vault_->Generate(GetParam(), "masa-2027");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_THAT(key->uri, HasSubstr("object=masa-2027"));

  // The CSR is signed inside the HSM by the new key.
  auto csr = vault_->Csr(key->uri, "CN=MASA 2027,O=Example");
  ASSERT_TRUE(csr.ok()) << csr.status();
  const auto* p = reinterpret_cast<const unsigned char*>(csr->data());
  UniquePtr<X509_REQ> req(d2i_X509_REQ(nullptr, &p, static_cast<long>(csr->size())));
  ASSERT_NE(req, nullptr);
  const auto* q = reinterpret_cast<const unsigned char*>(key->public_key_der.data());
  UniquePtr<EVP_PKEY> pub(d2i_PUBKEY(nullptr, &q, static_cast<long>(key->public_key_der.size())));
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(X509_REQ_verify(req.get(), pub.get()), 1);

  // The vendor CA in the HSM certifies it; the chain ends at the anchor and passes the checks.
  auto chain = vault_->Issue(key->public_key_der, "CN=MASA 2027,O=Example", absl::Hours(24));
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ(chain->back(), Der(ca_.get()));
  auto leaf = ParseCertificate(chain->front());
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(SubjectName(leaf->get()), "CN=MASA 2027,O=Example");
  EXPECT_EQ(X509_get_extension_flags(leaf->get()) & EXFLAG_CA, 0u);
  EXPECT_EQ(X509_get_key_usage(leaf->get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_FALSE(signer::SubjectKeyId(leaf->get()).empty());
  EXPECT_EQ(signer::AuthorityKeyId(leaf->get()), signer::SubjectKeyId(ca_.get()));
  EXPECT_TRUE(vault_->CheckChain(key->public_key_der, *chain).ok());
  EXPECT_TRUE(vault_->CheckPresentEverywhere(key->uri).ok());

  auto keys = vault_->LoadSigningKeys("key-0123456789abcdef", key->uri, *chain);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ((*keys)->key_id, "key-0123456789abcdef");
  signer::Voucher voucher;
  voucher.created_on = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  voucher.assertion = signer::Assertion::kVerified;
  voucher.serial_number = "VAULT-1";
  voucher.pinned_domain_cert = Der(ca_.get());
  for (auto type : {signer::CmsContentType::kAnimaJsonVoucher, signer::CmsContentType::kData}) {
    const signer::VoucherSigner* vs = (*keys)->For(type);
    ASSERT_NE(vs, nullptr);
    auto der = vs->Sign(voucher);
    ASSERT_TRUE(der.ok()) << der.status();
    signer::VerifyOptions options;
    options.trust_anchors = {ca_.get()};
    options.verification_time = absl::Now();
    auto verified = signer::VerifySignedData(*der, options);
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(verified->content_type, type);
    EXPECT_EQ(SubjectName(verified->signer.get()), "CN=MASA 2027,O=Example");
  }
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, KeyVaultAlgorithmTest,
                         ::testing::Values(KeyAlgorithm::kEcP256, KeyAlgorithm::kEcP384,
                                           KeyAlgorithm::kRsa3072, KeyAlgorithm::kEd25519),
                         AlgorithmTestName);

TEST_F(KeyVaultTest, ALabelInUseIsRefused) {
  ASSERT_TRUE(vault_->Generate(KeyAlgorithm::kEcP256, "twice").ok());
  EXPECT_EQ(vault_->Generate(KeyAlgorithm::kEcP256, "twice").status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(KeyVaultTest, ImportedChainsMustHoldTheKeyAndReachTheAnchor) {
  auto key = vault_->Generate(KeyAlgorithm::kEcP256, "imported");
  auto other = vault_->Generate(KeyAlgorithm::kEcP256, "other");
  ASSERT_TRUE(key.ok() && other.ok());
  auto chain = vault_->Issue(key->public_key_der, "CN=Imported", absl::Hours(1));
  ASSERT_TRUE(chain.ok()) << chain.status();

  absl::Status wrong_key = vault_->CheckChain(other->public_key_der, *chain);
  EXPECT_EQ(wrong_key.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(wrong_key.message(), HasSubstr("holds another public key"));

  // A certificate from a CA the devices do not trust.
  std::string stranger_uri;
  UniquePtr<X509> stranger = SelfSignedCa(*provider_, hsm::KeyType::kEcP256, "stranger-ca",
                                          "CN=Stranger CA", &stranger_uri);
  auto stranger_key = provider_->LoadPrivateKey(stranger_uri);
  ASSERT_TRUE(stranger_key.ok());
  const auto* q = reinterpret_cast<const unsigned char*>(key->public_key_der.data());
  UniquePtr<EVP_PKEY> pub(d2i_PUBKEY(nullptr, &q, static_cast<long>(key->public_key_der.size())));
  absl::Time now = absl::Now();
  auto foreign =
      signer::IssueCertificate("CN=Imported", pub.get(), stranger.get(), stranger_key->get(),
                               provider_->libctx(), nullptr, now, now + absl::Hours(1), false, 5);
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  absl::Status untrusted =
      vault_->CheckChain(key->public_key_der, {Der(foreign->get()), Der(stranger.get())});
  EXPECT_EQ(untrusted.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(untrusted.message(), HasSubstr("does not verify to the trust anchor"));

  // An expired certificate names the reason.
  auto ca_key = provider_->LoadPrivateKey(ca_uri_);
  ASSERT_TRUE(ca_key.ok());
  auto expired = signer::IssueCertificate("CN=Imported", pub.get(), ca_.get(), ca_key->get(),
                                          provider_->libctx(), nullptr, now - absl::Hours(2),
                                          now - absl::Hours(1), false, 6);
  ASSERT_TRUE(expired.ok()) << expired.status();
  absl::Status old = vault_->CheckChain(key->public_key_der, {Der(expired->get())});
  EXPECT_EQ(old.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(old.message(), HasSubstr("expired"));
}

TEST_F(KeyVaultTest, AKeyMissingFromTheTokenIsNamed) {
  absl::Status missing =
      vault_->CheckPresentEverywhere(hsm::PrivateKeyUri(temp_->label(), "never-generated"));
  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.message(), HasSubstr(temp_->label()));
}

TEST_F(KeyVaultTest, CheckpointSignerSignsWithTheAuditKey) {
  auto key = vault_->Generate(KeyAlgorithm::kEd25519, "audit-2027");
  ASSERT_TRUE(key.ok()) << key.status();
  auto signer = vault_->LoadCheckpointSigner(key->uri, "masa.example/audit");
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ((*signer)->KeyName(), "masa.example/audit");
  store::Checkpoint checkpoint{"masa.example/audit", 3, std::string(32, '\x5a')};
  auto note = store::SignCheckpoint(checkpoint, **signer);
  ASSERT_TRUE(note.ok()) << note.status();
  const auto* q = reinterpret_cast<const unsigned char*>(key->public_key_der.data());
  UniquePtr<EVP_PKEY> pub(d2i_PUBKEY(nullptr, &q, static_cast<long>(key->public_key_der.size())));
  auto verified = store::VerifyCheckpointNote(*note, pub.get());
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->tree_size, 3u);
}

// Two tokens as one hsm::TokenGroup: a key on both passes CheckPresentEverywhere, a key on
// one only is refused before it could be activated.
TEST(KeyVaultGroupTest, AKeyOnOneTokenOfTwoIsNotPresentEverywhere) {
  auto a = hsm::testing::TempToken::Create();
  auto b = hsm::testing::TempToken::Create();
  ASSERT_TRUE(a.ok() && b.ok());
  // The same key in both, as a vendor's cloning tools leave it.
  UniquePtr<EVP_PKEY> soft(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  unsigned char* pkcs8 = nullptr;
  PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(soft.get());
  int len = i2d_PKCS8_PRIV_KEY_INFO(p8, &pkcs8);
  PKCS8_PRIV_KEY_INFO_free(p8);
  std::string der(reinterpret_cast<char*>(pkcs8), static_cast<size_t>(len));
  OPENSSL_free(pkcs8);
  ASSERT_TRUE((*a)->token()->ImportKeyPair("shared", "\x01\x02", der).ok());
  ASSERT_TRUE((*b)->token()->ImportKeyPair("shared", "\x01\x02", der).ok());
  ASSERT_TRUE((*a)->token()->GenerateKeyPair(hsm::KeyType::kEcP256, "only-a").ok());

  hsm::TokenGroupOptions options;
  for (auto* t : {a->get(), b->get()}) {
    hsm::TokenMember m;
    m.module_path = t->module()->path();
    m.token_label = t->label();
    m.pin_file = t->user_pin_file();
    options.members.push_back(std::move(m));
  }
  auto group = hsm::TokenGroup::Open(std::move(options));
  ASSERT_TRUE(group.ok()) << group.status();
  auto provider = hsm::ProviderContext::Create(*group);
  ASSERT_TRUE(provider.ok()) << provider.status();
  auto ca = signer::IssueCertificate("CN=Anchor", soft.get(), nullptr, soft.get(), nullptr, nullptr,
                                     absl::Now(), absl::Now() + absl::Hours(1), true, 1);
  ASSERT_TRUE(ca.ok());
  HsmKeyVaultOptions vault_options;
  vault_options.provider = provider->get();
  vault_options.trust_anchor_der = Der(ca->get());
  auto vault = NewHsmKeyVault(std::move(vault_options));
  ASSERT_TRUE(vault.ok()) << vault.status();

  EXPECT_TRUE((*vault)->CheckPresentEverywhere("pkcs11:object=shared;type=private").ok());
  absl::Status one = (*vault)->CheckPresentEverywhere("pkcs11:object=only-a;type=private");
  EXPECT_EQ(one.code(), absl::StatusCode::kFailedPrecondition) << one;
}

}  // namespace
}  // namespace masa::service
