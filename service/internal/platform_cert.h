// The platform key certificate of an extended ownership voucher: the rule a request's
// certificate must pass before the voucher carries it.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace masa::service::internal {

// Checks the platform (UEFI PK) certificate `pem_or_der` of a request pinning the domain
// certificate `pdc_der`, at `now`, and returns it as DER. The rule:
//  - exactly one X.509 certificate, PEM or DER;
//  - valid at `now` (notBefore <= now < notAfter);
//  - issued by the pinned-domain-cert: its issuer name is the PDC's subject and its
//    signature verifies with the PDC's public key (signer::CheckIssuedBy). A PDC that is an
//    end-entity certificate (an RFC 8995 registrar) qualifies when its key signed the
//    platform certificate: the point is that whoever the voucher makes the owner endorsed
//    this platform key, not that the PDC is a CA.
// kInvalidArgument whose message starts with "platform_cert: " and says which rule failed.
absl::StatusOr<std::string> CheckPlatformCertificate(std::string_view pem_or_der,
                                                     std::string_view pdc_der, absl::Time now);

}  // namespace masa::service::internal
