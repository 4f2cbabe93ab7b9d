// The REST API's JSON for the key lifecycle (service/keys.h): the security officer's request
// bodies, and keys, approvals and published certificates with their chains as PEM text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "service/keys.h"

namespace masa::api::internal {

// The media type of a PEM certificate chain, leaf first (RFC 8555 section 9.1): GET
// /keys/{key_id}/chain.pem answers it, PUT /keys/{key_id}/certificate takes it.
inline constexpr std::string_view kPemChainMediaType = "application/pem-certificate-chain";

// --- decoding: every error is kInvalidArgument naming the field ---
// {"purpose" (default voucher-signing), "algorithm" (default p256), "label" (optional)};
// an unknown name is refused naming the valid ones.
absl::StatusOr<service::KeyGenerateInput> DecodeKeyGenerate(std::string_view body);
// {"subject"} (optional; "" lets the service choose), for POST /keys/{key_id}/csr.
absl::StatusOr<std::string> DecodeCsrSubject(std::string_view body);
// {"subject" (optional), "validity_days" (optional, 1..3650)}; an empty body takes both
// defaults.
absl::StatusOr<service::KeyIssueInput> DecodeKeyIssue(std::string_view key_id,
                                                      std::string_view body);

// --- encoding ---
// One PEM block of `der` under `label` ("CERTIFICATE", "PUBLIC KEY", ...), 64 columns.
std::string PemBlock(std::string_view label, std::string_view der);
// Every certificate of `chain_der` as PEM, concatenated in order (leaf first).
std::string ChainPem(const std::vector<std::string>& chain_der);

// What a verifier reads off a key's certificate.
struct CertificateFacts {
  std::string subject;  // RFC 2253 / 4514 form
  absl::Time not_before;
  absl::Time not_after;
  std::string fingerprint_sha256;  // hex SHA-256 of the DER
};
// The facts of one DER certificate; kInvalidArgument when it does not parse or its validity
// is outside the years RFC 3339 can write.
absl::StatusOr<CertificateFacts> ReadCertificateFacts(std::string_view der);

// The officer's view: every KeyInfo field; the chain as an array of PEM certificates and
// the public key as PEM; absent times are null.
nlohmann::json KeyJson(const service::KeyInfo& k);
// What anyone may fetch: key_id, purpose, state, the leaf's subject, not_before, not_after
// and fingerprint (null without a certificate), the chain (array of PEM, leaf first, up to
// and including the trust anchor) and the public key (PEM).
nlohmann::json PublishedKeyJson(const service::PublishedKey& k);
nlohmann::json KeyApprovalJson(const service::KeyApproval& a);
// {"ok", "applied", "key", "approval" (null once applied)}.
nlohmann::json KeyActionJson(const service::KeyActionResult& r);

}  // namespace masa::api::internal
