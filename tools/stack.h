// The appliance assembled from a configuration: HSM token and provider, signing and audit
// keys, the LMDB store with its checkpoint signer, the signing work queue and the domain
// service. masad serves it; masactl's offline administration commands use the same stack.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "hsm/pkcs11.h"
#include "hsm/provider/provider.h"
#include "hsm/token_group.h"
#include "queue/work_queue.h"
#include "service/key_vault.h"
#include "service/service.h"
#include "store/checkpoint.h"
#include "store/store.h"
#include "tools/config.h"

namespace masa::tools {

// Members are declared in construction order and destroyed in reverse: the service first,
// then the queue (which finishes every job already taken), then the store (which commits
// what is queued), then the keys and the token.
struct Stack {
  // The [hsm] tokens as one Token (one member when a single token is configured).
  std::shared_ptr<hsm::TokenGroup> token_group;
  std::shared_ptr<hsm::Token> token;  // token_group, as a Token
  std::unique_ptr<hsm::ProviderContext> provider;
  std::unique_ptr<service::KeyVault> key_vault;  // the key lifecycle's HSM work
  UniquePtr<EVP_PKEY> signing_key;
  UniquePtr<X509> signing_cert;
  std::vector<UniquePtr<X509>> chain;
  UniquePtr<EVP_PKEY> audit_key;
  std::unique_ptr<store::CheckpointSigner> checkpoint_signer;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<queue::WorkQueue> work_queue;
  std::unique_ptr<service::Service> service;

  ~Stack();
};

// Opens everything `config` names. The HSM PIN comes from $MASA_HSM_PIN or the pin file.
// Errors name the piece that failed ("opening the store: ..."). The configured signing and
// audit keys are adopted as the first active keys of a store that has none
// (Service::AdoptConfiguredKeys), and then the store's active keys are the ones in use
// (Service::RefreshKeys): after a rotation, the keys masad.toml names only matter for that.
absl::StatusOr<std::unique_ptr<Stack>> OpenStack(const MasadConfig& config);

// /metrics lines of the store writer (service::StoreMetricsText: commits, their times, map
// growths; resets the slowest-commit gauge), of the HSM tokens (state, calls in flight,
// signatures, failures per token; the CPU time inside the signing calls, hsm/sign_cpu.h)
// and of the signing queue's stuck workers, in the Prometheus text format.
std::string HsmMetrics(const Stack& stack);

// The configuration of a state folder: DIR/masad.toml when present, else the defaults with
// every path inside DIR (what dev-init makes).
absl::StatusOr<MasadConfig> ConfigForState(const std::string& dir);

}  // namespace masa::tools
