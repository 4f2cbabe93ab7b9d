#include "queue/internal/problem.h"

#include "absl/strings/str_cat.h"

namespace masa::queue::internal {
namespace {

// RFC 9110 section 15 reason phrases of the statuses the server answers itself.
const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
  }
  return "Error";
}

}  // namespace

std::string ClosingAnswerBytes(const HttpResponse& response, absl::Time now) {
  std::string out =
      absl::StrCat("HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status), "\r\nDate: ",
                   absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", now, absl::UTCTimeZone()), "\r\n");
  if (!response.content_type.empty()) {
    absl::StrAppend(&out, "Content-Type: ", response.content_type, "\r\n");
  }
  absl::StrAppend(&out, "Content-Length: ", response.body.size(), "\r\nConnection: close\r\n");
  for (const auto& [name, value] : response.headers) {
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  absl::StrAppend(&out, "\r\n", response.body);
  return out;
}

HttpResponse HeadRefusal(const RequestHeadCheck& check, size_t max_header_bytes,
                         size_t max_body_bytes) {
  switch (check.verdict()) {
    case RequestHeadCheck::Verdict::kMalformed:
      return Problem(400, "urn:masa:problem:malformed-request", "Malformed request",
                     check.problem());
    case RequestHeadCheck::Verdict::kBodyTooLarge:
      return Problem(413, "urn:masa:problem:body-too-large", "Request body too large",
                     absl::StrCat("the request body (Content-Length: ", check.content_length(),
                                  ") is larger than the ", max_body_bytes, "-byte limit"));
    case RequestHeadCheck::Verdict::kRequestLineTooLong:
      return Problem(414, "urn:masa:problem:request-line-too-long", "Request line too long",
                     absl::StrCat("the request line (method, path and query) is longer "
                                  "than the ",
                                  max_header_bytes, "-byte limit"));
    default:
      return Problem(431, "urn:masa:problem:headers-too-large", "Request headers too large",
                     absl::StrCat("the request line and headers are larger than the ",
                                  max_header_bytes, "-byte limit"));
  }
}

}  // namespace masa::queue::internal
