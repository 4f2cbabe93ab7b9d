// load_bench's command line (the flags are listed at the top of bench/load_bench.cc).
#pragma once

#include <cstdint>
#include <string>

namespace masa::bench {

struct Options {
  double duration_s = 20;  // each load phase
  double warmup_s = 3;
  int connections = 32;       // closed loop: enough in flight to fill commit groups
  int open_connections = 64;  // open loop: requests beyond this many in flight wait (and count)
  double rate = 0;            // open loop, requests/s; 0: 80 % of the closed-loop maximum
  int serials_per_request = 20;
  // Distinct serial numbers assigned and cycled through. A vendor's fleet has many devices
  // and each gets a voucher now and then: 400,000 give each about one voucher in a phase of
  // 20 s, as a fleet's new devices do. A small pool (--serial-pool 20000 re-issues every
  // serial every 1.5 s) is a stress of the serial index instead: each serial's entries end
  // on a page of their own, so every voucher rewrites one (about 4 KB more a voucher).
  int serial_pool = 400000;
  int workers = 2;             // masad [queue] workers, and C_Sign threads
  int worker_nice = 5;         // masad [queue] worker_nice
  int commit_interval_ms = 4;  // masad [store] min_commit_interval_ms
  // masad [queue] max_queue_delay_ms: admission control, off (0) as in masad by default.
  // Shed requests (503) are counted apart and left out of the latency percentiles.
  int max_queue_delay_ms = 0;
  double sign_s = 4;          // raw C_Sign phase
  std::string keep_state;     // keep the work folder here
  int grpc_calls = 4;         // gRPC phase: calls in flight (threads); 0: no gRPC phase
  int grpc_components = 100;  // components per GetOwnershipVouchers call
  // > 0: rotation mode. The closed-loop phase only, and at this second of it a security
  // officer generates, issues and activates a new signing key through the REST API.
  double rotate_at_s = 0;
  // HSM faults (see the top of the file); times in seconds into the closed loop, 0: never.
  int tokens = 1;
  double fail_token_at = 0;
  double fail_all_at = 0;
  double recover_at = 0;
  std::string fault = "device_error";
  int call_timeout_ms = 1000;
  int probe_interval_ms = 1000;
  // --results-dir: load_bench.json, load_bench.html and the phases' SVGs go here.
  std::string results_dir;
  int slice_s = 10;      // per-slice figures: vouchers/s, p50, p99, p99.9
  uint64_t prefill = 0;  // vouchers written into the store before the measured phases
  // --postgres: the store on PostgreSQL (a primary and a synchronous standby load_bench
  // starts, fsync on), served by --nodes masad nodes (bench/internal/cluster.h).
  bool postgres = false;
  int nodes = 1;
  bool faults() const { return fail_token_at > 0 || fail_all_at > 0; }
};

void Usage();
// Die()s on a bad or unknown flag; --help prints the usage and exits 0.
Options ParseOptions(int argc, char** argv);

}  // namespace masa::bench
