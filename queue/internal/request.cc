#include "queue/internal/request.h"

#include <cctype>
#include <cstring>
#include <string>
#include <utility>

#include <sys/queue.h>  // TAILQ_* for libevent's evkeyvalq

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "queue/internal/libevent.h"
#include "queue/internal/request_target.h"

namespace masa::queue::internal {
namespace {

const char* MethodName(evhttp_cmd_type cmd) {
  switch (cmd) {
    case EVHTTP_REQ_GET:
      return "GET";
    case EVHTTP_REQ_POST:
      return "POST";
    case EVHTTP_REQ_HEAD:
      return "HEAD";
    case EVHTTP_REQ_PUT:
      return "PUT";
    case EVHTTP_REQ_DELETE:
      return "DELETE";
    case EVHTTP_REQ_OPTIONS:
      return "OPTIONS";
    case EVHTTP_REQ_TRACE:
      return "TRACE";
    case EVHTTP_REQ_CONNECT:
      return "CONNECT";
    case EVHTTP_REQ_PATCH:
      return "PATCH";
  }
  return "";
}

std::string Lower(const char* s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

absl::StatusOr<HttpRequest> DecodeRequest(evhttp_request* req) {
  HttpRequest out;
  out.method = MethodName(evhttp_request_get_command(req));

  const char* raw_target = evhttp_request_get_uri(req);
  if (raw_target == nullptr) return absl::InvalidArgumentError("the request has no target");
  absl::StatusOr<RequestTarget> target = DecodeRequestTarget(raw_target);
  if (!target.ok()) return target.status();
  out.path = std::move(target->path);
  out.query = std::move(target->query);

  evkeyvalq* headers = evhttp_request_get_input_headers(req);
  for (evkeyval* kv = TAILQ_FIRST(headers); kv != nullptr; kv = TAILQ_NEXT(kv, next)) {
    auto [it, inserted] = out.headers.emplace(Lower(kv->key), kv->value);
    if (!inserted) it->second = absl::StrCat(it->second, ", ", kv->value);
  }

  evbuffer* body = evhttp_request_get_input_buffer(req);
  size_t body_len = evbuffer_get_length(body);
  if (body_len > 0) {
    out.body.resize(body_len);
    evbuffer_copyout(body, out.body.data(), body_len);
  }
  return out;
}

absl::Status EncodeResponse(const HttpResponse& response, evhttp_request* req, evbuffer* body) {
  if (response.status < 100 || response.status > 599) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP status ", response.status, " is not valid"));
  }
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  if (!response.content_type.empty() &&
      evhttp_add_header(headers, "Content-Type", response.content_type.c_str()) != 0) {
    return absl::InvalidArgumentError("the Content-Type holds CR or LF");
  }
  for (const auto& [name, value] : response.headers) {
    // libevent computes these itself; a second copy would corrupt the framing.
    std::string lower = Lower(name.c_str());
    if (lower == "content-length" || lower == "transfer-encoding") continue;
    if (name.find_first_of(":\r\n") != std::string::npos ||
        evhttp_add_header(headers, name.c_str(), value.c_str()) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("response header '", name, "' is not valid"));
    }
  }
  if (!response.body.empty() &&
      evbuffer_add(body, response.body.data(), response.body.size()) != 0) {
    return absl::ResourceExhaustedError("no memory for the response body");
  }
  return absl::OkStatus();
}

}  // namespace masa::queue::internal
