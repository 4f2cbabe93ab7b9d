#include "service/internal/pdc.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/openssl.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/time.h"
#include "common/utf8.h"
#include "store/audit.h"

namespace masa::service::internal {
namespace {

absl::Status Invalid(std::string_view what, std::string_view problem) {
  return absl::InvalidArgumentError(std::string(what) + ": " + std::string(problem));
}

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

// A validity time; one RFC 3339 cannot write (GeneralizedTime allows the year 0000) is
// refused here, where it enters, since it ends up in messages and listings.
absl::StatusOr<absl::Time> AsnTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not an ASN.1 time");
  }
  absl::Time time = absl::FromUnixSeconds(timegm(&tm));
  if (!InRfc3339Range(time)) return absl::InvalidArgumentError("outside the years 0001 to 9999");
  return time;
}

// PEM_read_bio_X509 skips text and foreign PEM blocks around certificates, so the framing
// is checked here: one certificate block, nothing after it.
absl::Status CheckPemFraming(std::string_view text, std::string_view what) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  constexpr std::string_view kEnd = "-----END ";
  int certificates = 0;
  for (size_t b = text.find(kBegin); b != std::string_view::npos;
       b = text.find(kBegin, b + kBegin.size())) {
    size_t from = b + kBegin.size();
    size_t to = text.find("-----", from);
    std::string_view label = text.substr(from, to == std::string_view::npos ? 0 : to - from);
    if (label == "CERTIFICATE" || label == "X509 CERTIFICATE") {
      ++certificates;
    } else {
      // The label is the sender's bytes: escaped, so the message stays one printable line.
      return Invalid(what, absl::StrCat("holds a \"", ShowUntrusted(label, 40),
                                        "\" PEM block; send the certificate alone"));
    }
  }
  if (certificates > 1) {
    return Invalid(what, absl::StrCat("holds ", certificates,
                                      " certificates; send the one domain certificate alone, "
                                      "without its chain"));
  }
  size_t end = text.rfind(kEnd);
  if (end == std::string_view::npos) return absl::OkStatus();  // the parser reports it
  size_t close = text.find("-----", end + kEnd.size());
  if (close == std::string_view::npos) return absl::OkStatus();
  std::string_view tail = text.substr(close + 5);
  if (tail.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    return Invalid(what, "data after the END CERTIFICATE line; send the PEM certificate alone");
  }
  return absl::OkStatus();
}

absl::Status CheckKey(X509* cert, std::string_view what) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) {
    ERR_clear_error();
    return Invalid(what, "its public key cannot be read");
  }
  constexpr const char* kAccepted =
      "RSA of 2048 bits or more, EC P-256, P-384 or P-521, Ed25519 or Ed448";
  if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448")) return absl::OkStatus();
  if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) {
    int bits = EVP_PKEY_get_bits(key);
    if (bits < 2048) {
      return Invalid(
          what, absl::StrCat("its RSA key has ", bits, " bits; at least 2048 bits are required"));
    }
    return absl::OkStatus();
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[80] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) != 1) {
      ERR_clear_error();
      return Invalid(what, absl::StrCat("its EC key has explicit curve parameters; use a "
                                        "named curve (",
                                        kAccepted, ")"));
    }
    std::string curve(group, len);
    if (curve == "prime256v1" || curve == "secp384r1" || curve == "secp521r1") {
      return absl::OkStatus();
    }
    int bits = EVP_PKEY_get_bits(key);
    if (bits < 256) {
      return Invalid(what, absl::StrCat("its EC key is on ", curve, " (", bits,
                                        " bits); at least P-256 is required (", kAccepted, ")"));
    }
    return Invalid(what, absl::StrCat("its EC key is on ", curve,
                                      ", which devices may not implement; accepted: ", kAccepted));
  }
  const char* type = EVP_PKEY_get0_type_name(key);
  return Invalid(what, absl::StrCat("a ", type != nullptr ? type : "unknown",
                                    " key is not accepted; accepted: ", kAccepted));
}

// The first C0/C1 control character (or DEL) of UTF-8 `text`, as its code point; -1: none.
int FirstControl(std::string_view text, size_t* at) {
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      *at = i;
      return c;
    }
    if (c == 0xC2 && i + 1 < text.size()) {
      unsigned char next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9F) {
        *at = i;
        return next;  // U+0080..U+009F
      }
    }
  }
  return -1;
}

absl::Status CheckSubject(X509* cert, std::string_view what) {
  X509_NAME* name = X509_get_subject_name(cert);
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    const char* short_name = nid != NID_undef ? OBJ_nid2sn(nid) : nullptr;
    std::string attr = short_name != nullptr ? short_name : absl::StrCat("#", i + 1);
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    if (len < 0) {
      ERR_clear_error();
      return Invalid(what, absl::StrCat("subject attribute ", attr, " is not readable text"));
    }
    std::string value(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
    OPENSSL_free(utf8);
    size_t at = 0;
    int control = FirstControl(value, &at);
    if (control >= 0) {
      return Invalid(what, absl::StrFormat("subject attribute %s holds the control character "
                                           "U+%04X (at byte %d); such names are refused",
                                           attr, control, at));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ParsedPdc> ParsePdc(std::string_view pem_or_der, std::string_view what,
                                   PdcRules rules) {
  if (pem_or_der.empty()) {
    return absl::InvalidArgumentError(std::string(what) + ": empty certificate");
  }
  bool pem = pem_or_der.find("-----BEGIN") != std::string_view::npos;
  if (pem && rules == PdcRules::kInput) {
    MASA_RETURN_IF_ERROR(CheckPemFraming(pem_or_der, what));
  }
  auto all = ParseCertificates(pem_or_der);
  if (!all.ok()) {
    return absl::InvalidArgumentError(std::string(what) + ": not a PEM or DER X.509 certificate");
  }
  if (all->size() != 1) {
    return absl::InvalidArgumentError(std::string(what) + ": expected one certificate, got " +
                                      std::to_string(all->size()));
  }
  X509* cert = (*all)[0].get();
  if (rules == PdcRules::kInput) {
    if (X509_get_extension_flags(cert) & EXFLAG_INVALID) {
      ERR_clear_error();
      return Invalid(what, "its extensions cannot be read (malformed X.509 v3 extensions)");
    }
    MASA_RETURN_IF_ERROR(CheckKey(cert, what));
    MASA_RETURN_IF_ERROR(CheckSubject(cert, what));
  }
  ParsedPdc out;
  MASA_ASSIGN_OR_RETURN(out.der, CertificateToDer(cert));
  out.subject = SubjectName(cert);
  out.organization = NameEntry(X509_get_subject_name(cert), NID_organizationName);
  out.common_name = NameEntry(X509_get_subject_name(cert), NID_commonName);
  auto nb = AsnTime(X509_get0_notBefore(cert));
  auto na = AsnTime(X509_get0_notAfter(cert));
  if (!nb.ok() || !na.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(what), ": unreadable validity period (",
                                                   (nb.ok() ? na : nb).status().message(), ")"));
  }
  out.not_before = *nb;
  out.not_after = *na;
  out.sha256 = Sha256(out.der);
  return out;
}

}  // namespace masa::service::internal
