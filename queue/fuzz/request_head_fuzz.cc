// Fuzzes RequestHeadCheck, the first code to see a client's bytes (before TLS is even
// authenticated to a principal). The input is a request head and whatever follows it.
// Beyond not crashing, it asserts what evhttp and the client rely on:
//  - the verdict, the problem and the Content-Length do not depend on how the bytes were
//    split into reads (the split points come from a generator seeded by the input), with one
//    exception evhttp makes too: it counts an unfinished line with every byte it has (the CR
//    and what follows included), so a split can only bring a size verdict earlier;
//  - once decided, a verdict stays, whatever bytes follow;
//  - Reset() starts over: the same bytes give the same verdict again;
//  - a problem is there exactly for kMalformed, and is one line of printable ASCII (it goes
//    into a 400 response).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <string_view>

#include "queue/internal/request_head.h"

namespace {

using masa::queue::internal::RequestHeadCheck;
using Verdict = RequestHeadCheck::Verdict;

struct Judgement {
  Verdict verdict;
  std::string problem;
  uint64_t content_length;
  bool operator==(const Judgement&) const = default;
};

Judgement Whole(RequestHeadCheck& check, std::string_view bytes) {
  check.Feed(bytes);
  return {check.verdict(), check.problem(), check.content_length()};
}

Judgement Split(RequestHeadCheck& check, std::string_view bytes, std::minstd_rand& random) {
  Verdict first_decision = Verdict::kIncomplete;
  while (!bytes.empty()) {
    size_t n = std::uniform_int_distribution<size_t>(1, bytes.size())(random);
    if (random() % 4 == 0) n = 1;  // byte by byte stretches, as a slow client sends
    Verdict v = check.Feed(bytes.substr(0, n));
    if (first_decision == Verdict::kIncomplete) first_decision = v;
    if (v != first_decision) abort();  // a decided verdict changed
    bytes.remove_prefix(n);
  }
  return {check.verdict(), check.problem(), check.content_length()};
}

void Check(std::string_view bytes, size_t max_header, size_t max_body, uint32_t seed) {
  RequestHeadCheck whole_check(max_header, max_body);
  Judgement whole = Whole(whole_check, bytes);

  std::minstd_rand random(seed);
  RequestHeadCheck split_check(max_header, max_body);
  Judgement split = Split(split_check, bytes, random);
  bool size_verdict =
      split.verdict == Verdict::kRequestLineTooLong || split.verdict == Verdict::kHeadTooLarge;
  if (!(split == whole) && !(size_verdict && bytes.size() > max_header)) abort();

  split_check.Reset();
  if (!(Whole(split_check, bytes) == whole)) abort();

  if ((whole.verdict == Verdict::kMalformed) != !whole.problem.empty()) abort();
  for (char c : whole.problem) {
    if (c < 0x20 || c > 0x7e) abort();  // a control or non-ASCII byte in a 400 response
  }
  if (whole.verdict == Verdict::kBodyTooLarge && whole.content_length <= max_body) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  uint32_t seed = static_cast<uint32_t>(std::hash<std::string_view>()(bytes)) | 1;
  Check(bytes, /*max_header=*/1024, /*max_body=*/1000, seed);
  Check(bytes, /*max_header=*/40, /*max_body=*/0, seed + 2);  // the limits bind early
  return 0;
}
