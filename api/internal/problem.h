// RFC 9457 problem+json answers for service statuses: the one table that maps
// absl::StatusCode to HTTP. The documents themselves are written by queue/problem.h.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "queue/http_server.h"
#include "queue/problem.h"

namespace masa::api::internal {

// How one absl::StatusCode is answered over HTTP.
struct HttpErrorClass {
  int http_status;
  std::string_view type;   // problem "type" URI
  std::string_view title;  // problem "title"
  bool retry_after;        // add Retry-After
  bool show_detail;        // the status message goes to the client (else a generic text)
};

// THE table: kInvalidArgument 400, kUnauthenticated 401, kPermissionDenied 403,
// kNotFound 404, kAlreadyExists and kFailedPrecondition 409, kResourceExhausted and
// kUnavailable 503 with Retry-After, everything else 500 with a generic detail.
const HttpErrorClass& ErrorClassFor(absl::StatusCode code);

// A complete answer for a non-OK `status` by the table above. Messages of 500-class codes
// never reach the client (they are logged instead); kUnauthenticated carries
// WWW-Authenticate: Bearer. `status` must not be OK (an OK status answers 500).
// Retry-After is the seconds the status carries (queue::RetryAfterSecondsOf: the work
// queue's refusal at capacity says how long its backlog takes to drain), else
// `retry_after_seconds` (at least 1).
queue::HttpResponse ProblemResponse(const absl::Status& status, int retry_after_seconds);

// A problem answer that does not come from a service status (404 route, 405, 401): the
// one problem+json writer, queue/problem.h, which the HTTP server's own answers use too.
using queue::Problem;

}  // namespace masa::api::internal
