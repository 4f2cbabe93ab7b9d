// load_bench's results as files: DIR/load_bench.json (the bench contract's schema, read by
// scripts/bench-ci.sh's checker), DIR/load_bench.html (self-contained: inline SVG, no
// script, no network) and each phase's plots as standalone SVGs (DIR/<phase>-latency.svg,
// DIR/<phase>-percentiles.svg). A figure that was not measured is an unset optional and
// is left out of the JSON, never written as 0.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/internal/latency.h"
#include "bench/internal/metrics_scrape.h"
#include "nlohmann/json.hpp"

namespace masa::bench {

// Everything reported about one load phase.
struct PhaseFigures {
  std::string name;   // the JSON and file name: "closed", "open80", "open", "grpc", ...
  std::string label;  // the table's and the plots' title
  double seconds = 0;
  double requests_per_s = 0;
  double vouchers_per_s = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;
  uint64_t errors = 0;                           // failed requests other than shed ones
  uint64_t shed = 0;                             // answered 503 (admission control)
  std::optional<double> disk_bytes_per_voucher;  // masad's write_bytes (/proc/PID/io)
  // What reached the store's block device (sectors written), from every process: the
  // figure the kernel's page-cache accounting above does not inflate (see proc_stats.h).
  std::optional<double> device_bytes_per_voucher;
  // What the store's writer thread handed to pwrite (its wchar): LMDB's pages, counted once.
  std::optional<double> store_bytes_per_voucher;
  std::optional<double> cpu_us_per_voucher;
  // cpu_us_per_voucher less the CPU of one signature of the raw C_Sign phase (another
  // process, after masad stopped).
  std::optional<double> cpu_us_per_voucher_outside_signature;
  // The signatures as masad measured them in the phase (masa_hsm_sign_cpu_seconds): its
  // signing calls, their CPU each, masad's CPU per voucher without theirs, and that over
  // the signature's CPU (issue 14's target: at most a third).
  std::optional<double> masad_signatures;
  std::optional<double> masad_sign_cpu_us_per_signature;
  std::optional<double> cpu_us_per_voucher_outside_masad_signature;
  std::optional<double> outside_over_masad_signature_cpu;
  std::map<std::string, double> masad_cpu_by_thread;  // % of one core, by thread name
  std::optional<double> heap_mb_start, heap_mb_end;   // RssAnon: in use + the allocator's caches
  std::optional<double> heap_in_use_mb_start, heap_in_use_mb_end;  // masa_heap_in_use_bytes
  std::optional<double> rss_mb_without_map_start, rss_mb_without_map_end;
  StoreFigures store;
  bool metrics_read = false;  // masad's /metrics answered (not in the JSON)
  std::vector<SliceFigures> slices;
  // For the plots.
  LatencyHistogram latency;
  std::vector<LatencyHistogram> latency_by_second;
  std::vector<uint64_t> vouchers_by_second;
};

// How the store was filled before the phases (--prefill).
struct PrefillFigures {
  uint64_t vouchers = 0;
  double seconds = 0;
  std::optional<double> disk_bytes_per_voucher;  // data.mdb growth / vouchers (stored size)
};

struct BenchReport {
  std::string command;
  std::optional<double> csign_per_s;  // the mean of the phases before and after the load
  std::optional<double> csign_before_per_s;
  std::optional<double> csign_after_per_s;
  std::optional<double> csign_cpu_us_per_signature;
  // Of that, the CPU inside C_SignInit and C_Sign (what masad's /metrics counts).
  std::optional<double> csign_inside_cpu_us_per_signature;
  int slice_s = 10;
  std::vector<PhaseFigures> phases;
  std::map<std::string, double> ratios;  // the contract's names
  std::optional<PrefillFigures> prefill;
};

// The contract's JSON object.
nlohmann::json ReportJson(const BenchReport& report);

// Latency over time (p50, p99, p99.9 by second on a log axis, with the 25 ms target) above
// vouchers/s by second.
std::string LatencySvg(const PhaseFigures& phase);
// Latency against percentile, the percentile axis stretched toward 99.99 (-log10(1 - p)).
std::string PercentileSvg(const PhaseFigures& phase);
// The whole report as one HTML page.
std::string ReportHtml(const BenchReport& report);

// Writes load_bench.json, load_bench.html and the SVGs into `dir` (created when absent).
// Returns "" or what failed.
std::string WriteResults(const std::string& dir, const BenchReport& report);

}  // namespace masa::bench
