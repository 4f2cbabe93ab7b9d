// End-to-end load on a real masad over HTTPS: POST /request/ov with 20 serial numbers a
// request, closed-loop at the maximum rate and open-loop at 80 % of the rate still sustained
// in the closed loop's last quarter (the store grows during a run, and masad slows with it;
// vouchers/s by slice of each phase show how much), latency measured from the scheduled
// send time so a slow server cannot hide queueing; then the raw
// PKCS#11 C_Sign rate of the same token before and after the load (a shared host drifts;
// the ratio takes their mean, the drift printed beside it) and the ratio (DESIGN.md
// "Performance targets"). Provisions its own state with masactl, starts masad itself, and
// stops by itself (about a minute with the defaults). Not a test: it asserts nothing.
// Then the same masad over gRPC: OVGS GetOwnershipVouchers with 100 components a call
// (the batched pipeline, like REST), closed loop, printed in the same table.
//
//   build/bench/load_bench [--duration 20] [--connections 32] [--rate R] [--workers 2]
//                          [--serials-per-request 20] [--serial-pool 400000] [--keep-state DIR]
//                          [--grpc-calls 4] [--grpc-components 100] [--rotate-at S]
//                          [--results-dir DIR] [--slice 10] [--prefill N]
//
// Every phase prints its vouchers/s, p50, p99 and p99.9 by slice of --slice seconds (and the
// worst slice), and what masad's /proc files and /metrics said over it: disk bytes written
// per voucher (what the store's writer thread handed to pwrite, beside /proc/PID/io
// write_bytes, which large page-cache folios inflate, and the device's count), masad CPU per voucher in total and outside the
// signature (less the CPU masad's /metrics says its signing calls took in the phase,
// masa_hsm_sign_cpu_seconds; and, for comparison, less the CPU of one raw C_Sign of the
// later phase), the signature's CPU per signature inside masad, CPU by thread name,
// heap (RssAnon) and RSS without the LMDB map (smaps) at its start and end, and the store's
// commit figures (commits, commit p99 and max, sync per commit, map growths, gate wait) when
// masad exports them. --max-queue-delay-ms N turns on masad's admission control ([queue]
// max_queue_delay_ms): the requests it sheds (503) are counted as such and are not in the
// latency percentiles, and in the closed loop a connection told to retry after S seconds
// (Retry-After) waits them before it sends again, as a client should. --results-dir DIR
// also writes them as DIR/load_bench.json (the bench contract's schema; scripts/bench-ci.sh
// checks its ratios), DIR/load_bench.html and SVG
// plots of each phase (bench/internal/report.h). Phases in the JSON: "closed", "open80",
// "open" (--rate), "grpc", and with --prefill "closed_empty".
//
// --prefill N: the closed loop first runs on the fresh store ("closed_empty"); then masad
// stops, N vouchers are written into its store directly through the store library
// (bench/internal/prefill.h), masad starts again, and the usual phases run on the filled
// store; the summary gives the closed loop's rate against the empty store's.
//
// --rotate-at S: the rotation mode (issue 12). Only the closed loop runs; S seconds into it a
// security officer (a vendor principal made with masactl) generates a new signing key in the
// HSM, has the vendor CA issue it and activates it through masad's REST API while the load
// goes on. Then: failed requests, vouchers/s by second around the switch, every 200
// answer's first voucher downloaded and verified against the chains of GET /keys (counted by
// key, before and after the activation), `masactl audit verify` and the key events of the
// audit log. The state is kept (its folder is printed); exit 1 when anything failed.
//
// HSM faults: with --tokens N masad signs on N SoftHSM2 tokens holding the same keys
// (`masactl dev-init --tokens N`) behind the PKCS#11 fault module; --fail-token-at S makes
// the last token fail every C_Sign (--fault KIND, default device_error) S seconds into the
// closed loop, --fail-all-at S every token, --recover-at S none again. The closed loop then
// runs alone (no open loop, no gRPC), and the report gives vouchers/s and refusals by phase
// of the fault schedule, failures by kind, and each phase's rate against the healthy one:
//
//   build/bench/load_bench --tokens 2 --duration 24 --fail-token-at 6 --fail-all-at 12
//                          --recover-at 16
//
// The client is one thread on epoll with non-blocking OpenSSL connections and a minimal
// HTTP/1.1 keep-alive writer and reader (Content-Length bodies), so it takes little of the
// CPU that masad needs: bench/internal/load_client.h. masad and masactl are started with
// common/testing/subprocess.h, as the tests start them.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "bench/internal/appliance.h"
#include "bench/internal/cluster.h"
#include "bench/internal/faults.h"
#include "bench/internal/grpc_load.h"
#include "bench/internal/load_client.h"
#include "bench/internal/options.h"
#include "bench/internal/phase_figures.h"
#include "bench/internal/prefill.h"
#include "bench/internal/report.h"
#include "bench/internal/rotation.h"
#include "common/testing/subprocess.h"

namespace masa::bench {
namespace {

// The phase's row of the table; with `rate_line`, also vouchers/s in tenths of the phase
// (the modes without the slice table).
void PrintPhase(const PhaseResult& r, int per_request, bool rate_line = true) {
  const double rps = r.requests_ok / r.seconds;
  std::printf("%-22s %7.1f %8.0f %7.2f %7.2f %8.2f %7zu %6.0f%% %6.0f%%  %5.1f/%5.1f/%5.1f %7.1f\n",
              r.name.c_str(), rps, r.vouchers / r.seconds, r.Percentile(0.50), r.Percentile(0.99),
              r.Percentile(0.999), static_cast<size_t>(r.latency.count()),
              100 * r.client_cpu / r.seconds, 100 * r.daemon_cpu / r.seconds,
              r.mem_start.anon_kb / 1024.0, r.anon_max_kb / 1024.0, r.mem_end.anon_kb / 1024.0,
              r.mem_end.rss_kb / 1024.0);
  if (r.offered_rate > 0) {
    std::printf("%-22s   offered %.1f requests/s (%.0f vouchers/s)\n", "", r.offered_rate,
                r.offered_rate * per_request);
  }
  // Vouchers/s in consecutive slices of the window: a store that slows as it grows shows here.
  const size_t n = std::min(r.vouchers_by_second.size(), static_cast<size_t>(r.seconds));
  if (n >= 4 && rate_line) {
    const size_t slice = std::max<size_t>(1, n / 10);
    std::string line;
    for (size_t i = 0; i + slice <= n; i += slice) {
      uint64_t sum = 0;
      for (size_t k = i; k < i + slice; ++k) sum += r.vouchers_by_second[k];
      char buf[32];
      std::snprintf(buf, sizeof(buf), " %.1fk", sum / 1000.0 / slice);
      line += buf;
    }
    std::printf("%-22s   vouchers/s by %zu s:%s\n", "", slice, line.c_str());
  }
  for (const auto& [what, n] : r.errors) {
    std::printf("%-22s   errors: %s x %lu\n", "", what.c_str(), static_cast<unsigned long>(n));
  }
  if (r.serials_failed > 0) {
    std::printf("%-22s   serials failed: %lu\n", "", static_cast<unsigned long>(r.serials_failed));
  }
  if (!r.first_failure.empty()) {
    std::printf("%-22s   first failure: %s\n", "", r.first_failure.c_str());
  }
}

std::string ReproduceCommand(int argc, char** argv) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string cmd = n > 0 ? std::string(self, n) : argv[0];
  for (int i = 1; i < argc; ++i) cmd += std::string(" ") + argv[i];
  return cmd;
}

void PrintCounts(const char* what, const std::map<std::string, uint64_t>& counts) {
  std::printf("  %-34s", what);
  if (counts.empty()) std::printf(" none");
  for (const auto& [key, n] : counts) {
    std::printf(" %s: %lu", key.c_str(), static_cast<unsigned long>(n));
  }
  std::printf("\n");
}

// The closed loop with a key rotation at o.rotate_at_s, then the checks of the rotation:
// failed requests, the rate around the switch, every sampled voucher verified against the
// published chains, and the audit log (verify, and its key events).
int RunRotation(const Options& o, Appliance& d, int argc, char** argv) {
  std::unique_ptr<LoadClient> client = NewLoadClient({.port = d.port,
                                                      .tls_ca = d.state + "/tls-ca.pem",
                                                      .token = d.token,
                                                      .pid = d.masad->pid(),
                                                      .serials_per_request = o.serials_per_request,
                                                      .serial_pool = o.serial_pool,
                                                      .sample_vouchers = true});
  if (o.warmup_s > 0) client->Closed("warm-up", o.connections, o.warmup_s);
  const RotationTarget target{.port = d.port,
                              .tls_ca = d.state + "/tls-ca.pem",
                              .officer_token = d.officer_token,
                              .admin_token = d.token};
  RotationResult rotation;
  const int64_t t0 = NowNs();
  std::thread officer([&] { rotation = RotateSigningKey(target, t0, o.rotate_at_s); });
  PhaseResult phase = client->Closed(
      "closed-loop c=" + std::to_string(o.connections) + " +rotation", o.connections, o.duration_s);
  officer.join();
  const double activated_at = rotation.failure.empty() ? rotation.activated_at : o.duration_s;
  std::printf("load_bench: verifying %zu sampled vouchers against GET /keys...\n",
              phase.samples.size());
  std::fflush(stdout);
  const VerifyReport verified = VerifySamples(target, phase.samples, activated_at);
  const Memory last = MemoryOf(d.masad->pid());
  StopDaemon(&d);
  const auto [verify_code, verify_out] = Masactl({"audit", "verify", "--state", d.state});
  const std::string export_file = d.work + "/audit.jsonl";
  const auto [export_code, export_out] =
      Masactl({"audit", "export", "--state", d.state, "--out", export_file});

  std::printf("\n%-22s %7s %8s %7s %7s %8s %7s %7s %7s  %17s %7s\n", "phase", "req/s", "vouch/s",
              "p50 ms", "p99 ms", "p99.9 ms", "answers", "client", "masad", "anon MB 0/max/1",
              "RSS MB");
  PrintPhase(phase, o.serials_per_request);
  uint64_t failed_requests = 0;
  for (const auto& [what, n] : phase.errors) failed_requests += n;
  std::printf("\nrotation (seconds into the phase):\n");
  if (!rotation.failure.empty()) {
    std::printf("  FAILED: %s\n", rotation.failure.c_str());
  } else {
    std::printf("  %s -> %s: generate at %.2f s, issued at %.2f s, activated at %.2f s\n",
                rotation.old_key_id.c_str(), rotation.new_key_id.c_str(), rotation.generate_at,
                rotation.issued_at, rotation.activated_at);
  }
  // Vouchers/s in the seconds around the switch (the second of the activation marked).
  const int at = static_cast<int>(activated_at);
  std::printf("  vouchers/s by second:");
  for (int sec = std::max(0, at - 4); sec <= at + 4; ++sec) {
    if (static_cast<size_t>(sec) >= phase.vouchers_by_second.size()) break;
    std::printf(" %s%lu%s", sec == at ? "[" : "",
                static_cast<unsigned long>(phase.vouchers_by_second[sec]), sec == at ? "]" : "");
  }
  std::printf("  (seconds %d..%d)\n", std::max(0, at - 4), at + 4);
  std::printf("  failed requests: %lu; serials failed: %lu\n",
              static_cast<unsigned long>(failed_requests),
              static_cast<unsigned long>(phase.serials_failed));
  std::printf("  published voucher-signing keys (GET /keys): %zu\n", verified.published_keys);
  PrintCounts("sampled, answered before activation:", verified.before);
  PrintCounts("sampled, answered after activation:", verified.after);
  std::printf("  sampled vouchers verified by no published chain: %lu; downloads failed: %lu\n",
              static_cast<unsigned long>(verified.unverified),
              static_cast<unsigned long>(verified.download_failures));
  if (!verified.first_problem.empty()) {
    std::printf("  first problem: %s\n", verified.first_problem.c_str());
  }
  PrintCounts("vouchers signed (GET /keys/managed):", verified.signatures);
  std::printf("\nmasactl audit verify (exit %d):\n%s", verify_code, verify_out.c_str());
  if (export_code == 0) {
    std::printf("key events in the audit log (masactl audit export):\n");
    std::istringstream lines(ReadWholeFile(export_file));
    size_t checkpoints = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.find("\"type\":\"checkpoint\"") != std::string::npos) ++checkpoints;
      if (line.find("\"action\":\"key.") == std::string::npos) continue;
      auto field = [&](const std::string& name) {
        const std::string tag = "\"" + name + "\":\"";
        const size_t from = line.find(tag);
        if (from == std::string::npos) return std::string();
        const size_t start = from + tag.size();
        return line.substr(start, line.find('"', start) - start);
      };
      std::printf("  %s  %-20s %-16s %s\n", field("time").c_str(), field("action").c_str(),
                  field("actor").c_str(), field("target").c_str());
    }
    std::printf("  (%zu signed checkpoints in the log)\n", checkpoints);
  } else {
    std::printf("masactl audit export failed:\n%s", export_out.c_str());
  }
  const bool ok = rotation.failure.empty() && failed_requests == 0 && phase.serials_failed == 0 &&
                  verified.unverified == 0 && verified.download_failures == 0 &&
                  !verified.after.empty() && verify_code == 0;
  std::printf(
      "\nROTATION SUMMARY: %s; %.0f vouchers/s over %.0f s, %lu failed requests, %zu sampled "
      "vouchers verified against the published chains (%lu unverified), audit verify exit %d; "
      "masad heap %.1f MB at the end\n",
      ok ? "OK" : "PROBLEMS", phase.vouchers / phase.seconds, phase.seconds,
      static_cast<unsigned long>(failed_requests), phase.samples.size(),
      static_cast<unsigned long>(verified.unverified), verify_code, last.anon_kb / 1024.0);
  std::printf("reproduce: %s\n", ReproduceCommand(argc, argv).c_str());
  std::printf("state kept in %s (masad log: %s/masad.log)\n", d.work.c_str(), d.work.c_str());
  return ok ? 0 : 1;
}

// The measured phases of a normal run, in order, with what each needs for printing.
struct Run {
  std::vector<PhaseResult> results;
  std::vector<PhaseFigures> figures;
  std::vector<int> per_request;  // serials per REST request, components per gRPC call
};

// Runs one phase between two snapshots of masad.
template <typename Phase>
void Measure(const Options& o, const Appliance& d, const std::string& name, int per_request,
             Run* run, Phase phase) {
  const DaemonSnapshot before = TakeDaemonSnapshot(d.masad->pid(), d.metrics_port);
  SliceScraper scraper(d.metrics_port, o.slice_s);
  PhaseResult r = phase();
  const std::vector<MetricSamples> slice_edges = scraper.Stop();
  const DaemonSnapshot after = TakeDaemonSnapshot(d.masad->pid(), d.metrics_port);
  run->figures.push_back(MakePhaseFigures(name, r, before, after, o.slice_s, slice_edges));
  run->results.push_back(std::move(r));
  run->per_request.push_back(per_request);
}

const PhaseFigures* Find(const Run& run, const std::string& name) {
  for (const PhaseFigures& f : run.figures) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::unique_ptr<LoadClient> NewClient(const Options& o, const Appliance& d) {
  return NewLoadClient({.port = d.port,
                        .tls_ca = d.state + "/tls-ca.pem",
                        .token = d.token,
                        .pid = d.masad->pid(),
                        .serials_per_request = o.serials_per_request,
                        .serial_pool = o.serial_pool});
}

// --prefill: the closed loop on the empty store, then masad stopped, the store filled, and
// masad started again on it.
PrefillFigures EmptyThenPrefill(const Options& o, Appliance& d, Run* run) {
  {
    std::unique_ptr<LoadClient> client = NewClient(o, d);
    if (o.warmup_s > 0) client->Closed("warm-up", o.connections, o.warmup_s);
    Measure(o, d, "closed_empty", o.serials_per_request, run, [&] {
      return client->Closed("closed c=" + std::to_string(o.connections) + " empty store",
                            o.connections, o.duration_s);
    });
  }
  StopDaemon(&d);
  std::printf(
      "load_bench: closed loop on the empty store: %.0f vouchers/s; prefilling %lu "
      "vouchers through the store library...\n",
      run->figures.back().vouchers_per_s, static_cast<unsigned long>(o.prefill));
  std::fflush(stdout);
  const int64_t start = NowNs();
  absl::StatusOr<PrefillResult> filled =
      Prefill({.state_dir = d.state, .vouchers = o.prefill, .progress = [start](uint64_t n) {
                 std::printf("load_bench:   %lu vouchers, %.0f/s\n", static_cast<unsigned long>(n),
                             n / ((NowNs() - start) / 1e9));
                 std::fflush(stdout);
               }});
  if (!filled.ok()) Die("prefill: " + std::string(filled.status().message()));
  PrefillFigures f;
  f.vouchers = filled->vouchers;
  f.seconds = filled->seconds;
  if (filled->vouchers > 0 && filled->added_bytes > 0) {
    f.disk_bytes_per_voucher = static_cast<double>(filled->added_bytes) / filled->vouchers;
  }
  std::printf(
      "load_bench: prefilled %lu vouchers in %.1f s (%.0f vouchers/s); data.mdb now %.2f GB, "
      "%.0f bytes stored per prefilled voucher (its record, indexes, component, audit entry "
      "and a 20th of a request)\n",
      static_cast<unsigned long>(f.vouchers), f.seconds, f.vouchers / std::max(f.seconds, 1e-9),
      filled->data_bytes / 1e9, f.disk_bytes_per_voucher.value_or(0));
  std::fflush(stdout);
  StartDaemon(&d);
  std::printf("load_bench: masad pid %d on https://127.0.0.1:%u, on the prefilled store\n",
              d.masad->pid(), d.port);
  return f;
}

int RunFaults(const Options& o, Appliance& d, int argc, char** argv) {
  {
    std::unique_ptr<LoadClient> client = NewClient(o, d);
    if (o.warmup_s > 0) client->Closed("warm-up", o.connections, o.warmup_s);
    FaultSchedule schedule(o, d.work + "/fault-rules");
    schedule.Start();
    PhaseResult r =
        client->Closed("faults c=" + std::to_string(o.connections), o.connections, o.duration_s);
    schedule.Stop();
    PrintPhase(r, o.serials_per_request);
    PrintFaultPhases(o, r);
  }
  StopDaemon(&d);
  std::printf("reproduce: %s\n", ReproduceCommand(argc, argv).c_str());
  if (o.keep_state.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(d.work, ec);
  }
  return 0;
}

}  // namespace
}  // namespace masa::bench

int main(int argc, char** argv) {
  using namespace masa::bench;
  signal(SIGPIPE, SIG_IGN);
  Options o = ParseOptions(argc, argv);
  Appliance d;
  std::printf("load_bench: provisioning a state with %d serial numbers...\n", o.serial_pool);
  std::fflush(stdout);
  Provision(o, &d);
  if (o.postgres) return RunCluster(o, d, argc, argv);
  // The HSM's ceiling before the load as well as after it: a shared host's speed drifts over
  // a run, and the ratios then take the mean of the two, the drift printed beside them.
  CSignFigures csign_before;
  if (o.rotate_at_s <= 0 && !o.faults()) {
    std::printf("load_bench: raw C_Sign on the token before the load, %d threads, %.0f s...\n",
                o.workers, o.sign_s);
    std::fflush(stdout);
    csign_before = RawCSign(d.state, o.workers, o.sign_s);
  }
  StartDaemon(&d);
  std::printf("load_bench: masad pid %d on https://127.0.0.1:%u, %d workers, state %s\n",
              d.masad->pid(), d.port, o.workers, d.state.c_str());
  if (d.metrics_port == 0) std::printf("load_bench: masad printed no metrics listener\n");
  const Memory idle = MemoryOf(d.masad->pid());
  std::fflush(stdout);
  if (o.rotate_at_s > 0) return RunRotation(o, d, argc, argv);
  if (o.faults()) return RunFaults(o, d, argc, argv);

  BenchReport report;
  report.command = ReproduceCommand(argc, argv);
  report.slice_s = o.slice_s;
  Run run;
  if (o.prefill > 0) report.prefill = EmptyThenPrefill(o, d, &run);
  {
    std::unique_ptr<LoadClient> client = NewClient(o, d);
    if (o.warmup_s > 0) client->Closed("warm-up", o.connections, o.warmup_s);
    Measure(o, d, "closed", o.serials_per_request, &run, [&] {
      return client->Closed("closed-loop c=" + std::to_string(o.connections), o.connections,
                            o.duration_s);
    });
    // DESIGN.md's "80 % of the maximum sustained rate": the closed loop's last quarter.
    const PhaseResult& closed = run.results.back();
    const double sustained_rps = closed.SustainedVouchersPerSecond() / o.serials_per_request;
    const double rate80 =
        0.8 * (sustained_rps > 0 ? sustained_rps : closed.requests_ok / closed.seconds);
    if (rate80 > 0) {
      char name[64];
      std::snprintf(name, sizeof(name), "open-loop 80%% %.1f/s", rate80);  // of sustained
      Measure(o, d, "open80", o.serials_per_request, &run,
              [&] { return client->Open(name, o.open_connections, o.duration_s, rate80); });
    }
    if (o.rate > 0) {
      char name[64];
      std::snprintf(name, sizeof(name), "open-loop %.1f/s", o.rate);
      Measure(o, d, "open", o.serials_per_request, &run,
              [&] { return client->Open(name, o.open_connections, o.duration_s, o.rate); });
    }
  }
  if (o.grpc_calls > 0) {
    GrpcLoadTarget target{.port = d.grpc_port,
                          .tls_ca = d.state + "/tls-ca.pem",
                          .token = d.token,
                          .pid = d.masad->pid(),
                          .components_per_call = o.grpc_components,
                          .serial_pool = o.serial_pool};
    RunTool({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", d.work + "/owner.key", "-subj",
             "/CN=owner.example", "-days", "365", "-outform", "DER", "-out", d.work + "/owner.der"},
            d.work + "/setup.log");
    const std::string cert_id =
        CreateGrpcDomainCert(target, "org-bench", ReadWholeFile(d.work + "/owner.der"));
    if (o.warmup_s > 0) GrpcClosed(target, cert_id, "grpc warm-up", o.grpc_calls, o.warmup_s);
    Measure(o, d, "grpc", o.grpc_components, &run, [&] {
      return GrpcClosed(target, cert_id,
                        "grpc c=" + std::to_string(o.grpc_calls) + " x" +
                            std::to_string(o.grpc_components),
                        o.grpc_calls, o.duration_s);
    });
  }
  const Memory last = MemoryOf(d.masad->pid());
  StopDaemon(&d);

  std::printf("load_bench: masad stopped; raw C_Sign on the same token, %d threads, %.0f s...\n",
              o.workers, o.sign_s);
  std::fflush(stdout);
  const CSignFigures csign_after = RawCSign(d.state, o.workers, o.sign_s);
  const CSignFigures csign = MeanOf(csign_before, csign_after);
  if (csign_before.per_s > 0) report.csign_before_per_s = csign_before.per_s;
  if (csign_after.per_s > 0) report.csign_after_per_s = csign_after.per_s;
  if (csign.per_s > 0) {
    report.csign_per_s = csign.per_s;
    report.csign_cpu_us_per_signature = csign.cpu_us_per_signature;
    if (csign.inside_cpu_us_per_signature > 0) {
      report.csign_inside_cpu_us_per_signature = csign.inside_cpu_us_per_signature;
    }
    for (PhaseFigures& f : run.figures) SetOutsideSignature(&f, csign.cpu_us_per_signature);
  }

  std::printf("\n%-22s %7s %8s %7s %7s %8s %7s %7s %7s  %17s %7s\n", "phase", "req/s", "vouch/s",
              "p50 ms", "p99 ms", "p99.9 ms", "answers", "client", "masad", "anon MB 0/max/1",
              "RSS MB");
  std::printf(
      "%-22s (CPU %% of one core; anon = masad heap at start/peak/end of the phase;\n"
      "%-22s  gRPC: req/s = GetOwnershipVouchers calls/s of %d components each)\n",
      "", "", o.grpc_components);
  for (size_t i = 0; i < run.results.size(); ++i) {
    PrintPhase(run.results[i], run.per_request[i], false);
    PrintPhaseFigures(run.figures[i]);
  }
  const PhaseResult& max = run.results[o.prefill > 0 ? 1 : 0];
  const PhaseFigures& closed = *Find(run, "closed");
  const double vps = closed.vouchers_per_s;
  const double sustained = max.SustainedVouchersPerSecond();
  std::map<std::string, double>& ratios = report.ratios;
  std::printf("\n");
  for (const auto& [when, f] :
       {std::pair{"before the load", csign_before}, std::pair{"after the load", csign_after},
        std::pair{"mean", csign}}) {
    std::printf(
        "raw C_Sign (ECDSA P-256, %d threads), %-15s: %.0f /s, %.1f CPU us a signature (%.1f "
        "inside C_SignInit and C_Sign)\n",
        o.workers, when, f.per_s, f.cpu_us_per_signature, f.inside_cpu_us_per_signature);
  }
  if (csign_before.per_s > 0 && csign_after.per_s > 0) {
    ratios["csign_after_over_before"] = csign_after.per_s / csign_before.per_s;
    std::printf(
        "the host's signing ceiling moved by %+.0f %% over the run (the same signatures on the "
        "same token); the ratios to C_Sign below take the mean\n",
        (ratios["csign_after_over_before"] - 1) * 100);
  }
  if (csign.per_s > 0) {
    ratios["end_to_end_over_csign"] = vps / csign.per_s;
    ratios["sustained_over_csign"] = sustained / csign.per_s;
    std::printf("end-to-end / C_Sign: %.3f  (target >= 0.75)\n", vps / csign.per_s);
    std::printf("sustained (last quarter of the closed loop): %.0f vouchers/s = %.3f of C_Sign\n",
                sustained, sustained / csign.per_s);
  }
  // Issue 14's CPU target with both sides measured inside masad over the closed loop: the
  // raw C_Sign phase runs in another process afterwards, and its CPU per signature swings
  // by some 15 % from run to run, which the difference "CPU less one signature" magnifies.
  if (closed.outside_over_masad_signature_cpu) {
    const double sign_us = *closed.masad_sign_cpu_us_per_signature;
    ratios["outside_over_masad_signature_cpu"] = *closed.outside_over_masad_signature_cpu;
    std::printf("signature CPU inside masad (closed loop): %.1f us a signature", sign_us);
    if (csign.cpu_us_per_signature > 0) {
      ratios["masad_signature_over_csign_cpu"] = sign_us / csign.cpu_us_per_signature;
      std::printf(" = %.2f of the raw C_Sign phase's %.1f",
                  ratios["masad_signature_over_csign_cpu"], csign.cpu_us_per_signature);
    }
    std::printf("\n");
    std::printf(
        "masad CPU per voucher outside the signature: %.1f us = %.2f of the signature's %.1f us, "
        "both measured inside masad in the closed loop  (target <= 0.33)\n",
        *closed.cpu_us_per_voucher_outside_masad_signature,
        *closed.outside_over_masad_signature_cpu, sign_us);
  } else {
    std::printf("masad CPU per voucher outside the signature: not measured (%s)\n",
                closed.metrics_read ? "masad's /metrics has no masa_hsm_sign_cpu_seconds"
                                    : "masad's /metrics could not be read");
  }
  if (closed.cpu_us_per_voucher_outside_signature && csign.cpu_us_per_signature > 0) {
    ratios["outside_over_signature_cpu"] =
        *closed.cpu_us_per_voucher_outside_signature / csign.cpu_us_per_signature;
    std::printf(
        "  the same less the raw C_Sign phase's signature instead (another process, after "
        "masad stopped): %.1f us = %.2f of its %.1f us\n",
        *closed.cpu_us_per_voucher_outside_signature, ratios["outside_over_signature_cpu"],
        csign.cpu_us_per_signature);
  }
  if (const PhaseFigures* open80 = Find(run, "open80")) {
    ratios["open80_p99_ms"] = open80->p99_ms;
    ratios["open80_p999_ms"] = open80->p999_ms;
    const SliceFigures* worst = WorstSlice(open80->slices);
    if (worst != nullptr) ratios["open80_worst_slice_p99_ms"] = worst->p99_ms;
    std::printf(
        "at 80%% of the sustained rate: p99 %.2f ms (target < 25), p99.9 %.2f ms "
        "(target < 50), worst %d s slice p99 %.2f ms at %.0f s\n",
        open80->p99_ms, open80->p999_ms, o.slice_s, worst ? worst->p99_ms : 0,
        worst ? worst->start_s : 0);
  }
  if (const PhaseFigures* empty = Find(run, "closed_empty"); empty && empty->vouchers_per_s > 0) {
    ratios["prefilled_over_empty"] = vps / empty->vouchers_per_s;
    std::printf(
        "with %lu vouchers prefilled: %.0f vouchers/s = %.3f of the empty store's %.0f  "
        "(target >= 0.9)\n",
        static_cast<unsigned long>(o.prefill), vps, ratios["prefilled_over_empty"],
        empty->vouchers_per_s);
  }
  long peak_anon = idle.anon_kb;
  for (const auto& p : run.results) peak_anon = std::max(peak_anon, p.anon_max_kb);
  std::printf(
      "masad memory: heap (RssAnon) idle %.1f MB, peak %.1f MB, end %.1f MB; RSS idle %.1f MB, "
      "end %.1f MB (of which LMDB/file %.1f MB), VmHWM %.1f MB\n",
      idle.anon_kb / 1024.0, peak_anon / 1024.0, last.anon_kb / 1024.0, idle.rss_kb / 1024.0,
      last.rss_kb / 1024.0, last.file_kb / 1024.0, last.hwm_kb / 1024.0);
  std::printf(
      "\nSUMMARY: %.0f vouchers/s (%.1f req/s x %d serials) = %.2f of C_Sign %.0f/s, "
      "sustained %.0f/s = %.2f; max p50/p99/p99.9 %.1f/%.1f/%.1f ms; at 80%% p99 %.1f ms "
      "(worst slice %.1f); the store wrote %.0f B/voucher (write_bytes %.0f); heap %.0f->%.0f MB (peak %.0f)\n",
      vps, closed.requests_per_s, o.serials_per_request, csign.per_s > 0 ? vps / csign.per_s : 0,
      csign.per_s, sustained, csign.per_s > 0 ? sustained / csign.per_s : 0, closed.p50_ms,
      closed.p99_ms, closed.p999_ms, ratios.count("open80_p99_ms") ? ratios["open80_p99_ms"] : 0,
      ratios.count("open80_worst_slice_p99_ms") ? ratios["open80_worst_slice_p99_ms"] : 0,
      closed.store_bytes_per_voucher.value_or(-1), closed.disk_bytes_per_voucher.value_or(-1),
      idle.anon_kb / 1024.0, last.anon_kb / 1024.0, peak_anon / 1024.0);
  if (const PhaseFigures* g = Find(run, "grpc")) {
    std::printf(
        "gRPC SUMMARY: %.0f vouchers/s (%.1f GetOwnershipVouchers/s x %d components, %d in "
        "flight) = %.2f of C_Sign; p50/p99/p99.9 %.1f/%.1f/%.1f ms a call; REST above: %.0f "
        "vouchers/s\n",
        g->vouchers_per_s, g->requests_per_s, o.grpc_components, o.grpc_calls,
        csign.per_s > 0 ? g->vouchers_per_s / csign.per_s : 0, g->p50_ms, g->p99_ms, g->p999_ms,
        vps);
  }
  report.phases = std::move(run.figures);
  if (!o.results_dir.empty()) {
    const std::string failed = WriteResults(o.results_dir, report);
    if (!failed.empty()) Die(failed);
    std::printf(
        "results: %s/load_bench.json, load_bench.html and <phase>-{latency,percentiles}.svg\n",
        o.results_dir.c_str());
  }
  std::printf("reproduce: %s\n", report.command.c_str());
  if (o.keep_state.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(d.work, ec);
  } else {
    std::printf("state kept in %s (masad log: %s/masad.log)\n", d.work.c_str(), d.work.c_str());
  }
  return 0;
}
