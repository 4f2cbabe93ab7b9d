// Turns a libevent server request into an HttpRequest and an HttpResponse into a reply.
#pragma once

#include <event2/http.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "queue/http_server.h"

namespace masa::queue::internal {

// Decodes method, the request target (path and query, by DecodeRequestTarget's rules),
// headers (names lower-cased; repeated headers joined with ", ") and body. kInvalidArgument
// (the caller answers 400) for a target DecodeRequestTarget refuses. `peer` and `tls` are
// left for the caller.
absl::StatusOr<HttpRequest> DecodeRequest(evhttp_request* req);

// Writes status, Content-Type and extra headers of `response` into `req`'s output headers
// and its body into `body`. kInvalidArgument for a status outside 100..599 or a header
// libevent refuses (CR or LF in it): the caller answers 500 instead.
absl::Status EncodeResponse(const HttpResponse& response, evhttp_request* req, evbuffer* body);

}  // namespace masa::queue::internal
