// What the OpenID Connect relying party (api/web/oidc.cc) needs to talk to an identity
// provider: which URLs it may reach, an HTTP client with libcurl kept to those, and a JSON
// reader for the provider's answers. Every failure message names the URL (never a secret:
// none goes into a URL) and says what was wrong.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace masa::api::web::internal {

// The most the relying party reads of any answer of the provider.
inline constexpr size_t kMaxProviderAnswerBytes = 1024 * 1024;

// What a URL of the provider (issuer, endpoints, JWKS) must be: an absolute https URL
// ("https://host..."), or http when its host is a loopback name or address (127.0.0.0/8,
// ::1, localhost); printable ASCII only, no user info, no fragment. kInvalidArgument names
// `what` and says what was wrong.
absl::Status CheckProviderUrl(std::string_view url, std::string_view what);
bool IsLoopbackHttpUrl(std::string_view url);

struct HttpAnswer {
  long status = 0;
  std::string body;
};

struct HttpClientOptions {
  std::string ca_file;  // "" = the system's CAs
  absl::Duration timeout = absl::Seconds(10);
};

// One libcurl easy handle per call: thread-safe. Only https (http for a loopback URL, and
// then without any proxy), no redirects followed, the whole exchange within `timeout`, at
// most kMaxProviderAnswerBytes of body. kUnavailable (naming the URL and curl's reason) when
// the provider cannot be reached or answers too much; any HTTP status is an answer.
class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);

  // `authorization`, when not empty, is the Authorization header's value (a secret).
  absl::StatusOr<HttpAnswer> Get(const std::string& url, std::string_view authorization = "") const;
  // POST application/x-www-form-urlencoded `form`, with `authorization` as the
  // Authorization header's value when not empty. Both may hold secrets: neither is logged
  // nor put into a message.
  absl::StatusOr<HttpAnswer> PostForm(const std::string& url, std::string_view form,
                                      std::string_view authorization) const;

 private:
  absl::StatusOr<HttpAnswer> Perform(const std::string& url, const std::string* form,
                                     std::string_view authorization) const;
  HttpClientOptions options_;
};

// Parses a provider's answer as one JSON object: valid UTF-8, nested at most 16 deep, no key
// twice in one object (two readers could pick different ones). kUnavailable naming `what`
// ("the discovery document at https://...") otherwise.
absl::StatusOr<nlohmann::json> ParseProviderJson(
    std::string_view body, std::string_view what,
    absl::StatusCode code = absl::StatusCode::kUnavailable);

// RFC 3986 percent-encoding of everything but the unreserved characters (A-Z a-z 0-9 - . _ ~):
// query parameters, and application/x-www-form-urlencoded values (RFC 6749 appendix B).
std::string PercentEncode(std::string_view text);

}  // namespace masa::api::web::internal
