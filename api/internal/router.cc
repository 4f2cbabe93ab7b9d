#include "api/internal/router.h"

#include <algorithm>

namespace masa::api::internal {
namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path[0] != '/') return segments;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

bool IsParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

int LiteralCount(std::string_view path_template) {
  int n = 0;
  for (std::string_view s : Split(path_template)) n += IsParam(s) ? 0 : 1;
  return n;
}

}  // namespace

std::vector<std::string> PathParamNames(std::string_view path_template) {
  std::vector<std::string> names;
  for (std::string_view s : Split(path_template)) {
    if (IsParam(s)) names.emplace_back(s.substr(1, s.size() - 2));
  }
  return names;
}

bool MatchPath(std::string_view path_template, std::string_view path,
               std::map<std::string, std::string>* params) {
  std::vector<std::string_view> t = Split(path_template);
  std::vector<std::string_view> p = Split(path);
  if (t.size() != p.size() || t.empty()) return false;
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < t.size(); ++i) {
    if (IsParam(t[i])) {
      if (p[i].empty()) return false;
      found.emplace(std::string(t[i].substr(1, t[i].size() - 2)), std::string(p[i]));
    } else if (t[i] != p[i]) {
      return false;
    }
  }
  if (params != nullptr) *params = std::move(found);
  return true;
}

RouteLookup FindRoute(const std::vector<RouteSpec>& routes, std::string_view method,
                      std::string_view path) {
  RouteLookup lookup;
  int best_literals = -1;
  for (size_t i = 0; i < routes.size(); ++i) {
    std::map<std::string, std::string> params;
    if (!MatchPath(routes[i].path, path, &params)) continue;
    if (routes[i].method != method) {
      if (std::find(lookup.allowed.begin(), lookup.allowed.end(), routes[i].method) ==
          lookup.allowed.end()) {
        lookup.allowed.push_back(routes[i].method);
      }
      continue;
    }
    int literals = LiteralCount(routes[i].path);
    if (literals > best_literals) {
      best_literals = literals;
      lookup.index = static_cast<int>(i);
      lookup.params = std::move(params);
    }
  }
  if (lookup.index >= 0) {
    lookup.allowed.clear();
  } else {
    std::sort(lookup.allowed.begin(), lookup.allowed.end());
  }
  return lookup;
}

}  // namespace masa::api::internal
