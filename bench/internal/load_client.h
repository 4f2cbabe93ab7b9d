// The load generator's client: one thread on epoll with non-blocking OpenSSL connections and
// a minimal HTTP/1.1 keep-alive writer and reader (Content-Length bodies), so that it takes
// little of the CPU that masad needs; and the figures of one load phase (rates, latency
// from the scheduled send time, CPU and memory of both processes).
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/internal/latency.h"

namespace masa::bench {

// Prints "load_bench: WHAT" and exits 1.
[[noreturn]] void Die(const std::string& what);

// CLOCK_MONOTONIC in nanoseconds.
int64_t NowNs();

std::string ReadWholeFile(const std::string& path);

// utime + stime of `pid` from /proc/PID/stat, in seconds; -1 when gone.
double CpuSecondsOf(pid_t pid);

// Resident memory of masad. RssFile is mostly the LMDB map (pages of data.mdb touched),
// which grows with the data by design; RssAnon is the heap, the figure that must stay flat.
struct Memory {
  long rss_kb = 0;   // VmRSS
  long hwm_kb = 0;   // VmHWM: the peak resident size since start
  long anon_kb = 0;  // RssAnon
  long file_kb = 0;  // RssFile
};

Memory MemoryOf(pid_t pid);

// One acknowledged voucher: the first voucher id of a 200 answer, and when it came.
struct VoucherSample {
  double at = 0;  // seconds since the phase started
  std::string voucher_id;
};

// The masad under load and what a request needs.
struct LoadTarget {
  uint16_t port = 0;   // HTTPS on 127.0.0.1
  std::string tls_ca;  // PEM file the server certificate is verified against
  std::string token;   // bearer token of an organization's admin
  pid_t pid = -1;      // masad, for its CPU time and memory
  int serials_per_request = 20;
  int serial_pool = 400000;      // serials LB-0000000... assigned to that organization
  bool sample_vouchers = false;  // keep a VoucherSample of every 200 answer
  // Several masad nodes (load_bench --nodes): connection i goes to ports[i % size]
  // (`port` unused), and the daemon CPU is the sum over pids.
  std::vector<uint16_t> ports = {};
  std::vector<pid_t> pids = {};
};

struct PhaseResult {
  std::string name;
  double seconds = 0;
  double offered_rate = 0;                   // open loop only
  uint64_t requests_ok = 0;                  // 200 answers completed inside the window
  uint64_t vouchers = 0;                     // serials answered "completed" inside the window
  std::vector<uint64_t> vouchers_by_second;  // the same, by second of the window
  std::vector<uint64_t> errors_by_second;    // non-200 answers, by second of the window
  uint64_t serials_failed = 0;
  // Every answered request, from its scheduled time: over the phase, and by second of the
  // phase (the second its answer came).
  LatencyHistogram latency;
  std::vector<LatencyHistogram> latency_by_second;
  std::map<std::string, uint64_t> errors;
  std::vector<VoucherSample> samples;  // LoadTarget::sample_vouchers
  std::string first_failure;
  double client_cpu = 0, daemon_cpu = 0;  // seconds
  Memory mem_start, mem_end;
  long rss_max_kb = 0, anon_max_kb = 0;

  // Vouchers per second over the last quarter of the window: the rate the daemon still
  // sustains once its store has grown, rather than its rate on a fresh one.
  double SustainedVouchersPerSecond() const {
    const size_t n = std::min(vouchers_by_second.size(), static_cast<size_t>(seconds));
    const size_t quarter = std::max<size_t>(1, n / 4);
    if (n == 0) return 0;
    uint64_t sum = 0;
    for (size_t i = n - quarter; i < n; ++i) sum += vouchers_by_second[i];
    return static_cast<double>(sum) / static_cast<double>(quarter);
  }

  // Milliseconds; see LatencyHistogram::PercentileMs.
  double Percentile(double p) const { return latency.PercentileMs(p); }

  // Counts an answer that took `micros`, `second` whole seconds into the phase.
  void AddLatency(size_t second, uint64_t micros) {
    latency.Add(micros);
    if (latency_by_second.size() <= second) latency_by_second.resize(second + 1);
    latency_by_second[second].Add(micros);
  }
};

// Drives one masad. Connections are made before a phase's clock starts and kept across
// phases; Die() when none can be made. One thread.
class LoadClient {
 public:
  virtual ~LoadClient() = default;
  // Closed loop: `connections` connections, each sending the next request as soon as the
  // answer arrives, for `seconds`.
  virtual PhaseResult Closed(const std::string& name, int connections, double seconds) = 0;
  // Open loop: requests due at start + k / rate for `seconds`, each on an idle connection
  // (of at most `connections`), or waiting for one; latency from the due time.
  virtual PhaseResult Open(const std::string& name, int connections, double seconds,
                           double rate) = 0;
};

std::unique_ptr<LoadClient> NewLoadClient(const LoadTarget& target);

}  // namespace masa::bench
