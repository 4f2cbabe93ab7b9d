#include "queue/problem.h"

#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/utf8.h"

namespace masa::queue {

std::string ProblemJson(std::string_view type, std::string_view title, int status,
                        std::string_view detail) {
  std::string out = "{\"type\":";
  AppendJsonString(&out, RepairUtf8(type));
  out.append(",\"title\":");
  AppendJsonString(&out, RepairUtf8(title));
  absl::StrAppend(&out, ",\"status\":", status, ",\"detail\":");
  AppendJsonString(&out, RepairUtf8(detail));
  out.push_back('}');
  return out;
}

HttpResponse Problem(int status, std::string_view type, std::string_view title,
                     std::string_view detail,
                     std::vector<std::pair<std::string, std::string>> headers) {
  return HttpResponse{.status = status,
                      .content_type = std::string(kProblemContentType),
                      .headers = std::move(headers),
                      .body = ProblemJson(type, title, status, detail)};
}

}  // namespace masa::queue
