#include "tools/stack.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/secret.h"
#include "common/status.h"
#include "signer/cms.h"

namespace masa::tools {

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
  service::ServiceOptions options;
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
  return stack;
}

}  // namespace masa::tools
