// Fuzzes BearerTokenOf, which takes the token out of every authenticated request's
// Authorization header before anything else looks at it. The input is the header value.
// Beyond not crashing, it asserts:
//  - the token has no space or tab at either end, and is a part of the value after
//    "Bearer " (nothing is added);
//  - the scheme is matched without regard to case: changing the case of the first six bytes
//    changes nothing;
//  - "Bearer " + t gives back t for any t of token68 characters (RFC 7235: letters, digits,
//    "-._~+/" and trailing '='), here t being the input's token68 bytes, also with spaces
//    and tabs around it and with the scheme in another case.
// There is nothing secret in an error here: a value that is no bearer credential gives "".
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "queue/bearer.h"

namespace {

using masa::queue::BearerTokenOf;

bool Token68(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~' || c == '+' || c == '/';
}

void Check(std::string_view value) {
  std::string token = BearerTokenOf(value);
  if (!token.empty()) {
    for (char end : {token.front(), token.back()}) {
      if (end == ' ' || end == '\t') abort();
    }
    if (value.substr(7).find(token) == std::string_view::npos) abort();
  }
  std::string flipped(value);
  for (size_t i = 0; i < flipped.size() && i < 6; ++i) {
    unsigned char c = static_cast<unsigned char>(flipped[i]);
    flipped[i] = static_cast<char>(std::isupper(c) ? std::tolower(c) : std::toupper(c));
  }
  if (BearerTokenOf(flipped) != token) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view value(reinterpret_cast<const char*>(data), size);
  Check(value);

  std::string t;
  for (char c : value) {
    if (Token68(c)) t += c;
  }
  size_t equals = size % 3;  // token68 may end in '='
  t.append(equals, '=');
  if (t.size() == equals) return 0;  // no token
  if (BearerTokenOf("Bearer " + t) != t) abort();
  if (BearerTokenOf("bEaReR \t " + t + " \t") != t) abort();
  if (BearerTokenOf("BEARER " + t) != t) abort();
  return 0;
}
