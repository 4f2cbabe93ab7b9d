// The web application's files, from the web root ([web] root): GET / and /index.html answer
// index.html; /assets/<path> a file under assets/. Only plain names are served: no "..",
// no hidden file or folder (a segment starting with "."), no directory listing, nothing
// that resolves outside the root's assets/ (a symbolic link out of it), and only the types
// below; anything else is 404. Every answer says Cache-Control: no-cache (the browser
// revalidates, so an upgraded daemon's files are used at once).
#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/internal/problem.h"
#include "api/internal/rest_api_impl.h"
#include "common/file.h"

namespace masa::api::internal {
namespace {

using queue::HttpResponse;

// Content-Type by extension; nullptr for a type the web root does not serve.
const char* ContentTypeOf(std::string_view name) {
  static constexpr std::pair<std::string_view, const char*> kTypes[] = {
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".txt", "text/plain; charset=utf-8"},
      {".json", "application/json"},
      {".html", "text/html; charset=utf-8"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (name.ends_with(ext)) return type;
  }
  return nullptr;
}

bool PlainSegment(std::string_view segment) {
  if (segment.empty() || segment.front() == '.') return false;
  for (char c : segment) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
      return false;
    }
  }
  return true;
}

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) return "";
  return resolved;
}

HttpResponse NotFound() {
  return Problem(404, "urn:masa:problem:no-such-route", "Not found",
                 "No such file of the web application.");
}

}  // namespace

bool RestApiImpl::IsStaticPath(std::string_view path) {
  return path == "/" || path == "/index.html" || path.starts_with("/assets/");
}

absl::StatusOr<HttpResponse> RestApiImpl::StaticFile(Call& call) {
  const std::string& root = options_.web.root;
  if (root.empty()) {
    return Problem(404, "urn:masa:problem:no-such-route", "Not found",
                   "This daemon serves no web application ([web] root is not set); GET "
                   "/openapi.json lists the API.");
  }
  std::string file;
  std::string within;  // the folder the file must resolve into
  const char* type = nullptr;
  const std::string& path = call.request.path;
  if (path == "/" || path == "/index.html") {
    file = root + "/index.html";
    within = root;
    type = "text/html; charset=utf-8";
  } else {
    std::string rest = path.substr(std::string_view("/assets/").size());
    for (absl::string_view segment : absl::StrSplit(rest, '/')) {
      if (!PlainSegment(std::string_view(segment.data(), segment.size()))) return NotFound();
    }
    type = ContentTypeOf(rest);
    if (type == nullptr) return NotFound();
    file = absl::StrCat(root, "/assets/", rest);
    within = root + "/assets";
  }
  std::string real = RealPath(file);
  std::string real_within = RealPath(within);
  struct stat st;
  if (real.empty() || real_within.empty() || !absl::StartsWith(real, real_within + "/") ||
      stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return NotFound();
  }
  absl::StatusOr<std::string> body = ReadFile(real);
  if (!body.ok()) return NotFound();
  HttpResponse r;
  r.content_type = type;
  r.body = *std::move(body);
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace masa::api::internal
