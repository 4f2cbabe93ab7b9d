#include "queue/internal/problem.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace masa::queue::internal {
namespace {

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned char>(c));
          out->append(escaped);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// RFC 9110 section 15 reason phrases of the statuses the server answers itself.
const char* ReasonPhrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
  }
  return "Error";
}

}  // namespace

std::string ProblemJson(std::string_view type, std::string_view title, int status,
                        std::string_view detail) {
  std::string out = "{\"type\":";
  AppendJsonString(type, &out);
  out.append(",\"title\":");
  AppendJsonString(title, &out);
  absl::StrAppend(&out, ",\"status\":", status, ",\"detail\":");
  AppendJsonString(detail, &out);
  out.push_back('}');
  return out;
}

HttpResponse ServerProblem(int status, std::string_view type, std::string_view title,
                           std::string_view detail) {
  return HttpResponse{.status = status,
                      .content_type = std::string(kProblemContentType),
                      .headers = {},
                      .body = ProblemJson(type, title, status, detail)};
}

std::string ClosingAnswerBytes(const HttpResponse& response, absl::Time now) {
  std::string out = absl::StrCat(
      "HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status), "\r\nDate: ",
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

}  // namespace masa::queue::internal
