#include "api/web/internal/provider_http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strict_json.h"
#include "common/utf8.h"

namespace masa::api::web::internal {
namespace {

using nlohmann::json;

constexpr int kMaxJsonDepth = 16;

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct CurlStringDeleter {
  void operator()(char* s) const { curl_free(s); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

void Wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

void GlobalInit() {
  // Once per process; curl_global_init of libcurl 7.84+ is thread-safe, this keeps it to once.
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

std::optional<std::string> UrlPart(CURLU* u, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(u, part, &value, 0) != CURLUE_OK || value == nullptr) return std::nullopt;
  CurlString owned(value);
  return std::string(value);
}

bool IsLoopbackHost(std::string host) {
  host = absl::AsciiStrToLower(host);
  if (host == "localhost") return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    in6_addr a6;
    return inet_pton(AF_INET6, host.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
  }
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

struct Sink {
  std::string body;
  bool too_large = false;
};

size_t Write(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t n = size * count;
  if (sink->body.size() + n > kMaxProviderAnswerBytes) {
    sink->too_large = true;
    return 0;  // CURLE_WRITE_ERROR
  }
  sink->body.append(data, n);
  return n;
}

}  // namespace

absl::Status CheckProviderUrl(std::string_view url, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(what), " \"", ShowUntrusted(url, 200), "\" ", Sv(why)));
  };
  if (url.empty()) return absl::InvalidArgumentError(absl::StrCat(Sv(what), " is empty"));
  if (url.size() > 2048) return bad("is longer than 2048 characters");
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  if (u == nullptr) return absl::ResourceExhaustedError("out of memory parsing a URL");
  // What libcurl would mend, and a browser or a person might read otherwise, is refused:
  // white space, control characters and bytes beyond ASCII (a URL is ASCII; the rest is
  // percent-encoded), and "https:/host" or "https:///host", which libcurl reads as
  // "https://host" and RFC 3986 as a URL without a host.
  if (!std::all_of(url.begin(), url.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return bad("holds a space, a control character or a byte beyond ASCII");
  }
  size_t colon = url.find(':');
  std::string text(url);
  if (colon == std::string_view::npos || url.substr(colon, 3) != "://" ||
      url.substr(colon + 3, 1) == "/" ||
      curl_url_set(u.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return bad("is not an absolute URL (scheme://host/...)");
  }
  std::string scheme = absl::AsciiStrToLower(UrlPart(u.get(), CURLUPART_SCHEME).value_or(""));
  std::string host = UrlPart(u.get(), CURLUPART_HOST).value_or("");
  if (UrlPart(u.get(), CURLUPART_USER) || UrlPart(u.get(), CURLUPART_PASSWORD)) {
    return bad("carries a user name or password");
  }
  if (UrlPart(u.get(), CURLUPART_FRAGMENT)) return bad("has a fragment (#...)");
  if (host.empty()) return bad("has no host");
  if (scheme == "https") return absl::OkStatus();
  if (scheme == "http" && IsLoopbackHost(host)) return absl::OkStatus();
  if (scheme == "http") return bad("is plain http to a host that is not loopback; use https");
  return bad("is not an https URL");
}

bool IsLoopbackHttpUrl(std::string_view url) {
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  std::string text(url);
  if (u == nullptr || curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return false;
  }
  return absl::AsciiStrToLower(UrlPart(u.get(), CURLUPART_SCHEME).value_or("")) == "http" &&
         IsLoopbackHost(UrlPart(u.get(), CURLUPART_HOST).value_or(""));
}

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) { GlobalInit(); }

absl::StatusOr<HttpAnswer> HttpClient::Get(const std::string& url,
                                           std::string_view authorization) const {
  return Perform(url, nullptr, authorization);
}

absl::StatusOr<HttpAnswer> HttpClient::PostForm(const std::string& url, std::string_view form,
                                                std::string_view authorization) const {
  std::string body(form);
  absl::StatusOr<HttpAnswer> answer = Perform(url, &body, authorization);
  Wipe(body);
  return answer;
}

absl::StatusOr<HttpAnswer> HttpClient::Perform(const std::string& url, const std::string* form,
                                               std::string_view authorization) const {
  MASA_RETURN_IF_ERROR(CheckProviderUrl(url, "the provider URL"));
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (curl == nullptr) return absl::ResourceExhaustedError("cannot start an HTTP request");
  CURL* c = curl.get();
  const bool loopback_http = IsLoopbackHttpUrl(url);
  Sink sink;
  char error[CURL_ERROR_SIZE] = {0};
  std::string auth_header;
  std::unique_ptr<curl_slist, CurlSlistDeleter> headers;
  auto add_header = [&](const char* line) {
    curl_slist* next = curl_slist_append(headers.get(), line);
    if (next != nullptr) {
      (void)headers.release();
      headers.reset(next);
    }
    return next != nullptr;
  };
  bool ok = add_header("Accept: application/json");
  if (!authorization.empty()) {
    auth_header = absl::StrCat("Authorization: ", Sv(authorization));
    ok = ok && add_header(auth_header.c_str());
  }
  const long timeout_ms = std::max<long>(1, absl::ToInt64Milliseconds(options_.timeout));
  ok = ok && curl_easy_setopt(c, CURLOPT_URL, url.c_str()) == CURLE_OK &&
       curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, loopback_http ? "http" : "https") == CURLE_OK &&
       curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
       curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
       curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
       curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) == CURLE_OK &&
       curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                        static_cast<curl_off_t>(kMaxProviderAnswerBytes)) == CURLE_OK &&
       curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Write) == CURLE_OK &&
       curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink) == CURLE_OK &&
       curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error) == CURLE_OK &&
       curl_easy_setopt(c, CURLOPT_USERAGENT, "masad") == CURLE_OK &&
       curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get()) == CURLE_OK &&
       curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
       curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
  // A loopback provider is reached directly, whatever proxy the environment names.
  if (ok && loopback_http) ok = curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK;
  if (ok && !options_.ca_file.empty()) {
    ok = curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str()) == CURLE_OK;
  }
  if (ok && form != nullptr) {
    ok = curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(form->size())) ==
             CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_POSTFIELDS, form->c_str()) == CURLE_OK;
  }
  if (!ok) {
    Wipe(auth_header);
    return absl::InternalError(absl::StrCat("cannot set up the HTTP request to ", url));
  }
  CURLcode rc = curl_easy_perform(c);
  Wipe(auth_header);
  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return absl::UnavailableError(
        absl::StrCat(url, " answered more than ", kMaxProviderAnswerBytes / 1024, " KiB"));
  }
  if (rc != CURLE_OK) {
    std::string why = error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc);
    return absl::UnavailableError(
        absl::StrCat("cannot reach ", url, ": ", ShowUntrusted(why, 200)));
  }
  HttpAnswer answer;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &answer.status);
  answer.body = std::move(sink.body);
  return answer;
}

absl::StatusOr<json> ParseProviderJson(std::string_view body, std::string_view what,
                                       absl::StatusCode code) {
  auto bad = [&](std::string_view why) {
    return absl::Status(code, absl::StrCat(Sv(what), " ", Sv(why)));
  };
  StrictJson parsed = ParseStrictJson(body, kMaxJsonDepth);
  switch (parsed.problem) {
    case StrictJson::Problem::kNone:
      break;
    case StrictJson::Problem::kNotUtf8:
      return bad("is not valid UTF-8");
    case StrictJson::Problem::kTooDeep:
      return bad(absl::StrCat("nests deeper than ", kMaxJsonDepth, " levels"));
    case StrictJson::Problem::kNotJson:
      if (parsed.error_byte == 0) return bad("is not valid JSON");
      return bad(absl::StrCat("is not valid JSON (at byte ", parsed.error_byte, ")"));
    case StrictJson::Problem::kDuplicateMember:
      return bad(absl::StrCat("has the member \"", ShowUntrusted(parsed.duplicate), "\" twice"));
  }
  json value = std::move(parsed.value);
  if (!value.is_object()) return bad(absl::StrCat("is not a JSON object but ", value.type_name()));
  return value;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace masa::api::web::internal
