// The field tables of every stored record: tag numbers are part of the on-disk format.
// Never renumber or reuse a tag; add new fields with new tags.
#pragma once

#include "absl/status/status.h"
#include "store/audit.h"
#include "store/internal/codec.h"
#include "store/records.h"

namespace masa::store::internal {

template <typename V>
void Fields(V& v, Organization& r) {
  v(1, r.id);
  v(2, r.name);
  v(3, r.created_at);
}

template <typename V>
void Fields(V& v, Group& r) {
  v(1, r.id);
  v(2, r.organization_id);
  v(3, r.parent_id);
  v(4, r.name);
  v(5, r.created_at);
  v(6, r.delegated_orgs);
}

template <typename V>
void Fields(V& v, Principal& r) {
  v(1, r.id);
  v(2, r.organization_id);
  v(3, r.kind);
  v(4, r.name);
  v(5, r.email);
  v(6, r.disabled);
  v(7, r.created_at);
  v(8, r.licence_accepted_version);
  v(9, r.licence_accepted_at);
}

template <typename V>
void Fields(V& v, RoleBinding& r) {
  v(1, r.id);
  v(2, r.principal_id);
  v(3, r.group_id);
  v(4, r.role);
  v(5, r.grants);
  v(6, r.created_at);
}

template <typename V>
void Fields(V& v, ApiToken& r) {
  v(1, r.token_hash);
  v(2, r.principal_id);
  v(3, r.description);
  v(4, r.created_at);
  v(5, r.expires_at);
  v(6, r.revoked);
  v(7, r.id);
  v(8, r.created_by);
  v(9, r.minted_by);
  v(10, r.kind);
  v(11, r.idle_timeout_seconds);
  v(12, r.last_seen_at);
  v(13, r.method);
  v(14, r.oidc_issuer);
  v(15, r.oidc_subject);
}

template <typename V>
void Fields(V& v, PinnedDomainCert& r) {
  v(1, r.id);
  v(2, r.organization_id);
  v(3, r.group_id);
  v(4, r.name);
  v(5, r.certificate_der);
  v(6, r.created_at);
  v(7, r.revocation_checks);
  v(8, r.expiry_time);
}

template <typename V>
void Fields(V& v, Component& r) {
  v(1, r.ien);
  v(2, r.serial_number);
  v(3, r.organization_id);
  v(4, r.group_id);
  v(5, r.model);
  v(6, r.tpm_data);
  v(7, r.mac_addr);
  v(8, r.tpm_endorsement_key);
  v(9, r.tpm_ek_certificate);
  v(10, r.tpm_platform_primary_key);
}

template <typename V>
void Fields(V& v, VoucherRequest& r) {
  v(1, r.id);
  v(2, r.organization_id);
  v(3, r.requested_by);
  v(4, r.requested_at);
  v(5, r.ien);
  v(6, r.serial_numbers);
  v(7, r.pdc_id);
  v(8, r.status);
  v(9, r.os_type);
  v(10, r.security_profile);
  v(11, r.expires_at);
  v(12, r.override_conflicts);
  v(13, r.platform_certificate_der);
  v(14, r.pdc_organization);
  v(15, r.failed_serials);
  v(16, DecimalEnums<absl::StatusCode>{r.failure_codes});  // before: decimal text; read only
  v(17, r.failure_reasons);
  v(18, r.failure_codes);
}

template <typename V>
void Fields(V& v, Voucher& r) {
  v(1, r.id);
  v(2, r.request_id);
  v(3, r.organization_id);
  v(4, r.ien);
  v(5, r.serial_number);
  v(6, r.status);
  v(7, r.assertion);
  v(8, r.signing_key_id);
  v(9, r.requested_at);
  v(10, r.created_at);
  v(11, r.expires_at);
  v(12, r.last_renewal_at);
  v(13, r.cms);
  v(14, r.requested_by);
  v(15, r.requested_by_name);
  v(16, r.pdc_organization);
  v(17, r.pdc_id);
  v(18, r.pdc_sha256);
  v(19, r.archived_at);
  v(20, r.content_type_oid);
  v(21, r.os_type);
  v(22, r.security_profile);
  v(23, r.audit_seq);
  v(24, r.cms_certificates_sha256);
  v(25, r.cms_certificates_offset);
  v(26, r.superseded_at);
  v(27, r.cms_pdc_sha256);
  v(28, r.cms_pdc_offset);
}

template <typename V>
void Fields(V& v, SerialPin& r) {
  v(1, r.voucher_id);
}

template <typename V>
void Fields(V& v, KeyRecord& r) {
  v(1, r.id);
  v(2, r.uri);
  v(3, r.purpose);
  v(4, r.state);
  v(5, r.certificate_der);
  v(6, r.created_at);
  v(7, r.activated_at);
  v(8, r.retired_at);
  v(9, r.algorithm);
  v(10, r.chain_der);
  v(11, r.public_key_der);
  v(12, r.created_by);
  v(13, r.label);
  v(14, r.first_used_at);
  v(15, r.last_used_at);
  v(16, r.signatures);
}

template <typename V>
void Fields(V& v, KeyApprovalRecord& r) {
  v(1, r.id);
  v(2, r.key_id);
  v(3, r.action);
  v(4, r.approved_by);
  v(5, r.required);
  v(6, r.created_at);
  v(7, r.expires_at);
}

template <typename V>
void Fields(V& v, AuditEntry& r) {
  v(1, r.seq);
  v(2, r.time);
  v(3, r.actor);
  v(4, r.action);
  v(5, r.target);
  v(6, r.outcome);
  v(7, r.object_hash);
  v(8, r.prev_hash);
  v(9, r.node);
}

}  // namespace masa::store::internal
