#include "common/utf8.h"

#include <cstdint>

namespace masa {
namespace {

// The length of the well-formed sequence that starts at text[i], or 0 when there is none.
size_t SequenceLength(std::string_view text, size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if ((lead & 0xe0) == 0xc0) {
    len = 2;
    cp = lead & 0x1f;
  } else if ((lead & 0xf0) == 0xe0) {
    len = 3;
    cp = lead & 0x0f;
  } else if ((lead & 0xf8) == 0xf0) {
    len = 4;
    cp = lead & 0x07;
  } else {
    return 0;  // a continuation byte, or 0xf8..0xff
  }
  if (len > text.size() - i) return 0;  // cut short
  for (size_t k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(text[i + k]);
    if ((c & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  // The shortest form only, no surrogates, nothing past the last plane.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return len;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t len = SequenceLength(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string RepairUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t len = SequenceLength(text, i);
    if (len == 0) {
      out.append("\xef\xbf\xbd");
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string ShowUntrusted(std::string_view untrusted, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < untrusted.size() && i < max_bytes; ++i) {
    unsigned char c = static_cast<unsigned char>(untrusted[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (untrusted.size() > max_bytes) out += "...";
  return out;
}

}  // namespace masa
