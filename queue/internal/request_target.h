// Decodes a request target in origin form ("/path?query") into the path and the query
// parameters a handler sees. Pure: no libevent state, so it can be tested and fuzzed alone.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace masa::queue::internal {

struct RequestTarget {
  std::string path;                               // percent-decoded, starts with '/'
  std::multimap<std::string, std::string> query;  // names and values decoded, '+' as space
};

// Splits `target` as RFC 9112 origin form: the path runs to the first '?' or '#', the query
// from that '?' to the first '#', and a fragment (which no client should send) is dropped.
// A target starting with "//" is a path whose first segment is empty, not an authority.
// The path is percent-decoded ('+' stays '+'); the query is split on '&', each parameter
// must be name=value with a non-empty name (a trailing '&' is allowed), and names and values
// are percent-decoded with '+' as space. "%" not followed by two hex digits stays as it is.
// Repeated names are all kept, in order.
// Errors, all kInvalidArgument with a one-line message that quotes none of the input: a
// target that does not start with '/' (the asterisk form "*" included), a NUL byte in it, an
// encoded NUL (%00) in the path or the query, a parameter without '=' or with an empty name.
// Time and memory are linear in the length of `target` (which the request head check bounds).
absl::StatusOr<RequestTarget> DecodeRequestTarget(std::string_view target);

}  // namespace masa::queue::internal
