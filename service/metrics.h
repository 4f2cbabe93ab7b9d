// Counters and histograms the service keeps for /metrics. Plain atomics: any thread may
// update or read them; a reader sees each counter consistently, not the set as a whole.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "store/store.h"

namespace masa::service {

// A fixed-bucket histogram of durations (Prometheus style: bucket i counts observations
// <= kBoundsMicros[i]; the last bucket is +Inf). Bounds are microseconds.
class LatencyHistogram {
 public:
  static constexpr std::array<uint64_t, 12> kBoundsMicros = {
      100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

  void Observe(absl::Duration d);
  // Observations in bucket i (not cumulative); i == kBoundsMicros.size() is +Inf.
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t sum_micros() const { return sum_micros_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBoundsMicros.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

// A histogram of small counts (vouchers per commit): bucket i counts values <= kBounds[i].
class SizeHistogram {
 public:
  static constexpr std::array<uint64_t, 7> kBounds = {1, 2, 5, 10, 20, 100, 1000};
  void Observe(uint64_t n);
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_{0};
};

struct Metrics {
  // Voucher requests (RequestVouchers and RenewVoucher calls) by outcome.
  std::atomic<uint64_t> requests_ok{0};           // committed, every serial issued
  std::atomic<uint64_t> requests_partial{0};      // committed, some serials failed
  std::atomic<uint64_t> requests_failed{0};       // committed with no voucher, or the commit failed
  std::atomic<uint64_t> requests_rejected{0};     // refused up front (bad input, auth)
  std::atomic<uint64_t> requests_busy{0};         // refused because the work queue was full
  std::atomic<uint64_t> vouchers_issued{0};       // issued + renewed
  std::atomic<uint64_t> serials_failed{0};        // per-serial failures (not owned, conflict, sign)
  std::atomic<uint64_t> auth_failures{0};         // Authenticate refusals
  std::atomic<uint64_t> sign_retries{0};          // signatures tried a second time
  std::atomic<uint64_t> signatures_abandoned{0};  // calls given up after the run timeout
  std::atomic<uint64_t> sign_failures{0};         // signatures failed for good (after retry)
  LatencyHistogram sign_latency;                  // one VoucherSigner::Sign
  LatencyHistogram commit_latency;                // Submit .. durable callback
  LatencyHistogram request_latency;               // RequestVouchers call .. done callback
  SizeHistogram batch_size;                       // vouchers per store commit
};

// The store writer's families of /metrics (Prometheus text, # HELP and # TYPE included):
// masa_store_commits_total, masa_store_commit_batches_total, the masa_store_commit_seconds
// histogram, masa_store_commit_sync_seconds_total, masa_store_commit_queue_wait_seconds_total,
// masa_store_map_growths_total, masa_store_map_growth_seconds_total,
// masa_store_gate_wait_seconds_total, masa_store_checkpoints_total,
// masa_store_checkpoint_seconds_total, masa_store_map_size_bytes, and the gauge
// masa_store_commit_max_seconds: the slowest commit since the previous scrape, which this
// call starts over (Store::TakeSlowestCommit), so that a stall between two scrapes shows.
std::string StoreMetricsText(store::Store& store);

}  // namespace masa::service
