// Fuzzes the DER reader of common/der.h: ReadTlv and ReadWhole (the HSM's CKA_EC_POINT, any
// TLV walk) and FindCmsCertificateSet (which the store uses to cut the certificate set out
// of every voucher CMS it keeps). The input is DER, or anything. Beyond not reading outside
// the input (ASan), it asserts each contract:
//  - a TLV read lies inside the input (offset + size <= input size), its header is 2 to 6
//    octets and its value is the input's bytes right after the header; a refusal is
//    kInvalidArgument with "offset N" in the message;
//  - refused exactly as documented: high-tag-number form, an indefinite length, more than
//    four length octets, a header or contents cut short;
//  - walking the input TLV by TLV advances every time (so walks end);
//  - FindCmsCertificateSet's span is one whole [0] TLV inside the SignedData, inside the
//    ContentInfo; kNotFound or kInvalidArgument otherwise; and where OpenSSL reads the input
//    as the same DER (it re-encodes to identical bytes), a span is found exactly when
//    OpenSSL finds certificates, and kInvalidArgument never happens.
#include <openssl/cms.h>
#include <openssl/err.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/der.h"
#include "common/openssl.h"

namespace {

using masa::der::Tlv;

// What the contract says ReadTlv must refuse at `offset`.
bool MustRefuse(std::string_view der, size_t offset) {
  if (offset > der.size() || der.size() - offset < 2) return true;
  auto tag = static_cast<uint8_t>(der[offset]);
  auto first = static_cast<uint8_t>(der[offset + 1]);
  if ((tag & 0x1f) == 0x1f) return true;
  size_t header = 2, length = first;
  if (first & 0x80) {
    size_t n = first & 0x7f;
    if (n == 0 || n > 4 || der.size() - offset - 2 < n) return true;
    length = 0;
    for (size_t i = 0; i < n; ++i)
      length = length * 256 + static_cast<uint8_t>(der[offset + 2 + i]);
    header += n;
  }
  return length > der.size() - offset - header;
}

void CheckRead(std::string_view der, size_t offset) {
  auto tlv = masa::der::ReadTlv(der, offset);
  if (MustRefuse(der, offset) != !tlv.ok()) abort();
  if (!tlv.ok()) {
    if (!absl::IsInvalidArgument(tlv.status())) abort();
    if (tlv.status().message().find("offset") == std::string_view::npos) abort();
    return;
  }
  if (tlv->offset != offset || tlv->header_size < 2 || tlv->header_size > 6) abort();
  if (tlv->end() > der.size()) abort();
  if (tlv->value.data() != der.data() + offset + tlv->header_size) abort();
  if (tlv->tag != static_cast<uint8_t>(der[offset])) abort();
}

// Walks the input as a sequence of TLVs, each also read as a constructed one's first child.
void Walk(std::string_view der) {
  size_t offset = 0;
  for (int steps = 0; offset < der.size() && steps < 64; ++steps) {
    CheckRead(der, offset);
    auto tlv = masa::der::ReadTlv(der, offset);
    if (!tlv.ok()) break;
    if (tlv->value.size() >= 2) CheckRead(der, tlv->content_offset());
    if (tlv->end() <= offset) abort();  // no progress
    offset = tlv->end();
  }
  auto whole = masa::der::ReadWhole(der, masa::der::kSequence);
  if (whole.ok()) {
    auto tlv = masa::der::ReadTlv(der, 0, masa::der::kSequence);
    if (!tlv.ok() || tlv->end() != der.size() || tlv->value != *whole) abort();
  }
}

// The number of certificates OpenSSL finds in `der` as a SignedData, or -1 when it does not
// read `der` as exactly this DER.
int OpenSslCertificates(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  masa::UniquePtr<CMS_ContentInfo> cms(
      d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  int count = -1;
  if (cms != nullptr && p == reinterpret_cast<const unsigned char*>(der.data()) + der.size() &&
      OBJ_obj2nid(CMS_get0_type(cms.get())) == NID_pkcs7_signed) {
    unsigned char* out = nullptr;
    int len = i2d_CMS_ContentInfo(cms.get(), &out);
    if (len > 0 &&
        std::string_view(reinterpret_cast<char*>(out), static_cast<size_t>(len)) == der) {
      STACK_OF(X509)* certs = CMS_get1_certs(cms.get());
      count = certs == nullptr ? 0 : sk_X509_num(certs);
      sk_X509_pop_free(certs, X509_free);
    }
    OPENSSL_free(out);
  }
  ERR_clear_error();
  return count;
}

void CheckCertificateSet(std::string_view der) {
  auto span = masa::der::FindCmsCertificateSet(der);
  if (!span.ok()) {
    if (!absl::IsNotFound(span.status()) && !absl::IsInvalidArgument(span.status())) abort();
  } else {
    auto set = masa::der::ReadTlv(der, span->offset, masa::der::kContext0);
    if (!set.ok() || set->size() != span->size) abort();
    auto content_info = masa::der::ReadTlv(der, 0, masa::der::kSequence);
    if (!content_info.ok()) abort();
    if (span->offset < content_info->content_offset() ||
        span->offset + span->size > content_info->end()) {
      abort();  // a set found outside the ContentInfo
    }
  }
  int openssl = OpenSslCertificates(der);
  if (openssl < 0) return;
  if (absl::IsInvalidArgument(span.status())) abort();  // OpenSSL reads it as DER SignedData
  if (openssl > 0 && !span.ok()) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view der(reinterpret_cast<const char*>(data), size);
  Walk(der);
  CheckCertificateSet(der);
  return 0;
}
