// A small DER reader: one TLV at a time, bounds-checked, with errors that say where and
// what. Enough to find fields in structures whose shape the caller knows (a CMS SignedData,
// a PKCS#11 attribute); not a general ASN.1 decoder. Includes the one place that knows
// where a CMS SignedData keeps its certificates.
//
//   MASA_ASSIGN_OR_RETURN(der::Tlv seq, der::ReadTlv(bytes, 0, der::kSequence));
//   MASA_ASSIGN_OR_RETURN(der::Tlv first, der::ReadTlv(bytes, seq.content_offset()));
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace masa::der {

// Identifier octets used in this code base.
inline constexpr uint8_t kInteger = 0x02;
inline constexpr uint8_t kOctetString = 0x04;
inline constexpr uint8_t kObjectIdentifier = 0x06;
inline constexpr uint8_t kSequence = 0x30;
inline constexpr uint8_t kSet = 0x31;
inline constexpr uint8_t kContext0 = 0xa0;  // [0], constructed (EXPLICIT, or IMPLICIT SET OF)

// One TLV: where it sits in the input and what it holds. `value` views the input.
struct Tlv {
  uint8_t tag = 0;         // the identifier octet
  size_t offset = 0;       // of the identifier octet
  size_t header_size = 0;  // identifier and length octets
  std::string_view value;  // the contents

  size_t content_offset() const { return offset + header_size; }
  size_t size() const { return header_size + value.size(); }  // the whole TLV
  size_t end() const { return offset + size(); }              // just past it
};

// Reads the TLV at `offset` of `der`. The tag is one octet (tag numbers below 31); the
// length is definite, in short form or in long form with 1 to 4 octets (long form is
// accepted where short form would do: some PKCS#11 tokens write it). kInvalidArgument,
// naming the offset, when the header is cut short, the tag uses the high-tag-number form,
// the length is indefinite or too long, or the contents run past the end of `der`.
absl::StatusOr<Tlv> ReadTlv(std::string_view der, size_t offset);

// Like ReadTlv, and kInvalidArgument (naming both tags) unless its tag is `tag`.
absl::StatusOr<Tlv> ReadTlv(std::string_view der, size_t offset, uint8_t tag);

// The contents of `der` when it is exactly one TLV tagged `tag`, with nothing after it;
// kInvalidArgument otherwise.
absl::StatusOr<std::string_view> ReadWhole(std::string_view der, uint8_t tag);

// A range of bytes within some input.
struct Span {
  size_t offset = 0;
  size_t size = 0;
};

// Where the `certificates [0] IMPLICIT CertificateSet` field of a CMS ContentInfo holding
// SignedData (RFC 5652 sections 3 and 5.1) sits in `der`: its whole TLV, inside the
// SignedData. kNotFound when the SignedData carries no certificates; kInvalidArgument when
// `der` is not a ContentInfo holding SignedData as RFC 5652 lays it out, including a field
// whose length runs past the structure that holds it (the message says what was found
// where). Bytes after the ContentInfo are not looked at. Reads only the headers on the path
// to the field: time linear in the number of SignedData fields before it (at most four).
absl::StatusOr<Span> FindCmsCertificateSet(std::string_view der);

}  // namespace masa::der
