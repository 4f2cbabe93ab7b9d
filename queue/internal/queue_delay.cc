#include "queue/internal/queue_delay.h"

#include <algorithm>
#include <cmath>

namespace masa::queue::internal {

QueueDelay::QueueDelay(absl::Duration budget, size_t workers)
    : budget_(budget), workers_(static_cast<int64_t>(std::max<size_t>(workers, 1))) {}

void QueueDelay::Observe(absl::Duration took) {
  const int64_t ns = std::max<int64_t>(absl::ToInt64Nanoseconds(took), 1);
  // Two workers may race here; one observation may then be lost, which an average of 32
  // does not notice. A lock would cost every job more than that.
  const int64_t mean = mean_ns_.load(std::memory_order_relaxed);
  mean_ns_.store(mean == 0 ? ns : mean + (ns - mean) / 32, std::memory_order_relaxed);
}

absl::Duration QueueDelay::ExpectedWait(size_t ahead) const {
  const int64_t mean = mean_ns_.load(std::memory_order_relaxed);
  const double ns =
      static_cast<double>(ahead) * static_cast<double>(mean) / static_cast<double>(workers_);
  return absl::Nanoseconds(ns);
}

bool QueueDelay::Refuses(absl::Duration wait) const {
  return budget_ > absl::ZeroDuration() && wait > budget_;
}

bool QueueDelay::CountRefusal(absl::Time now, uint64_t* since_last) {
  unlogged_.fetch_add(1, std::memory_order_relaxed);
  const int64_t now_ns = absl::ToUnixNanos(now);
  int64_t next = next_log_ns_.load(std::memory_order_relaxed);
  if (now_ns < next) return false;
  if (!next_log_ns_.compare_exchange_strong(
          next, now_ns + absl::ToInt64Nanoseconds(absl::Seconds(1)), std::memory_order_relaxed)) {
    return false;  // another refusal logs this second
  }
  *since_last = std::max<uint64_t>(unlogged_.exchange(0, std::memory_order_relaxed), 1);
  return true;
}

int RetryAfterSeconds(absl::Duration wait) {
  const double s = std::ceil(absl::ToDoubleSeconds(wait));
  if (!(s >= 1)) return 1;
  return s > 86400 ? 86400 : static_cast<int>(s);
}

}  // namespace masa::queue::internal
