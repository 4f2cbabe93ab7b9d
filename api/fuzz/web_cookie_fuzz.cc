// Fuzzes what the web application reads of a request's headers before anything else does
// (api/web/session_cookie.h): the Cookie header (CookieOf, for the session and the sign-in
// cookie), the CSRF token and the Origin check (CheckCsrf, CheckOrigin). The first input
// byte picks the method (GET, HEAD, POST, DELETE: bits 0-1), TLS (bit 2), whether an Origin
// header is sent (bit 3), an X-CSRF-Token header (bit 4), the right token for the cookie's
// secret in it (bit 5), the daemon's own origin in another case as the Origin (bit 6) and a
// Cookie header (bit 7); the rest is split at NULs into the Cookie, Origin, Host and
// X-CSRF-Token values. Beyond not crashing, it asserts:
//  - a cookie value found is not empty, holds no ';', and is exactly what one "name=value"
//    pair of the header carried (value quoted or not);
//  - other cookies do not change it: not in front of it, not behind it, not even those whose
//    names differ from it only in case, by a prefix or a suffix; a cookie of the name put in
//    front wins, and one put behind never replaces a value found;
//  - CheckOrigin passes exactly when no Origin is sent or it is "http(s)://" + Host, without
//    regard to case;
//  - CheckCsrf passes GET and HEAD; any other method passes exactly when X-CSRF-Token is
//    CsrfTokenFor(the cookie's secret) and CheckOrigin passes, and otherwise gets
//    kPermissionDenied with one printable line that stays the same for another secret and
//    another token (so it quotes neither), and a 403 problem from CsrfProblem;
//  - CsrfTokenFor is 43 base64url characters, the same for the same secret and another for
//    another.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "api/web/session_cookie.h"
#include "common/testing/fuzz.h"
#include "queue/http_server.h"

namespace {

using masa::api::web::CheckCsrf;
using masa::api::web::CheckOrigin;
using masa::api::web::CookieOf;
using masa::api::web::CsrfProblem;
using masa::api::web::CsrfTokenFor;
using masa::api::web::kCsrfHeader;
using masa::api::web::kOidcCookie;
using masa::api::web::kSessionCookie;
using masa::queue::HttpRequest;
using masa::testing::IsPrintableLine;

// The secret CheckCsrf is judged with when the request carries no session cookie.
constexpr std::string_view kNoCookieSecret = "a-secret-of-no-cookie";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string FlipCase(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    unsigned char c = static_cast<unsigned char>(ch);
    ch = static_cast<char>(std::isupper(c) ? std::tolower(c) : std::toupper(c));
  }
  return out;
}

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::string_view Strip(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

// Whether one ';'-separated pair of `cookie` is name=value or name="value".
bool SomePairCarries(std::string_view cookie, std::string_view name, const std::string& value) {
  std::string plain = std::string(name) + "=" + value;
  std::string quoted = std::string(name) + "=\"" + value + "\"";
  while (true) {
    size_t semicolon = cookie.find(';');
    std::string_view pair = Strip(cookie.substr(0, semicolon));
    if (pair == plain || pair == quoted) return true;
    if (semicolon == std::string_view::npos) return false;
    cookie.remove_prefix(semicolon + 1);
  }
}

HttpRequest WithCookie(const HttpRequest& request, const std::string& cookie) {
  HttpRequest changed = request;
  changed.headers["cookie"] = cookie;
  return changed;
}

void CheckCookie(const HttpRequest& request, std::string_view name, std::string_view plain) {
  std::optional<std::string> value = CookieOf(request, name);
  auto it = request.headers.find("cookie");
  std::string cookie = it == request.headers.end() ? "" : it->second;
  if (value) {
    if (value->empty() || value->find(';') != std::string::npos) abort();
    if (!SomePairCarries(cookie, name, *value)) abort();
  }
  std::string n(name);
  for (const std::string& other :
       {std::string("theme=dark"), "x" + n + "=other", n + "x=other", Lower(n) + "=other",
        n.substr(0, 8) + "=other", std::string(" ; ;"), n + "; theme=" + n}) {
    if (CookieOf(WithCookie(request, other + "; " + cookie), name) != value) abort();
    if (CookieOf(WithCookie(request, cookie + "; " + other), name) != value) abort();
  }
  std::string front = n + "=" + std::string(plain) + "; " + cookie;
  if (CookieOf(WithCookie(request, front), name) != std::string(plain)) abort();
  if (value && CookieOf(WithCookie(request, cookie + "; " + front), name) != value) abort();
}

void CheckOriginVerdict(const HttpRequest& request) {
  absl::Status status = CheckOrigin(request);
  auto origin = request.headers.find("origin");
  auto host = request.headers.find("host");
  std::string own = std::string(request.tls ? "https://" : "http://") +
                    (host == request.headers.end() ? "" : host->second);
  bool same = origin == request.headers.end() || Lower(origin->second) == Lower(own);
  if (status.ok() != same) abort();
  if (!status.ok() && (status.code() != absl::StatusCode::kPermissionDenied ||
                       !IsPrintableLine(std::string(status.message())))) {
    abort();
  }
}

HttpRequest WithToken(const HttpRequest& request, const std::string& token) {
  HttpRequest changed = request;
  changed.headers[kCsrfHeader] = token;
  return changed;
}

void CheckCsrfVerdict(const HttpRequest& request, const std::string& secret) {
  std::string token = CsrfTokenFor(secret);
  if (token.size() != 43) abort();
  for (char c : token) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') abort();
  }
  if (CsrfTokenFor(std::string(secret)) != token || CsrfTokenFor(secret + "x") == token) abort();

  absl::Status status = CheckCsrf(request, secret);
  if (request.method == "GET" || request.method == "HEAD") {
    if (!status.ok()) abort();
    return;
  }
  auto sent = request.headers.find(kCsrfHeader);
  bool has_token = sent != request.headers.end() && !sent->second.empty();
  bool right = has_token && sent->second == token;
  if (right) {
    absl::Status origin = CheckOrigin(request);
    if (status.code() != origin.code() || status.message() != origin.message()) abort();
  } else if (status.ok()) {
    abort();
  }
  if (status.ok()) return;
  if (status.code() != absl::StatusCode::kPermissionDenied ||
      !IsPrintableLine(std::string(status.message()))) {
    abort();
  }
  if (CsrfProblem(status).status != 403) abort();
  // The same refusal for another secret (and, where the token was wrong, another wrong
  // token; where it was right, the other secret's right token): it quotes neither.
  std::string other_secret = secret + "-other";
  HttpRequest other = request;
  if (right) other = WithToken(request, CsrfTokenFor(other_secret));
  if (has_token && !right) other = WithToken(request, "a-wrong-token");
  absl::Status again = CheckCsrf(other, other_secret);
  if (again.code() != status.code() || again.message() != status.message()) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> fields;
  for (int i = 0; i < 4; ++i) {
    size_t nul = i < 3 ? rest.find('\0') : std::string_view::npos;
    fields.emplace_back(rest.substr(0, nul));
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }
  static constexpr const char* kMethods[] = {"GET", "HEAD", "POST", "DELETE"};
  HttpRequest request;
  request.method = kMethods[flags & 3];
  request.tls = (flags & 4) != 0;
  if (flags & 0x80) request.headers["cookie"] = fields[0];
  if (!fields[2].empty()) request.headers["host"] = fields[2];
  if (flags & 8) {
    request.headers["origin"] =
        (flags & 0x40) ? FlipCase(masa::api::web::OwnOrigin(request)) : fields[1];
  }

  // A cookie value with no separator in it, made of the input's letters and digits.
  std::string plain;
  for (char c : fields[0]) {
    if (std::isalnum(static_cast<unsigned char>(c))) plain += c;
  }
  if (plain.empty()) plain = "v";
  CheckCookie(request, kSessionCookie, plain);
  CheckCookie(request, kOidcCookie, plain);

  std::string secret(CookieOf(request, kSessionCookie).value_or(std::string(kNoCookieSecret)));
  if (flags & 0x20) {
    request.headers[kCsrfHeader] = CsrfTokenFor(secret);
  } else if (flags & 0x10) {
    request.headers[kCsrfHeader] = fields[3];
  }
  CheckOriginVerdict(request);
  CheckCsrfVerdict(request, secret);
  return 0;
}
