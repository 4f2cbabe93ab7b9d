#include "signer/voucher.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "common/openssl.h"
#include "common/status.h"
#include "common/time.h"

namespace masa::signer {
namespace {

absl::Status LeafError(std::string_view leaf, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(Sv(leaf), ": ", Sv(what)));
}

bool HasControlCharacter(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// An absolute URI per RFC 3986 section 3: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" ...
bool LooksLikeAbsoluteUri(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(s[0])) return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = s[i];
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
  }
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

absl::Status CheckUri(std::string_view leaf, const std::optional<std::string>& value) {
  if (value.has_value() && !LooksLikeAbsoluteUri(*value)) {
    return LeafError(leaf, "not an absolute URI");
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view AssertionName(Assertion assertion) {
  switch (assertion) {
    case Assertion::kVerified:
      return "verified";
    case Assertion::kLogged:
      return "logged";
    case Assertion::kProximity:
      return "proximity";
    case Assertion::kAgentProximity:
      return "agent-proximity";
  }
  return "unknown";
}

std::optional<Assertion> ParseAssertion(std::string_view name) {
  for (Assertion a : {Assertion::kVerified, Assertion::kLogged, Assertion::kProximity,
                      Assertion::kAgentProximity}) {
    if (AssertionName(a) == name) return a;
  }
  return std::nullopt;
}

absl::Status Validate(const Voucher& v) {
  if (!v.created_on.has_value()) return LeafError("created-on", "missing");
  if (!v.assertion.has_value()) return LeafError("assertion", "missing");
  if (!v.serial_number.has_value()) return LeafError("serial-number", "missing");
  if (v.serial_number->empty()) return LeafError("serial-number", "empty");
  if (HasControlCharacter(*v.serial_number)) {
    return LeafError("serial-number", "contains a control character");
  }
  if (v.idevid_issuer.has_value() && v.idevid_issuer->empty()) {
    return LeafError("idevid-issuer", "empty");
  }
  if (!v.pinned_domain_cert.has_value() && !v.pinned_domain_pubk.has_value() &&
      !v.pinned_domain_pubk_sha256.has_value()) {
    return LeafError("pinned-domain-cert",
                     "missing (a voucher pins pinned-domain-cert, pinned-domain-pubk or "
                     "pinned-domain-pubk-sha256)");
  }
  UniquePtr<X509> pdc;
  if (v.pinned_domain_cert.has_value()) {
    const auto* p = reinterpret_cast<const unsigned char*>(v.pinned_domain_cert->data());
    const auto* end = p + v.pinned_domain_cert->size();
    pdc.reset(d2i_X509(nullptr, &p, static_cast<long>(v.pinned_domain_cert->size())));
    ERR_clear_error();
    if (pdc == nullptr || p != end) {
      return LeafError("pinned-domain-cert", "not one DER X.509 certificate");
    }
  }
  if (v.pinned_domain_pubk.has_value()) {
    const auto* p = reinterpret_cast<const unsigned char*>(v.pinned_domain_pubk->data());
    const auto* end = p + v.pinned_domain_pubk->size();
    UniquePtr<EVP_PKEY> key(d2i_PUBKEY(nullptr, &p, static_cast<long>(v.pinned_domain_pubk->size())));
    ERR_clear_error();
    if (key == nullptr || p != end) {
      return LeafError("pinned-domain-pubk", "not one DER SubjectPublicKeyInfo");
    }
  }
  if (v.pinned_domain_pubk_sha256.has_value() && v.pinned_domain_pubk_sha256->size() != 32) {
    return LeafError("pinned-domain-pubk-sha256",
                     absl::StrCat(v.pinned_domain_pubk_sha256->size(), " bytes, expected 32"));
  }
  if (v.domain_cert_revocation_checks.has_value() && !v.pinned_domain_cert.has_value()) {
    return LeafError("domain-cert-revocation-checks", "present without pinned-domain-cert");
  }
  if (v.nonce.has_value()) {
    if (v.expires_on.has_value()) {
      return LeafError("nonce", "a voucher has either nonce or expires-on, not both");
    }
    if (v.nonce->size() < kMinNonceBytes || v.nonce->size() > kMaxNonceBytes) {
      return LeafError("nonce", absl::StrCat(v.nonce->size(), " bytes, expected ",
                                             kMinNonceBytes, "..", kMaxNonceBytes));
    }
  }
  if (v.expires_on.has_value()) {
    if (*v.expires_on <= *v.created_on) {
      return LeafError("expires-on", absl::StrCat(FormatRfc3339(*v.expires_on),
                                                  " is not after created-on ",
                                                  FormatRfc3339(*v.created_on)));
    }
    if (pdc != nullptr) {
      const ASN1_TIME* not_after = X509_get0_notAfter(pdc.get());
      int day = 0, sec = 0;
      UniquePtr<ASN1_STRING> expires(
          ASN1_TIME_set(nullptr, static_cast<time_t>(absl::ToUnixSeconds(*v.expires_on))));
      if (expires == nullptr || !ASN1_TIME_diff(&day, &sec, not_after, expires.get())) {
        ERR_clear_error();
        return LeafError("expires-on", "cannot compare with the pinned-domain-cert's notAfter");
      }
      if (day > 0 || sec > 0) {
        return LeafError("expires-on", "later than the pinned-domain-cert's notAfter");
      }
    }
  }
  if (v.last_renewal_date.has_value()) {
    if (!v.expires_on.has_value()) {
      return LeafError("last-renewal-date", "present without expires-on");
    }
    if (*v.last_renewal_date < *v.created_on) {
      return LeafError("last-renewal-date", "before created-on");
    }
  }
  MASA_RETURN_IF_ERROR(CheckUri("est-domain", v.est_domain));
  MASA_RETURN_IF_ERROR(CheckUri("additional-configuration", v.additional_configuration));
  return absl::OkStatus();
}

}  // namespace masa::signer
