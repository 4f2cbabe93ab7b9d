#include "queue/internal/request_head.h"

#include <limits>

#include "absl/strings/match.h"
#include "common/status.h"

namespace masa::queue::internal {
namespace {

// The methods whose body evhttp 2.1 reads (evhttp_method_may_have_body): all it knows but
// HEAD and TRACE. Method names are case-sensitive.
bool MayHaveBody(std::string_view method) {
  return method == "GET" || method == "POST" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS" || method == "CONNECT" || method == "PATCH";
}

// isspace() in the C locale, as strtoll() skips it.
bool IsCSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
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

}  // namespace

RequestHeadCheck::RequestHeadCheck(size_t max_header_bytes, size_t max_body_bytes)
    : max_header_bytes_(max_header_bytes), max_body_bytes_(max_body_bytes) {}

void RequestHeadCheck::Reset() {
  verdict_ = Verdict::kIncomplete;
  line_ = std::string();  // a long line's buffer is not kept for the connection's life
  counted_ = 0;
  request_line_seen_ = false;
  body_method_ = false;
  content_length_header_.reset();
  transfer_encoding_header_.reset();
  last_header_ = LastHeader::kNone;
  length_header_folded_ = false;
  content_length_ = 0;
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
    line_.append(tail.data(), tail.size());
    if (cr) line_.pop_back();
    verdict_ = TakeLine();
    line_.clear();
  }
  return verdict_;
}

RequestHeadCheck::Verdict RequestHeadCheck::TakeLine() {
  counted_ += line_.size();
  if (!request_line_seen_) {
    request_line_seen_ = true;
    if (!IsRequestLineShaped(line_)) return Verdict::kFits;  // evhttp answers 400
    body_method_ = MayHaveBody(std::string_view(line_).substr(0, line_.find(' ')));
    return Verdict::kIncomplete;
  }
  // evhttp reads lines as C strings: one that starts with NUL ends the head as well.
  if (line_.empty() || line_[0] == '\0') return JudgeBody();
  if (line_[0] == ' ' || line_[0] == '\t') {
    // A folded line continues the header before it; evhttp refuses one with none before.
    if (last_header_ == LastHeader::kNone) return Verdict::kFits;
    if (last_header_ != LastHeader::kOther) length_header_folded_ = true;
    return Verdict::kIncomplete;
  }
  size_t colon = line_.find(':');
  if (colon == std::string::npos) return Verdict::kFits;  // evhttp answers 400
  std::string_view name = std::string_view(line_).substr(0, colon);
  std::string_view value = std::string_view(line_).substr(colon + 1);
  // evhttp drops leading spaces and trailing spaces and tabs of a value.
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  last_header_ = LastHeader::kOther;
  if (absl::EqualsIgnoreCase(Sv(name), "Content-Length") && !content_length_header_) {
    content_length_header_.emplace(value);
    last_header_ = LastHeader::kContentLength;
  } else if (absl::EqualsIgnoreCase(Sv(name), "Transfer-Encoding") &&
             !transfer_encoding_header_) {
    transfer_encoding_header_.emplace(value);
    last_header_ = LastHeader::kTransferEncoding;
  }
  return Verdict::kIncomplete;
}

RequestHeadCheck::Verdict RequestHeadCheck::JudgeBody() {
  if (!body_method_ || length_header_folded_) return Verdict::kFits;
  // A chunked body's size is only known as its chunks arrive: evhttp's limit applies.
  if (transfer_encoding_header_ &&
      absl::EqualsIgnoreCase(Sv(*transfer_encoding_header_), "chunked")) {
    return Verdict::kFits;
  }
  if (!content_length_header_) return Verdict::kFits;
  // As evhttp reads it with strtoll(): white space, a sign, digits and nothing after;
  // anything else (and a negative length) it answers with 400.
  std::string_view v = *content_length_header_;
  while (!v.empty() && IsCSpace(v.front())) v.remove_prefix(1);
  if (!v.empty() && (v.front() == '+' || v.front() == '-')) {
    if (v.front() == '-') return Verdict::kFits;
    v.remove_prefix(1);
  }
  if (v.empty()) return Verdict::kFits;
  uint64_t n = 0;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (char c : v) {
    if (c < '0' || c > '9') return Verdict::kFits;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    n = n > (kMax - digit) / 10 ? kMax : n * 10 + digit;  // strtoll saturates too
  }
  if (n <= max_body_bytes_) return Verdict::kFits;
  content_length_ = n;
  return Verdict::kBodyTooLarge;
}

}  // namespace masa::queue::internal
