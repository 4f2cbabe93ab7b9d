// Latency figures of a load phase in bounded memory: a log-linear histogram (HDR style, 32
// buckets per power of two, so a percentile is within 3 % of the exact sample) per second
// of the phase and for the whole phase, and the per-slice figures made from them. A run of
// an hour keeps 3600 small histograms, not every sample.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace masa::bench {

class LatencyHistogram {
 public:
  // Counts one latency of `micros` microseconds.
  void Add(uint64_t micros);
  // Adds every count of `other`.
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t max_micros() const { return max_; }
  // The latency in milliseconds below or at which a fraction `p` (0..1] of the samples lie:
  // the upper edge of the bucket holding the sample of rank ceil(p * count), capped at the
  // largest sample (never understated, overstated by under 3 %). 0 when empty.
  double PercentileMs(double p) const;

  // The bucket a latency falls in, and the largest latency in bucket `index` (exposed for
  // the unit test).
  static size_t BucketOf(uint64_t micros);
  static uint64_t UpperEdge(size_t index);

 private:
  std::vector<uint64_t> buckets_;  // grown to the largest bucket seen
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

// The figures of one slice of a phase (the contract's "slices" entries).
struct SliceFigures {
  double start_s = 0;  // from the phase's start
  double seconds = 0;  // the slice's length (the last one may be shorter)
  double vouchers_per_s = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;
  uint64_t requests = 0;  // answers in the slice
  // masad's own view of the slice, from /metrics scraped at its edges (SliceMasadFigures),
  // unset without them: its request latency p99 (accepted to durable answer), its CPU per
  // signature (which rises when this shared machine slows down) and its slowest commit.
  std::optional<double> masad_request_p99_ms = {}, sign_cpu_us = {}, commit_max_ms = {};
};

// Slices of `slice_s` whole seconds over a phase of `phase_s` seconds, from per-second
// latency histograms and voucher counts (either may be shorter than the phase: missing
// seconds count as empty). A remainder shorter than one second (the drain of an open loop's
// last answers) is part of the slice before it.
std::vector<SliceFigures> MakeSlices(const std::vector<LatencyHistogram>& latency_by_second,
                                     const std::vector<uint64_t>& vouchers_by_second,
                                     double phase_s, int slice_s);

// The slice with the highest p99 (the first of equals); nullptr when `slices` is empty.
const SliceFigures* WorstSlice(const std::vector<SliceFigures>& slices);

}  // namespace masa::bench
