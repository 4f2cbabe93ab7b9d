// DER for tests that build records by hand: a TLV with a definite length (short or long
// form), for shapes like CMS that the code under test reads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace masa::testing {

inline std::string DerTlv(uint8_t tag, std::string_view content) {
  std::string out(1, static_cast<char>(tag));
  if (content.size() < 128) {
    out += static_cast<char>(content.size());
  } else {
    std::string len;
    for (size_t n = content.size(); n > 0; n >>= 8)
      len.insert(len.begin(), static_cast<char>(n & 0xff));
    out += static_cast<char>(0x80 | len.size());
    out += len;
  }
  out += content;
  return out;
}

}  // namespace masa::testing
