#include "api/internal/prometheus.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/internal/key_codec.h"
#include "common/status.h"

namespace masa::api::internal {
namespace {

void Header(std::string* out, std::string_view name, std::string_view type, std::string_view help) {
  absl::StrAppend(out, "# HELP ", absl::string_view(name.data(), name.size()), " ",
                  absl::string_view(help.data(), help.size()), "\n# TYPE ",
                  absl::string_view(name.data(), name.size()), " ",
                  absl::string_view(type.data(), type.size()), "\n");
}

void Gauge(std::string* out, std::string_view name, std::string_view help, uint64_t value) {
  Header(out, name, "gauge", help);
  absl::StrAppend(out, absl::string_view(name.data(), name.size()), " ", value, "\n");
}

void Counter(std::string* out, std::string_view name, std::string_view help, uint64_t value) {
  Header(out, name, "counter", help);
  absl::StrAppend(out, absl::string_view(name.data(), name.size()), " ", value, "\n");
}

std::string Seconds(uint64_t micros) { return absl::StrFormat("%.6g", micros / 1e6); }

void Latency(std::string* out, std::string_view name, std::string_view help,
             const service::LatencyHistogram& h) {
  Header(out, name, "histogram", help);
  absl::string_view n(name.data(), name.size());
  uint64_t cumulative = 0;
  const auto& bounds = service::LatencyHistogram::kBoundsMicros;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += h.bucket(i);
    absl::StrAppend(out, n, "_bucket{le=\"", Seconds(bounds[i]), "\"} ", cumulative, "\n");
  }
  cumulative += h.bucket(bounds.size());
  // count() is read separately from the buckets; report the larger so the +Inf bucket and
  // _count agree as Prometheus expects even while observations race the scrape.
  uint64_t count = std::max(cumulative, h.count());
  absl::StrAppend(out, n, "_bucket{le=\"+Inf\"} ", count, "\n");
  absl::StrAppend(out, n, "_sum ", Seconds(h.sum_micros()), "\n");
  absl::StrAppend(out, n, "_count ", count, "\n");
}

void Sizes(std::string* out, std::string_view name, std::string_view help,
           const service::SizeHistogram& h) {
  Header(out, name, "histogram", help);
  absl::string_view n(name.data(), name.size());
  uint64_t cumulative = 0;
  const auto& bounds = service::SizeHistogram::kBounds;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += h.bucket(i);
    absl::StrAppend(out, n, "_bucket{le=\"", bounds[i], "\"} ", cumulative, "\n");
  }
  cumulative += h.bucket(bounds.size());
  uint64_t count = std::max(cumulative, h.count());
  absl::StrAppend(out, n, "_bucket{le=\"+Inf\"} ", count, "\n");
  absl::StrAppend(out, n, "_sum ", h.sum(), "\n");
  absl::StrAppend(out, n, "_count ", count, "\n");
}

// A label value as the text format writes it: backslash, double quote and newline escaped.
std::string LabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void Keys(std::string* out, const std::vector<service::PublishedKey>& keys, absl::Time now) {
  Header(out, "masa_key_certificate_expiry_seconds", "gauge",
         "Seconds until the notAfter of each published key's certificate (negative: expired).");
  for (const service::PublishedKey& k : keys) {
    if (k.chain_der.empty()) continue;
    absl::StatusOr<CertificateFacts> facts = ReadCertificateFacts(k.chain_der.front());
    if (!facts.ok()) continue;
    absl::StrAppend(out, "masa_key_certificate_expiry_seconds{key_id=\"", LabelValue(k.key_id),
                    "\",purpose=\"", Sv(service::KeyPurposeName(k.purpose)), "\",state=\"",
                    Sv(service::KeyStateName(k.state)), "\"} ",
                    absl::ToInt64Seconds(facts->not_after - now), "\n");
  }
  Header(out, "masa_active_key_info", "gauge", "The active key of each purpose (value 1).");
  for (const service::PublishedKey& k : keys) {
    if (k.state != service::KeyState::kActive) continue;
    absl::StrAppend(out, "masa_active_key_info{purpose=\"", Sv(service::KeyPurposeName(k.purpose)),
                    "\",key_id=\"", LabelValue(k.key_id), "\"} 1\n");
  }
}

}  // namespace

std::string RenderMetrics(const MetricsInputs& in) {
  std::string out;
  const service::Metrics& m = *in.service;
  Gauge(&out, "masa_queue_depth", "Sign jobs waiting for a signer worker.", in.queue_depth);
  if (in.open_connections) {
    Gauge(&out, "masa_open_connections", "Open client connections.", *in.open_connections);
  }
  if (in.requests_in_flight) {
    Gauge(&out, "masa_http_requests_in_flight", "Requests handed to the API, not yet answered.",
          *in.requests_in_flight);
  }
  Sizes(&out, "masa_batch_size", "Vouchers per durable store commit.", m.batch_size);
  Latency(&out, "masa_sign_latency_seconds", "Time of one voucher signature.", m.sign_latency);
  Latency(&out, "masa_commit_latency_seconds", "Time from submit to durable commit.",
          m.commit_latency);
  Latency(&out, "masa_request_latency_seconds",
          "Time from accepting a voucher request to its durable answer.", m.request_latency);

  Header(&out, "masa_http_requests_total", "counter", "HTTP answers of the API by status code.");
  for (int code = 100; code <= 599; ++code) {
    if (uint64_t n = in.http->count(code); n > 0) {
      absl::StrAppend(&out, "masa_http_requests_total{code=\"", code, "\"} ", n, "\n");
    }
  }
  Header(&out, "masa_voucher_requests_total", "counter",
         "Voucher requests and renewals by outcome.");
  const std::pair<const char*, const std::atomic<uint64_t>*> outcomes[] = {
      {"ok", &m.requests_ok},
      {"partial", &m.requests_partial},
      {"failed", &m.requests_failed},
      {"rejected", &m.requests_rejected},
      {"busy", &m.requests_busy}};
  for (const auto& [label, value] : outcomes) {
    absl::StrAppend(&out, "masa_voucher_requests_total{outcome=\"", label, "\"} ",
                    value->load(std::memory_order_relaxed), "\n");
  }
  Counter(&out, "masa_requests_shed_total",
          "Voucher requests refused up front with 503 + Retry-After by admission control (the "
          "signing queue's expected delay over [queue] max_queue_delay_ms, or the queue full); "
          "nothing was signed or written for them.",
          m.requests_busy.load(std::memory_order_relaxed));
  Counter(&out, "masa_vouchers_issued_total", "Vouchers issued or renewed.",
          m.vouchers_issued.load(std::memory_order_relaxed));
  Counter(&out, "masa_serials_failed_total", "Serial numbers of requests that got no voucher.",
          m.serials_failed.load(std::memory_order_relaxed));
  Counter(&out, "masa_auth_failures_total", "Bearer tokens refused.",
          m.auth_failures.load(std::memory_order_relaxed));
  if (!in.keys.empty()) Keys(&out, in.keys, in.now);
  Counter(&out, "masa_sign_retries_total",
          "Signatures tried a second time after a failure or an abandoned HSM call.",
          m.sign_retries.load(std::memory_order_relaxed));
  Counter(&out, "masa_sign_abandoned_total", "Signing calls abandoned after the HSM call timeout.",
          m.signatures_abandoned.load(std::memory_order_relaxed));
  Counter(&out, "masa_sign_failures_total",
          "Signatures that failed for good (after their retry); each failed its request.",
          m.sign_failures.load(std::memory_order_relaxed));
  return out;
}

}  // namespace masa::api::internal
