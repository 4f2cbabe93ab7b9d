// JSON string literals for the hand-written JSON writers (the voucher codec, the HTTP
// server's own problem details), which must not pull in a JSON library.
#pragma once

#include <string>
#include <string_view>

namespace masa {

// Appends `s` as a JSON string, quotes included (RFC 8259 section 7): '"' and '\' escaped,
// control characters as \n, \r, \t or \u00XX, everything else (UTF-8 included) as is.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace masa
