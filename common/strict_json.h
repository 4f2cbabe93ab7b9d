// Reading JSON from outside (request bodies, an identity provider's answers) strictly:
// valid UTF-8, nesting bounded before the parser runs (so neither its stack nor anything
// walking the tree can be driven deep), and no member twice in one object (RFC 8259 section
// 4 leaves the meaning of duplicates open, and two readers could pick different ones;
// nlohmann would silently keep the last). Each reader words its own messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace masa {

struct StrictJson {
  enum class Problem { kNone, kNotUtf8, kTooDeep, kNotJson, kDuplicateMember };
  Problem problem = Problem::kNone;
  nlohmann::json value;   // when problem is kNone
  size_t error_byte = 0;  // kNotJson: where parsing stopped (0: unknown)
  std::string duplicate;  // kDuplicateMember: the first member seen twice ("" is a name too)
};

// Parses `text` as one JSON value nested at most `max_depth` arrays/objects deep.
StrictJson ParseStrictJson(std::string_view text, int max_depth);

}  // namespace masa
