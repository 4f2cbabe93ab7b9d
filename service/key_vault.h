// What the key lifecycle (service/keys.h) asks of the HSM: make key pairs, sign CSRs and
// certificates inside it, and load a key for signing vouchers or checkpoints. The domain
// decides and audits; the vault only does HSM work. NewHsmKeyVault is the real one (every
// configured token through hsm/ and the provider); tests use it over SoftHSM2 too.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/openssl.h"
#include "service/keys.h"
#include "service/options.h"

namespace masa::hsm {
class ProviderContext;
}  // namespace masa::hsm

namespace masa::store {
class CheckpointSigner;
}  // namespace masa::store

namespace masa::service {

struct GeneratedKey {
  std::string uri;             // RFC 7512 URI of the private key
  std::string public_key_der;  // SubjectPublicKeyInfo
};

// Thread-safe.
class KeyVault {
 public:
  virtual ~KeyVault() = default;

  // A key pair inside the HSM, private half sensitive and non-extractable. With several
  // tokens configured, it is made in the first; kAlreadyExists for a label in use.
  virtual absl::StatusOr<GeneratedKey> Generate(KeyAlgorithm algorithm, std::string_view label) = 0;
  // A PKCS#10 request (DER) for the key at `uri`, self-signed inside the HSM.
  virtual absl::StatusOr<std::string> Csr(std::string_view uri, std::string_view subject) = 0;
  // A certificate (DER) for `public_key_der` with `subject`, signed inside the HSM by the
  // vendor CA key; returns the whole chain, leaf first, up to and including the anchor.
  // (NewHsmKeyVault: random serial, CA:FALSE, digitalSignature, SKI/AKI, valid from an hour
  // before now, for devices whose clock runs slow, to now + validity.)
  virtual absl::StatusOr<std::vector<std::string>> Issue(std::string_view public_key_der,
                                                         std::string_view subject,
                                                         absl::Duration validity) = 0;
  // OK when the leaf of `chain_der` holds `public_key_der` and the chain verifies up to the
  // configured trust anchor (kFailedPrecondition saying which check failed).
  virtual absl::Status CheckChain(std::string_view public_key_der,
                                  const std::vector<std::string>& chain_der) const = 0;
  // OK when every configured token holds the key (kFailedPrecondition naming the first
  // token without it).
  virtual absl::Status CheckPresentEverywhere(std::string_view uri) = 0;

  // Voucher signers (every CMS content type) for the key and chain, with
  // SigningKeys::key_id = key_id.
  virtual absl::StatusOr<std::shared_ptr<const SigningKeys>> LoadSigningKeys(
      std::string_view key_id, std::string_view uri, const std::vector<std::string>& chain_der) = 0;
  // A checkpoint signer for the audit key at `uri`, named `origin` in the signed note.
  virtual absl::StatusOr<std::unique_ptr<store::CheckpointSigner>> LoadCheckpointSigner(
      std::string_view uri, std::string_view origin) = 0;
};

struct HsmKeyVaultOptions {
  hsm::ProviderContext* provider = nullptr;  // not owned; its token is the (group of) tokens
  std::string ca_key_uri;                    // the vendor CA key, in the HSM
  std::vector<std::string> ca_chain_der;     // the CA's certificate first, up to the anchor
  std::string trust_anchor_der;              // what devices trust
};

absl::StatusOr<std::unique_ptr<KeyVault>> NewHsmKeyVault(HsmKeyVaultOptions options);

}  // namespace masa::service
