// Judges a request head as its bytes arrive, before libevent 2.1's evhttp parses it: the size
// limits as evhttp counts them, and the strict framing of RFC 9112 that evhttp does not keep
// (so that a request cannot mean one thing to us and another to a proxy in front of us).
//
//   RequestHeadCheck check(/*max_header_bytes=*/16384, /*max_body_bytes=*/1 << 20);
//   for (std::string_view bytes : arrivals) {
//     if (check.Feed(bytes) != RequestHeadCheck::Verdict::kIncomplete) break;
//   }
//   if (check.verdict() == RequestHeadCheck::Verdict::kMalformed) Refuse400(check.problem());
//   check.Reset();  // the next request on the connection
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace masa::queue::internal {

// evhttp refuses an oversize head or a Content-Length over its body limit with an HTML page
// of its own and no hook, and accepts heads that RFC 9112 says a server must refuse (request
// smuggling: two Content-Length headers, "Content-Length: +2", obs-fold, bare LF, NUL in a
// value, an absolute-form target, Content-Length together with Transfer-Encoding). This check
// follows one request head byte by byte and reaches its decision no later than evhttp does:
//  - size: it counts each line without its line end (CR LF), the request line included, as
//    evhttp counts;
//  - framing (kMalformed, with problem() saying what was wrong): every line ends in CR LF;
//    the request line is "METHOD SP TARGET SP VERSION" with the target in origin form
//    ("/path?query") or "*" for OPTIONS; no header line starts with white space (obs-fold);
//    a header name is a token followed at once by ':'; no control character but HTAB in the
//    request line or a header; at most one Content-Length (digits only), at most one
//    Transfer-Encoding, and then exactly "chunked" (not in HTTP/1.0), never both; exactly
//    one Host in HTTP/1.1 and at most one in HTTP/1.0 (RFC 9112 section 3.2).
// A request line too malformed to split into three parts (no spaces at all, too short) it
// leaves to evhttp as kFits (evhttp answers 400). Not thread-safe; one per connection.
class RequestHeadCheck {
 public:
  enum class Verdict {
    kIncomplete,          // the head has not ended yet and is within max_header_bytes
    kFits,                // well-formed and within the limits, or evhttp's to refuse
    kMalformed,           // breaks RFC 9112 framing: answer 400 with problem()
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
  // What was wrong (kMalformed), one sentence for the client; it quotes nothing the client
  // sent but header names, which are tokens.
  const std::string& problem() const { return problem_; }

 private:
  // One complete line, without its line end.
  Verdict TakeLine();
  Verdict TakeRequestLine();
  Verdict TakeHeader();
  // The head has ended: is its framing consistent, and the declared body within the limit?
  Verdict JudgeBody();
  Verdict Malformed(std::string problem);

  const size_t max_header_bytes_;
  const size_t max_body_bytes_;

  Verdict verdict_ = Verdict::kIncomplete;
  std::string problem_;
  std::string line_;    // the line being received (never longer than the limit + 1)
  size_t counted_ = 0;  // evhttp's count of the complete lines so far
  bool request_line_seen_ = false;
  bool body_method_ = false;  // evhttp reads a body for this method
  bool http10_ = false;       // the request line says HTTP/1.0
  bool http11_ = false;       // ... HTTP/1.1
  bool head_method_ = false;  // HEAD: evhttp reads no body
  int hosts_ = 0;             // Host headers seen
  std::optional<std::string> content_length_header_;
  std::optional<std::string> transfer_encoding_header_;
  uint64_t content_length_ = 0;
};

}  // namespace masa::queue::internal
