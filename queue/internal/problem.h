// The answers the HTTP server writes itself (limits, undecodable targets, draining), as RFC
// 9457 problem details written by queue/problem.h like the REST layer's.
#pragma once

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "queue/http_server.h"
#include "queue/internal/request_head.h"
#include "queue/problem.h"

namespace masa::queue::internal {

// The answer to a request head `check` refused (a verdict other than kIncomplete and kFits):
// 400 with check.problem(), 413, 414 or 431 naming the limit.
HttpResponse HeadRefusal(const RequestHeadCheck& check, size_t max_header_bytes,
                         size_t max_body_bytes);

// `response` as the bytes of a whole HTTP/1.1 answer after which the server closes the
// connection: status line, Date (from `now`), Content-Type, Content-Length,
// "Connection: close", the extra headers, the body. For answers the server writes to the
// connection itself, without evhttp. The extra headers must be valid (no CR or LF) and must
// not be framing headers (Content-Length, Transfer-Encoding, Connection).
std::string ClosingAnswerBytes(const HttpResponse& response, absl::Time now);

}  // namespace masa::queue::internal
