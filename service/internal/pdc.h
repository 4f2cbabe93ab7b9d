// Parsing of pinned-domain certificates as the service needs them, and the rules a new one
// must meet before a voucher pins it.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace masa::service::internal {

struct ParsedPdc {
  std::string der;
  std::string subject;       // RFC 2253
  std::string organization;  // subject O, "" when absent
  std::string common_name;   // subject CN, "" when absent
  absl::Time not_before;
  absl::Time not_after;
  std::string sha256;  // raw digest of der
};

// Which rules ParsePdc applies.
enum class PdcRules {
  // A certificate about to be pinned (uploaded, pasted, or an uploaded one used for a new
  // voucher): everything in ParsePdc's contract.
  kInput,
  // One already stored, only to be shown: parsing only, so a certificate stored before a
  // rule existed can still be listed and deleted.
  kStored,
};

// One X.509 certificate as PEM or DER. kInvalidArgument naming `what` and the problem when:
//  - it is neither PEM nor DER, its validity cannot be read or lies outside the years
//    0001..9999 (InRfc3339Range), or DER has trailing bytes;
//  - (kInput) its X.509 v3 extensions do not decode (OpenSSL's EXFLAG_INVALID: no device
//    could build a chain through it);
//  - (kInput) the PEM holds more than one certificate (the chain is not pinned, only the
//    domain certificate), a PEM block other than a certificate (e.g. its private key), or
//    anything but whitespace after the END CERTIFICATE line. Explanatory text before the
//    BEGIN line (RFC 7468 section 5.2, as `openssl x509 -text` writes it) is allowed;
//  - (kInput) its key is weak or one devices may not verify: RSA under 2048 bits; EC on a
//    curve other than P-256, P-384 or P-521 (P-192/P-224 are too small; secp256k1 and the
//    brainpool curves are refused too, because the devices that check the owner's chain
//    against the pin implement the NIST curves of RFC 8446 / RFC 8995, and an allowlist
//    fails closed); explicit EC parameters; any type but RSA, EC, Ed25519, Ed448;
//  - (kInput) a subject attribute holds a C0 or C1 control character (NUL, ESC, CR, LF, ...)
//    or is not readable text. Refused rather than stored escaped: the subject's O and CN
//    are shown raw in several places (pdc_organization, names, masactl output), and a
//    certificate authority never issues such names on purpose.
// A non-CA (end-entity) certificate is allowed: RFC 8995 pins the registrar's own one.
// Messages are one printable line (bytes from the input, such as a PEM label, are escaped)
// and no OpenSSL error is left on the thread's queue.
absl::StatusOr<ParsedPdc> ParsePdc(std::string_view pem_or_der, std::string_view what,
                                   PdcRules rules = PdcRules::kInput);

}  // namespace masa::service::internal
