// Fuzzes the DER writer of signer/internal/der.h (the CMS SignedData every voucher is
// wrapped in is assembled with it) against the reader of common/der.h. The input drives
// both directions:
//  - writing: tags, values and SET OF elements taken from the input (FuzzedDataProvider)
//    are encoded, and reading the encoding back gives the same tag and value
//    (decode(encode(x)) == x); the size is TlvSize; lengths use the fewest octets
//    (X.690 10.1); Constructed is the header and the parts in order; SetOf holds the same
//    elements in ascending order of their encodings (X.690 11.6); SmallInteger is a minimal
//    non-negative INTEGER of the value;
//  - reading: a TLV at the front of the input whose length is in the fewest octets is
//    written again, by AppendHeader, to the same header octets (encode(decode(y)) == y).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/der.h"
#include "signer/internal/der.h"

namespace {

namespace w = masa::signer::der;
namespace r = masa::der;

uint8_t LowTag(FuzzedDataProvider& in) {
  auto tag = in.ConsumeIntegral<uint8_t>();
  return (tag & 0x1f) == 0x1f ? static_cast<uint8_t>(tag & ~0x01) : tag;  // one-octet tags
}

// The length octets of a DER header of `size`, as X.690 10.1 requires them.
std::string MinimalLength(size_t size) {
  if (size < 0x80) return std::string(1, static_cast<char>(size));
  std::string octets;
  for (size_t v = size; v != 0; v >>= 8) octets.insert(octets.begin(), static_cast<char>(v & 0xff));
  return std::string(1, static_cast<char>(0x80 | octets.size())) + octets;
}

void CheckTlv(uint8_t tag, std::string_view value) {
  std::string out;
  w::AppendTlv(tag, value, &out);
  if (out.size() != w::TlvSize(value.size())) abort();
  if (out.compare(0, 1 + MinimalLength(value.size()).size(),
                  std::string(1, static_cast<char>(tag)) + MinimalLength(value.size())) != 0) {
    abort();
  }
  auto back = r::ReadWhole(out, tag);
  if (!back.ok() || *back != value) abort();
}

void CheckHeader(size_t size) {
  std::string header;
  w::AppendHeader(w::kOctetString, size, &header);
  if (header != std::string(1, '\x04') + MinimalLength(size)) abort();
  if (w::TlvSize(size) != header.size() + size) abort();
}

void CheckSetOf(uint8_t tag, FuzzedDataProvider& in) {
  std::vector<std::string> elements(in.ConsumeIntegralInRange<size_t>(0, 8));
  for (std::string& e : elements) {
    uint8_t element_tag = LowTag(in);
    w::AppendTlv(element_tag, in.ConsumeRandomLengthString(300), &e);
  }
  std::string set = w::SetOf(tag, elements);
  auto contents = r::ReadWhole(set, tag);
  if (!contents.ok()) abort();
  std::vector<std::string> read;
  for (size_t at = 0; at < contents->size();) {
    auto element = r::ReadTlv(*contents, at);
    if (!element.ok()) abort();
    read.emplace_back(contents->substr(at, element->size()));
    at = element->end();
  }
  if (!std::is_sorted(read.begin(), read.end())) abort();
  std::sort(elements.begin(), elements.end());
  if (read != elements) abort();
}

void CheckConstructed(uint8_t tag, FuzzedDataProvider& in) {
  std::string a = in.ConsumeRandomLengthString(200), b = in.ConsumeRandomLengthString(200);
  std::string out = w::Constructed(tag, {a, b});
  std::string appended = "prefix";
  w::AppendConstructed(tag, {a, b}, &appended);
  if (appended != "prefix" + out) abort();
  auto back = r::ReadWhole(out, tag);
  if (!back.ok() || *back != a + b) abort();
}

void CheckSmallInteger(uint8_t value) {
  const std::string der = w::SmallInteger(value);
  auto content = r::ReadWhole(der, w::kInteger);
  if (!content.ok() || content->empty() || content->size() > 2) abort();
  if (static_cast<uint8_t>((*content)[0]) & 0x80) abort();  // negative
  if (content->size() == 2 &&
      ((*content)[0] != 0 || !(static_cast<uint8_t>((*content)[1]) & 0x80))) {
    abort();  // a leading zero octet that is not needed
  }
  if (static_cast<uint8_t>(content->back()) != value) abort();
}

// Reading then writing: a header in the fewest octets comes back identical.
void CheckReadThenWrite(std::string_view der) {
  auto tlv = r::ReadTlv(der, 0);
  if (!tlv.ok()) return;
  std::string_view header = der.substr(0, tlv->header_size);
  std::string written;
  w::AppendHeader(tlv->tag, tlv->value.size(), &written);
  bool minimal = header.substr(1) == MinimalLength(tlv->value.size());
  if (minimal != (written == header)) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckReadThenWrite(std::string_view(reinterpret_cast<const char*>(data), size));
  FuzzedDataProvider in(data, size);
  CheckHeader(in.ConsumeIntegral<uint32_t>());
  CheckSmallInteger(in.ConsumeIntegral<uint8_t>());
  uint8_t tag = LowTag(in);
  CheckSetOf(tag, in);
  CheckConstructed(tag, in);
  CheckTlv(tag, in.ConsumeRemainingBytesAsString());
  return 0;
}
