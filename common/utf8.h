// UTF-8 (RFC 3629) checks for text that arrives from outside: request bodies, query
// parameters, voucher leaves, problem details. One copy for every folder.
//
//   if (!IsValidUtf8(body)) return absl::InvalidArgumentError("not UTF-8");
//   std::string shown = RepairUtf8(untrusted);  // safe to put in a JSON string
#pragma once

#include <string>
#include <string_view>

namespace masa {

// True when `text` is well-formed UTF-8: every sequence complete, no overlong form, no
// surrogate (U+D800..U+DFFF), nothing above U+10FFFF. The empty string is valid.
bool IsValidUtf8(std::string_view text);

// `untrusted` as it may appear in an error message or a log line: printable ASCII kept, the
// backslash and every other byte written as \xNN (upper-case hex), at most `max_bytes` of
// the input shown and "..." after a cut. The result is one short printable line whatever
// was sent, so a message can quote a client's key, a file's value or a note's key name.
std::string ShowUntrusted(std::string_view untrusted, size_t max_bytes = 64);

// `text` with each byte that does not begin a well-formed sequence replaced by U+FFFD
// (EF BF BD); well-formed sequences are kept as they are. IsValidUtf8 holds for the result.
std::string RepairUtf8(std::string_view text);

}  // namespace masa
