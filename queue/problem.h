// RFC 9457 problem details: the one writer of application/problem+json documents, for the
// answers the HTTP server writes itself (limits, draining) and for the REST layer's errors.
//
//   responder(queue::Problem(404, "urn:masa:problem:not-found", "Not found",
//                            "no voucher with that id"));
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "queue/http_server.h"

namespace masa::queue {

inline constexpr std::string_view kProblemContentType = "application/problem+json";

// The document {"type":...,"title":...,"status":...,"detail":...}, members in that order.
// Strings are JSON-escaped; bytes that are not valid UTF-8 become U+FFFD, so any detail
// (one that quotes a client's bytes, say) can be sent. Thread-safe.
std::string ProblemJson(std::string_view type, std::string_view title, int status,
                        std::string_view detail);

// An answer with `status`, Content-Type application/problem+json, the extra `headers`
// (Retry-After, WWW-Authenticate, ...) and ProblemJson() as its body.
HttpResponse Problem(int status, std::string_view type, std::string_view title,
                     std::string_view detail,
                     std::vector<std::pair<std::string, std::string>> headers = {});

}  // namespace masa::queue
