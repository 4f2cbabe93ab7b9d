// A fake Keys: an in-memory key list the test fills (keys), with the lifecycle's state
// changes (generate makes "key-000000000000000N" pending; activate retires the active key of
// the same purpose; approvals_required > 1 opens approval "apr-0000000000000001" instead),
// or every call fails with one chosen status. PublishedKeys answers the active and retired
// keys, as the service does.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/keys.h"

namespace masa::service::testing {

// Not thread-safe: tests call it from one thread at a time.
class FakeKeys final : public Keys {
 public:
  absl::Status fail_with = absl::OkStatus();  // when not OK, every method returns it
  std::vector<KeyInfo> keys;                  // what the lifecycle holds
  size_t approvals_required = 1;              // > 1: activate and retire open an approval
  std::vector<KeyApproval> approvals;         // open approvals

  // What it saw.
  std::optional<KeyGenerateInput> last_generate;
  std::optional<KeyIssueInput> last_issue;
  std::string last_csr_subject;
  std::string last_chain;  // ImportCertificate's

  absl::StatusOr<KeyInfo> GenerateKey(const Caller&, KeyGenerateInput input) override {
    if (!fail_with.ok()) return fail_with;
    last_generate = input;
    KeyInfo k;
    char id[32];
    std::snprintf(id, sizeof(id), "key-%016zx", keys.size() + 1);
    k.key_id = id;
    k.uri = "pkcs11:token=masa;object=" +
            (input.label.empty() ? std::string("masa-key") : input.label) + ";type=private";
    k.purpose = input.purpose;
    k.algorithm = input.algorithm;
    k.state = KeyState::kPending;
    k.public_key_der = "spki";
    keys.push_back(k);
    return k;
  }
  // The bytes "csr:" + subject, as if they were DER.
  absl::StatusOr<std::string> CreateCsr(const Caller&, std::string_view key_id,
                                        std::string_view subject) override {
    if (!fail_with.ok()) return fail_with;
    if (Find(key_id) == nullptr) return absl::NotFoundError("no such key");
    last_csr_subject = std::string(subject);
    return "csr:" + std::string(subject);
  }
  absl::StatusOr<KeyInfo> IssueCertificate(const Caller&, KeyIssueInput input) override {
    if (!fail_with.ok()) return fail_with;
    KeyInfo* k = Find(input.key_id);
    if (k == nullptr) return absl::NotFoundError("no such key");
    last_issue = input;
    k->subject = input.subject;
    return *k;
  }
  absl::StatusOr<KeyInfo> ImportCertificate(const Caller&, std::string_view key_id,
                                            std::string_view chain) override {
    if (!fail_with.ok()) return fail_with;
    KeyInfo* k = Find(key_id);
    if (k == nullptr) return absl::NotFoundError("no such key");
    last_chain = std::string(chain);
    return *k;
  }
  absl::StatusOr<KeyActionResult> ActivateKey(const Caller&, std::string_view key_id) override {
    return Act(key_id, "activate");
  }
  absl::StatusOr<KeyActionResult> RetireKey(const Caller&, std::string_view key_id) override {
    return Act(key_id, "retire");
  }
  // Applies the approval's action (any number of approvals is enough).
  absl::StatusOr<KeyActionResult> Approve(const Caller&, std::string_view approval_id) override {
    if (!fail_with.ok()) return fail_with;
    for (auto it = approvals.begin(); it != approvals.end(); ++it) {
      if (it->approval_id != approval_id) continue;
      const std::string key_id = it->key_id, action = it->action;
      approvals.erase(it);
      return Apply(key_id, action);
    }
    return absl::NotFoundError("no such approval");
  }
  absl::StatusOr<std::vector<KeyInfo>> ListKeys(const Caller&) const override {
    if (!fail_with.ok()) return fail_with;
    return keys;
  }
  absl::StatusOr<std::vector<KeyApproval>> ListApprovals(const Caller&) const override {
    if (!fail_with.ok()) return fail_with;
    return approvals;
  }
  absl::StatusOr<std::vector<PublishedKey>> PublishedKeys() const override {
    if (!fail_with.ok()) return fail_with;
    std::vector<PublishedKey> out;
    for (const KeyInfo& k : keys) {
      if (k.state == KeyState::kPending) continue;
      out.push_back({k.key_id, k.purpose, k.state, k.chain_der, k.public_key_der});
    }
    return out;
  }

 private:
  KeyInfo* Find(std::string_view key_id) {
    for (KeyInfo& k : keys) {
      if (k.key_id == key_id) return &k;
    }
    return nullptr;
  }

  absl::StatusOr<KeyActionResult> Act(std::string_view key_id, const std::string& action) {
    if (!fail_with.ok()) return fail_with;
    KeyInfo* k = Find(key_id);
    if (k == nullptr) return absl::NotFoundError("no such key");
    if (approvals_required <= 1) return Apply(k->key_id, action);
    KeyApproval a;
    a.approval_id = "apr-0000000000000001";
    a.key_id = k->key_id;
    a.action = action;
    a.approved_by = {"p-officer-1"};
    a.required = approvals_required;
    a.created_at = absl::FromUnixSeconds(1800000000);
    a.expires_at = a.created_at + absl::Hours(24);
    approvals.push_back(a);
    return KeyActionResult{*k, false, a};
  }

  absl::StatusOr<KeyActionResult> Apply(const std::string& key_id, const std::string& action) {
    KeyInfo* k = Find(key_id);
    if (k == nullptr) return absl::NotFoundError("no such key");
    if (action == "activate") {
      for (KeyInfo& other : keys) {
        if (other.purpose == k->purpose && other.state == KeyState::kActive) {
          other.state = KeyState::kRetired;
        }
      }
      k->state = KeyState::kActive;
    } else {
      k->state = KeyState::kRetired;
    }
    return KeyActionResult{*k, true, std::nullopt};
  }
};

}  // namespace masa::service::testing
