// The records the store keeps: plain structs, one per table. service/ owns their meaning;
// the store only persists them, keeps the secondary indexes, and never interprets fields.
//
// Every record carries `unknown_fields`: fields written by a newer version of the software
// that this one does not know. They are kept on read and written back unchanged, so an
// older binary that updates a record does not drop what a newer one stored (see
// store/internal/codec.h for the encoding).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace masa::store {

// Key: id ("org-<name>"). The organization is also the root group (same id).
struct Organization {
  std::string id;
  std::string name;
  absl::Time created_at = absl::UnixEpoch();
  std::string unknown_fields;
};

// Key: id. A tree: `parent_id` is empty for an organization's root group.
struct Group {
  std::string id;
  std::string organization_id;
  std::string parent_id;
  std::string name;
  absl::Time created_at = absl::UnixEpoch();
  // Other organizations ("org-<name>", or "*" for every one) whose principals may hold
  // roles on this group and its subtree (OVGS delegated organizations), sorted.
  std::vector<std::string> delegated_orgs;
  std::string unknown_fields;
};

enum class PrincipalKind : uint32_t { kUser = 0, kServiceAccount = 1 };

// Key: id. A user or service account of one organization.
struct Principal {
  std::string id;
  std::string organization_id;
  PrincipalKind kind = PrincipalKind::kUser;
  std::string name;
  std::string email;
  bool disabled = false;
  absl::Time created_at = absl::UnixEpoch();
  // The licence terms of the web application this principal last accepted: the version
  // (hex SHA-256 of the text) and when; "" / unset when never.
  std::string licence_accepted_version;
  std::optional<absl::Time> licence_accepted_at;
  std::string unknown_fields;
};

// Key: id. A role on a group and its subtree, plus single permission grants.
struct RoleBinding {
  std::string id;
  std::string principal_id;
  std::string group_id;
  std::string role;                 // "viewer", "requestor", "assigner", "admin", ...
  std::vector<std::string> grants;  // "request", "download", "archive"
  absl::Time created_at = absl::UnixEpoch();
  std::string unknown_fields;
};

// Key: token_hash (the secret itself is never stored). An API token, or (kind "session") a
// web session of the same principal (service/sessions.h): everything that ends a token
// (revoked, expired, its principal disabled, its minter revoked) ends a session too.
struct ApiToken {
  std::string token_hash;
  std::string principal_id;
  std::string description;
  absl::Time created_at = absl::UnixEpoch();
  absl::Time expires_at = absl::UnixEpoch();
  bool revoked = false;
  std::string id;          // "tok-" + hex of the hash's first 8 bytes: names it in lists/audit
  std::string created_by;  // principal id, or "masactl"
  // The id of the token that minted this one through the API; "" when masactl made it (or
  // the record predates the field). Revoking a token revokes the tokens it minted.
  std::string minted_by;
  // "" for an API token (and every record written before sessions), "session" for a web
  // session, whose id is "ses-" + hex of the hash's first 8 bytes.
  std::string kind;
  // Sessions only: refused after this many seconds without a call (0: no idle timeout),
  // counted from the later of created_at and last_seen_at, the last activity written
  // (at most once a minute; the daemon keeps newer activity in memory).
  uint64_t idle_timeout_seconds = 0;
  std::optional<absl::Time> last_seen_at;
  // Sessions only: how it was started, "token" or "oidc", and for "oidc" the identity
  // provider's issuer and the person's subject there (for the audit trail only).
  std::string method;
  std::string oidc_issuer;
  std::string oidc_subject;
  std::string unknown_fields;
};

// Key: id.
struct PinnedDomainCert {
  std::string id;
  std::string organization_id;
  std::string group_id;
  std::string name;
  std::string certificate_der;
  absl::Time created_at = absl::UnixEpoch();
  // The voucher's domain-cert-revocation-checks for vouchers pinned to it (OVGS).
  bool revocation_checks = false;
  // The last moment it may be pinned by a new voucher, as uploaded; nullopt: its notAfter.
  std::optional<absl::Time> expiry_time;
  std::string unknown_fields;
};

// Key: (ien, serial_number). A device serial and where it belongs.
struct Component {
  std::string ien;
  std::string serial_number;
  std::string organization_id;
  std::string group_id;
  std::string model;
  std::optional<std::string> tpm_data;  // e.g. the EK certificate, when known
  // Vendor-side device data loaded with the assignment; "" when unknown. The TPM values
  // are DER: the EK public key or the EK certificate (at most one), the platform primary key.
  std::string mac_addr;
  std::string tpm_endorsement_key;
  std::string tpm_ek_certificate;
  std::string tpm_platform_primary_key;
  std::string unknown_fields;
};

// Key: id (the API's req_id).
struct VoucherRequest {
  std::string id;
  std::string organization_id;
  std::string requested_by;  // principal id
  absl::Time requested_at = absl::UnixEpoch();
  std::string ien;
  std::vector<std::string> serial_numbers;
  std::string pdc_id;
  std::string status;  // "completed", "partial", "failed" (service.h RequestStatus names)
  std::string os_type;
  std::string security_profile;
  std::optional<absl::Time> expires_at;  // as requested; nullopt = the default validity
  bool override_conflicts = false;
  std::string platform_certificate_der;  // the optional platform key certificate
  std::string pdc_organization;          // the PDC subject's O
  // Serials that got no voucher, with the absl::StatusCode and reason, parallel. Records
  // written before the codes were integers kept them as decimal text under another tag;
  // decoding reads both into failure_codes.
  std::vector<std::string> failed_serials;
  std::vector<absl::StatusCode> failure_codes;
  std::vector<std::string> failure_reasons;
  std::string unknown_fields;
};

// Key: id (the API's voucher_id). Indexed by (ien, serial), (organization, requested_at)
// and request id.
struct Voucher {
  std::string id;
  std::string request_id;
  std::string organization_id;
  std::string ien;
  std::string serial_number;
  std::string status;
  std::string assertion;
  std::string signing_key_id;
  absl::Time requested_at = absl::UnixEpoch();
  absl::Time created_at = absl::UnixEpoch();
  absl::Time expires_at = absl::UnixEpoch();
  std::optional<absl::Time> last_renewal_at;
  std::string cms;                // the signed voucher (CMS SignedData, DER)
  std::string requested_by;       // principal id
  std::string requested_by_name;  // that principal's name when it requested
  std::string pdc_organization;   // the pinned-domain-cert subject's O
  std::string pdc_id;             // the uploaded PDC it came from; "" when pasted
  std::string pdc_sha256;         // SHA-256 of the pinned-domain-cert DER (conflict checks)
  std::optional<absl::Time> archived_at;
  std::string content_type_oid;  // eContentType of `cms`
  std::string os_type;
  std::string security_profile;
  std::optional<uint64_t> audit_seq;  // the audit entry of the latest issue/renew
  // When a reassignment of its serial to another organization superseded it (service/);
  // like archived_at, it takes the voucher out of the pin index.
  std::optional<absl::Time> superseded_at;
  // Only in the stored form, never in a record the store hands out: the CMS certificate set
  // is cut out of `cms` at this offset and kept once under its SHA-256 (see store.h).
  std::string cms_certificates_sha256;
  uint64_t cms_certificates_offset = 0;
  // Likewise the pinned-domain-cert text of the voucher inside `cms` (schema 7), cut out of
  // what remains once the certificate set is out.
  std::string cms_pdc_sha256;
  uint64_t cms_pdc_offset = 0;
  std::string unknown_fields;
};

// What the checks that scan every voucher of a serial need of each: a projection of the
// Voucher, made from its record. Not stored: from schema 3 to 8 it was the value of the
// voucher's (ien, serial) index entry; since schema 9 the entry holds only its key, which
// keeps the pages a request rewrites few (see indexes.cc).
struct VoucherSummary {
  std::string id;
  std::string organization_id;
  std::string status;
  absl::Time expires_at = absl::UnixEpoch();
  std::optional<absl::Time> archived_at;
  std::string pdc_sha256;
  std::optional<absl::Time> superseded_at;
};

// The pin index value. A (serial number, organization, pinned-domain certificate) entry
// exists while some voucher that is neither archived nor superseded has that pin; whether one of them is still live
// depends on the time of asking, so the index says only "pinned here at some point" and a
// caller that cares reads the serial's voucher summaries. An entry is written when its first
// voucher is, so re-requesting vouchers for the same pin writes nothing here.
struct SerialPin {
  std::string pdc_sha256;  // from the index key, not stored in the value
  std::string voucher_id;  // the voucher that made the entry (it may have expired since)
  std::string unknown_fields;
};

enum class KeyState : uint32_t { kPending = 0, kActive = 1, kRetired = 2 };

// Key: id ("key-" + 16 hex digits). An HSM key known by its pkcs11: URI (service/keys.h
// gives the fields their meaning).
struct KeyRecord {
  std::string id;
  std::string uri;
  std::string purpose;  // "voucher-signing", "audit", "ca"
  KeyState state = KeyState::kPending;
  std::string certificate_der;  // the leaf of chain_der; "" without a certificate
  absl::Time created_at = absl::UnixEpoch();
  std::optional<absl::Time> activated_at;
  std::optional<absl::Time> retired_at;
  std::string algorithm;               // "p256", "p384", "rsa3072", "ed25519"
  std::vector<std::string> chain_der;  // leaf first, up to and including the trust anchor
  std::string public_key_der;          // SubjectPublicKeyInfo
  std::string created_by;              // principal id, or "masactl"
  std::string label;                   // CKA_LABEL
  // Usage, counted in the transaction that stores what the key signed.
  std::optional<absl::Time> first_used_at;
  std::optional<absl::Time> last_used_at;
  uint64_t signatures = 0;
  std::string unknown_fields;
};

// Key: id ("apr-" + 16 hex digits). A two-person approval of a key activation or
// retirement still waiting for officers; deleted when it takes effect or expires.
struct KeyApprovalRecord {
  std::string id;
  std::string key_id;
  std::string action;                    // "activate", "retire"
  std::vector<std::string> approved_by;  // principal ids, the opener first
  uint64_t required = 0;
  absl::Time created_at = absl::UnixEpoch();
  absl::Time expires_at = absl::UnixEpoch();
  std::string unknown_fields;
};

}  // namespace masa::store
