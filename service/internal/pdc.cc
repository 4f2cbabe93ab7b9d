#include "service/internal/pdc.h"

#include <string>

#include "common/openssl.h"
#include "common/status.h"
#include "store/audit.h"

namespace masa::service::internal {
namespace {

std::string NameEntry(X509_NAME* name, int nid) {
  int idx = X509_NAME_get_index_by_NID(name, nid, -1);
  if (idx < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

absl::StatusOr<absl::Time> AsnTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return absl::InvalidArgumentError("bad validity time");
  return absl::FromUnixSeconds(timegm(&tm));
}

}  // namespace

absl::StatusOr<ParsedPdc> ParsePdc(std::string_view pem_or_der, std::string_view what) {
  if (pem_or_der.empty()) {
    return absl::InvalidArgumentError(std::string(what) + ": empty certificate");
  }
  auto all = ParseCertificates(pem_or_der);
  if (!all.ok()) {
    return absl::InvalidArgumentError(std::string(what) +
                                      ": not a PEM or DER X.509 certificate");
  }
  if (all->size() != 1) {
    return absl::InvalidArgumentError(std::string(what) + ": expected one certificate, got " +
                                      std::to_string(all->size()));
  }
  X509* cert = (*all)[0].get();
  ParsedPdc out;
  MASA_ASSIGN_OR_RETURN(out.der, CertificateToDer(cert));
  out.subject = SubjectName(cert);
  out.organization = NameEntry(X509_get_subject_name(cert), NID_organizationName);
  out.common_name = NameEntry(X509_get_subject_name(cert), NID_commonName);
  auto nb = AsnTime(X509_get0_notBefore(cert));
  auto na = AsnTime(X509_get0_notAfter(cert));
  if (!nb.ok() || !na.ok()) {
    return absl::InvalidArgumentError(std::string(what) + ": unreadable validity period");
  }
  out.not_before = *nb;
  out.not_after = *na;
  out.sha256 = store::Sha256(out.der);
  return out;
}

}  // namespace masa::service::internal
