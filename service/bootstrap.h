// The operator's bootstrap (masactl, run on the appliance): the same writes as the
// caller-facing methods, without a caller, audited with actor "masactl".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/keys.h"
#include "service/organizations.h"
#include "service/serials.h"
#include "service/tokens.h"
#include "service/types.h"

namespace masa::service {

// A key the configuration names (masad.toml [signing] signing_key and certificate, [audit]
// audit_key), which the service runs with when it starts.
struct ConfiguredKey {
  KeyPurpose purpose = KeyPurpose::kVoucherSigning;
  std::string uri;
  std::vector<std::string> chain_der;  // leaf first; may be empty for the audit key
  std::string public_key_der;          // SubjectPublicKeyInfo
};

// Thread-safe. No caller: whoever can run masactl on the appliance is trusted.
class OperatorBootstrap {
 public:
  virtual ~OperatorBootstrap() = default;

  // Creates organization "org-<name>" (name: [a-z0-9-], 1..63), its first admin user
  // `admin_username` bound admin on the root group, and a first token.
  virtual absl::StatusOr<BootstrapResult> CreateOrganization(std::string_view name,
                                                             std::string_view admin_username) = 0;
  // A principal of the vendor organization (created when absent) with `role` on its root
  // group, and a first token. `role` must be a vendor role (support, account-team,
  // security-officer); any other, customer roles included, is kInvalidArgument naming them.
  virtual absl::StatusOr<BootstrapResult> CreateVendorPrincipal(std::string_view username,
                                                                Role role) = 0;
  // AssignSerials without a caller.
  virtual absl::StatusOr<AssignResult> AssignSerialsOffline(AssignInput input) = 0;
  // A new token, minted by no token, for the enabled principal named `username` (or its
  // principal id) of `organization_id`: how an operator lets an organization back in once
  // its tokens, which never outlive the token that minted them, have all expired or been
  // revoked. validity: default default_token_validity, at most max_token_validity.
  // kNotFound for an unknown organization or principal; kFailedPrecondition for a disabled
  // one. Audited "token.create" with actor "masactl".
  virtual absl::StatusOr<NewToken> IssueTokenOffline(std::string_view organization_id,
                                                     std::string_view username,
                                                     std::optional<absl::Duration> validity) = 0;
  // Adopts the configured keys into the key lifecycle: each becomes the active KeyRecord of
  // its purpose when the store has no active key of that purpose yet (audited "key.adopt"
  // by "masactl"), so that state folders made before the lifecycle, and dev-init's, go on
  // working. When the store's active voucher-signing key is the configured one (same URI),
  // the running signing keys take its record id, so every voucher from now on names the
  // KeyRecord in signing_key_id; likewise the configured audit key counts as the running
  // one for RefreshKeys. Returns the active keys afterwards. kInvalidArgument for a key
  // without a URI or public key, or a chain whose leaf does not hold the public key.
  virtual absl::StatusOr<std::vector<KeyInfo>> AdoptConfiguredKeys(
      std::vector<ConfiguredKey> keys) = 0;
};

}  // namespace masa::service
