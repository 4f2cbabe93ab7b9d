// The small pieces every REST handler answers with: JSON bodies, file downloads, path
// parameters, and the refusal of query parameters a route does not take. Shared by the
// handler files of RestApiImpl (rest_api.cc, rest_api_keys.cc).
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/internal/codec.h"
#include "api/internal/json_body.h"
#include "api/internal/rest_api_impl.h"
#include "nlohmann/json.hpp"
#include "queue/http_server.h"

namespace masa::api::internal {

inline constexpr std::string_view kJson = "application/json";

inline queue::HttpResponse JsonResponse(int status, const nlohmann::json& body) {
  queue::HttpResponse r;
  r.status = status;
  r.content_type = std::string(kJson);
  r.body = Dump(body);
  return r;
}

inline queue::HttpResponse Ok(const nlohmann::json& body) { return JsonResponse(200, body); }

// {"ok": true, member: value}
inline nlohmann::json OkWith(std::string_view member, nlohmann::json value) {
  return nlohmann::json{{"ok", true}, {std::string(member), std::move(value)}};
}

// A download: `body` as `content_type`, saved by a browser as `filename`.
inline queue::HttpResponse FileResponse(std::string_view content_type, std::string filename,
                                        std::string body) {
  queue::HttpResponse r;
  r.status = 200;
  r.content_type = std::string(content_type);
  r.headers.emplace_back("Content-Disposition",
                         absl::StrCat("attachment; filename=\"", filename, "\""));
  r.body = std::move(body);
  return r;
}

// The path parameter `name` of the call's route ("" when the route has none of that name).
inline const std::string& Param(const Call& call, const std::string& name) {
  static const std::string kEmpty;
  auto it = call.params.find(name);
  return it == call.params.end() ? kEmpty : it->second;
}

// Routes with no query parameters refuse any; routes with a body-less method refuse a body
// so a client mistake (parameters sent in the wrong place) is visible.
inline absl::Status NoQuery(const Call& call) { return DecodeNoQuery(call.request.query); }

}  // namespace masa::api::internal
