#include "service/metrics.h"

namespace masa::service {

void LatencyHistogram::Observe(absl::Duration d) {
  int64_t us = absl::ToInt64Microseconds(d);
  uint64_t v = us < 0 ? 0 : static_cast<uint64_t>(us);
  size_t i = 0;
  while (i < kBoundsMicros.size() && v > kBoundsMicros[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(v, std::memory_order_relaxed);
}

void SizeHistogram::Observe(uint64_t n) {
  size_t i = 0;
  while (i < kBounds.size() && n > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace masa::service
