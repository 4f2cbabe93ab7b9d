#include "bench/internal/options.h"

#include <cstdio>
#include <cstdlib>

#include "bench/internal/load_client.h"

namespace masa::bench {

void Usage() {
  std::printf(
      "usage: load_bench [--duration S] [--warmup S] [--connections N] [--open-connections N]\n"
      "                  [--rate REQ_PER_S] [--serials-per-request N] [--serial-pool N]\n"
      "                  [--workers N] [--worker-nice N] [--commit-interval-ms N] [--max-queue-delay-ms N]\n"
      "                  [--sign-seconds S] [--keep-state DIR]\n"
      "                  [--grpc-calls N] [--grpc-components N] [--rotate-at S]\n"
      "                  [--tokens N] [--fail-token-at S] [--fail-all-at S] [--recover-at S]\n"
      "                  [--fault KIND] [--call-timeout-ms N] [--probe-interval-ms N]\n"
      "                  [--results-dir DIR] [--slice S] [--prefill N]\n"
      "                  [--postgres [--nodes N]]\n");
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (arg == "--postgres") {
      o.postgres = true;
      continue;
    } else if (arg == "--help" || arg == "-h") {
      Usage();
      std::exit(0);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      Usage();
      Die("missing value for " + arg);
    }
    auto num = [&](double lo, double hi) {
      char* end = nullptr;
      double v = std::strtod(value.c_str(), &end);
      if (end == value.c_str() || *end != '\0' || v < lo || v > hi) {
        Die("bad value for " + arg + ": " + value);
      }
      return v;
    };
    if (arg == "--duration")
      o.duration_s = num(1, 3600);
    else if (arg == "--nodes")
      o.nodes = static_cast<int>(num(1, 8));
    else if (arg == "--warmup")
      o.warmup_s = num(0, 600);
    else if (arg == "--connections")
      o.connections = static_cast<int>(num(1, 512));
    else if (arg == "--open-connections")
      o.open_connections = static_cast<int>(num(1, 512));
    else if (arg == "--rate")
      o.rate = num(0, 1e6);
    else if (arg == "--serials-per-request")
      o.serials_per_request = static_cast<int>(num(1, 20));
    else if (arg == "--serial-pool")
      o.serial_pool = static_cast<int>(num(1, 1e6));
    else if (arg == "--workers")
      o.workers = static_cast<int>(num(1, 64));
    else if (arg == "--worker-nice")
      o.worker_nice = static_cast<int>(num(0, 19));
    else if (arg == "--commit-interval-ms")
      o.commit_interval_ms = static_cast<int>(num(0, 100));
    else if (arg == "--max-queue-delay-ms")
      o.max_queue_delay_ms = static_cast<int>(num(0, 60000));
    else if (arg == "--sign-seconds")
      o.sign_s = num(1, 600);
    else if (arg == "--keep-state")
      o.keep_state = value;
    else if (arg == "--grpc-calls")
      o.grpc_calls = static_cast<int>(num(0, 256));
    else if (arg == "--grpc-components")
      o.grpc_components = static_cast<int>(num(1, 1000));
    else if (arg == "--rotate-at")
      o.rotate_at_s = num(0.5, 3600);
    else if (arg == "--tokens")
      o.tokens = static_cast<int>(num(1, 8));
    else if (arg == "--fail-token-at")
      o.fail_token_at = num(0, 3600);
    else if (arg == "--fail-all-at")
      o.fail_all_at = num(0, 3600);
    else if (arg == "--recover-at")
      o.recover_at = num(0, 3600);
    else if (arg == "--results-dir")
      o.results_dir = value;
    else if (arg == "--slice")
      o.slice_s = static_cast<int>(num(1, 3600));
    else if (arg == "--prefill")
      o.prefill = static_cast<uint64_t>(num(0, 1e9));
    else if (arg == "--fault")
      o.fault = value;
    else if (arg == "--call-timeout-ms")
      o.call_timeout_ms = static_cast<int>(num(10, 600000));
    else if (arg == "--probe-interval-ms")
      o.probe_interval_ms = static_cast<int>(num(10, 3600000));
    else {
      Usage();
      Die("unknown flag " + arg);
    }
  }
  if (o.rotate_at_s >= o.duration_s) Die("--rotate-at must fall inside --duration");
  if (o.prefill > 0 && (o.faults() || o.rotate_at_s > 0)) {
    Die("--prefill goes with the closed and open loops, not with --rotate-at or faults");
  }
  if (o.faults()) {
    if (o.tokens < 2 && o.fail_token_at > 0) Die("--fail-token-at needs --tokens 2 or more");
    if (o.rotate_at_s > 0) Die("--rotate-at and the fault schedule are separate runs");
    o.grpc_calls = 0;  // the closed loop alone, timed against the fault schedule
  }
  if (o.serial_pool < o.serials_per_request) o.serial_pool = o.serials_per_request;
  if (o.serial_pool < o.grpc_components) o.serial_pool = o.grpc_components;
  return o;
}

}  // namespace masa::bench
