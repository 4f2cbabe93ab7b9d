// TestKeyVault: a small KeyVault (service/key_vault.h) over the shared SoftHSM2 token of
// hsm_fixture.h, for the key lifecycle's service tests while they do not depend on the
// appliance's own vault: keys are made in the real token and sign through the provider; the
// vendor CA is the fixture's software CA. Tests only.
#pragma once

#include <openssl/x509.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/openssl.h"
#include "common/status.h"
#include "hsm/provider/provider.h"
#include "service/key_vault.h"
#include "service/testing/hsm_fixture.h"
#include "signer/certificate.h"
#include "signer/cms.h"
#include "store/checkpoint.h"

namespace masa::service::testing {

inline std::string PublicKeyDerOf(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(key, &der);
  if (n <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

inline UniquePtr<X509> FromDer(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  return UniquePtr<X509>(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

class TestKeyVault final : public KeyVault {
 public:
  TestKeyVault() : pki_(SharedPki()) {}

  absl::StatusOr<GeneratedKey> Generate(KeyAlgorithm algorithm, std::string_view label) override {
    hsm::KeyType type = hsm::KeyType::kEcP256;
    switch (algorithm) {
      case KeyAlgorithm::kEcP256:
        type = hsm::KeyType::kEcP256;
        break;
      case KeyAlgorithm::kEcP384:
        type = hsm::KeyType::kEcP384;
        break;
      case KeyAlgorithm::kRsa3072:
        type = hsm::KeyType::kRsa3072;
        break;
      case KeyAlgorithm::kEd25519:
        type = hsm::KeyType::kEd25519;
        break;
    }
    MASA_ASSIGN_OR_RETURN(hsm::KeyInfo info, pki_.token->token()->GenerateKeyPair(type, label));
    MASA_ASSIGN_OR_RETURN(UniquePtr<EVP_PKEY> pub, pki_.provider->PublicKey(info));
    return GeneratedKey{info.uri, PublicKeyDerOf(pub.get())};
  }

  absl::StatusOr<std::string> Csr(std::string_view uri, std::string_view subject) override {
    MASA_ASSIGN_OR_RETURN(UniquePtr<EVP_PKEY> key, pki_.provider->LoadPrivateKey(uri));
    MASA_ASSIGN_OR_RETURN(UniquePtr<X509_NAME> name, signer::ParseDistinguishedName(subject));
    UniquePtr<X509_REQ> req(X509_REQ_new_ex(pki_.provider->libctx(), nullptr));
    UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    if (req == nullptr || ctx == nullptr || X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
        X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
        EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", pki_.provider->libctx(), nullptr,
                              key.get(), nullptr) != 1 ||
        X509_REQ_sign_ctx(req.get(), ctx.get()) <= 0) {
      return FromOpenSslErrors("test vault CSR");
    }
    unsigned char* der = nullptr;
    int n = i2d_X509_REQ(req.get(), &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
    return out;
  }

  absl::StatusOr<std::vector<std::string>> Issue(std::string_view public_key_der,
                                                 std::string_view subject,
                                                 absl::Duration validity) override {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(public_key_der.data());
    UniquePtr<EVP_PKEY> pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(public_key_der.size())));
    if (pub == nullptr) return absl::InvalidArgumentError("test vault: bad public key");
    absl::Time now = absl::Now();
    MASA_ASSIGN_OR_RETURN(UniquePtr<X509> cert,
                          signer::IssueCertificate(subject, pub.get(), pki_.ca.get(),
                                                   pki_.ca_key.get(), nullptr, nullptr,
                                                   now - absl::Hours(1), now + validity, false,
                                                   serial_.fetch_add(1) + 100));
    MASA_ASSIGN_OR_RETURN(std::string leaf, CertificateToDer(cert.get()));
    MASA_ASSIGN_OR_RETURN(std::string ca, CertificateToDer(pki_.ca.get()));
    return std::vector<std::string>{leaf, ca};
  }

  absl::Status CheckChain(std::string_view public_key_der,
                          const std::vector<std::string>& chain_der) const override {
    if (chain_der.empty()) return absl::FailedPreconditionError("empty chain");
    UniquePtr<X509> leaf = FromDer(chain_der.front());
    if (leaf == nullptr) return absl::FailedPreconditionError("the leaf does not parse");
    if (PublicKeyDerOf(X509_get0_pubkey(leaf.get())) != public_key_der) {
      return absl::FailedPreconditionError("the certificate does not hold the key");
    }
    MASA_ASSIGN_OR_RETURN(std::string anchor, CertificateToDer(pki_.ca.get()));
    UniquePtr<X509> cert = std::move(leaf);
    for (size_t i = 1; i < chain_der.size(); ++i) {
      UniquePtr<X509> issuer = FromDer(chain_der[i]);
      if (issuer == nullptr || !signer::CheckIssuedBy(cert.get(), issuer.get()).ok()) {
        return absl::FailedPreconditionError("the chain is broken");
      }
      cert = std::move(issuer);
    }
    if (*CertificateToDer(cert.get()) != anchor &&
        !signer::CheckIssuedBy(cert.get(), pki_.ca.get()).ok()) {
      return absl::FailedPreconditionError("the chain does not lead to the trust anchor");
    }
    return absl::OkStatus();
  }

  absl::Status CheckPresentEverywhere(std::string_view uri) override {
    absl::MutexLock lock(&mu_);
    if (missing_.count(std::string(uri))) {
      return absl::FailedPreconditionError("token masa-test-2 has no key " + std::string(uri));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::shared_ptr<const SigningKeys>> LoadSigningKeys(
      std::string_view key_id, std::string_view uri,
      const std::vector<std::string>& chain_der) override {
    loads_.fetch_add(1);
    MASA_ASSIGN_OR_RETURN(UniquePtr<EVP_PKEY> key, pki_.provider->LoadPrivateKey(uri));
    std::vector<UniquePtr<X509>> certs;
    for (const auto& der : chain_der) certs.push_back(FromDer(der));
    if (certs.empty() || certs.front() == nullptr) {
      return absl::FailedPreconditionError("no certificate");
    }
    std::vector<X509*> chain;
    for (size_t i = 1; i < certs.size(); ++i) chain.push_back(certs[i].get());
    auto keys = std::make_shared<SigningKeys>();
    keys->key_id = std::string(key_id);
    MASA_ASSIGN_OR_RETURN(keys->anima_json_voucher,
                          signer::VoucherSigner::Create(key.get(), certs.front().get(), chain,
                                                        signer::CmsContentType::kAnimaJsonVoucher,
                                                        pki_.provider->libctx()));
    MASA_ASSIGN_OR_RETURN(keys->data, signer::VoucherSigner::Create(
                                          key.get(), certs.front().get(), chain,
                                          signer::CmsContentType::kData, pki_.provider->libctx()));
    return std::shared_ptr<const SigningKeys>(std::move(keys));
  }

  absl::StatusOr<std::unique_ptr<store::CheckpointSigner>> LoadCheckpointSigner(
      std::string_view uri, std::string_view origin) override {
    MASA_ASSIGN_OR_RETURN(UniquePtr<EVP_PKEY> key, pki_.provider->LoadPrivateKey(uri));
    return store::NewEvpCheckpointSigner(std::string(origin), std::move(key),
                                         pki_.provider->libctx());
  }

  // Makes CheckPresentEverywhere refuse `uri` (a token without the key).
  void SetMissing(const std::string& uri) {
    absl::MutexLock lock(&mu_);
    missing_.insert(uri);
  }
  int signing_loads() const { return loads_.load(); }

 private:
  Pki& pki_;
  std::atomic<uint64_t> serial_{0};
  std::atomic<int> loads_{0};
  absl::Mutex mu_;
  std::set<std::string> missing_ ABSL_GUARDED_BY(mu_);
};

}  // namespace masa::service::testing
