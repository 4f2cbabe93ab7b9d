#include "queue/internal/request_target.h"

#include <string>

#include <sys/queue.h>  // TAILQ_* for libevent's evkeyvalq

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "absl/status/status.h"
#include "queue/internal/libevent.h"

namespace masa::queue::internal {
namespace {

// Frees an evkeyvalq filled by evhttp_parse_query_str.
struct KeyValues {
  evkeyvalq q;
  KeyValues() { TAILQ_INIT(&q); }
  ~KeyValues() { evhttp_clear_headers(&q); }
};

}  // namespace

absl::StatusOr<RequestTarget> DecodeRequestTarget(std::string_view target) {
  if (target.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("the request target holds a NUL byte");
  }
  if (target.empty() || target.front() != '/') {
    return absl::InvalidArgumentError("the request target must be a path starting with '/'");
  }
  // evhttp_uri_parse would read "//host/x" as an authority and the path "/x"; origin form
  // has no authority, so the split is done here (as evhttp's non-conforming mode does it).
  size_t path_end = target.find_first_of("?#");
  std::string raw_path(target.substr(0, path_end));
  std::string raw_query;
  if (path_end != std::string_view::npos && target[path_end] == '?') {
    std::string_view rest = target.substr(path_end + 1);
    raw_query = rest.substr(0, rest.find('#'));
  }

  RequestTarget out;
  size_t path_len = 0;
  MallocedString path(evhttp_uridecode(raw_path.c_str(), /*decode_plus=*/0, &path_len));
  if (path == nullptr) return absl::InvalidArgumentError("the request path does not decode");
  out.path.assign(path.get(), path_len);
  if (out.path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("the request path holds an encoded NUL (%00)");
  }

  if (raw_query.empty()) return out;
  // libevent copies decoded values as C strings, so "a=x%00y" would silently become "x".
  // Every "%00" in the raw query decodes to a NUL (a '%' is never part of another escape,
  // and '&' and '=' are not in one), so refusing it here refuses every NUL in a name or value.
  if (raw_query.find("%00") != std::string::npos) {
    return absl::InvalidArgumentError("the query string holds an encoded NUL (%00)");
  }
  KeyValues params;
  if (evhttp_parse_query_str(raw_query.c_str(), &params.q) != 0) {
    return absl::InvalidArgumentError(
        "the query string does not decode (every parameter needs name=value)");
  }
  for (evkeyval* kv = TAILQ_FIRST(&params.q); kv != nullptr; kv = TAILQ_NEXT(kv, next)) {
    // libevent decodes values but leaves names encoded.
    size_t key_len = 0;
    MallocedString key(evhttp_uridecode(kv->key, /*decode_plus=*/1, &key_len));
    if (key == nullptr) return absl::InvalidArgumentError("a query parameter name does not decode");
    out.query.emplace(std::string(key.get(), key_len), kv->value);
  }
  return out;
}

}  // namespace masa::queue::internal
