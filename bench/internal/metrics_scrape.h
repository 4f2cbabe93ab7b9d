// masad's /metrics (Prometheus text) read before and after a phase, and the store's
// per-commit figures of the phase made from the two (the metric names masad exports, which
// tests/masad_http_e2e_test.cc checks are there). A metric masad does not export leaves its
// figure unset: the report then omits it rather than printing 0.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/internal/latency.h"

namespace masa::bench {

// Sample name with its labels exactly as written ("x_bucket{le=\"0.005\"}") -> value.
using MetricSamples = std::map<std::string, double>;

// GET /metrics from 127.0.0.1:`port` (plain HTTP, as masad's metrics listener serves it);
// empty samples when it cannot be read (no listener, error status).
MetricSamples ScrapeMetrics(uint16_t port);

// The samples of a Prometheus text exposition: comment lines and malformed lines skipped,
// a trailing timestamp ignored, NaN / +Inf / -Inf accepted.
MetricSamples ParsePrometheusText(const std::string& text);

// A metric's value in `samples`, or nullopt when absent.
std::optional<double> Sample(const MetricSamples& samples, const std::string& name);

// The q-quantile (0..1) of the observations of histogram `name` (its `name_bucket{le=...}`
// samples) made between two scrapes, as Prometheus' histogram_quantile computes it (linear
// inside the bucket; the highest finite bound when it falls in +Inf). nullopt when the
// histogram is absent or saw nothing.
std::optional<double> HistogramQuantileBetween(const MetricSamples& before,
                                               const MetricSamples& after, const std::string& name,
                                               double q);

// The store's figures of one phase (deltas between the scrapes before and after it).
struct StoreFigures {
  std::optional<double> commits;                  // masa_store_commits_total
  std::optional<double> batches;                  // masa_store_commit_batches_total
  std::optional<double> commit_p99_ms;            // masa_store_commit_seconds
  std::optional<double> commit_max_ms;            // masa_store_commit_max_seconds (at the end)
  std::optional<double> sync_ms_per_commit;       // masa_store_commit_sync_seconds_total / commits
  std::optional<double> queue_wait_ms_per_batch;  // ..._commit_queue_wait_seconds_total
  std::optional<double> map_growths;              // masa_store_map_growths_total
  std::optional<double> map_growth_ms;            // masa_store_map_growth_seconds_total
  std::optional<double> gate_wait_ms;             // masa_store_gate_wait_seconds_total
  std::optional<double> pages_written;            // masa_store_pages_written_total
  std::optional<double> shed;                     // masa_requests_shed_total
};

StoreFigures StoreFiguresBetween(const MetricSamples& before, const MetricSamples& after);

// Fills each slice's masad figures from /metrics scraped at the slice edges: `edges[k]` at
// slice k's start, `edges[k + 1]` at its end (the scrape after the phase ends the last
// slice). Slices without both edges stay unset.
void SliceMasadFigures(const std::vector<MetricSamples>& edges, std::vector<SliceFigures>* slices);

// The slowest commit over a phase whose /metrics was scraped at `edges` (the first before
// it): masa_store_commit_max_seconds restarts at every scrape, so the phase's is the
// largest value read after its start.
std::optional<double> CommitMaxMsOver(const std::vector<MetricSamples>& edges);

// masad's CPU of one phase split at the HSM signature, both parts measured inside masad
// over the same span: the CPU of one signature is the summary masa_hsm_sign_cpu_seconds
// (thread CPU inside C_SignInit and C_Sign over a timed sample of the calls), times
// masa_hsm_sign_calls_total for all of them.
struct SignCpuFigures {
  std::optional<double> signatures;  // masa_hsm_sign_calls_total (else the summary's _count)
  std::optional<double> cpu_us_per_signature;  // _sum / _count (unset without a signature)
  // (masad's CPU - the signatures' CPU) / vouchers, and that over cpu_us_per_signature.
  std::optional<double> cpu_us_per_voucher_outside;
  std::optional<double> outside_over_signature;
};

// `masad_cpu_s` is masad's whole CPU time over the phase (negative: unknown), `vouchers`
// the vouchers it issued meanwhile. Figures that cannot be made stay unset.
SignCpuFigures SignCpuBetween(const MetricSamples& before, const MetricSamples& after,
                              double masad_cpu_s, double vouchers);

}  // namespace masa::bench
