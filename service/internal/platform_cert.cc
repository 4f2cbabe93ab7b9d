#include "service/internal/platform_cert.h"

#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "common/openssl.h"
#include "common/status.h"
#include "common/time.h"
#include "signer/certificate.h"

namespace masa::service::internal {
namespace {

absl::Status Refuse(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("platform_cert: ", Sv(what)));
}

absl::StatusOr<absl::Time> AsnTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return Refuse("unreadable validity period");
  return absl::FromUnixSeconds(timegm(&tm));
}

}  // namespace

absl::StatusOr<std::string> CheckPlatformCertificate(std::string_view pem_or_der,
                                                     std::string_view pdc_der, absl::Time now) {
  auto certs = ParseCertificates(pem_or_der);
  if (!certs.ok()) return Refuse("not a PEM or DER X.509 certificate");
  if (certs->size() != 1) {
    return Refuse(absl::StrCat("expected one certificate, got ", certs->size()));
  }
  X509* cert = (*certs)[0].get();
  MASA_ASSIGN_OR_RETURN(absl::Time not_before, AsnTime(X509_get0_notBefore(cert)));
  MASA_ASSIGN_OR_RETURN(absl::Time not_after, AsnTime(X509_get0_notAfter(cert)));
  if (now < not_before || now >= not_after) {
    return Refuse(absl::StrCat("not valid now (valid ", FormatRfc3339(not_before), " .. ",
                               FormatRfc3339(not_after), ")"));
  }
  auto pdc = ParseCertificates(pdc_der);
  if (!pdc.ok() || pdc->size() != 1) return Refuse("the pinned-domain certificate is unreadable");
  if (absl::Status s = signer::CheckIssuedBy(cert, (*pdc)[0].get()); !s.ok()) {
    return Refuse(absl::StrCat("not issued by the pinned-domain certificate: ", s.message()));
  }
  return CertificateToDer(cert);
}

}  // namespace masa::service::internal
