#include "bench/internal/phase_figures.h"

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <utility>

namespace masa::bench {

DaemonSnapshot TakeDaemonSnapshot(pid_t pid, uint16_t metrics_port) {
  DaemonSnapshot s;
  s.metrics = ScrapeMetrics(metrics_port);
  s.cpu_s = CpuSecondsOf(pid);
  s.thread_cpu_s = ThreadCpuSecondsOf(pid);
  s.write_bytes = DiskWriteBytesOf(pid);
  s.device_write_bytes = DeviceWriteBytesOf(MappedFileOf(pid));
  s.store_write_chars = ThreadWriteCharsOf(pid, "masa-store");
  s.memory = MemoryOf(pid);
  s.mapped = MappedRssOf(pid);
  return s;
}

SliceScraper::SliceScraper(uint16_t metrics_port, int slice_s) {
  if (metrics_port == 0 || slice_s < 1) return;
  thread_ = std::thread([this, metrics_port, slice_s] {
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    for (int k = 1; !stopping_; ++k) {
      if (wake_.wait_until(lock, start + std::chrono::seconds(k * slice_s),
                           [this] { return stopping_; })) {
        break;
      }
      lock.unlock();
      MetricSamples samples = ScrapeMetrics(metrics_port);
      lock.lock();
      scrapes_.push_back(std::move(samples));
    }
  });
}

SliceScraper::~SliceScraper() { Stop(); }

std::vector<MetricSamples> SliceScraper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  return std::move(scrapes_);
}

PhaseFigures MakePhaseFigures(const std::string& name, const PhaseResult& r,
                              const DaemonSnapshot& before, const DaemonSnapshot& after,
                              int slice_s, const std::vector<MetricSamples>& slice_edges) {
  PhaseFigures f;
  f.name = name;
  f.label = r.name;
  f.seconds = r.seconds;
  f.requests_per_s = r.seconds > 0 ? r.requests_ok / r.seconds : 0;
  f.vouchers_per_s = r.seconds > 0 ? r.vouchers / r.seconds : 0;
  f.p50_ms = r.Percentile(0.50);
  f.p99_ms = r.Percentile(0.99);
  f.p999_ms = r.Percentile(0.999);
  for (const auto& [what, n] : r.errors) {
    // "HTTP 503": admission control's answer (shed), not a failure of the service.
    (what == "HTTP 503" ? f.shed : f.errors) += n;
  }
  const double vouchers = static_cast<double>(r.vouchers);
  if (vouchers > 0 && before.write_bytes >= 0 && after.write_bytes >= before.write_bytes) {
    f.disk_bytes_per_voucher =
        static_cast<double>(after.write_bytes - before.write_bytes) / vouchers;
  }
  if (vouchers > 0 && before.device_write_bytes >= 0 &&
      after.device_write_bytes >= before.device_write_bytes) {
    f.device_bytes_per_voucher =
        static_cast<double>(after.device_write_bytes - before.device_write_bytes) / vouchers;
  }
  if (vouchers > 0 && before.store_write_chars >= 0 &&
      after.store_write_chars >= before.store_write_chars) {
    f.store_bytes_per_voucher =
        static_cast<double>(after.store_write_chars - before.store_write_chars) / vouchers;
  }
  if (vouchers > 0 && before.cpu_s >= 0 && after.cpu_s >= before.cpu_s) {
    f.cpu_us_per_voucher = (after.cpu_s - before.cpu_s) * 1e6 / vouchers;
  }
  // The signature's CPU measured inside masad over the same phase, so both sides of
  // "outside / signature" come from one process and one time span.
  const SignCpuFigures sign = SignCpuBetween(
      before.metrics, after.metrics,
      before.cpu_s >= 0 && after.cpu_s >= before.cpu_s ? after.cpu_s - before.cpu_s : -1, vouchers);
  f.masad_signatures = sign.signatures;
  f.masad_sign_cpu_us_per_signature = sign.cpu_us_per_signature;
  f.cpu_us_per_voucher_outside_masad_signature = sign.cpu_us_per_voucher_outside;
  f.outside_over_masad_signature_cpu = sign.outside_over_signature;
  if (r.seconds > 0) {
    for (const auto& [thread, s] : after.thread_cpu_s) {
      auto b = before.thread_cpu_s.find(thread);
      const double used = s - (b == before.thread_cpu_s.end() ? 0 : b->second);
      if (used > 0) f.masad_cpu_by_thread[thread] = 100 * used / r.seconds;
    }
  }
  if (before.memory.anon_kb > 0) f.heap_mb_start = before.memory.anon_kb / 1024.0;
  if (after.memory.anon_kb > 0) f.heap_mb_end = after.memory.anon_kb / 1024.0;
  if (before.mapped.rss_kb >= 0) {
    f.rss_mb_without_map_start = before.mapped.rss_without_map_kb() / 1024.0;
  }
  if (after.mapped.rss_kb >= 0)
    f.rss_mb_without_map_end = after.mapped.rss_without_map_kb() / 1024.0;
  if (std::optional<double> in_use = Sample(before.metrics, "masa_heap_in_use_bytes")) {
    f.heap_in_use_mb_start = *in_use / (1 << 20);
  }
  if (std::optional<double> in_use = Sample(after.metrics, "masa_heap_in_use_bytes")) {
    f.heap_in_use_mb_end = *in_use / (1 << 20);
  }
  f.store = StoreFiguresBetween(before.metrics, after.metrics);
  f.metrics_read = !after.metrics.empty();
  f.slices = MakeSlices(r.latency_by_second, r.vouchers_by_second, r.seconds, slice_s);
  if (!before.metrics.empty() && !after.metrics.empty()) {
    // The snapshot before the phase is the first slice's start.
    std::vector<MetricSamples> edges = {before.metrics};
    edges.insert(edges.end(), slice_edges.begin(), slice_edges.end());
    edges.push_back(after.metrics);
    // Every scrape restarted the slowest-commit gauge: the phase's is the largest read.
    f.store.commit_max_ms = CommitMaxMsOver(edges);
    // Slice k runs from scrape k to scrape k + 1, the last one to the scrape after the phase
    // (a scrape made during the open loop's drain past the last edge is left out).
    if (edges.size() > f.slices.size() + 1) {
      edges.erase(edges.begin() + static_cast<ptrdiff_t>(f.slices.size()), edges.end() - 1);
    }
    SliceMasadFigures(edges, &f.slices);
  }
  f.latency = r.latency;
  f.latency_by_second = r.latency_by_second;
  f.vouchers_by_second = r.vouchers_by_second;
  return f;
}

void SetOutsideSignature(PhaseFigures* f, double csign_cpu_us) {
  if (f->cpu_us_per_voucher) {
    f->cpu_us_per_voucher_outside_signature = *f->cpu_us_per_voucher - csign_cpu_us;
  }
}

void PrintPhaseFigures(const PhaseFigures& f) {
  const char* pad = "                      ";
  if (!f.slices.empty()) {
    // masad's columns: its own request p99, its CPU per signature (this machine's speed of
    // the moment) and its slowest commit, each over the slice.
    std::printf("%s   %-8s %9s %8s %8s %9s %9s %7s %7s\n", pad, "slice s", "vouch/s", "p50 ms",
                "p99 ms", "p99.9 ms", "masad p99", "sig us", "commit");
    auto col = [](const std::optional<double>& v, int width) {
      char buf[32];
      if (v) {
        std::snprintf(buf, sizeof(buf), " %*.1f", width, *v);
      } else {
        std::snprintf(buf, sizeof(buf), " %*s", width, "-");
      }
      return std::string(buf);
    };
    for (const SliceFigures& s : f.slices) {
      std::printf("%s   %4.0f+%-3.0f %9.0f %8.2f %8.2f %9.2f%s%s%s%s\n", pad, s.start_s, s.seconds,
                  s.vouchers_per_s, s.p50_ms, s.p99_ms, s.p999_ms,
                  col(s.masad_request_p99_ms, 9).c_str(), col(s.sign_cpu_us, 7).c_str(),
                  col(s.commit_max_ms, 7).c_str(), s.p99_ms >= 25 ? "  (p99 over 25 ms)" : "");
    }
    const SliceFigures* worst = WorstSlice(f.slices);
    std::printf("%s   worst slice: p99 %.2f ms at %.0f s\n", pad, worst->p99_ms, worst->start_s);
  }
  auto opt = [](const std::optional<double>& v) { return v ? *v : -1.0; };
  std::printf(
      "%s   disk: the store wrote %.0f B/voucher (write_bytes %.0f, device %.0f), masad CPU %.1f "
      "us/voucher",
      pad, opt(f.store_bytes_per_voucher), opt(f.disk_bytes_per_voucher),
      opt(f.device_bytes_per_voucher), opt(f.cpu_us_per_voucher));
  if (f.cpu_us_per_voucher_outside_signature) {
    std::printf(" (%.1f less the raw C_Sign phase's signature)",
                *f.cpu_us_per_voucher_outside_signature);
  }
  std::printf("; heap %.1f->%.1f MB", opt(f.heap_mb_start), opt(f.heap_mb_end));
  if (f.heap_in_use_mb_start && f.heap_in_use_mb_end) {
    std::printf(" (in use %.1f->%.1f)", *f.heap_in_use_mb_start, *f.heap_in_use_mb_end);
  }
  std::printf(", RSS without the map %.1f->%.1f MB\n", opt(f.rss_mb_without_map_start),
              opt(f.rss_mb_without_map_end));
  if (f.masad_signatures) {
    std::printf("%s   signature CPU inside masad: %.1f us a signature (%.0f signatures)", pad,
                opt(f.masad_sign_cpu_us_per_signature), *f.masad_signatures);
    if (f.cpu_us_per_voucher_outside_masad_signature) {
      std::printf("; masad CPU outside it %.1f us/voucher",
                  *f.cpu_us_per_voucher_outside_masad_signature);
    }
    if (f.outside_over_masad_signature_cpu) {
      std::printf(" = %.2f of the signature's", *f.outside_over_masad_signature_cpu);
    }
    std::printf("\n");
  } else if (f.metrics_read) {
    std::printf("%s   signature CPU inside masad: not exported (no masa_hsm_sign_cpu_seconds)\n",
                pad);
  }
  if (!f.masad_cpu_by_thread.empty()) {
    std::printf("%s   masad CPU by thread (%% of a core):", pad);
    for (const auto& [thread, pct] : f.masad_cpu_by_thread) {
      if (pct >= 0.5) std::printf(" %s %.0f", thread.c_str(), pct);
    }
    std::printf("\n");
  }
  const StoreFigures& s = f.store;
  if (s.commits) {
    std::printf("%s   store: %.0f commits", pad, *s.commits);
    if (s.batches) std::printf(" of %.0f batches", *s.batches);
    if (s.commit_p99_ms) std::printf(", commit p99 %.1f ms", *s.commit_p99_ms);
    if (s.commit_max_ms) std::printf(" max %.1f ms", *s.commit_max_ms);
    if (s.sync_ms_per_commit) std::printf(", sync %.2f ms/commit", *s.sync_ms_per_commit);
    if (s.queue_wait_ms_per_batch)
      std::printf(", queue wait %.2f ms/batch", *s.queue_wait_ms_per_batch);
    if (s.map_growths) std::printf(", %.0f map growths", *s.map_growths);
    if (s.map_growth_ms) std::printf(" (%.0f ms)", *s.map_growth_ms);
    if (s.gate_wait_ms) std::printf(", gate wait %.0f ms", *s.gate_wait_ms);
    if (s.pages_written) std::printf(", %.0f pages written", *s.pages_written);
    std::printf("\n");
  } else {
    std::printf("%s   store: %s\n", pad,
                f.metrics_read ? "masad's /metrics has no masa_store_commits_total"
                               : "masad's /metrics could not be read");
  }
}

}  // namespace masa::bench
