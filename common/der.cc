#include "common/der.h"

#include "absl/strings/str_format.h"
#include "common/status.h"

namespace masa::der {
namespace {

// id-signedData, 1.2.840.113549.1.7.2 (RFC 5652 section 5.1), as DER contents.
constexpr std::string_view kSignedDataOid("\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", 9);

absl::Status Malformed(size_t offset, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrFormat("malformed DER at offset %d: %s", offset, Sv(what)));
}

}  // namespace

absl::StatusOr<Tlv> ReadTlv(std::string_view der, size_t offset) {
  if (offset > der.size() || der.size() - offset < 2) {
    return Malformed(offset, "the TLV header is cut short");
  }
  Tlv tlv;
  tlv.offset = offset;
  tlv.tag = static_cast<uint8_t>(der[offset]);
  if ((tlv.tag & 0x1f) == 0x1f) return Malformed(offset, "high-tag-number form");
  const auto first = static_cast<uint8_t>(der[offset + 1]);
  size_t header = 2;
  size_t length = first;
  if (first & 0x80) {
    const size_t n = first & 0x7f;
    if (n == 0) return Malformed(offset, "indefinite length");
    if (n > 4) return Malformed(offset, absl::StrFormat("a length of %d octets", n));
    if (der.size() - offset - 2 < n) return Malformed(offset, "the length is cut short");
    length = 0;
    for (size_t i = 0; i < n; ++i)
      length = (length << 8) | static_cast<uint8_t>(der[offset + 2 + i]);
    header += n;
  }
  if (length > der.size() - offset - header) {
    return Malformed(offset, absl::StrFormat("%d content octets, but only %d remain", length,
                                             der.size() - offset - header));
  }
  tlv.header_size = header;
  tlv.value = der.substr(offset + header, length);
  return tlv;
}

absl::StatusOr<Tlv> ReadTlv(std::string_view der, size_t offset, uint8_t tag) {
  MASA_ASSIGN_OR_RETURN(Tlv tlv, ReadTlv(der, offset));
  if (tlv.tag != tag) {
    return Malformed(offset, absl::StrFormat("tag 0x%02x where 0x%02x was expected", tlv.tag, tag));
  }
  return tlv;
}

absl::StatusOr<std::string_view> ReadWhole(std::string_view der, uint8_t tag) {
  MASA_ASSIGN_OR_RETURN(Tlv tlv, ReadTlv(der, 0, tag));
  if (tlv.end() != der.size()) {
    return Malformed(tlv.end(), absl::StrFormat("%d octets after the TLV", der.size() - tlv.end()));
  }
  return tlv.value;
}

absl::StatusOr<Span> FindCmsCertificateSet(std::string_view der) {
  // Each field is read within its parent (the input cut at the parent's end), so a field
  // whose length runs past its parent is malformed, not read from what follows the parent.
  auto within = [der](const Tlv& parent) { return der.substr(0, parent.end()); };
  // ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT SignedData }
  MASA_ASSIGN_OR_RETURN(Tlv content_info, ReadTlv(der, 0, kSequence));
  MASA_ASSIGN_OR_RETURN(
      Tlv type, ReadTlv(within(content_info), content_info.content_offset(), kObjectIdentifier));
  if (type.value != kSignedDataOid) {
    return absl::InvalidArgumentError("the CMS ContentInfo does not hold SignedData");
  }
  MASA_ASSIGN_OR_RETURN(Tlv explicit_content, ReadTlv(within(content_info), type.end(), kContext0));
  MASA_ASSIGN_OR_RETURN(Tlv signed_data, ReadTlv(within(explicit_content),
                                                 explicit_content.content_offset(), kSequence));
  // SignedData ::= SEQUENCE { version INTEGER, digestAlgorithms SET, encapContentInfo
  //   SEQUENCE, certificates [0] IMPLICIT CertificateSet OPTIONAL, crls [1] ..., signerInfos }
  const std::string_view fields = within(signed_data);
  size_t pos = signed_data.content_offset();
  for (uint8_t tag : {kInteger, kSet, kSequence}) {
    MASA_ASSIGN_OR_RETURN(Tlv field, ReadTlv(fields, pos, tag));
    pos = field.end();
  }
  MASA_ASSIGN_OR_RETURN(Tlv next, ReadTlv(fields, pos));
  if (next.tag != kContext0) return absl::NotFoundError("the SignedData carries no certificates");
  return Span{next.offset, next.size()};
}

}  // namespace masa::der
