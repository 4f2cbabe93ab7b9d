// Fuzzes ParsePdc, the intake of a pinned-domain certificate an organization uploads or
// pastes into a voucher request (PEM or DER), under both rule sets. The input is the
// certificate text or bytes. Beyond not crashing or leaking, it asserts:
//  - a refusal is kInvalidArgument whose message starts with "<what>: " and is printable
//    (valid UTF-8, no control characters: it goes into a REST problem and masactl output),
//    and leaves no OpenSSL error behind;
//  - kStored (parsing only) accepts whatever kInput accepts, with the same result;
//  - an accepted certificate's `der` is one DER certificate that parses back to the same
//    certificate (X509_cmp) and re-encodes (i2d) to the same bytes; `sha256` is its digest;
//    parsing `der` again gives the same ParsedPdc, under the same rules;
//  - its validity times can be written as RFC 3339 (they end up in voucher expiry checks,
//    error messages and listings).
#include <openssl/err.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/openssl.h"
#include "common/sha256.h"
#include "common/time.h"
#include "common/utf8.h"
#include "service/internal/pdc.h"

namespace {

using masa::service::internal::ParsedPdc;
using masa::service::internal::ParsePdc;
using masa::service::internal::PdcRules;

constexpr std::string_view kWhat = "certificate";

bool Same(const ParsedPdc& a, const ParsedPdc& b) {
  return a.der == b.der && a.subject == b.subject && a.organization == b.organization &&
         a.common_name == b.common_name && a.not_before == b.not_before &&
         a.not_after == b.not_after && a.sha256 == b.sha256;
}

void CheckRefusal(const absl::Status& status) {
  if (!absl::IsInvalidArgument(status)) abort();
  std::string message(status.message());
  if (message.compare(0, kWhat.size() + 2, std::string(kWhat) + ": ") != 0) abort();
  if (!masa::IsValidUtf8(message)) abort();
  for (unsigned char c : message) {
    if (c < 0x20 || c == 0x7f) abort();
  }
}

void CheckAccepted(const ParsedPdc& pdc, PdcRules rules) {
  const auto* p = reinterpret_cast<const unsigned char*>(pdc.der.data());
  masa::UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(pdc.der.size())));
  if (cert == nullptr ||
      p != reinterpret_cast<const unsigned char*>(pdc.der.data()) + pdc.der.size()) {
    abort();  // `der` is not one DER certificate
  }
  auto again = masa::CertificateToDer(cert.get());
  if (!again.ok() || *again != pdc.der) abort();
  if (masa::Sha256(pdc.der) != pdc.sha256) abort();
  auto reparsed = ParsePdc(pdc.der, kWhat, rules);
  if (!reparsed.ok() || !Same(*reparsed, pdc)) abort();
  auto first = masa::ParseCertificate(pdc.der);
  if (!first.ok() || X509_cmp(first->get(), cert.get()) != 0) abort();
  if (!masa::InRfc3339Range(pdc.not_before) || !masa::InRfc3339Range(pdc.not_after)) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ERR_clear_error();  // this target's own d2i_X509 below may queue one for the last input
  auto input_rules = ParsePdc(input, kWhat, PdcRules::kInput);
  if (ERR_peek_error() != 0) abort();
  auto stored_rules = ParsePdc(input, kWhat, PdcRules::kStored);
  if (ERR_peek_error() != 0) abort();
  if (!input_rules.ok()) CheckRefusal(input_rules.status());
  if (!stored_rules.ok()) CheckRefusal(stored_rules.status());
  if (input_rules.ok()) {
    if (!stored_rules.ok() || !Same(*input_rules, *stored_rules)) abort();
    CheckAccepted(*input_rules, PdcRules::kInput);
  }
  if (stored_rules.ok()) CheckAccepted(*stored_rules, PdcRules::kStored);
  return 0;
}
