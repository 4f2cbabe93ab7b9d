// The running daemon's side of the key lifecycle: RefreshKeys swaps in the keys the store
// says are active, and AdoptConfiguredKeys brings the keys of masad.toml into the store.
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/openssl.h"
#include "common/status.h"
#include "service/internal/ids.h"
#include "service/internal/keys.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"
#include "service/key_vault.h"
#include "signer/csr.h"
#include "store/checkpoint.h"

namespace masa::service {

using internal::KeyTarget;
using internal::ToKeyInfo;

namespace {

const std::string kSigningPurpose(KeyPurposeName(KeyPurpose::kVoucherSigning));
const std::string kAuditPurpose(KeyPurposeName(KeyPurpose::kAudit));

// kInvalidArgument unless the leaf of `chain_der` holds `public_key_der`.
absl::Status CheckLeafHolds(const std::vector<std::string>& chain_der,
                            const std::string& public_key_der) {
  absl::StatusOr<UniquePtr<X509>> leaf = ParseCertificate(chain_der.front());
  if (!leaf.ok()) return Annotate(leaf.status(), "the configured certificate");
  // masad.toml names a certificate and a key that do not belong together: a bad argument.
  absl::Status s = signer::CheckCertificateKey(leaf->get(), public_key_der);
  if (s.ok()) return s;
  return absl::InvalidArgumentError(absl::StrCat("the configured key: ", s.message()));
}

}  // namespace

void ServiceImpl::TakeUpKeys() { (void)RefreshKeys(); }

absl::Status ServiceImpl::RefreshKeys() {
  if (options_.key_vault == nullptr) return absl::OkStatus();
  KeyVault* vault = options_.key_vault;
  absl::MutexLock lock(&refresh_mu_);
  std::optional<store::KeyRecord> signing, audit;
  {
    MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
    MASA_ASSIGN_OR_RETURN(signing, internal::ActiveKey(snap, kSigningPurpose));
    MASA_ASSIGN_OR_RETURN(audit, internal::ActiveKey(snap, kAuditPurpose));
  }
  // The HSM work with no snapshot open. Each purpose on its own: one failing leaves the
  // other's switch done.
  absl::Status result;
  if (signing && signing->id != keys()->key_id) {
    auto loaded = vault->LoadSigningKeys(signing->id, signing->uri, signing->chain_der);
    absl::Status s = loaded.status();
    if (s.ok()) s = SetSigningKeys(*std::move(loaded));
    if (s.ok()) {
      Log(LogLevel::kInfo, "keys: vouchers are now signed with key " + signing->id);
    } else {
      result.Update(Annotate(s, "loading voucher-signing key " + signing->id));
    }
  }
  if (audit && audit->id != running_audit_key_id_) {
    if (!options_.install_checkpoint_signer) {
      Log(LogLevel::kWarning, "keys: audit key " + audit->id +
                                  " is active, but this process cannot switch its checkpoint "
                                  "signer while running; it takes effect at the next start");
      running_audit_key_id_ = audit->id;
    } else {
      auto signer = vault->LoadCheckpointSigner(audit->uri, options_.checkpoint_origin);
      absl::Status s = signer.status();
      if (s.ok()) s = options_.install_checkpoint_signer(*std::move(signer));
      if (s.ok()) {
        running_audit_key_id_ = audit->id;
        Log(LogLevel::kInfo, "keys: checkpoints are now signed with key " + audit->id);
      } else {
        result.Update(Annotate(s, "loading audit key " + audit->id));
      }
    }
  }
  return result;
}

absl::StatusOr<std::vector<KeyInfo>> ServiceImpl::AdoptConfiguredKeys(
    std::vector<ConfiguredKey> configured) {
  struct Candidate {
    ConfiguredKey key;
    std::string purpose;
    std::string id;  // made once: the body may run twice
    std::string algorithm;
  };
  std::vector<Candidate> candidates;
  for (auto& k : configured) {
    if (k.uri.empty() || k.public_key_der.empty()) {
      return absl::InvalidArgumentError("a configured key needs its URI and public key");
    }
    if (!k.chain_der.empty()) MASA_RETURN_IF_ERROR(CheckLeafHolds(k.chain_der, k.public_key_der));
    // A configured key of another algorithm (RSA 2048, say) is adopted all the same.
    std::string algorithm = internal::AlgorithmOf(k.public_key_der).value_or("");
    std::string purpose(KeyPurposeName(k.purpose));
    candidates.push_back({std::move(k), std::move(purpose), internal::NewId("key-"), algorithm});
  }
  const absl::Time now = Now();
  const std::string& vendor = options_.vendor_organization_id;
  MASA_ASSIGN_OR_RETURN(
      std::vector<store::KeyRecord> active,
      Mutate<std::vector<store::KeyRecord>>(
          nullptr, [&](internal::Operation& op) -> absl::StatusOr<std::vector<store::KeyRecord>> {
            std::vector<store::KeyRecord> out;
            for (const Candidate& c : candidates) {
              MASA_ASSIGN_OR_RETURN(std::optional<store::KeyRecord> a,
                                    internal::ActiveKey(op.txn(), c.purpose));
              if (!a) {
                store::KeyRecord r;
                r.id = c.id;
                r.uri = c.key.uri;
                r.purpose = c.purpose;
                r.state = store::KeyState::kActive;
                r.chain_der = c.key.chain_der;
                if (!r.chain_der.empty()) r.certificate_der = r.chain_der.front();
                r.public_key_der = c.key.public_key_der;
                r.algorithm = c.algorithm;
                r.created_at = now;
                r.activated_at = now;
                r.created_by = op.actor();
                MASA_RETURN_IF_ERROR(op.txn().Insert(r));
                MASA_RETURN_IF_ERROR(
                    op.Audit("key.adopt", KeyTarget(vendor, r.id), "ok: " + r.purpose + " " + r.uri)
                        .status());
                a = std::move(r);
              }
              out.push_back(*std::move(a));
            }
            return out;
          }));
  std::vector<KeyInfo> out;
  for (size_t i = 0; i < active.size(); ++i) {
    const store::KeyRecord& r = active[i];
    if (r.uri == candidates[i].key.uri) {
      if (r.purpose == kSigningPurpose) {
        // The same key under its record's id: vouchers name the KeyRecord from now on.
        std::shared_ptr<const SigningKeys> running = keys();
        if (running->key_id != r.id) {
          auto renamed = std::make_shared<SigningKeys>(*running);
          renamed->key_id = r.id;
          MASA_RETURN_IF_ERROR(SetSigningKeys(std::move(renamed)));
        }
      } else {
        absl::MutexLock lock(&refresh_mu_);
        running_audit_key_id_ = r.id;
      }
    }
    out.push_back(ToKeyInfo(r));
  }
  return out;
}

}  // namespace masa::service
