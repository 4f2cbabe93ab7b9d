#include "bench/internal/cluster.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "bench/internal/load_client.h"
#include "bench/internal/metrics_scrape.h"
#include "common/file.h"
#include "store/testing/pg_cluster.h"

namespace masa::bench {
namespace {

void WriteOrDie(const std::string& path, const std::string& text) {
  absl::Status st = WriteFileAtomic(path, text, 0600);
  if (!st.ok()) Die(std::string(st.message()));
}

// The nodes' write transactions so far (masa_store_commits_total, summed).
double Commits(const std::vector<Appliance>& nodes) {
  double sum = 0;
  for (const Appliance& n : nodes) {
    if (n.masad == nullptr || n.metrics_port == 0) continue;
    sum += Sample(ScrapeMetrics(n.metrics_port), "masa_store_commits_total").value_or(0);
  }
  return sum;
}

void PrintRow(const PhaseResult& r, double commits, int serials_per_request) {
  const double s = r.seconds > 0 ? r.seconds : 1;
  std::printf("%-24s %8.0f %7.2f %7.2f %7.2f %9.0f %7.1f %9.1f", r.name.c_str(),
              static_cast<double>(r.vouchers) / s, r.Percentile(0.50), r.Percentile(0.99),
              r.Percentile(0.999), commits / s,
              commits > 0 ? static_cast<double>(r.vouchers) / commits : 0,
              r.vouchers > 0 ? r.daemon_cpu * 1e6 / static_cast<double>(r.vouchers) : 0);
  uint64_t failed = 0;
  for (const auto& [what, n] : r.errors) failed += n;
  std::printf("  %lu failed", static_cast<unsigned long>(failed));
  if (r.serials_failed > 0)
    std::printf(", %lu serials failed", static_cast<unsigned long>(r.serials_failed));
  std::printf("\n");
  (void)serials_per_request;
}

}  // namespace

int RunCluster(const Options& o, Appliance& d, int argc, char** argv) {
  std::printf("load_bench: PostgreSQL primary and synchronous standby (fsync on)...\n");
  std::fflush(stdout);
  auto cluster = store::testing::PgCluster::Start({.standby = true, .fsync = true});
  if (!cluster.ok()) Die(std::string(cluster.status().message()));
  const std::string conninfo = (*cluster)->ConnString();
  std::printf("load_bench: masactl store copy of the state into it...\n");
  std::fflush(stdout);
  RunTool({MASA_MASACTL, "store", "copy", "--from", d.state, "--to", conninfo},
          d.work + "/store-copy.log");
  std::vector<Appliance> nodes(o.nodes);
  for (int n = o.nodes - 1; n >= 0; --n) {  // the original state changed last
    Appliance& node = nodes[n];
    node.work = n == 0 ? d.work : absl::StrCat(d.work, "/node-", n);
    node.state = n == 0 ? d.state : node.work + "/state";
    if (n > 0) {
      RunTool({"mkdir", "-p", node.work}, d.work + "/nodes.log");
      RunTool({"cp", "-a", d.state, node.state}, d.work + "/nodes.log");
      const std::string conf = node.state + "/softhsm2.conf";
      const std::string text = ReadWholeFile(conf);
      WriteOrDie(conf, absl::StrReplaceAll(text, {{d.state + "/tokens", node.state + "/tokens"}}));
    }
    const std::string toml = node.state + "/masad.toml";
    WriteOrDie(toml,
               absl::StrReplaceAll(
                   ReadWholeFile(toml),
                   {{"[store]\n", absl::StrCat("[store]\nbackend = \"postgres\"\n"
                                               "postgres = \"",
                                               conninfo, "\"\nnode_id = \"node-", n, "\"\n")}}));
  }
  LoadTarget target{.tls_ca = d.state + "/tls-ca.pem",
                    .token = d.token,
                    .serials_per_request = o.serials_per_request,
                    .serial_pool = o.serial_pool};
  for (int n = 0; n < o.nodes; ++n) {
    StartDaemon(&nodes[n]);
    target.ports.push_back(nodes[n].port);
    target.pids.push_back(nodes[n].masad->pid());
    std::printf("load_bench: node-%d pid %d on https://127.0.0.1:%u\n", n, nodes[n].masad->pid(),
                nodes[n].port);
  }
  target.port = nodes[0].port;
  target.pid = nodes[0].masad->pid();
  std::fflush(stdout);
  std::unique_ptr<LoadClient> client = NewLoadClient(target);
  if (o.warmup_s > 0) client->Closed("warm-up", o.connections, o.warmup_s);
  double c0 = Commits(nodes);
  PhaseResult closed =
      client->Closed(absl::StrCat("closed c=", o.connections), o.connections, o.duration_s);
  const double closed_commits = Commits(nodes) - c0;
  const double rate = 0.8 * closed.SustainedVouchersPerSecond() / o.serials_per_request;
  c0 = Commits(nodes);
  PhaseResult open = client->Open(absl::StrCat("open80 ", static_cast<int>(rate), " req/s"),
                                  o.open_connections, o.duration_s, rate);
  const double open_commits = Commits(nodes) - c0;
  client.reset();
  for (Appliance& n : nodes) StopDaemon(&n);
  std::printf("\nPostgreSQL store, %d node%s, %d serials a request, %d workers a node\n", o.nodes,
              o.nodes == 1 ? "" : "s", o.serials_per_request, o.workers);
  std::printf("%-24s %8s %7s %7s %7s %9s %7s %9s\n", "phase", "vouch/s", "p50 ms", "p99 ms",
              "p99.9", "commits/s", "v/commit", "cpu us/v");
  PrintRow(closed, closed_commits, o.serials_per_request);
  PrintRow(open, open_commits, o.serials_per_request);
  const auto [code, out] = Masactl({"audit", "verify", "--state", d.state});
  std::printf("\nmasactl audit verify over the combined log (exit %d):\n%s", code, out.c_str());
  std::string cmd = argv[0];
  for (int i = 1; i < argc; ++i) absl::StrAppend(&cmd, " ", argv[i]);
  std::printf("reproduce: %s\n", cmd.c_str());
  return code == 0 ? 0 : 1;
}

}  // namespace masa::bench
