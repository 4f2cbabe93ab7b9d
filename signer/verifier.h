// The device side of ownership vouchers: what an SZTP (RFC 8572 section 5.4), BRSKI or bootz
// device checks before it trusts an owner. Each failure names the step that failed.
//
//   masa::signer::DeviceProfile device{.vendor_trust_anchors = {vendor_ca},
//                                      .serial_number = "SN-0001", .clock = &clock};
//   auto result = masa::signer::VerifyOnboarding(device, {.ownership_voucher = ov,
//       .owner_certificate = oc, .conveyed_information = ci});
//   if (!result.status.ok()) printf("failed at %s\n", VerifyStepName(result.failed_step));
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/openssl.h"
#include "common/time.h"
#include "signer/cms.h"
#include "signer/voucher.h"

namespace masa::signer {

// The checks, in the order they run (RFC 8572 section 5.4, with the voucher leaves of
// RFC 8366 checked between the voucher signature and the owner certificate).
enum class VerifyStep {
  kNone,                    // nothing failed
  kSignature,               // the voucher CMS verifies and chains to a vendor trust anchor
  kParse,                   // the voucher content is a well-formed voucher (JSON + Validate)
  kValidity,                // created-on / expires-on against the clock
  kAssertion,               // the assertion is acceptable to the device
  kSerialNumber,            // serial-number is the device's
  kIdevidIssuer,            // idevid-issuer matches the device's IDevID AKI (when both known)
  kNonce,                   // nonce matches the one the device sent (when either has one)
  kPinnedDomainCert,        // a usable pinned-domain-cert is present
  kPlatformKeyCertificate,  // the extended voucher's platform key certificate, when present,
                            // was issued by the pinned-domain-cert
  kOwnerCertificate,        // the owner certificate chains to the pinned-domain-cert
  kConveyedInformation,     // the onboarding information is signed by the owner certificate
};

// "signature", "parse", "validity", "assertion", "serial-number", "idevid-issuer", "nonce",
// "pinned-domain-cert", "platform-key-certificate", "owner-certificate",
// "conveyed-information"; "none" for kNone.
std::string_view VerifyStepName(VerifyStep step);

// What the device knows about itself. Pointers are borrowed and must outlive the call.
struct DeviceProfile {
  std::vector<X509*> vendor_trust_anchors;  // the manufacturer's trust anchors
  // Whether a trust anchor may be any certificate of the chain rather than a self-signed
  // root: devices are often provisioned with the MASA's own signing certificate instead of
  // the vendor CA above it (RFC 8366 leaves the anchor to the vendor). True accepts that, as
  // `openssl cms -verify -partial_chain` does (X509_V_FLAG_PARTIAL_CHAIN); a self-signed CA
  // anchor verifies the same either way.
  bool partial_chain = true;
  std::string serial_number;  // compared byte for byte
  // The keyIdentifier of the device's IDevID authorityKeyIdentifier (raw bytes). When set and
  // the voucher has idevid-issuer, they must be equal. When unset, idevid-issuer is not checked.
  std::optional<std::string> idevid_issuer;
  // The nonce the device sent in its request; when unset, a voucher with a nonce is refused
  // (it answers a request this device did not make).
  std::optional<std::string> expected_nonce;
  std::set<Assertion> acceptable_assertions = {Assertion::kVerified, Assertion::kLogged,
                                               Assertion::kProximity, Assertion::kAgentProximity};
  const Clock* clock = &SystemClock();
  // Tolerated clock difference for created-on in the future.
  absl::Duration clock_skew = absl::Minutes(5);
  // CRLs for the owner certificate chain when the voucher asks for revocation checks.
  STACK_OF(X509_CRL) * crls = nullptr;
  OSSL_LIB_CTX* libctx = nullptr;
  const char* propq = nullptr;
};

// The artefacts a bootstrap server sends (RFC 8572 section 3.2), all DER. An empty
// owner_certificate skips the owner-certificate and conveyed-information steps; an empty
// conveyed_information skips the last step.
struct OnboardingArtifacts {
  std::string_view ownership_voucher;     // CMS SignedData over the voucher JSON
  std::string_view owner_certificate;     // CMS SignedData without signers (certificate bag)
  std::string_view conveyed_information;  // CMS SignedData, eContentType .42 or .43
};

// The outcome. On failure, `status` is not OK, its message starts with
// "<VerifyStepName(failed_step)>: ", and the fields of steps that passed are filled.
struct VerificationResult {
  absl::Status status;
  VerifyStep failed_step = VerifyStep::kNone;
  Voucher voucher;
  UniquePtr<X509> voucher_signer;  // the vendor/MASA certificate that signed the voucher
  UniquePtr<X509> pinned_domain_cert;
  UniquePtr<X509> platform_key_certificate;  // null when the voucher carries none
  UniquePtr<X509> owner_certificate;
  std::string conveyed_information;
  CmsContentType conveyed_information_type = CmsContentType::kOther;

  bool ok() const { return status.ok(); }
};

// The largest artefact VerifyOnboarding reads (each of the three): conveyed information may
// carry a device configuration and scripts, vouchers and certificate bags are a few KB.
inline constexpr size_t kMaxArtifactBytes = 1 << 20;

// Runs every step on `artifacts` in the order of VerifyStep and stops at the first failure.
// Notes on what is checked:
//  - signature: VerifySignedData at device.clock->Now() against vendor_trust_anchors; either
//    eContentType (id-ct-animaJSONVoucher or id-data) is accepted, any other is refused.
//  - parse: DecodeVoucherJson then Validate.
//  - validity: created-on not later than now + clock_skew; now before expires-on if present.
//  - platform-key-certificate (masa-extended-voucher): when the voucher has one, the
//    pinned-domain-cert issued it (signer::CheckIssuedBy: issuer name and signature). Its
//    validity period is not checked: UEFI firmware does not check the PK's either.
//  - owner-certificate: the owner (leaf) certificate is the one bag certificate that issued no
//    other; it must chain, at now, to the pinned-domain-cert as the only trust anchor
//    (partial chain: the PDC need not be self-signed, and may be the owner certificate
//    itself), the other bag certificates serving as intermediates. With
//    domain-cert-revocation-checks true, CRLs are required for the whole chain (device.crls);
//    with false, revocation is not checked; when absent, CRLs are used if given.
//  - conveyed-information: eContentType must be .42 or .43; the single signer must be the
//    owner certificate (certificates embedded in that CMS are ignored for the lookup).
// Bounds, so that time and memory stay linear in the size of the input (a device runs this
// on whatever a bootstrap server sends it):
//  - each artefact is at most kMaxArtifactBytes, else the step that reads it (parse,
//    owner-certificate, conveyed-information) fails before any decoding;
//  - the voucher CMS embeds at most kMaxCmsCertificates certificates (else "signature"), and
//    the owner certificate bag holds at most kMaxCmsCertificates (else "owner-certificate"):
//    finding the owner certificate in the bag compares every pair, so at most 256 issuer
//    checks;
//  - both chains (signer to vendor anchor, owner certificate to the pinned-domain-cert) have
//    at most kMaxChainDepth intermediates (X509_VERIFY_PARAM_set_depth);
//  - exactly one SignerInfo is verified per CMS (more are refused before any signature
//    work), so at most three signature verifications and two chain builds per call;
//  - the voucher JSON nests at most two objects deep: DecodeVoucherJson stops at the first
//    object or array inside a leaf (nlohmann's SAX parser is iterative, not recursive), and
//    its members are looked up in a set, O(n log n) in their number.
// Thread-safe when the clock is.
VerificationResult VerifyOnboarding(const DeviceProfile& device,
                                    const OnboardingArtifacts& artifacts);

// Convenience: the voucher steps only (signature .. platform-key-certificate).
VerificationResult VerifyOwnershipVoucher(const DeviceProfile& device,
                                          std::string_view ownership_voucher);

// Signs onboarding information as an owner does (RFC 8572 section 3.2): CMS SignedData,
// eContentType `content_type` (kSztpConveyedInfoXml or kSztpConveyedInfoJson, else
// kInvalidArgument), signed by `owner_key` with `owner_cert` and `chain` embedded, in
// `libctx`/`propq`. For tests and tools; a server signing many should keep a CmsSigner.
absl::StatusOr<std::string> SignConveyedInformation(
    std::string_view content, CmsContentType content_type, EVP_PKEY* owner_key, X509* owner_cert,
    const std::vector<X509*>& chain, OSSL_LIB_CTX* libctx = nullptr, const char* propq = nullptr);

}  // namespace masa::signer
