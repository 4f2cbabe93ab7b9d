// NewHsmKeyVault: the KeyVault over hsm::ProviderContext and its Token (one token, or an
// hsm::TokenGroup of several holding the same keys).
#include "service/key_vault.h"

#include <openssl/x509.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "hsm/pkcs11.h"
#include "hsm/provider/provider.h"
#include "hsm/token_group.h"
#include "signer/cms.h"
#include "signer/csr.h"
#include "store/checkpoint.h"

namespace masa::service {
namespace {

hsm::KeyType KeyTypeOf(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::kEcP256:
      return hsm::KeyType::kEcP256;
    case KeyAlgorithm::kEcP384:
      return hsm::KeyType::kEcP384;
    case KeyAlgorithm::kRsa3072:
      return hsm::KeyType::kRsa3072;
    case KeyAlgorithm::kEd25519:
      return hsm::KeyType::kEd25519;
  }
  return hsm::KeyType::kEcP256;
}

absl::StatusOr<UniquePtr<EVP_PKEY>> ParsePublicKeyDer(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  UniquePtr<EVP_PKEY> key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (key == nullptr) {
    return FromOpenSslErrors("the public key is not a DER SubjectPublicKeyInfo",
                             absl::StatusCode::kInvalidArgument);
  }
  return key;
}

absl::StatusOr<std::vector<UniquePtr<X509>>> ParseChain(const std::vector<std::string>& chain_der) {
  std::vector<UniquePtr<X509>> out;
  for (const std::string& der : chain_der) {
    MASA_ASSIGN_OR_RETURN(UniquePtr<X509> cert, ParseCertificate(der));
    out.push_back(std::move(cert));
  }
  return out;
}

class HsmKeyVault : public KeyVault {
 public:
  HsmKeyVault(HsmKeyVaultOptions options, UniquePtr<X509> anchor)
      : options_(std::move(options)), anchor_(std::move(anchor)) {}

  absl::StatusOr<GeneratedKey> Generate(KeyAlgorithm algorithm, std::string_view label) override {
    MASA_ASSIGN_OR_RETURN(hsm::KeyInfo info, token().GenerateKeyPair(KeyTypeOf(algorithm), label));
    MASA_ASSIGN_OR_RETURN(UniquePtr<EVP_PKEY> pub, provider().PublicKey(info));
    GeneratedKey out;
    out.uri = info.uri;
    MASA_ASSIGN_OR_RETURN(out.public_key_der, PublicKeyToDer(pub.get()));
    return out;
  }

  absl::StatusOr<std::string> Csr(std::string_view uri, std::string_view subject) override {
    MASA_ASSIGN_OR_RETURN(hsm::KeyInfo info, token().FindKey(uri));
    MASA_ASSIGN_OR_RETURN(UniquePtr<EVP_PKEY> key, provider().LoadPrivateKey(uri));
    MASA_ASSIGN_OR_RETURN(UniquePtr<EVP_PKEY> pub, provider().PublicKey(info));
    return signer::CreateCsr(subject, pub.get(), key.get(), provider().libctx(), nullptr);
  }

  absl::StatusOr<std::vector<std::string>> Issue(std::string_view public_key_der,
                                                 std::string_view subject,
                                                 absl::Duration validity) override {
    if (options_.ca_key_uri.empty() || options_.ca_chain_der.empty()) {
      return absl::FailedPreconditionError(
          "no vendor CA key is configured in the HSM: import a certificate from an external CA "
          "instead");
    }
    if (validity <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("a certificate's validity must be positive");
    }
    MASA_ASSIGN_OR_RETURN(UniquePtr<EVP_PKEY> pub, ParsePublicKeyDer(public_key_der));
    MASA_ASSIGN_OR_RETURN(UniquePtr<X509> ca_cert, ParseCertificate(options_.ca_chain_der[0]));
    auto ca_key = provider().LoadPrivateKey(options_.ca_key_uri);
    if (!ca_key.ok()) return Annotate(ca_key.status(), "loading the vendor CA key");
    // Valid from an hour ago, as dev-init does: a device whose clock runs a little slow must
    // not refuse the first vouchers of a key activated right after it was issued.
    const absl::Time now = absl::Now();
    MASA_ASSIGN_OR_RETURN(UniquePtr<X509> leaf,
                          signer::IssueEndEntityCertificate(
                              subject, pub.get(), ca_cert.get(), ca_key->get(), provider().libctx(),
                              nullptr, now - absl::Hours(1), now + validity));
    std::vector<std::string> chain;
    MASA_ASSIGN_OR_RETURN(std::string leaf_der, CertificateToDer(leaf.get()));
    chain.push_back(std::move(leaf_der));
    chain.insert(chain.end(), options_.ca_chain_der.begin(), options_.ca_chain_der.end());
    if (chain.back() != options_.trust_anchor_der) chain.push_back(options_.trust_anchor_der);
    return chain;
  }

  absl::Status CheckChain(std::string_view public_key_der,
                          const std::vector<std::string>& chain_der) const override {
    if (chain_der.empty()) return absl::InvalidArgumentError("no certificate given");
    MASA_ASSIGN_OR_RETURN(std::vector<UniquePtr<X509>> chain, ParseChain(chain_der));
    MASA_RETURN_IF_ERROR(signer::CheckCertificateKey(chain.front().get(), public_key_der));
    std::vector<X509*> raw;
    for (const auto& c : chain) raw.push_back(c.get());
    return signer::CheckChain(raw, anchor_.get(), absl::Now());
  }

  absl::Status CheckPresentEverywhere(std::string_view uri) override {
    // A TokenGroup resolves the key in every member that is up (and refuses a member with
    // another public key); a member that is down cannot be asked, so it cannot be vouched for.
    if (auto* group = dynamic_cast<hsm::TokenGroup*>(&token()); group != nullptr) {
      for (const hsm::MemberStatus& m : group->members()) {
        if (m.state != hsm::MemberStatus::State::kUp) {
          return absl::FailedPreconditionError(
              absl::StrCat("HSM token ", m.label, " is down (", m.last_error,
                           "): cannot check that it holds the key ", Sv(uri)));
        }
      }
    }
    absl::StatusOr<hsm::KeyInfo> info = token().FindKey(uri);
    if (info.ok()) return absl::OkStatus();
    if (info.status().code() == absl::StatusCode::kNotFound) {
      return absl::FailedPreconditionError(absl::StrCat("the HSM token ", token().label(),
                                                        " does not hold the key ", Sv(uri), ": ",
                                                        info.status().message()));
    }
    return info.status();
  }

  absl::StatusOr<std::shared_ptr<const SigningKeys>> LoadSigningKeys(
      std::string_view key_id, std::string_view uri,
      const std::vector<std::string>& chain_der) override {
    if (chain_der.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("key ", Sv(key_id), " has no certificate to sign vouchers with"));
    }
    MASA_ASSIGN_OR_RETURN(UniquePtr<EVP_PKEY> key, provider().LoadPrivateKey(uri));
    MASA_ASSIGN_OR_RETURN(std::vector<UniquePtr<X509>> chain, ParseChain(chain_der));
    std::vector<X509*> rest;
    for (size_t i = 1; i < chain.size(); ++i) rest.push_back(chain[i].get());
    auto keys = std::make_shared<SigningKeys>();
    keys->key_id = std::string(key_id);
    for (auto [type, slot] :
         {std::pair{signer::CmsContentType::kAnimaJsonVoucher, &keys->anima_json_voucher},
          std::pair{signer::CmsContentType::kData, &keys->data}}) {
      auto signer = signer::VoucherSigner::Create(key.get(), chain.front().get(), rest, type,
                                                  provider().libctx(), nullptr);
      if (!signer.ok()) return Annotate(signer.status(), "preparing the voucher signer");
      *slot = *std::move(signer);
    }
    return std::shared_ptr<const SigningKeys>(std::move(keys));
  }

  absl::StatusOr<std::unique_ptr<store::CheckpointSigner>> LoadCheckpointSigner(
      std::string_view uri, std::string_view origin) override {
    MASA_ASSIGN_OR_RETURN(UniquePtr<EVP_PKEY> key, provider().LoadPrivateKey(uri));
    return store::NewEvpCheckpointSigner(std::string(origin), std::move(key), provider().libctx());
  }

 private:
  hsm::ProviderContext& provider() const { return *options_.provider; }
  hsm::Token& token() const { return options_.provider->token(); }

  const HsmKeyVaultOptions options_;
  const UniquePtr<X509> anchor_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<KeyVault>> NewHsmKeyVault(HsmKeyVaultOptions options) {
  if (options.provider == nullptr) {
    return absl::InvalidArgumentError("the key vault needs the HSM provider");
  }
  if (options.trust_anchor_der.empty()) {
    return absl::InvalidArgumentError("the key vault needs the trust anchor");
  }
  MASA_ASSIGN_OR_RETURN(UniquePtr<X509> anchor, ParseCertificate(options.trust_anchor_der));
  return std::unique_ptr<KeyVault>(new HsmKeyVault(std::move(options), std::move(anchor)));
}

}  // namespace masa::service
