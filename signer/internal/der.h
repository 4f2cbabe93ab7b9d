// A minimal DER writer (X.690): definite-length tag-length-value encodings built from parts,
// enough to assemble CMS SignedData around pieces that are already DER. Internal to signer/.
//
//   std::string alg = der::Constructed(der::kSequence, {oid_tlv, der::kNull});
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace masa::signer::der {

// Identifier octets used by CMS (single-byte tags only).
inline constexpr uint8_t kInteger = 0x02;
inline constexpr uint8_t kOctetString = 0x04;
inline constexpr uint8_t kUtcTime = 0x17;
inline constexpr uint8_t kGeneralizedTime = 0x18;
inline constexpr uint8_t kSequence = 0x30;
inline constexpr uint8_t kSet = 0x31;
// [n] context-specific, constructed (EXPLICIT, or IMPLICIT of a constructed type).
constexpr uint8_t ContextConstructed(unsigned n) { return static_cast<uint8_t>(0xa0 | n); }

// The number of octets of a whole TLV whose value has `value_size` octets.
size_t TlvSize(size_t value_size);

// Appends the identifier `tag` and the definite length octets of a `value_size`-octet value.
void AppendHeader(uint8_t tag, size_t value_size, std::string* out);

// Appends tag, length and `value`.
void AppendTlv(uint8_t tag, std::string_view value, std::string* out);

// The TLV whose value is the concatenation of `parts` (each usually a complete TLV).
std::string Constructed(uint8_t tag, std::initializer_list<std::string_view> parts);

// As Constructed, appended to `out`.
void AppendConstructed(uint8_t tag, std::initializer_list<std::string_view> parts,
                       std::string* out);

// A DER SET OF (tag `tag`, normally kSet or an IMPLICIT [n]) holding `elements`, which are
// complete TLVs, sorted into ascending order of their encodings as X.690 11.6 requires.
std::string SetOf(uint8_t tag, std::vector<std::string> elements);

// A small non-negative INTEGER.
std::string SmallInteger(uint8_t value);

}  // namespace masa::signer::der
