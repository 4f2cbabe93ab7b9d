// Test support for fuzz targets: the checks several targets make on what a parser returns.
#pragma once

#include <string_view>

namespace masa::testing {

// True when `s` is one non-empty line of printable ASCII (0x20..0x7e): what every error
// message that reaches a client, a log or masactl's output must be.
inline bool IsPrintableLine(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return !s.empty();
}

}  // namespace masa::testing
