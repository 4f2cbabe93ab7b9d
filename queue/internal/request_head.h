// Judges a request head against the size limits as its bytes arrive, the way libevent 2.1's
// evhttp will, so that the server can refuse it with problem+json before evhttp does.
//
//   RequestHeadCheck check(/*max_header_bytes=*/16384, /*max_body_bytes=*/1 << 20);
//   for (std::string_view bytes : arrivals) {
//     if (check.Feed(bytes) != RequestHeadCheck::Verdict::kIncomplete) break;
//   }
//   check.Reset();  // the next request on the connection
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace masa::queue::internal {

// evhttp refuses an oversize head or a Content-Length over its body limit with an HTML page
// of its own and no hook. This check follows one request head byte by byte and reaches the
// same decision no later than evhttp: it counts each line without its line end (LF, or CR LF),
// the request line included, and reads the first Content-Length and Transfer-Encoding the way
// evhttp does. What it cannot judge exactly as evhttp would (a malformed request line or
// header, a Content-Length that is not a number or is folded onto a second line) it leaves to
// evhttp as kFits. Not thread-safe; one per connection.
class RequestHeadCheck {
 public:
  enum class Verdict {
    kIncomplete,          // the head has not ended yet and is within max_header_bytes
    kFits,                // within the limits, or evhttp's to refuse (see above)
    kRequestLineTooLong,  // the request line alone is longer than max_header_bytes
    kHeadTooLarge,        // request line + header lines are larger than max_header_bytes
    kBodyTooLarge,        // Content-Length over max_body_bytes (never for a chunked body)
  };

  RequestHeadCheck(size_t max_header_bytes, size_t max_body_bytes);

  // Takes the next bytes the client sent and returns the verdict so far. Once the verdict is
  // not kIncomplete it stays, and later bytes (the body, the next request) are ignored.
  Verdict Feed(std::string_view bytes);
  Verdict verdict() const { return verdict_; }

  // Gives up on the current request (its verdict becomes kFits): evhttp has taken it, or
  // refused it, already.
  void Skip() { verdict_ = Verdict::kFits; }

  // Starts over for the next request.
  void Reset();

  // The Content-Length that was judged too large (kBodyTooLarge), saturated at UINT64_MAX.
  uint64_t content_length() const { return content_length_; }

 private:
  enum class LastHeader { kNone, kOther, kContentLength, kTransferEncoding };

  // One complete line, without its line end.
  Verdict TakeLine();
  // The head has ended within the limits: is the declared body too large?
  Verdict JudgeBody();

  const size_t max_header_bytes_;
  const size_t max_body_bytes_;

  Verdict verdict_ = Verdict::kIncomplete;
  std::string line_;        // the line being received (never longer than the limit + 1)
  size_t counted_ = 0;      // evhttp's count of the complete lines so far
  bool request_line_seen_ = false;
  bool body_method_ = false;  // evhttp reads a body for this method
  std::optional<std::string> content_length_header_;     // the first one
  std::optional<std::string> transfer_encoding_header_;  // the first one
  LastHeader last_header_ = LastHeader::kNone;
  bool length_header_folded_ = false;
  uint64_t content_length_ = 0;
};

}  // namespace masa::queue::internal
