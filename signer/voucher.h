// The ownership voucher model (RFC 8366 as revised by draft-ietf-anima-rfc8366bis) and the
// structural rules a voucher must satisfy before it is signed or after it is decoded.
//
//   masa::signer::Voucher v;
//   v.created_on = clock.Now();
//   v.assertion = masa::signer::Assertion::kVerified;
//   v.serial_number = "SN-0001";
//   v.pinned_domain_cert = pdc_der;
//   MASA_RETURN_IF_ERROR(masa::signer::Validate(v));
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace masa::signer {

// The "assertion" leaf: how the MASA verified the owner. kProximity and kAgentProximity are
// the rfc8366bis additions ("proximity", "agent-proximity").
enum class Assertion { kVerified, kLogged, kProximity, kAgentProximity };

// The YANG enum name: "verified", "logged", "proximity", "agent-proximity".
std::string_view AssertionName(Assertion assertion);
// The inverse of AssertionName; nullopt for any other text (case-sensitive, as YANG is).
std::optional<Assertion> ParseAssertion(std::string_view name);

// One voucher. An absent leaf is nullopt. Binary leaves hold raw bytes (not base64):
// idevid_issuer (the AuthorityKeyIdentifier keyIdentifier octets of the device's IDevID),
// pinned_domain_cert (a DER X.509 certificate), nonce, pinned_domain_pubk (a DER
// SubjectPublicKeyInfo), pinned_domain_pubk_sha256 (SHA-256 of that SPKI, 32 bytes),
// platform_key_certificate (a DER X.509 certificate).
// Times are instants; the JSON codec writes them in UTC. A plain value type: copyable,
// comparable, no hidden state.
struct Voucher {
  std::optional<absl::Time> created_on;
  std::optional<absl::Time> expires_on;
  std::optional<Assertion> assertion;
  std::optional<std::string> serial_number;
  std::optional<std::string> idevid_issuer;
  std::optional<std::string> pinned_domain_cert;
  std::optional<bool> domain_cert_revocation_checks;
  std::optional<std::string> nonce;
  std::optional<std::string> pinned_domain_pubk;
  std::optional<std::string> pinned_domain_pubk_sha256;
  std::optional<absl::Time> last_renewal_date;
  std::optional<std::string> est_domain;                // URI (rfc8366bis, from BRSKI-cloud)
  std::optional<std::string> additional_configuration;  // URI (rfc8366bis)
  // The extended ownership voucher's leaf (our module masa-extended-voucher, published in
  // api/yang/): the owner's UEFI secure-boot platform key (PK) certificate, which the device
  // installs to hand its secure-boot databases to the owner. See kPlatformKeyCertificateMember.
  std::optional<std::string> platform_key_certificate;

  bool operator==(const Voucher& other) const = default;
};

// The YANG module that augments the voucher with platform-key-certificate, and the leaf's
// RFC 7951 member name inside "ietf-voucher:voucher" (namespace-qualified: another module).
inline constexpr char kExtendedVoucherModule[] = "masa-extended-voucher";
inline constexpr char kPlatformKeyCertificateMember[] =
    "masa-extended-voucher:platform-key-certificate";

// Bounds of the "nonce" leaf (rfc8366bis: type binary { length "8..32" }).
inline constexpr size_t kMinNonceBytes = 8;
inline constexpr size_t kMaxNonceBytes = 32;

// Checks the rules of RFC 8366 / rfc8366bis that a voucher must satisfy:
//  - created-on, assertion and a non-empty serial-number (no control characters) are present;
//  - at least one pinning leaf: pinned-domain-cert, pinned-domain-pubk or
//    pinned-domain-pubk-sha256; pinned-domain-cert parses as one DER certificate,
//    pinned-domain-pubk as one DER SubjectPublicKeyInfo, pinned-domain-pubk-sha256 is 32 bytes;
//  - expires-on is after created-on, and not after the pinned-domain-cert's notAfter
//    ("MUST NOT exceed the expiration date of ... pinned-domain-cert");
//  - nonce and expires-on are mutually exclusive (YANG: must 'not(../nonce)');
//  - nonce has 8..32 bytes;
//  - last-renewal-date only with expires-on (YANG: must '../expires-on') and not before
//    created-on;
//  - domain-cert-revocation-checks only with pinned-domain-cert (it instructs the device
//    about that certificate's revocation status; with only a pinned key it means nothing);
//  - idevid-issuer, when present, is not empty;
//  - est-domain and additional-configuration look like absolute URIs (scheme ":" rest,
//    no whitespace or control characters);
//  - platform-key-certificate, when present, parses as one DER certificate (who issued it is
//    the service's and the device's business, not a structural rule).
// Returns the first violation as kInvalidArgument whose message starts with the leaf name,
// e.g. "nonce: 4 bytes, expected 8..32". Thread-safe.
absl::Status Validate(const Voucher& voucher);

}  // namespace masa::signer
