// The vendor's keys in the HSM and their lifecycle, for security officers:
//
//   generate (pending) -> csr / issue / import-cert -> activate (active) -> retire (retired)
//
// One voucher-signing key and one audit (checkpoint) key are active at a time; activating a
// key retires the active key of the same purpose in the same transaction. A retired key
// never signs again, but its certificate stays published (PublishedKeys), so every voucher
// it signed still verifies. The running daemon picks up an activation without a restart
// (Service::RefreshKeys): requests accepted before the switch finish with the old key, later
// ones use the new key, and no voucher is signed half by one and half by the other.
//
// Two-person rule (KeyPolicy::approvals_required = M > 1): ActivateKey and RetireKey then
// open an approval that the caller's call counts as the first of; it takes effect in the
// transaction of the M-th approval by a distinct security officer (Approve), and expires
// after KeyPolicy::approval_ttl.
//
// Every step is an audit entry with the officer as actor ("key.generate", "key.csr",
// "key.issue", "key.import-cert", "key.activate", "key.retire", "key.approval.open",
// "key.approval.approve", "key.approval.expire").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/types.h"

namespace masa::service {

struct SigningKeys;

enum class KeyPurpose { kVoucherSigning, kAudit };
std::string_view KeyPurposeName(KeyPurpose purpose);  // "voucher-signing", "audit"
std::optional<KeyPurpose> ParseKeyPurpose(std::string_view name);

enum class KeyAlgorithm { kEcP256, kEcP384, kRsa3072, kEd25519 };
std::string_view KeyAlgorithmName(KeyAlgorithm algorithm);  // "p256", "p384", "rsa3072", "ed25519"
std::optional<KeyAlgorithm> ParseKeyAlgorithm(std::string_view name);

enum class KeyState { kPending, kActive, kRetired };
std::string_view KeyStateName(KeyState state);  // "pending", "active", "retired"

struct KeyInfo {
  std::string key_id;  // "key-" + 16 hex digits
  std::string uri;     // RFC 7512 URI of the private key in the HSM
  KeyPurpose purpose = KeyPurpose::kVoucherSigning;
  KeyAlgorithm algorithm = KeyAlgorithm::kEcP256;
  KeyState state = KeyState::kPending;
  // The key's certificate and its chain up to and including the trust anchor (DER, leaf
  // first); empty until issued or imported. Audit keys may have none (the checkpoint names
  // the key and the public key is published instead).
  std::vector<std::string> chain_der;
  std::string public_key_der;  // SubjectPublicKeyInfo
  std::string subject;         // RFC 4514 form of the certificate's subject; "" without one
  std::optional<absl::Time> not_before;
  std::optional<absl::Time> not_after;
  std::string fingerprint_sha256;  // hex SHA-256 of the certificate DER; "" without one
  absl::Time created_at;
  std::string created_by;  // principal id, or "masactl"
  std::optional<absl::Time> activated_at;
  std::optional<absl::Time> retired_at;
  std::optional<absl::Time> first_used_at;  // first voucher (or checkpoint) signed
  std::optional<absl::Time> last_used_at;
  uint64_t signatures = 0;  // vouchers (or checkpoints) signed with it
};

struct KeyGenerateInput {
  KeyPurpose purpose = KeyPurpose::kVoucherSigning;
  KeyAlgorithm algorithm = KeyAlgorithm::kEcP256;
  std::string label;  // CKA_LABEL; "" = "masa-<purpose>-<key id>"
};

struct KeyIssueInput {
  std::string key_id;
  std::string subject;  // e.g. "CN=MASA 2027,O=Vendor"; "" = the active key's subject
  std::optional<absl::Duration> validity;  // default KeyPolicy::default_certificate_validity
};

// A pending two-person approval.
struct KeyApproval {
  std::string approval_id;  // "apr-" + 16 hex digits
  std::string key_id;
  std::string action;                    // "activate" or "retire"
  std::vector<std::string> approved_by;  // principal ids, the opener first
  size_t required = 0;
  absl::Time created_at;
  absl::Time expires_at;
};

// What ActivateKey / RetireKey / Approve did: applied (key shows the new state), or an
// approval still waiting for more officers.
struct KeyActionResult {
  KeyInfo key;
  bool applied = false;
  std::optional<KeyApproval> approval;
};

// A certificate anyone may fetch to verify vouchers (GET /keys, no token).
struct PublishedKey {
  std::string key_id;
  KeyPurpose purpose = KeyPurpose::kVoucherSigning;
  KeyState state = KeyState::kActive;  // active or retired; pending keys are not published
  std::vector<std::string> chain_der;  // leaf first, up to and including the trust anchor
  std::string public_key_der;
};

// Thread-safe. Every method except PublishedKeys needs the security-officer role
// (kPermissionDenied otherwise; vendor principals only). kNotFound for an unknown key id,
// kFailedPrecondition for a step the key's state does not allow (naming the state), for a
// certificate that does not match the key or does not chain to the configured trust anchor,
// and for activating a voucher-signing key without a certificate or one missing on one of
// the configured HSM tokens. kUnavailable when the HSM cannot be reached.
class Keys {
 public:
  virtual ~Keys() = default;

  // Makes a key pair inside the HSM (sensitive, non-extractable), state pending.
  virtual absl::StatusOr<KeyInfo> GenerateKey(const Caller& caller, KeyGenerateInput input) = 0;
  // A PKCS#10 request for the key, signed inside the HSM; DER.
  virtual absl::StatusOr<std::string> CreateCsr(const Caller& caller, std::string_view key_id,
                                                std::string_view subject) = 0;
  // Has the vendor CA key (in the HSM) certify the key; the chain is that certificate plus
  // the CA's chain.
  virtual absl::StatusOr<KeyInfo> IssueCertificate(const Caller& caller, KeyIssueInput input) = 0;
  // A certificate chain (PEM or DER, leaf first) from an external CA: the leaf must hold the
  // key's public key and the chain must lead to the configured trust anchor.
  virtual absl::StatusOr<KeyInfo> ImportCertificate(const Caller& caller, std::string_view key_id,
                                                    std::string_view chain) = 0;
  virtual absl::StatusOr<KeyActionResult> ActivateKey(const Caller& caller,
                                                      std::string_view key_id) = 0;
  // Refuses the only active key of its purpose (activate its successor instead).
  virtual absl::StatusOr<KeyActionResult> RetireKey(const Caller& caller,
                                                    std::string_view key_id) = 0;
  virtual absl::StatusOr<KeyActionResult> Approve(const Caller& caller,
                                                  std::string_view approval_id) = 0;
  virtual absl::StatusOr<std::vector<KeyInfo>> ListKeys(const Caller& caller) const = 0;
  // Open approvals (expired ones are not listed).
  virtual absl::StatusOr<std::vector<KeyApproval>> ListApprovals(const Caller& caller) const = 0;

  // Active and retired keys with their certificate chains; no caller needed.
  virtual absl::StatusOr<std::vector<PublishedKey>> PublishedKeys() const = 0;
};

// Key lifecycle settings (ServiceOptions::key_policy).
struct KeyPolicy {
  // Approvals an activation or retirement needs (M of the vendor's security officers);
  // 0 or 1: the officer's own call applies it.
  size_t approvals_required = 1;
  absl::Duration approval_ttl = absl::Hours(24);
  absl::Duration default_certificate_validity = absl::Hours(24 * 365 * 2);
};

}  // namespace masa::service
