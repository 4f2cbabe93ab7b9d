// Fuzzes DecodeRequestTarget, which turns the request target of every request ("/path?query")
// into the path the router matches and the query parameters the handlers read. The input is
// the target. Beyond not crashing, it asserts:
//  - an accepted path starts with '/' and holds no NUL, and no query name or value holds a
//    NUL;
//  - the round trip: encoding the decoded path and query again (every byte outside RFC 3986
//    unreserved percent-encoded, the path's '/' kept or encoded too but for the first, the
//    parameters as name=value joined by '&') and decoding gives the same path and the same
//    parameters in the same order;
//  - every refusal is kInvalidArgument with a one-line message of printable ASCII (it goes
//    into a 400 response).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "queue/internal/request_target.h"

namespace {

using masa::queue::internal::DecodeRequestTarget;
using masa::queue::internal::RequestTarget;

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string Encode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string EncodeTarget(const RequestTarget& t, bool keep_slash) {
  std::string out = "/" + Encode(std::string_view(t.path).substr(1), keep_slash);
  char sep = '?';
  for (const auto& [name, value] : t.query) {
    out += sep;
    out += Encode(name, false);
    out += '=';
    out += Encode(value, false);
    sep = '&';
  }
  return out;
}

void CheckError(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kInvalidArgument) abort();
  if (status.message().empty()) abort();
  for (char c : status.message()) {
    if (c < 0x20 || c > 0x7e) abort();
  }
}

void CheckTarget(const RequestTarget& t) {
  if (t.path.empty() || t.path.front() != '/') abort();
  if (t.path.find('\0') != std::string::npos) abort();
  for (const auto& [name, value] : t.query) {
    if (name.empty()) abort();
    if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view target(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<RequestTarget> decoded = DecodeRequestTarget(target);
  if (!decoded.ok()) {
    CheckError(decoded.status());
    return 0;
  }
  CheckTarget(*decoded);
  for (bool keep_slash : {true, false}) {
    std::string encoded = EncodeTarget(*decoded, keep_slash);
    absl::StatusOr<RequestTarget> again = DecodeRequestTarget(encoded);
    if (!again.ok()) abort();
    if (again->path != decoded->path || again->query != decoded->query) abort();
    if (EncodeTarget(*again, keep_slash) != encoded) abort();  // encoding is stable
  }
  return 0;
}
