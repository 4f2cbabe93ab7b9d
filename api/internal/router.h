// Path templates ("/voucher/{voucher_id}/download") and the lookup of a request's route.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace masa::api::internal {

// One row of the route table, as data: what the OpenAPI document must describe.
struct RouteSpec {
  std::string method;        // "GET", "POST", "DELETE"
  std::string path;          // template; a segment "{name}" matches one non-empty segment
  std::string operation_id;  // the OpenAPI operationId
};

// The parameter names of a template in order: "/a/{x}/b/{y}" -> {"x", "y"}.
std::vector<std::string> PathParamNames(std::string_view path_template);

// True when `path` matches `path_template`; fills `params` (name -> segment).
bool MatchPath(std::string_view path_template, std::string_view path,
               std::map<std::string, std::string>* params);

struct RouteLookup {
  int index = -1;                             // into the table; -1 when none fits
  std::map<std::string, std::string> params;  // when index >= 0
  std::vector<std::string> allowed;           // methods of the path when index < 0
};

// The route for (method, path). Among several templates matching the path the one with
// more literal segments wins ("/request/ov" before "/request/{req_id}"). index < 0 and
// `allowed` empty: no such path (404); `allowed` non-empty: wrong method (405).
RouteLookup FindRoute(const std::vector<RouteSpec>& routes, std::string_view method,
                      std::string_view path);

}  // namespace masa::api::internal
