#include "tools/stack.h"

#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file.h"
#include "common/secret.h"
#include "common/status.h"
#include "hsm/sign_cpu.h"
#include "service/metrics.h"
#include "signer/cms.h"

namespace masa::tools {
namespace {}  // namespace

Stack::~Stack() {
  service.reset();
  if (work_queue) work_queue->Shutdown();
  // A signing worker that Shutdown left stuck in a hung HSM call may still return into the
  // provider and the token (its voucher was already answered by the abandon, so it touches
  // nothing else): they stay alive for the rest of the process instead of being freed under it.
  bool worker_stuck = work_queue != nullptr && work_queue->stuck_workers() > 0;
  work_queue.reset();
  store.reset();
  if (worker_stuck) {
    (void)provider.release();
    (void)new std::shared_ptr<hsm::Token>(std::move(token));
  }
}

absl::StatusOr<MasadConfig> ConfigForState(const std::string& dir) {
  std::string path = dir + "/masad.toml";
  if (PathExists(path)) return LoadConfig(path);
  return ParseConfig("[server]\nplain_http = true\n", dir);
}

namespace {

// A signing job is abandoned a quarter after the token group's call_timeout (at least 50 ms
// more): by then the group's watchdog has marked the hung token down, so the job's retry goes
// to another token instead of queueing behind the same hung one.
absl::Duration SignRunTimeout(const MasadConfig& config) {
  return config.call_timeout + std::max(config.call_timeout / 4, absl::Milliseconds(50));
}

// A Prometheus label value: backslash, double quote and newline escaped.
std::string LabelValue(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string HsmMetrics(const Stack& stack) {
  std::string out = stack.store != nullptr ? service::StoreMetricsText(*stack.store) : "";
  if (stack.store != nullptr) {
    absl::StrAppend(&out,
                    "# HELP masa_node_info This masad node: its name (in every audit entry it "
                    "writes) and its store's backend.\n# TYPE masa_node_info gauge\n"
                    "masa_node_info{node=\"",
                    LabelValue(stack.store->NodeId()), "\",store=\"", Sv(stack.store->Backend()),
                    "\"} 1\n# HELP masa_store_reachable 1 while the store reaches its database, "
                    "0 while it does not (PostgreSQL).\n# TYPE masa_store_reachable gauge\n"
                    "masa_store_reachable ",
                    stack.store->Reachable() ? 1 : 0, "\n");
  }
  if (stack.token_group == nullptr) return out;
  const std::vector<hsm::MemberStatus> members = stack.token_group->members();
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
    for (const auto& m : members) {
      absl::StrAppend(&out, name, "{token=\"", LabelValue(m.label), "\"} ", value(m), "\n");
    }
  };
  family(
      "masa_hsm_token_up", "gauge", "1 while the HSM token can sign, 0 while it is down.",
      [](const hsm::MemberStatus& m) { return m.state == hsm::MemberStatus::State::kUp ? 1 : 0; });
  family("masa_hsm_token_calls_in_flight", "gauge", "Calls into the HSM token now.",
         [](const hsm::MemberStatus& m) { return m.calls_in_flight; });
  family("masa_hsm_token_signatures_total", "counter", "Signatures made by the HSM token.",
         [](const hsm::MemberStatus& m) { return m.signatures; });
  family("masa_hsm_token_failures_total", "counter",
         "Calls into the HSM token that failed or passed the call timeout.",
         [](const hsm::MemberStatus& m) { return m.failures; });
  // A summary without quantiles over the timed sample of signing calls (hsm/sign_cpu.h):
  // _sum over _count is the CPU of one signature. The calls themselves, timed or not, are
  // masa_hsm_sign_calls_total, which counts what masa_hsm_token_signatures_total (the
  // group's successes) does not: failures, retries and probes.
  const hsm::SignCpu sign_cpu = hsm::SignCpuSoFar();
  absl::StrAppend(
      &out,
      "# HELP masa_hsm_sign_cpu_seconds Thread CPU time spent inside the HSM module's "
      "C_SignInit and C_Sign calls (the signature itself with a software token), over one "
      "signing call in ",
      hsm::kSignCpuSampleEvery, " on each thread.\n# TYPE masa_hsm_sign_cpu_seconds summary\n",
      "masa_hsm_sign_cpu_seconds_sum ", absl::StrFormat("%.9f", sign_cpu.timed_cpu_ns / 1e9),
      "\nmasa_hsm_sign_cpu_seconds_count ", sign_cpu.timed_calls,
      "\n# HELP masa_hsm_sign_calls_total Signing calls into the HSM module (failed ones, "
      "retries and probes included).\n# TYPE masa_hsm_sign_calls_total counter\n"
      "masa_hsm_sign_calls_total ",
      sign_cpu.calls, "\n");
  if (stack.work_queue != nullptr) {
    absl::StrAppend(&out,
                    "# HELP masa_sign_stuck_workers Signing threads still inside an abandoned "
                    "HSM call.\n# TYPE masa_sign_stuck_workers gauge\nmasa_sign_stuck_workers ",
                    stack.work_queue->stuck_workers(), "\n");
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Stack>> OpenStack(const MasadConfig& config) {
  auto stack = std::make_unique<Stack>();
  if (!config.softhsm_conf.empty()) setenv("SOFTHSM2_CONF", config.softhsm_conf.c_str(), 1);
  hsm::TokenGroupOptions group_options;
  group_options.sessions_per_member = config.workers + 1;
  group_options.call_timeout =
      std::chrono::milliseconds(absl::ToInt64Milliseconds(config.call_timeout));
  group_options.probe_interval =
      std::chrono::milliseconds(absl::ToInt64Milliseconds(config.probe_interval));
  const std::vector<std::string> uris = HsmTokenUris(config);
  for (size_t i = 0; i < uris.size(); ++i) {
    auto member = hsm::ParseTokenMemberUri(uris[i]);
    if (!member.ok()) return Annotate(member.status(), absl::StrCat("[hsm] tokens[", i, "]"));
    // No pin-source: the PIN of [hsm] pin_file, or $MASA_HSM_PIN, which wins as it always has.
    if (member->pin_file.empty()) {
      absl::StatusOr<Secret> pin = ReadSecretEnv("MASA_HSM_PIN");
      if (pin.ok()) {
        member->pin = *std::move(pin);
      } else {
        member->pin_file = config.pin_file;
      }
    }
    group_options.members.push_back(*std::move(member));
  }
  auto group = hsm::TokenGroup::Open(std::move(group_options));
  if (!group.ok()) {
    return Annotate(group.status(),
                    group.status().code() == absl::StatusCode::kPermissionDenied
                        ? "the HSM refused the user PIN (from MASA_HSM_PIN or the pin file)"
                        : "opening the HSM token");
  }
  stack->token_group = *std::move(group);
  stack->token = stack->token_group;
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
  store_options.postgres = config.postgres;
  store_options.node_id = config.node_id;
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
                                                  .name = "masa-signer",
                                                  .run_timeout = SignRunTimeout(config),
                                                  .max_queue_delay = config.max_queue_delay}));
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
  options.session_lifetime = config.session_lifetime;
  options.session_idle_timeout = config.session_idle_timeout;
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
                        PublicKeyToDer(X509_get0_pubkey(stack->signing_cert.get())));
  configured[1].purpose = service::KeyPurpose::kAudit;
  configured[1].uri = config.audit_key;
  MASA_ASSIGN_OR_RETURN(configured[1].public_key_der, PublicKeyToDer(stack->audit_key.get()));
  absl::Status adopted = stack->service->AdoptConfiguredKeys(std::move(configured)).status();
  if (!adopted.ok()) return Annotate(adopted, "adopting the configured keys");
  absl::Status refreshed = stack->service->RefreshKeys();
  if (!refreshed.ok()) return Annotate(refreshed, "loading the active keys");
  return stack;
}

}  // namespace masa::tools
