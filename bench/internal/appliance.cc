#include "bench/internal/appliance.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/time/time.h"
#include "bench/internal/load_client.h"
#include "common/secret.h"
#include "hsm/pkcs11.h"
#include "hsm/sign_cpu.h"
#include "tools/state.h"

namespace masa::bench {

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
          "\nworker_nice = " + std::to_string(o.worker_nice) +
          "\nmax_queue_delay_ms = " + std::to_string(o.max_queue_delay_ms) + "\n";
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
  const std::string metrics_prefix = "masad metrics on http://127.0.0.1:";
  const size_t metrics_at = out.find(metrics_prefix);
  d->metrics_port =
      metrics_at == std::string::npos
          ? 0
          : static_cast<uint16_t>(std::atoi(out.c_str() + metrics_at + metrics_prefix.size()));
}

void StopDaemon(Appliance* d) {
  if (d->masad == nullptr || !d->masad->running()) return;
  d->masad->Signal(SIGTERM);
  if (!d->masad->Wait(absl::Seconds(30))) {  // 30 s to drain
    std::fprintf(stderr, "load_bench: masad did not stop within 30 s; killing it\n");
    d->masad->Kill();
  }
}

CSignFigures RawCSign(const std::string& state, int threads, double seconds) {
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
  const double cpu0 = CpuSecondsOf(getpid());
  const hsm::SignCpu inside0 = hsm::SignCpuSoFar();
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
  const double cpu = CpuSecondsOf(getpid()) - cpu0;
  const hsm::SignCpu inside = hsm::SignCpuSoFar();
  if (failures > 0)
    std::fprintf(stderr, "load_bench: %lu C_Sign failures\n",
                 static_cast<unsigned long>(failures.load()));
  CSignFigures f;
  f.per_s = total / elapsed;
  if (total > 0) f.cpu_us_per_signature = cpu * 1e6 / static_cast<double>(total.load());
  if (inside.timed_calls > inside0.timed_calls) {
    f.inside_cpu_us_per_signature = (inside.timed_cpu_ns - inside0.timed_cpu_ns) / 1e3 /
                                    static_cast<double>(inside.timed_calls - inside0.timed_calls);
  }
  return f;
}

CSignFigures MeanOf(const CSignFigures& a, const CSignFigures& b) {
  if (a.per_s <= 0) return b;
  if (b.per_s <= 0) return a;
  return {.per_s = (a.per_s + b.per_s) / 2,
          .cpu_us_per_signature = (a.cpu_us_per_signature + b.cpu_us_per_signature) / 2,
          .inside_cpu_us_per_signature =
              (a.inside_cpu_us_per_signature + b.inside_cpu_us_per_signature) / 2};
}

std::pair<int, std::string> Masactl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {MASA_MASACTL};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<subprocess::ProcessResult> r =
      subprocess::RunProcess(argv, {.timeout = absl::Minutes(30), .merge_stderr = true});
  if (!r.ok()) Die("cannot start masactl: " + std::string(r.status().message()));
  return {r->exit_code, r->out};
}

}  // namespace masa::bench
