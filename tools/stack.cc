#include "tools/stack.h"

#include <openssl/x509.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/secret.h"
#include "common/status.h"
#include "signer/cms.h"

namespace masa::tools {
namespace {

// The DER SubjectPublicKeyInfo of `key` (an HSM key's public half, through the provider).
absl::StatusOr<std::string> PublicKeyDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int n = key == nullptr ? 0 : i2d_PUBKEY(key, &der);
  if (n <= 0) return FromOpenSslErrors("encoding a public key");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

}  // namespace

Stack::~Stack() {
  service.reset();
  if (work_queue) work_queue->Shutdown();
  work_queue.reset();
  store.reset();
}

absl::StatusOr<MasadConfig> ConfigForState(const std::string& dir) {
  std::string path = dir + "/masad.toml";
  if (PathExists(path)) return LoadConfig(path);
  return ParseConfig("[server]\nplain_http = true\n", dir);
}

absl::StatusOr<std::unique_ptr<Stack>> OpenStack(const MasadConfig& config) {
  auto stack = std::make_unique<Stack>();
  if (!config.softhsm_conf.empty()) setenv("SOFTHSM2_CONF", config.softhsm_conf.c_str(), 1);
  MASA_ASSIGN_OR_RETURN(auto module, hsm::Module::Load(config.pkcs11_module));
  absl::StatusOr<Secret> pin = ReadSecretEnv("MASA_HSM_PIN");
  if (!pin.ok()) pin = ReadSecretFile(config.pin_file);
  if (!pin.ok()) return Annotate(pin.status(), "reading the HSM user PIN");
  auto token = hsm::Token::Open(module, config.token_label, *pin, {.sessions = config.workers + 1});
  if (!token.ok()) {
    return Annotate(token.status(),
                    token.status().code() == absl::StatusCode::kPermissionDenied
                        ? "the HSM refused the user PIN (from MASA_HSM_PIN or the pin file)"
                        : "opening the HSM token");
  }
  stack->token = std::move(*token);
  MASA_ASSIGN_OR_RETURN(stack->provider, hsm::ProviderContext::Create(stack->token));

  auto key = stack->provider->LoadPrivateKey(config.signing_key);
  if (!key.ok()) return Annotate(key.status(), "loading the signing key");
  stack->signing_key = std::move(*key);
  MASA_ASSIGN_OR_RETURN(std::string cert_pem, ReadFile(config.signing_certificate));
  MASA_ASSIGN_OR_RETURN(stack->signing_cert, ParseCertificate(cert_pem));
  MASA_ASSIGN_OR_RETURN(std::string chain_pem, ReadFile(config.signing_chain));
  MASA_ASSIGN_OR_RETURN(stack->chain, ParseCertificates(chain_pem));
  std::vector<X509*> chain;
  for (const auto& c : stack->chain) chain.push_back(c.get());

  auto keys = std::make_shared<service::SigningKeys>();
  keys->key_id = hsm::PrivateKeyUri(config.token_label, "masa-signing");
  for (auto [type, slot] :
       {std::pair{signer::CmsContentType::kAnimaJsonVoucher, &keys->anima_json_voucher},
        std::pair{signer::CmsContentType::kData, &keys->data}}) {
    auto signer = signer::VoucherSigner::Create(stack->signing_key.get(), stack->signing_cert.get(),
                                                chain, type, stack->provider->libctx(), nullptr);
    if (!signer.ok()) return Annotate(signer.status(), "preparing the voucher signer");
    *slot = std::move(*signer);
  }

  auto audit_key = stack->provider->LoadPrivateKey(config.audit_key);
  if (!audit_key.ok()) return Annotate(audit_key.status(), "loading the audit key");
  stack->audit_key = std::move(*audit_key);
  MASA_ASSIGN_OR_RETURN(stack->checkpoint_signer,
                        store::NewEvpCheckpointSigner(config.audit_origin,
                                                      UpRef(stack->audit_key.get()),
                                                      stack->provider->libctx()));

  store::StoreOptions store_options;
  store_options.state_dir = config.state_dir;
  store_options.max_map_size = config.max_map_bytes;
  store_options.min_commit_interval = config.min_commit_interval;
  store_options.checkpoint_signer = stack->checkpoint_signer.get();
  store_options.checkpoint_origin = config.audit_origin;
  store_options.checkpoint_every_entries = config.checkpoint_every_entries;
  store_options.checkpoint_every = config.checkpoint_every;
  auto store = store::Store::Open(store_options);
  if (!store.ok()) return Annotate(store.status(), "opening the store");
  stack->store = std::move(*store);

  MASA_ASSIGN_OR_RETURN(stack->work_queue,
                        queue::WorkQueue::Create({.workers = config.workers,
                                                  .capacity = config.queue_capacity,
                                                  .max_batch = config.max_batch,
                                                  .nice = config.worker_nice,
                                                  .name = "masa-signer"}));
  service::HsmKeyVaultOptions vault;
  vault.provider = stack->provider.get();
  vault.ca_key_uri = config.ca_key;
  std::vector<std::string> chain_der;  // [signing] chain: the CA first, the anchor last
  for (const auto& c : stack->chain) {
    MASA_ASSIGN_OR_RETURN(std::string der, CertificateToDer(c.get()));
    chain_der.push_back(std::move(der));
  }
  vault.ca_chain_der = chain_der;
  if (!chain_der.empty()) vault.trust_anchor_der = chain_der.back();
  auto key_vault = service::NewHsmKeyVault(std::move(vault));
  if (!key_vault.ok()) return Annotate(key_vault.status(), "preparing the key vault");
  stack->key_vault = std::move(*key_vault);

  service::ServiceOptions options;
  options.key_vault = stack->key_vault.get();
  options.key_policy.approvals_required = config.approvals_required;
  options.key_policy.approval_ttl = config.approval_ttl;
  options.key_policy.default_certificate_validity = config.certificate_validity;
  options.checkpoint_origin = config.audit_origin;
  options.install_checkpoint_signer =
      [store = stack->store.get()](std::unique_ptr<store::CheckpointSigner> signer) {
        store->SetCheckpointSigner(std::move(signer));
        return absl::OkStatus();
      };
  options.store = stack->store.get();
  options.work_queue = stack->work_queue.get();
  options.signing_keys = std::move(keys);
  options.vendor_ien = config.vendor_ien;
  options.default_validity = config.default_validity;
  options.max_validity = config.max_validity;
  options.default_assertion = config.default_assertion;
  auto service = service::Service::Create(std::move(options));
  if (!service.ok()) return Annotate(service.status(), "starting the service");
  stack->service = std::move(*service);

  std::vector<service::ConfiguredKey> configured(2);
  configured[0].purpose = service::KeyPurpose::kVoucherSigning;
  configured[0].uri = config.signing_key;
  MASA_ASSIGN_OR_RETURN(std::string leaf, CertificateToDer(stack->signing_cert.get()));
  configured[0].chain_der.push_back(std::move(leaf));
  configured[0].chain_der.insert(configured[0].chain_der.end(), chain_der.begin(), chain_der.end());
  MASA_ASSIGN_OR_RETURN(configured[0].public_key_der,
                        PublicKeyDer(X509_get0_pubkey(stack->signing_cert.get())));
  configured[1].purpose = service::KeyPurpose::kAudit;
  configured[1].uri = config.audit_key;
  MASA_ASSIGN_OR_RETURN(configured[1].public_key_der, PublicKeyDer(stack->audit_key.get()));
  absl::Status adopted = stack->service->AdoptConfiguredKeys(std::move(configured)).status();
  if (!adopted.ok()) return Annotate(adopted, "adopting the configured keys");
  absl::Status refreshed = stack->service->RefreshKeys();
  if (!refreshed.ok()) return Annotate(refreshed, "loading the active keys");
  return stack;
}

}  // namespace masa::tools
