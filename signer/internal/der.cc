#include "signer/internal/der.h"

#include <algorithm>

namespace masa::signer::der {
namespace {

size_t LengthOctets(size_t value_size) {
  if (value_size < 0x80) return 1;
  size_t n = 1;
  for (size_t v = value_size; v != 0; v >>= 8) ++n;
  return n;
}

}  // namespace

size_t TlvSize(size_t value_size) { return 1 + LengthOctets(value_size) + value_size; }

void AppendHeader(uint8_t tag, size_t value_size, std::string* out) {
  out->push_back(static_cast<char>(tag));
  size_t n = LengthOctets(value_size);
  if (n == 1) {
    out->push_back(static_cast<char>(value_size));
    return;
  }
  out->push_back(static_cast<char>(0x80 | (n - 1)));
  for (size_t i = n - 1; i > 0; --i) {
    out->push_back(static_cast<char>((value_size >> (8 * (i - 1))) & 0xff));
  }
}

void AppendTlv(uint8_t tag, std::string_view value, std::string* out) {
  AppendHeader(tag, value.size(), out);
  out->append(value.data(), value.size());
}

void AppendConstructed(uint8_t tag, std::initializer_list<std::string_view> parts,
                       std::string* out) {
  size_t size = 0;
  for (std::string_view p : parts) size += p.size();
  out->reserve(out->size() + TlvSize(size));
  AppendHeader(tag, size, out);
  for (std::string_view p : parts) out->append(p.data(), p.size());
}

std::string Constructed(uint8_t tag, std::initializer_list<std::string_view> parts) {
  std::string out;
  AppendConstructed(tag, parts, &out);
  return out;
}

std::string SetOf(uint8_t tag, std::vector<std::string> elements) {
  // X.690 11.6 compares the encodings as octet strings, the shorter padded with zeros. A
  // complete TLV is never a proper prefix of another, so std::string's ordering (octets
  // compared as unsigned char, as memcmp) is that order.
  std::sort(elements.begin(), elements.end());
  size_t size = 0;
  for (const std::string& e : elements) size += e.size();
  std::string out;
  out.reserve(TlvSize(size));
  AppendHeader(tag, size, &out);
  for (const std::string& e : elements) out += e;
  return out;
}

std::string SmallInteger(uint8_t value) {
  std::string content;
  if (value >= 0x80) content.push_back('\0');  // keeps 0x80..0xff non-negative
  content.push_back(static_cast<char>(value));
  std::string out;
  AppendTlv(kInteger, content, &out);
  return out;
}

}  // namespace masa::signer::der
