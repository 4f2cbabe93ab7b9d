// The figures of one load phase for the report: what the client measured (PhaseResult)
// joined with what masad's /proc files and /metrics said before and after the phase.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/internal/load_client.h"
#include "bench/internal/metrics_scrape.h"
#include "bench/internal/proc_stats.h"
#include "bench/internal/report.h"

namespace masa::bench {

// masad at one moment.
struct DaemonSnapshot {
  double cpu_s = -1;  // the whole process, threads that ended included
  std::map<std::string, double> thread_cpu_s;
  int64_t write_bytes = -1;
  int64_t device_write_bytes = -1;  // the store's block device, machine-wide
  int64_t store_write_chars = -1;   // handed to pwrite by the store's writer thread
  Memory memory;
  MappedRss mapped;
  MetricSamples metrics;
};

// Reads /proc/PID/{stat,task/*/stat,io,status,smaps} and, when metrics_port is not 0,
// GET /metrics (which resets masa_store_commit_max_seconds: take one right before a phase).
DaemonSnapshot TakeDaemonSnapshot(pid_t pid, uint16_t metrics_port);

// masad's /metrics scraped `slice_s`, 2 * `slice_s`, ... seconds after construction until
// Stop, on a thread of its own: the inner edges of a phase's slices (the snapshots before
// and after the phase are the outer ones). Start it right before the phase; the phase's
// clock starts after its connections are made, a few milliseconds later at most once they
// exist.
class SliceScraper {
 public:
  SliceScraper(uint16_t metrics_port, int slice_s);
  ~SliceScraper();
  SliceScraper(const SliceScraper&) = delete;
  SliceScraper& operator=(const SliceScraper&) = delete;

  // Ends the scraping; the scrapes in order (none when the port is 0).
  std::vector<MetricSamples> Stop();

 private:
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<MetricSamples> scrapes_;
  std::thread thread_;
};

// `name` and `label` as PhaseFigures has them. The signature's CPU and masad's CPU outside
// it come from masad's masa_hsm_sign_cpu_seconds in the two snapshots (unset when masad
// does not export it); cpu_us_per_voucher_outside_signature waits for the raw C_Sign phase
// (SetOutsideSignature).
// `slice_edges` are SliceScraper's scrapes of the phase: with the two snapshots they give
// each slice's masad figures, and the phase's slowest commit over all of them.
PhaseFigures MakePhaseFigures(const std::string& name, const PhaseResult& r,
                              const DaemonSnapshot& before, const DaemonSnapshot& after,
                              int slice_s, const std::vector<MetricSamples>& slice_edges);

// Fills cpu_us_per_voucher_outside_signature once the raw C_Sign phase's CPU per signature
// (`csign_cpu_us`) is known.
void SetOutsideSignature(PhaseFigures* f, double csign_cpu_us);

// Prints the slices, the worst one, and the /proc and store figures under the phase's
// table row.
void PrintPhaseFigures(const PhaseFigures& f);

}  // namespace masa::bench
