// Fuzzes ParseRfc3339 (voucher times, REST "expires" fields, masactl arguments) and its
// inverse FormatRfc3339. The input is the text of a date-time. Beyond not crashing:
//  - a rejection is kInvalidArgument;
//  - an accepted time is InRfc3339Range, and FormatRfc3339 writes it in the RFC 3339 grammar
//    (section 5.6, in UTC: 4DIGIT "-" 2DIGIT "-" 2DIGIT "T" 2DIGIT ":" 2DIGIT ":" 2DIGIT
//    ["." 1*DIGIT] "Z", the fraction without trailing zeros);
//  - parsing that text gives the same time, and formatting it again the same text;
//  - the same holds for the time read as raw bits (from the input's first 12 bytes, seconds
//    and nanoseconds since the epoch): whatever time a caller formats, the output is grammar.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "common/time.h"

namespace {

bool Digit(char c) { return c >= '0' && c <= '9'; }

// The RFC 3339 grammar, as FormatRfc3339 promises to write it.
bool IsFormattedRfc3339(const std::string& s) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  if (s.size() < kShape.size() + 1 || s.back() != 'Z') return false;
  for (size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' ? !Digit(s[i]) : s[i] != kShape[i]) return false;
  }
  std::string_view rest(s);
  rest.remove_prefix(kShape.size());
  rest.remove_suffix(1);
  if (rest.empty()) return true;
  if (rest.size() < 2 || rest[0] != '.' || rest.back() == '0') return false;
  for (char c : rest.substr(1)) {
    if (!Digit(c)) return false;
  }
  return true;
}

void CheckFormat(absl::Time t) {
  std::string text = masa::FormatRfc3339(t);
  if (!IsFormattedRfc3339(text)) abort();
  auto back = masa::ParseRfc3339(text);
  if (!back.ok()) abort();  // the parser refuses what the formatter wrote
  if (masa::InRfc3339Range(t) && *back != t) abort();
  if (masa::FormatRfc3339(*back) != text) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = masa::ParseRfc3339(text);
  if (!t.ok()) {
    if (t.status().code() != absl::StatusCode::kInvalidArgument) abort();
  } else {
    if (!masa::InRfc3339Range(*t)) abort();
    CheckFormat(*t);
  }
  if (size >= 12) {
    int64_t seconds;
    uint32_t nanos;
    memcpy(&seconds, data, sizeof(seconds));
    memcpy(&nanos, data + sizeof(seconds), sizeof(nanos));
    CheckFormat(absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos % 1000000000));
  }
  return 0;
}
