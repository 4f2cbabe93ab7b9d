// How a Service is built: its store, work queue, signing keys, clock and the domain's
// limits and profiles (ServiceOptions), given once to Service::Create.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/time.h"
#include "queue/work_queue.h"
#include "service/keys.h"
#include "signer/cms.h"
#include "signer/voucher.h"
#include "store/store.h"

namespace masa::service {

class KeyVault;

// The voucher signers of one signing key, one per CMS content type, and the id of the key
// (store::KeyRecord id, recorded in every Voucher.signing_key_id). Immutable once built;
// key rotation builds a new one and swaps it in with Service::SetSigningKeys.
struct SigningKeys {
  std::string key_id;
  std::shared_ptr<const signer::VoucherSigner> anima_json_voucher;  // id-ct-animaJSONVoucher
  std::shared_ptr<const signer::VoucherSigner> data;                // id-data; may be null

  // The signer for `type`; null when this key has none for it.
  const signer::VoucherSigner* For(signer::CmsContentType type) const;
};

// What a device family needs of its vouchers, selected by the request's os_type.
struct DeviceProfile {
  signer::CmsContentType content_type = signer::CmsContentType::kAnimaJsonVoucher;
};

// A named voucher profile, selected by the request's security_profile.
struct SecurityProfile {
  // The "domain-cert-revocation-checks" leaf; nullopt leaves it out.
  std::optional<bool> domain_cert_revocation_checks;
};

struct ServiceOptions {
  store::Store* store = nullptr;           // not owned; must outlive the Service
  queue::WorkQueue* work_queue = nullptr;  // not owned; the signing workers
  std::shared_ptr<const SigningKeys> signing_keys;
  const Clock* clock = &SystemClock();  // not owned; never null

  // The IEN a serial number gets when the request names none.
  std::string vendor_ien = "9";
  // The vendor's own organization: where support, account-team and security-officer
  // principals live. Created by OperatorBootstrap::CreateVendorPrincipal when absent.
  std::string vendor_organization_id = "org-vendor";

  // Voucher expiry: default validity when the request gives no expiry, and the longest
  // allowed. An expiry beyond the PDC's notAfter is refused when asked for explicitly and
  // clamped to notAfter when it comes from default_validity.
  absl::Duration default_validity = absl::Hours(24 * 365);
  absl::Duration max_validity = absl::Hours(24 * 365 * 3);

  // Tokens: validity when none is asked for, and the longest allowed (six months).
  absl::Duration default_token_validity = absl::Hours(24 * 30);
  absl::Duration max_token_validity = absl::Hours(24 * 183);

  // Web sessions (service/sessions.h): the absolute lifetime of a session, and how long it
  // may go without a call before it is refused.
  absl::Duration session_lifetime = absl::Hours(12);
  absl::Duration session_idle_timeout = absl::Minutes(30);

  // The "assertion" of every voucher this service issues: how the vendor verified the
  // owner. "logged" (the product documentation's vouchers): issued on the vendor's own
  // serial assignment records, every issuance in the audit log. A renewal keeps the
  // assertion of the voucher it renews.
  signer::Assertion default_assertion = signer::Assertion::kLogged;

  size_t max_serials_per_request = 20;
  // Components in one IssueComponentVouchers call (OVGS GetOwnershipVouchers).
  size_t max_components_per_call = 1000;
  // AssignSerials writes this many components per store transaction.
  size_t assign_batch_size = 1000;

  // Keyed by os_type. The empty os_type (not given) uses key "". Defaults: "" and "ios-xr"
  // -> id-ct-animaJSONVoucher; "ios-xe" -> id-data. An unknown os_type is kInvalidArgument.
  std::map<std::string, DeviceProfile> device_profiles = DefaultDeviceProfiles();
  // Keyed by security_profile name; "" (not given) uses "default". Defaults: "default"
  // (no revocation leaf), "revocation-checks" (domain-cert-revocation-checks = true),
  // "no-revocation-checks" (false).
  std::map<std::string, SecurityProfile> security_profiles = DefaultSecurityProfiles();

  // The HSM work of the key lifecycle (service/keys.h); not owned, must outlive the Service.
  // Null: every Keys method but PublishedKeys answers kFailedPrecondition, and RefreshKeys
  // keeps the keys the service was made with.
  KeyVault* key_vault = nullptr;
  KeyPolicy key_policy;
  // Service::RefreshKeys hands the checkpoint signer of a newly activated audit key here
  // (masad: to the store). Null: an audit key activation is recorded, and takes effect when
  // the daemon next starts.
  std::function<absl::Status(std::unique_ptr<store::CheckpointSigner>)> install_checkpoint_signer;
  // The signed-note origin the audit key's checkpoints name (StoreOptions::checkpoint_origin).
  std::string checkpoint_origin = "masa/audit";

  static std::map<std::string, DeviceProfile> DefaultDeviceProfiles();
  static std::map<std::string, SecurityProfile> DefaultSecurityProfiles();
};

}  // namespace masa::service
