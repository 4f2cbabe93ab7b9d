#include "queue/internal/request_head.h"

#include <limits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace masa::queue::internal {
namespace {

// The methods whose body evhttp 2.1 reads (evhttp_method_may_have_body): all it knows but
// HEAD and TRACE. Method names are case-sensitive.
bool MayHaveBody(std::string_view method) {
  return method == "GET" || method == "POST" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS" || method == "CONNECT" || method == "PATCH";
}

// evhttp_parse_request_line's shape test: trailing spaces dropped, at least as long as
// "GET / HTTP/1.0", and method, target and version separated by spaces.
bool IsRequestLineShaped(std::string_view line) {
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
  if (line.size() < sizeof("GET / HTTP/1.0") - 1) return false;
  size_t first = line.find(' ');
  size_t last = line.rfind(' ');
  return first != std::string_view::npos && last > first + 1;
}

// A control character other than HTAB (RFC 9110 section 5.5: field values hold none; RFC
// 9112 section 2.2: a bare CR is an error).
bool HasControl(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return true;
  }
  return false;
}

// tchar of RFC 9110 section 5.6.2.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

RequestHeadCheck::RequestHeadCheck(size_t max_header_bytes, size_t max_body_bytes)
    : max_header_bytes_(max_header_bytes), max_body_bytes_(max_body_bytes) {}

void RequestHeadCheck::Reset() {
  verdict_ = Verdict::kIncomplete;
  problem_.clear();
  line_ = std::string();  // a long line's buffer is not kept for the connection's life
  counted_ = 0;
  request_line_seen_ = false;
  body_method_ = false;
  http10_ = false;
  http11_ = false;
  head_method_ = false;
  hosts_ = 0;
  content_length_header_.reset();
  transfer_encoding_header_.reset();
  content_length_ = 0;
}

RequestHeadCheck::Verdict RequestHeadCheck::Malformed(std::string problem) {
  problem_ = std::move(problem);
  return Verdict::kMalformed;
}

RequestHeadCheck::Verdict RequestHeadCheck::Feed(std::string_view bytes) {
  while (verdict_ == Verdict::kIncomplete && !bytes.empty()) {
    const Verdict too_large =
        request_line_seen_ ? Verdict::kHeadTooLarge : Verdict::kRequestLineTooLong;
    size_t eol = bytes.find('\n');
    if (eol == std::string_view::npos) {
      // evhttp counts an unfinished line with every byte it has of it.
      if (counted_ + line_.size() + bytes.size() > max_header_bytes_) {
        verdict_ = too_large;
      } else {
        line_.append(bytes.data(), bytes.size());
      }
      break;
    }
    std::string_view tail = bytes.substr(0, eol);
    bytes.remove_prefix(eol + 1);
    bool cr = tail.empty() ? (!line_.empty() && line_.back() == '\r') : tail.back() == '\r';
    size_t length = line_.size() + tail.size() - (cr ? 1 : 0);
    if (counted_ + length > max_header_bytes_) {
      verdict_ = too_large;
      break;
    }
    if (!cr) {
      verdict_ = Malformed(
          "a line of the request head ends in a bare LF; HTTP/1.1 lines end in CR LF "
          "(RFC 9112 section 2.2)");
      break;
    }
    line_.append(tail.data(), tail.size());
    line_.pop_back();
    verdict_ = TakeLine();
    line_.clear();
  }
  return verdict_;
}

RequestHeadCheck::Verdict RequestHeadCheck::TakeLine() {
  counted_ += line_.size();
  if (!request_line_seen_) {
    request_line_seen_ = true;
    return TakeRequestLine();
  }
  if (line_.empty()) return JudgeBody();
  return TakeHeader();
}

RequestHeadCheck::Verdict RequestHeadCheck::TakeRequestLine() {
  if (HasControl(line_)) {
    return Malformed("the request line holds a control character (NUL, CR, ...)");
  }
  if (!IsRequestLineShaped(line_)) return Verdict::kFits;  // evhttp answers 400
  std::string_view line = line_;
  size_t first = line.find(' ');
  size_t last = line.rfind(' ');
  std::string_view method = line.substr(0, first);
  std::string_view target = line.substr(first + 1, last - first - 1);
  std::string_view version = line.substr(last + 1);
  if (!IsToken(method) || target.empty() || target.find(' ') != std::string_view::npos ||
      version.empty()) {
    return Malformed(
        "the request line must be METHOD SP TARGET SP HTTP-VERSION, with single spaces "
        "(RFC 9112 section 3)");
  }
  if (target.front() != '/' && !(target == "*" && method == "OPTIONS")) {
    if (target.find("://") != std::string_view::npos) {
      return Malformed(
          "the request target is in absolute form (scheme://host/...); this server is no "
          "proxy: send the path alone, starting with '/', and the host in Host");
    }
    return Malformed("the request target must be a path starting with '/'");
  }
  body_method_ = MayHaveBody(method);
  http10_ = version == "HTTP/1.0";
  http11_ = version == "HTTP/1.1";
  head_method_ = method == "HEAD";
  return Verdict::kIncomplete;
}

RequestHeadCheck::Verdict RequestHeadCheck::TakeHeader() {
  if (line_[0] == ' ' || line_[0] == '\t') {
    return Malformed(
        "a header line starts with white space (obs-fold, or white space after the request "
        "line); RFC 9112 sections 2.2 and 5.2 forbid it");
  }
  size_t colon = line_.find(':');
  if (colon == std::string::npos) return Malformed("a header line has no colon");
  std::string_view name = std::string_view(line_).substr(0, colon);
  if (!IsToken(name)) {
    return Malformed(
        "a header name must be a token followed at once by ':' (no white space or control "
        "character in it or before the colon)");
  }
  std::string_view value = std::string_view(line_).substr(colon + 1);
  if (HasControl(value)) {
    return Malformed(absl::StrCat("the value of header ", Sv(name),
                                  " holds a control character (NUL, CR, ...); only HTAB is "
                                  "allowed"));
  }
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (absl::EqualsIgnoreCase(Sv(name), "Content-Length")) {
    if (content_length_header_) return Malformed("more than one Content-Length header");
    if (!IsDigits(value)) {
      return Malformed("Content-Length must be a decimal number: digits only, no sign or list");
    }
    content_length_header_.emplace(value);
  } else if (absl::EqualsIgnoreCase(Sv(name), "Transfer-Encoding")) {
    if (transfer_encoding_header_) return Malformed("more than one Transfer-Encoding header");
    if (!absl::EqualsIgnoreCase(Sv(value), "chunked")) {
      return Malformed(
          "Transfer-Encoding must be exactly \"chunked\"; this server takes no other transfer "
          "coding");
    }
    transfer_encoding_header_.emplace(value);
  } else if (absl::EqualsIgnoreCase(Sv(name), "Host")) {
    if (++hosts_ > 1) return Malformed("more than one Host header (RFC 9112 section 3.2)");
  }
  return Verdict::kIncomplete;
}

RequestHeadCheck::Verdict RequestHeadCheck::JudgeBody() {
  if (http11_ && hosts_ == 0) {
    return Malformed("an HTTP/1.1 request needs a Host header (RFC 9112 section 3.2)");
  }
  if (content_length_header_ && transfer_encoding_header_) {
    return Malformed(
        "Content-Length and Transfer-Encoding together make the body's length ambiguous "
        "(RFC 9112 section 6.3); send one");
  }
  if (transfer_encoding_header_ && http10_) {
    return Malformed("Transfer-Encoding in an HTTP/1.0 request (RFC 9112 section 6.1)");
  }
  // evhttp reads no body for HEAD: what follows would be taken as the next request.
  if (head_method_ && (transfer_encoding_header_ ||
                       (content_length_header_ &&
                        content_length_header_->find_first_not_of('0') != std::string::npos))) {
    return Malformed("a HEAD request carries no body");
  }
  if (!body_method_) return Verdict::kFits;
  // A chunked body's size is only known as its chunks arrive: evhttp's limit applies.
  if (transfer_encoding_header_ || !content_length_header_) return Verdict::kFits;
  uint64_t n = 0;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (char c : *content_length_header_) {
    uint64_t digit = static_cast<uint64_t>(c - '0');
    n = n > (kMax - digit) / 10 ? kMax : n * 10 + digit;
  }
  if (n <= max_body_bytes_) return Verdict::kFits;
  content_length_ = n;
  return Verdict::kBodyTooLarge;
}

}  // namespace masa::queue::internal
