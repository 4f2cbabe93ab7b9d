// End-to-end load on a real masad over HTTPS: POST /request/ov with 20 serial numbers a
// request, closed-loop at the maximum rate and open-loop at 80 % of the rate still sustained
// in the closed loop's last quarter (the store grows during a run, and masad slows with it;
// vouchers/s by slice of each phase show how much), latency measured from the scheduled
// send time so a slow server cannot hide queueing; then the raw
// PKCS#11 C_Sign rate of the same token in the same run and the ratio (DESIGN.md
// "Performance targets"). Provisions its own state with masactl, starts masad itself, and
// stops by itself (about a minute with the defaults). Not a test: it asserts nothing.
// Then the same masad over gRPC: OVGS GetOwnershipVouchers with 100 components a call
// (the batched pipeline, like REST), closed loop, printed in the same table.
//
//   build/bench/load_bench [--duration 20] [--connections 32] [--rate R] [--workers 2]
//                          [--serials-per-request 20] [--serial-pool 20000] [--keep-state DIR]
//                          [--grpc-calls 4] [--grpc-components 100] [--rotate-at S]
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
#include "bench/internal/grpc_load.h"
#include "bench/internal/load_client.h"
#include "bench/internal/rotation.h"
#include "common/secret.h"
#include "common/testing/subprocess.h"
#include "hsm/pkcs11.h"
#include "tools/state.h"

namespace masa::bench {
namespace {

// ---------------------------------------------------------------------------------------
// Options

struct Options {
  double duration_s = 20;  // each load phase
  double warmup_s = 3;
  int connections = 32;       // closed loop: enough in flight to fill commit groups
  int open_connections = 64;  // open loop: requests beyond this many in flight wait (and count)
  double rate = 0;            // open loop, requests/s; 0: 80 % of the closed-loop maximum
  int serials_per_request = 20;
  int serial_pool = 20000;     // distinct serial numbers assigned and cycled through
  int workers = 2;             // masad [queue] workers, and C_Sign threads
  int worker_nice = 5;         // masad [queue] worker_nice
  int commit_interval_ms = 4;  // masad [store] min_commit_interval_ms
  double sign_s = 4;           // raw C_Sign phase
  std::string keep_state;      // keep the work folder here
  int grpc_calls = 4;          // gRPC phase: calls in flight (threads); 0: no gRPC phase
  int grpc_components = 100;   // components per GetOwnershipVouchers call
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
  bool faults() const { return fail_token_at > 0 || fail_all_at > 0; }
};

void Usage() {
  std::printf(
      "usage: load_bench [--duration S] [--warmup S] [--connections N] [--open-connections N]\n"
      "                  [--rate REQ_PER_S] [--serials-per-request N] [--serial-pool N]\n"
      "                  [--workers N] [--worker-nice N] [--commit-interval-ms N] [--sign-seconds S] [--keep-state DIR]\n"
      "                  [--grpc-calls N] [--grpc-components N] [--rotate-at S]\n"
      "                  [--tokens N] [--fail-token-at S] [--fail-all-at S] [--recover-at S]\n"
      "                  [--fault KIND] [--call-timeout-ms N] [--probe-interval-ms N]\n");
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
  if (o.faults()) {
    if (o.tokens < 2 && o.fail_token_at > 0) Die("--fail-token-at needs --tokens 2 or more");
    if (o.rotate_at_s > 0) Die("--rotate-at and the fault schedule are separate runs");
    o.grpc_calls = 0;  // the closed loop alone, timed against the fault schedule
  }
  if (o.serial_pool < o.serials_per_request) o.serial_pool = o.serials_per_request;
  if (o.serial_pool < o.grpc_components) o.serial_pool = o.grpc_components;
  return o;
}

// ---------------------------------------------------------------------------------------
// The appliance under test

struct Appliance {
  std::string work;           // our folder
  std::string state;          // the masad state folder inside it
  std::string token;          // the admin bearer token
  std::string officer_token;  // a security officer's (rotation mode)
  std::unique_ptr<subprocess::Daemon> masad;
  uint16_t port = 0;
  uint16_t grpc_port = 0;
};

// Runs a masactl command with stdout and stderr appended to `log`; Die() when it fails.
void RunTool(const std::vector<std::string>& argv, const std::string& log) {
  absl::StatusOr<subprocess::ProcessResult> r =
      subprocess::RunProcess(argv, {.timeout = absl::Minutes(30), .merge_stderr = true});
  if (!r.ok()) Die("cannot start " + argv[0] + ": " + std::string(r.status().message()));
  std::ofstream(log, std::ios::app) << r->out;
  if (r->exit_code != 0) {
    std::fprintf(stderr, "%s", ReadWholeFile(log).c_str());
    Die(argv[0] + " " + argv[1] + " failed (log above: " + log + ")");
  }
}

void Provision(const Options& o, Appliance* d) {
  namespace fs = std::filesystem;
  if (!o.keep_state.empty()) {
    d->work = fs::absolute(o.keep_state).string();
    if (fs::exists(d->work)) Die(d->work + " exists; --keep-state wants a new folder");
    fs::create_directories(d->work);
  } else {
    std::string tmpl = (fs::temp_directory_path() / "load_bench.XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp failed");
    d->work = tmpl;
  }
  d->state = d->work + "/state";
  const std::string log = d->work + "/setup.log";
  RunTool({MASA_MASACTL, "dev-init", "--state", d->state, "--tokens", std::to_string(o.tokens)},
          log);
  RunTool({MASA_MASACTL, "org", "create", "--state", d->state, "--name", "bench", "--admin",
           "admin@bench.example", "--token-out", d->work + "/admin.token"},
          log);
  {
    std::ofstream serials(d->work + "/serials.txt");
    char sn[32];
    for (int i = 0; i < o.serial_pool; ++i) {
      std::snprintf(sn, sizeof(sn), "LB-%07d\n", i);
      serials << sn;
    }
  }
  RunTool({MASA_MASACTL, "serials", "assign", "--state", d->state, "--org", "org-bench", "--file",
           d->work + "/serials.txt"},
          log);
  // dev-init's masad.toml has a [store] table (TOML allows a table once) and no [queue].
  std::string toml = ReadWholeFile(d->state + "/masad.toml");
  const size_t store_table = toml.find("[store]\n");
  if (store_table == std::string::npos) Die("masad.toml from dev-init has no [store] table");
  toml.insert(store_table + 8,
              "min_commit_interval_ms = " + std::to_string(o.commit_interval_ms) + "\n");
  // Every load connection comes from 127.0.0.1: one client, as far as the server can tell.
  const size_t server_table = toml.find("[server]\n");
  if (server_table == std::string::npos) Die("masad.toml from dev-init has no [server] table");
  toml.insert(server_table + 9, "max_connections_per_client = 1024\n");
  toml += "\n[queue]\nworkers = " + std::to_string(o.workers) +
          "\nworker_nice = " + std::to_string(o.worker_nice) + "\n";
  if (o.faults()) {
    // The fault module in front of SoftHSM2 (StartDaemon gives it its two variables).
    const size_t hsm_table = toml.find("[hsm]\n");
    if (hsm_table == std::string::npos) Die("masad.toml from dev-init has no [hsm] table");
    toml.insert(hsm_table + 6, std::string("module = \"") + MASA_PKCS11_FAULT_MODULE +
                                   "\"\ncall_timeout_ms = " + std::to_string(o.call_timeout_ms) +
                                   "\nprobe_interval_ms = " + std::to_string(o.probe_interval_ms) +
                                   "\n");
    std::ofstream(d->work + "/fault-rules", std::ios::trunc);
  }
  std::ofstream(d->state + "/masad.toml", std::ios::trunc) << toml;
  auto read_token = [](const std::string& path) {
    std::string token = ReadWholeFile(path);
    while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
    return token;
  };
  d->token = read_token(d->work + "/admin.token");
  if (o.rotate_at_s > 0) {
    RunTool({MASA_MASACTL, "vendor", "add", "--state", d->state, "--username",
             "officer@bench.example", "--role", "security-officer", "--token-out",
             d->work + "/officer.token"},
            log);
    d->officer_token = read_token(d->work + "/officer.token");
  }
}

void StartDaemon(Appliance* d) {
  const std::string prefix = "masad listening on https://127.0.0.1:";
  absl::StatusOr<std::unique_ptr<subprocess::Daemon>> masad = subprocess::Daemon::Start(
      {.argv = {MASA_MASAD, "--config", d->state + "/masad.toml", "--listen", "127.0.0.1:0",
                "--metrics-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"},
       .env = {{"MASA_FAULT_MODULE", MASA_SOFTHSM2_MODULE},
               {"MASA_FAULT_CONTROL", d->work + "/fault-rules"}},
       .ready_prefix = prefix,
       .start_timeout = absl::Seconds(60),
       .log_path = d->work + "/masad.log"});
  if (!masad.ok()) Die(std::string(masad.status().message()));
  d->masad = *std::move(masad);
  d->port = static_cast<uint16_t>(std::atoi(d->masad->ready_rest().c_str()));
  // "masad grpc on 127.0.0.1:PORT" comes before the ready line.
  const std::string grpc_prefix = "masad grpc on 127.0.0.1:";
  const std::string out = d->masad->output();
  const size_t at = out.find(grpc_prefix);
  if (at == std::string::npos) Die("masad printed no gRPC listener");
  d->grpc_port = static_cast<uint16_t>(std::atoi(out.c_str() + at + grpc_prefix.size()));
}

void StopDaemon(Appliance* d) {
  if (d->masad == nullptr || !d->masad->running()) return;
  d->masad->Signal(SIGTERM);
  if (!d->masad->Wait(absl::Seconds(30))) {  // 30 s to drain
    std::fprintf(stderr, "load_bench: masad did not stop within 30 s; killing it\n");
    d->masad->Kill();
  }
}

// ---------------------------------------------------------------------------------------
// The raw C_Sign ceiling of the state's token

double RawCSignRate(const std::string& state, int threads, double seconds) {
  tools::StatePaths paths(state);
  auto module = tools::LoadModuleFor(paths);
  if (!module.ok()) Die("PKCS#11 module: " + std::string(module.status().message()));
  auto pin = ReadSecretFile(paths.user_pin());
  if (!pin.ok()) Die("user PIN: " + std::string(pin.status().message()));
  auto token = hsm::Token::Open(*module, tools::kDevTokenLabel, *pin,
                                {.sessions = static_cast<size_t>(threads)});
  if (!token.ok()) Die("token: " + std::string(token.status().message()));
  auto key = (*token)->FindKey(hsm::PrivateKeyUri(tools::kDevTokenLabel, tools::kSigningKeyLabel));
  if (!key.ok()) Die("signing key: " + std::string(key.status().message()));
  const std::string digest(32, '\x5a');
  // A warm-up signature per session (key copies are made on first use).
  for (int i = 0; i < threads; ++i)
    (void)(*token)->Sign(*key, {hsm::SignMechanism::kEcdsa}, digest);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> total{0}, failures{0};
  std::vector<std::thread> pool;
  const int64_t start = NowNs();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      uint64_t n = 0, bad = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        auto sig = (*token)->Sign(*key, {hsm::SignMechanism::kEcdsa}, digest);
        sig.ok() ? ++n : ++bad;
      }
      total += n;
      failures += bad;
    });
  }
  usleep(static_cast<useconds_t>(seconds * 1e6));
  stop = true;
  for (auto& t : pool) t.join();
  const double elapsed = (NowNs() - start) / 1e9;
  if (failures > 0)
    std::fprintf(stderr, "load_bench: %lu C_Sign failures\n",
                 static_cast<unsigned long>(failures.load()));
  return total / elapsed;
}

// ---------------------------------------------------------------------------------------
// Report

void PrintPhase(const PhaseResult& r, int per_request) {
  const double rps = r.requests_ok / r.seconds;
  std::printf("%-22s %7.1f %8.0f %7.2f %7.2f %8.2f %7zu %6.0f%% %6.0f%%  %5.1f/%5.1f/%5.1f %7.1f\n",
              r.name.c_str(), rps, r.vouchers / r.seconds, r.Percentile(0.50), r.Percentile(0.99),
              r.Percentile(0.999), r.latency_us.size(), 100 * r.client_cpu / r.seconds,
              100 * r.daemon_cpu / r.seconds, r.mem_start.anon_kb / 1024.0, r.anon_max_kb / 1024.0,
              r.mem_end.anon_kb / 1024.0, r.mem_end.rss_kb / 1024.0);
  if (r.offered_rate > 0) {
    std::printf("%-22s   offered %.1f requests/s (%.0f vouchers/s)\n", "", r.offered_rate,
                r.offered_rate * per_request);
  }
  // Vouchers/s in consecutive slices of the window: a store that slows as it grows shows here.
  const size_t n = std::min(r.vouchers_by_second.size(), static_cast<size_t>(r.seconds));
  if (n >= 4) {
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

// Writes the fault module's rules on the schedule of `o`, from the moment it is started,
// until stopped. Atomic replacement (temp file + rename), as the module wants.
class FaultSchedule {
 public:
  FaultSchedule(const Options& o, std::string rules) : o_(o), rules_(std::move(rules)) {}
  ~FaultSchedule() { Stop(); }

  void Start() {
    thread_ = std::thread([this] {
      const int64_t start = NowNs();
      struct Step {
        double at;
        std::string rules;
      };
      const std::string last = tools::kDevTokenLabel + std::string("-") + std::to_string(o_.tokens);
      std::vector<Step> steps;
      if (o_.fail_token_at > 0) steps.push_back({o_.fail_token_at, last + " C_Sign " + o_.fault});
      if (o_.fail_all_at > 0) steps.push_back({o_.fail_all_at, "* C_Sign " + o_.fault});
      if (o_.recover_at > 0) steps.push_back({o_.recover_at, ""});
      std::sort(steps.begin(), steps.end(),
                [](const Step& a, const Step& b) { return a.at < b.at; });
      for (const Step& step : steps) {
        std::unique_lock<std::mutex> lock(mu_);
        const auto due =
            std::chrono::steady_clock::now() +
            std::chrono::nanoseconds(start + static_cast<int64_t>(step.at * 1e9) - NowNs());
        if (cv_.wait_until(lock, due, [this] { return stop_; })) return;
        Write(step.rules);
      }
    });
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    Write("");
  }

 private:
  void Write(const std::string& rules) {
    const std::string tmp = rules_ + ".tmp";
    std::ofstream(tmp, std::ios::trunc) << rules << (rules.empty() ? "" : "\n");
    std::rename(tmp.c_str(), rules_.c_str());
  }

  const Options& o_;
  const std::string rules_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The closed loop's vouchers/s and refusals/s in each phase of the fault schedule, and each
// phase's rate against the healthy one.
void PrintFaultPhases(const Options& o, const PhaseResult& r) {
  struct Span {
    std::string name;
    double from, to;
  };
  std::vector<std::pair<double, std::string>> marks = {{0, "healthy"}};
  if (o.fail_token_at > 0) {
    marks.push_back({o.fail_token_at, "1 of " + std::to_string(o.tokens) + " tokens failing"});
  }
  if (o.fail_all_at > 0) marks.push_back({o.fail_all_at, "all tokens failing"});
  if (o.recover_at > 0) marks.push_back({o.recover_at, "recovered"});
  std::sort(marks.begin(), marks.end());
  std::vector<Span> spans;
  for (size_t i = 0; i < marks.size(); ++i) {
    double to = i + 1 < marks.size() ? marks[i + 1].first : r.seconds;
    spans.push_back({marks[i].second, marks[i].first, std::min(to, r.seconds)});
  }
  auto sum = [](const std::vector<uint64_t>& v, double from, double to) {
    uint64_t n = 0;
    for (size_t s = static_cast<size_t>(from); s < static_cast<size_t>(to) && s < v.size(); ++s) {
      n += v[s];
    }
    return n;
  };
  std::printf("\nfault schedule (%s, %d tokens, call timeout %d ms, probe every %d ms): by phase\n",
              o.fault.c_str(), o.tokens, o.call_timeout_ms, o.probe_interval_ms);
  std::printf("%-26s %9s %9s %10s %9s\n", "phase", "seconds", "vouch/s", "refused/s", "vs healthy");
  double healthy = 0;
  for (const Span& s : spans) {
    // Whole seconds only; the first second of a phase still carries the previous one.
    const double from = std::ceil(s.from), to = std::floor(s.to);
    if (to <= from) continue;
    const double vps = sum(r.vouchers_by_second, from, to) / (to - from);
    const double eps = sum(r.errors_by_second, from, to) / (to - from);
    if (s.name == "healthy") healthy = vps;
    std::printf("%-26s %4.0f..%-4.0f %9.0f %10.1f %9.2f\n", s.name.c_str(), from, to, vps, eps,
                healthy > 0 ? vps / healthy : 0);
  }
}

std::string ReproduceCommand(int argc, char** argv) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string cmd = n > 0 ? std::string(self, n) : argv[0];
  for (int i = 1; i < argc; ++i) cmd += std::string(" ") + argv[i];
  return cmd;
}

// ---------------------------------------------------------------------------------------
// Rotation mode

// masactl's output (stdout and stderr), and its exit code.
std::pair<int, std::string> Masactl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {MASA_MASACTL};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<subprocess::ProcessResult> r =
      subprocess::RunProcess(argv, {.timeout = absl::Minutes(30), .merge_stderr = true});
  if (!r.ok()) Die("cannot start masactl: " + std::string(r.status().message()));
  return {r->exit_code, r->out};
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
  StartDaemon(&d);
  std::printf("load_bench: masad pid %d on https://127.0.0.1:%u, %d workers, state %s\n",
              d.masad->pid(), d.port, o.workers, d.state.c_str());
  const Memory idle = MemoryOf(d.masad->pid());
  std::fflush(stdout);
  if (o.rotate_at_s > 0) return RunRotation(o, d, argc, argv);

  std::vector<PhaseResult> phases;
  double max_rps = 0;
  {
    std::unique_ptr<LoadClient> client =
        NewLoadClient({.port = d.port,
                       .tls_ca = d.state + "/tls-ca.pem",
                       .token = d.token,
                       .pid = d.masad->pid(),
                       .serials_per_request = o.serials_per_request,
                       .serial_pool = o.serial_pool});
    if (o.warmup_s > 0) client->Closed("warm-up", o.connections, o.warmup_s);
    if (o.faults()) {
      FaultSchedule schedule(o, d.work + "/fault-rules");
      schedule.Start();
      phases.push_back(
          client->Closed("faults c=" + std::to_string(o.connections), o.connections, o.duration_s));
      schedule.Stop();
      PrintPhase(phases.back(), o.serials_per_request);
      PrintFaultPhases(o, phases.back());
      StopDaemon(&d);
      std::printf("reproduce: %s\n", ReproduceCommand(argc, argv).c_str());
      if (o.keep_state.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(d.work, ec);
      }
      return 0;
    }
    phases.push_back(client->Closed("closed-loop c=" + std::to_string(o.connections), o.connections,
                                    o.duration_s));
    max_rps = phases.back().requests_ok / phases.back().seconds;
    // DESIGN.md's "80 % of the maximum sustained rate": the closed loop's last quarter.
    const double sustained_rps = phases.back().SustainedVouchersPerSecond() / o.serials_per_request;
    const double rate80 = 0.8 * (sustained_rps > 0 ? sustained_rps : max_rps);
    if (rate80 > 0) {
      char name[64];
      std::snprintf(name, sizeof(name), "open-loop 80%% %.1f/s", rate80);  // of sustained
      phases.push_back(client->Open(name, o.open_connections, o.duration_s, rate80));
    }
    if (o.rate > 0) {
      char name[64];
      std::snprintf(name, sizeof(name), "open-loop %.1f/s", o.rate);
      phases.push_back(client->Open(name, o.open_connections, o.duration_s, o.rate));
    }
  }
  std::vector<PhaseResult> grpc_phases;
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
    grpc_phases.push_back(GrpcClosed(target, cert_id,
                                     "grpc c=" + std::to_string(o.grpc_calls) + " x" +
                                         std::to_string(o.grpc_components),
                                     o.grpc_calls, o.duration_s));
  }
  const Memory last = MemoryOf(d.masad->pid());
  StopDaemon(&d);

  std::printf("load_bench: masad stopped; raw C_Sign on the same token, %d threads, %.0f s...\n",
              o.workers, o.sign_s);
  std::fflush(stdout);
  const double csign = RawCSignRate(d.state, o.workers, o.sign_s);

  std::printf("\n%-22s %7s %8s %7s %7s %8s %7s %7s %7s  %17s %7s\n", "phase", "req/s", "vouch/s",
              "p50 ms", "p99 ms", "p99.9 ms", "answers", "client", "masad", "anon MB 0/max/1",
              "RSS MB");
  std::printf("%-22s (CPU %% of one core; anon = masad heap at start/peak/end of the phase)\n", "");
  for (const auto& p : phases) PrintPhase(p, o.serials_per_request);
  std::printf("%-22s (gRPC: req/s = GetOwnershipVouchers calls/s of %d components each)\n", "",
              o.grpc_components);
  for (const auto& p : grpc_phases) PrintPhase(p, o.grpc_components);
  const PhaseResult& max = phases.front();
  const double vps = max.vouchers / max.seconds;
  std::printf("\nraw C_Sign (ECDSA P-256, %d threads): %.0f /s\n", o.workers, csign);
  std::printf("end-to-end / C_Sign: %.3f  (target >= 0.75)\n", csign > 0 ? vps / csign : 0);
  const double sustained = max.SustainedVouchersPerSecond();
  std::printf("sustained (last quarter of the closed loop): %.0f vouchers/s = %.3f of C_Sign\n",
              sustained, csign > 0 ? sustained / csign : 0);
  double p99_80 = phases.size() > 1 ? phases[1].Percentile(0.99) : 0;
  std::printf("p99 at 80%% of the sustained rate: %.2f ms  (target < 25 ms)\n", p99_80);
  long peak_anon = idle.anon_kb;
  for (const auto& p : phases) peak_anon = std::max(peak_anon, p.anon_max_kb);
  std::printf(
      "masad memory: heap (RssAnon) idle %.1f MB, peak %.1f MB, end %.1f MB; RSS idle %.1f MB, "
      "end %.1f MB (of which LMDB/file %.1f MB), VmHWM %.1f MB\n",
      idle.anon_kb / 1024.0, peak_anon / 1024.0, last.anon_kb / 1024.0, idle.rss_kb / 1024.0,
      last.rss_kb / 1024.0, last.file_kb / 1024.0, last.hwm_kb / 1024.0);
  std::printf(
      "\nSUMMARY: %.0f vouchers/s (%.1f req/s x %d serials) = %.2f of C_Sign %.0f/s, "
      "sustained %.0f/s = %.2f; max p50/p99/p99.9 %.1f/%.1f/%.1f ms; at 80%% p99 %.1f ms; "
      "heap %.0f->%.0f MB (peak %.0f)\n",
      vps, max.requests_ok / max.seconds, o.serials_per_request, csign > 0 ? vps / csign : 0, csign,
      sustained, csign > 0 ? sustained / csign : 0, max.Percentile(0.5), max.Percentile(0.99),
      max.Percentile(0.999), p99_80, idle.anon_kb / 1024.0, last.anon_kb / 1024.0,
      peak_anon / 1024.0);
  for (const auto& g : grpc_phases) {
    std::printf(
        "gRPC SUMMARY: %.0f vouchers/s (%.1f GetOwnershipVouchers/s x %d components, %d in "
        "flight) = %.2f of C_Sign; p50/p99/p99.9 %.1f/%.1f/%.1f ms a call; REST above: %.0f "
        "vouchers/s\n",
        g.vouchers / g.seconds, g.requests_ok / g.seconds, o.grpc_components, o.grpc_calls,
        csign > 0 ? g.vouchers / g.seconds / csign : 0, g.Percentile(0.5), g.Percentile(0.99),
        g.Percentile(0.999), vps);
  }
  std::printf("reproduce: %s\n", ReproduceCommand(argc, argv).c_str());
  if (o.keep_state.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(d.work, ec);
  } else {
    std::printf("state kept in %s (masad log: %s/masad.log)\n", d.work.c_str(), d.work.c_str());
  }
  return 0;
}
