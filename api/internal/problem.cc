#include "api/internal/problem.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "queue/work_queue.h"

namespace masa::api::internal {
namespace {

constexpr HttpErrorClass kInvalid{400, "urn:masa:problem:invalid-request", "Invalid request", false,
                                  true};
constexpr HttpErrorClass kUnauth{401, "urn:masa:problem:unauthenticated", "Authentication required",
                                 false, true};
constexpr HttpErrorClass kDenied{403, "urn:masa:problem:permission-denied", "Permission denied",
                                 false, true};
constexpr HttpErrorClass kNotFound{404, "urn:masa:problem:not-found", "Not found", false, true};
constexpr HttpErrorClass kExists{409, "urn:masa:problem:already-exists", "Conflict", false, true};
constexpr HttpErrorClass kPrecondition{409, "urn:masa:problem:failed-precondition",
                                       "Conflict with the current state", false, true};
constexpr HttpErrorClass kBusy{503, "urn:masa:problem:busy", "Service busy", true, true};
constexpr HttpErrorClass kUnavailable{503, "urn:masa:problem:unavailable", "Service unavailable",
                                      true, true};
constexpr HttpErrorClass kInternal{500, "urn:masa:problem:internal", "Internal error", false,
                                   false};

}  // namespace

const HttpErrorClass& ErrorClassFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return kInvalid;
    case absl::StatusCode::kUnauthenticated:
      return kUnauth;
    case absl::StatusCode::kPermissionDenied:
      return kDenied;
    case absl::StatusCode::kNotFound:
      return kNotFound;
    case absl::StatusCode::kAlreadyExists:
      return kExists;
    case absl::StatusCode::kFailedPrecondition:
      return kPrecondition;
    case absl::StatusCode::kResourceExhausted:
      return kBusy;
    case absl::StatusCode::kUnavailable:
      return kUnavailable;
    default:
      return kInternal;
  }
}

queue::HttpResponse ProblemResponse(const absl::Status& status, int retry_after_seconds) {
  const HttpErrorClass& error = ErrorClassFor(status.code());
  std::vector<std::pair<std::string, std::string>> headers;
  if (error.retry_after) {
    // The work queue's own estimate (the time its backlog takes to drain) when it refused.
    const int seconds = queue::RetryAfterSecondsOf(status).value_or(retry_after_seconds);
    headers.emplace_back("Retry-After", std::to_string(seconds > 0 ? seconds : 1));
  }
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    headers.emplace_back("WWW-Authenticate", "Bearer realm=\"masa\", error=\"invalid_token\"");
  }
  std::string detail;
  if (error.show_detail) {
    detail = std::string(status.message());
    if (detail.empty()) detail = std::string(error.title);
  } else {
    // Internal messages may name files, keys or library internals: log, never send.
    Log(LogLevel::kError, absl::StrCat("api: internal error answered 500: ", status.ToString()));
    detail =
        "The server could not complete the request. Nothing is wrong with the request "
        "itself; retry later, and tell the operator if this persists.";
  }
  return Problem(error.http_status, error.type, error.title, detail, std::move(headers));
}

}  // namespace masa::api::internal
