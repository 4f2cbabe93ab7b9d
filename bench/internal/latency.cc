#include "bench/internal/latency.h"

#include <algorithm>
#include <cmath>

namespace masa::bench {
namespace {

constexpr uint64_t kSub = 32;          // buckets per power of two
constexpr uint64_t kExact = 2 * kSub;  // below this every microsecond has its own bucket

}  // namespace

size_t LatencyHistogram::BucketOf(uint64_t micros) {
  if (micros < kExact) return static_cast<size_t>(micros);
  const int e = 63 - __builtin_clzll(micros);  // >= 6
  const int shift = e - 5;                     // micros >> shift is in [32, 64)
  return static_cast<size_t>(kExact + (e - 6) * kSub + ((micros >> shift) - kSub));
}

uint64_t LatencyHistogram::UpperEdge(size_t index) {
  if (index < kExact) return index;
  const uint64_t k = index - kExact;
  const int e = 6 + static_cast<int>(k / kSub);
  const uint64_t m = kSub + k % kSub;
  return ((m + 1) << (e - 5)) - 1;
}

void LatencyHistogram::Add(uint64_t micros) {
  const size_t b = BucketOf(micros);
  if (buckets_.size() <= b) buckets_.resize(b + 1);
  ++buckets_[b];
  ++count_;
  max_ = std::max(max_, micros);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (buckets_.size() < other.buckets_.size()) buckets_.resize(other.buckets_.size());
  for (size_t i = 0; i < other.buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

double LatencyHistogram::PercentileMs(double p) const {
  if (count_ == 0) return 0;
  const uint64_t rank = std::clamp<uint64_t>(
      static_cast<uint64_t>(std::ceil(p * static_cast<double>(count_))), 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) return static_cast<double>(std::min(UpperEdge(i), max_)) / 1000.0;
  }
  return static_cast<double>(max_) / 1000.0;
}

std::vector<SliceFigures> MakeSlices(const std::vector<LatencyHistogram>& latency_by_second,
                                     const std::vector<uint64_t>& vouchers_by_second,
                                     double phase_s, int slice_s) {
  std::vector<SliceFigures> out;
  if (slice_s < 1 || phase_s <= 0) return out;
  for (int start = 0; start < phase_s; start += slice_s) {
    if (!out.empty() && out.back().start_s + out.back().seconds >= phase_s) break;
    double seconds = std::min<double>(slice_s, phase_s - start);
    // A remainder under a second (an open loop's drain of the last answers) joins this slice
    // rather than making one of its own, so every answer lies in some slice.
    if (phase_s - start - seconds < 1) seconds = phase_s - start;
    LatencyHistogram h;
    uint64_t vouchers = 0;
    const int end = start + static_cast<int>(std::ceil(seconds));
    for (int s = start; s < end; ++s) {
      if (static_cast<size_t>(s) < latency_by_second.size()) h.Merge(latency_by_second[s]);
      if (static_cast<size_t>(s) < vouchers_by_second.size()) vouchers += vouchers_by_second[s];
    }
    if (seconds <= 0) break;
    out.push_back({.start_s = static_cast<double>(start),
                   .seconds = seconds,
                   .vouchers_per_s = static_cast<double>(vouchers) / seconds,
                   .p50_ms = h.PercentileMs(0.50),
                   .p99_ms = h.PercentileMs(0.99),
                   .p999_ms = h.PercentileMs(0.999),
                   .requests = h.count()});
  }
  return out;
}

const SliceFigures* WorstSlice(const std::vector<SliceFigures>& slices) {
  const SliceFigures* worst = nullptr;
  for (const SliceFigures& s : slices) {
    if (worst == nullptr || s.p99_ms > worst->p99_ms) worst = &s;
  }
  return worst;
}

}  // namespace masa::bench
