#include "signer/voucher.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <optional>

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

// A certificate's notAfter as Unix seconds (ASN1_TIME_diff from the epoch: exact, whole
// seconds); nullopt when OpenSSL cannot compare it.
std::optional<int64_t> UnixSeconds(const ASN1_TIME* t) {
  UniquePtr<ASN1_STRING> epoch(ASN1_TIME_set(nullptr, 0));
  int day = 0, sec = 0;
  if (epoch == nullptr || !ASN1_TIME_diff(&day, &sec, epoch.get(), t)) {
    ERR_clear_error();
    return std::nullopt;
  }
  return int64_t{day} * 86400 + sec;
}

// The notAfter of a pinned-domain-cert: OpenSSL's, and (when OpenSSL can say) as Unix seconds.
struct PdcNotAfterTimes {
  const ASN1_TIME* asn1 = nullptr;
  std::optional<int64_t> unix_seconds;
};

// The notAfter of the pinned-domain-certs this thread validated most recently, keyed by the
// exact DER bytes. d2i_X509 decodes the public key through OpenSSL 3's decoder machinery on
// every call, which made re-parsing the same PDC the most expensive step of signing a
// voucher; a service signs runs of vouchers for the same owner. Only certificates that
// parsed are remembered, so a bad PDC is rejected on every call exactly as before. Per thread,
// so readers take no lock; bounded, so memory stays flat whatever the mix of owners. The
// notAfter is kept in Unix seconds too, so comparing it with expires-on builds no ASN1_TIME.
class PdcNotAfterCache {
 public:
  // The cached notAfter of `der`, or null when `der` is not cached.
  const PdcNotAfterTimes* Find(std::string_view der) const {
    for (const Entry& e : entries_) {
      if (e.not_after != nullptr && e.der == der) return &e.times;
    }
    return nullptr;
  }

  // Remembers `not_after` (copied) for `der`, evicting the oldest entry; returns the copy, or
  // null when copying failed (the caller then uses its own).
  const PdcNotAfterTimes* Insert(std::string_view der, const ASN1_TIME* not_after) {
    Entry& e = entries_[next_];
    next_ = (next_ + 1) % entries_.size();
    e.not_after.reset(ASN1_STRING_dup(not_after));
    if (e.not_after == nullptr) {
      ERR_clear_error();
      return nullptr;
    }
    e.der.assign(der.data(), der.size());
    e.times = {e.not_after.get(), UnixSeconds(e.not_after.get())};
    return &e.times;
  }

 private:
  struct Entry {
    std::string der;
    UniquePtr<ASN1_STRING> not_after;
    PdcNotAfterTimes times;
  };
  std::array<Entry, 8> entries_;
  size_t next_ = 0;
};

// The notAfter of the DER certificate `der` (borrowed from this thread's cache or from
// `*parsed`, which then owns the certificate), or nullopt when `der` is not exactly one DER
// X.509 certificate.
std::optional<PdcNotAfterTimes> PdcNotAfter(std::string_view der, UniquePtr<X509>* parsed) {
  thread_local PdcNotAfterCache cache;
  if (const PdcNotAfterTimes* hit = cache.Find(der)) return *hit;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = p + der.size();
  parsed->reset(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  if (*parsed == nullptr || p != end) return std::nullopt;
  const ASN1_TIME* not_after = X509_get0_notAfter(parsed->get());
  if (const PdcNotAfterTimes* cached = cache.Insert(der, not_after)) return *cached;
  return PdcNotAfterTimes{not_after, UnixSeconds(not_after)};
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
  // Points into this thread's cache or into `pdc`; valid until the next Validate() here.
  std::optional<PdcNotAfterTimes> pdc_not_after;
  UniquePtr<X509> pdc;
  if (v.pinned_domain_cert.has_value()) {
    pdc_not_after = PdcNotAfter(*v.pinned_domain_cert, &pdc);
    if (!pdc_not_after) {
      return LeafError("pinned-domain-cert", "not one DER X.509 certificate");
    }
  }
  if (v.pinned_domain_pubk.has_value()) {
    const auto* p = reinterpret_cast<const unsigned char*>(v.pinned_domain_pubk->data());
    const auto* end = p + v.pinned_domain_pubk->size();
    UniquePtr<EVP_PKEY> key(
        d2i_PUBKEY(nullptr, &p, static_cast<long>(v.pinned_domain_pubk->size())));
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
      return LeafError("nonce", absl::StrCat(v.nonce->size(), " bytes, expected ", kMinNonceBytes,
                                             "..", kMaxNonceBytes));
    }
  }
  if (v.expires_on.has_value()) {
    if (*v.expires_on <= *v.created_on) {
      return LeafError("expires-on",
                       absl::StrCat(FormatRfc3339(*v.expires_on), " is not after created-on ",
                                    FormatRfc3339(*v.created_on)));
    }
    if (pdc_not_after && pdc_not_after->unix_seconds && InRfc3339Range(*v.expires_on)) {
      // The same comparison as below, in whole seconds (ASN1_TIME_set drops the fraction).
      if (absl::ToUnixSeconds(*v.expires_on) > *pdc_not_after->unix_seconds) {
        return LeafError("expires-on", "later than the pinned-domain-cert's notAfter");
      }
    } else if (pdc_not_after) {
      const ASN1_TIME* not_after = pdc_not_after->asn1;
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
  if (v.platform_key_certificate.has_value()) {
    const auto* p = reinterpret_cast<const unsigned char*>(v.platform_key_certificate->data());
    const auto* end = p + v.platform_key_certificate->size();
    UniquePtr<X509> pk(
        d2i_X509(nullptr, &p, static_cast<long>(v.platform_key_certificate->size())));
    ERR_clear_error();
    if (pk == nullptr || p != end) {
      return LeafError(kPlatformKeyCertificateMember, "not one DER X.509 certificate");
    }
  }
  MASA_RETURN_IF_ERROR(CheckUri("est-domain", v.est_domain));
  MASA_RETURN_IF_ERROR(CheckUri("additional-configuration", v.additional_configuration));
  return absl::OkStatus();
}

}  // namespace masa::signer
