// /metrics in the Prometheus text exposition format, version 0.0.4.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include <vector>

#include "absl/time/time.h"
#include "service/keys.h"
#include "service/metrics.h"

namespace masa::api::internal {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Answers by HTTP status code, counted as the API sends them (100..599). Thread-safe.
class HttpCodeCounter {
 public:
  void Count(int status) {
    if (status >= 100 && status <= 599)
      counts_[status - 100].fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t count(int status) const {
    return status >= 100 && status <= 599 ? counts_[status - 100].load(std::memory_order_relaxed)
                                          : 0;
  }

 private:
  std::array<std::atomic<uint64_t>, 500> counts_{};
};

struct MetricsInputs {
  const service::Metrics* service = nullptr;  // required
  size_t queue_depth = 0;
  std::optional<size_t> open_connections;  // absent until the server is known
  std::optional<size_t> requests_in_flight;
  const HttpCodeCounter* http = nullptr;  // required
  // The published keys (Keys::PublishedKeys) and the time their certificates' expiry is
  // measured from; without keys the key families are left out.
  std::vector<service::PublishedKey> keys;
  absl::Time now;
};

// The whole exposition: every family with # HELP and # TYPE; histograms with cumulative
// buckets, +Inf, _sum and _count (latencies in seconds). Per published key with a
// certificate, masa_key_certificate_expiry_seconds{key_id, purpose, state} (negative once
// expired); per purpose with an active key, masa_active_key_info{purpose, key_id} 1.
std::string RenderMetrics(const MetricsInputs& in);

}  // namespace masa::api::internal
