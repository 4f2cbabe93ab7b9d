// Three masad nodes on one PostgreSQL store (issue 15): a real primary and synchronous hot
// standby (store/testing/pg_cluster.h), each node with its own SoftHSM2 token holding the
// same signing key, curl clients spread over them. Under that load one node is SIGKILLed,
// then the primary, and the standby is promoted: every voucher a node acknowledged is still
// there, downloads from any node and verifies with openssl; the audit log verifies end to
// end; the clients saw only answers they could retry elsewhere.
#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/testing/wait_for.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "store/testing/pg_cluster.h"
#include "tests/internal/e2e.h"
#include "tests/internal/https_client.h"
#include "tests/internal/masad.h"
#include "tests/internal/masad_e2e_fixture.h"

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr int kNodes = 3;
constexpr int kSerialsPerRequest = 3;
// Enough serials that the clients never run out before the last phase ends.
constexpr int kSerials = 6000;

// A copy of the dev state `from` in `to` for another node: its own token files (the same
// keys, as a vendor restores its HSM backup on each machine), and masad.toml pointing the
// store at PostgreSQL under the name `node`.
void MakeNode(const std::string& from, const std::string& to, const std::string& node,
              const std::string& conninfo) {
  if (from != to) {
    ProcessResult cp = RunTool({"cp", "-a", from, to});
    ASSERT_EQ(cp.exit_code, 0) << cp;
    WriteFile(to + "/softhsm2.conf", absl::StrReplaceAll(ReadFileOrEmpty(to + "/softhsm2.conf"),
                                                         {{from + "/tokens", to + "/tokens"}}));
  }
  const std::string config = ReadFileOrEmpty(to + "/masad.toml");
  ASSERT_THAT(config, HasSubstr("[store]\nstate_dir = \".\"\n"));
  WriteFile(
      to + "/masad.toml",
      absl::StrReplaceAll(config, {{"[store]\nstate_dir = \".\"\n",
                                    absl::StrCat("[store]\nstate_dir = \".\"\n"
                                                 "backend = \"postgres\"\npostgres = \"",
                                                 conninfo, "\"\nnode_id = \"", node, "\"\n")}}) +
          // Checkpoints often, so that every voucher is soon provable.
          "\n[audit]\ncheckpoint_every_entries = 20\ncheckpoint_every_seconds = 1\n");
}

TEST(MasadClusterTest, EveryAcknowledgedVoucherSurvivesANodeAndThePrimaryDying) {
  auto cluster = store::testing::PgCluster::Start({.standby = true});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const std::string conninfo = (*cluster)->ConnString();
  TempFolder root;
  DevState dev = MakeDevState(root / "node-0");
  ASSERT_FALSE(HasFatalFailure());
  MakeCa(root.path(), "pdc");
  const std::string pdc = ReadFileOrEmpty(root / "pdc.pem");

  // Onboarded on LMDB, as an appliance that grows into a cluster was, then moved across.
  const std::string secret =
      CreateOrganization(dev.dir, "alpha", "admin@alpha.example", root / "admin.token");
  AssignSerials(dev.dir, kAlpha, Serials("A", 1, kSerials));
  ProcessResult copy = Masactl({"store", "copy", "--from", dev.dir, "--to", conninfo});
  ASSERT_EQ(copy.exit_code, 0) << copy;
  EXPECT_THAT(copy.out, HasSubstr("audit log verified"));

  std::vector<std::string> dirs;
  std::vector<std::unique_ptr<Daemon>> masad(kNodes);
  std::vector<std::unique_ptr<HttpsClient>> clients;
  std::vector<std::string> auth;
  for (int n = 0; n < kNodes; ++n) dirs.push_back(root / absl::StrCat("node-", n));
  for (int n = kNodes - 1; n >= 0; --n) {  // node-0, the original, changed last
    MakeNode(dev.dir, dirs[n], absl::StrCat("node-", n), conninfo);
    ASSERT_FALSE(HasFatalFailure());
  }
  for (int n = 0; n < kNodes; ++n) {
    StartMasadOn(dirs[n], &masad[n]);
    ASSERT_FALSE(HasFatalFailure()) << "node " << n;
    const std::string scratch = root / absl::StrCat("scratch-", n);
    ASSERT_EQ(RunTool({"mkdir", "-m", "700", scratch}).exit_code, 0);
    clients.push_back(
        std::make_unique<HttpsClient>(masad[n]->ready_rest(), dirs[n] + "/tls-ca.pem", scratch));
    auth.push_back(clients[n]->AuthFile("admin", secret));
  }

  // Clients: each prefers a node and, like a load balancer, tries the next one when its node
  // does not answer or answers 503.
  std::atomic<bool> stop{false};
  std::atomic<int> next_serial{1};
  std::mutex mu;
  std::vector<std::string> acknowledged;  // voucher ids of 200 answers
  std::map<int, int> retried;             // status (0: no answer) -> count
  std::vector<std::string> wrong;         // answers nobody should retry
  std::vector<std::thread> threads;
  for (int t = 0; t < kNodes; ++t) {
    threads.emplace_back([&, t] {
      while (!stop.load()) {
        const int first = next_serial.fetch_add(kSerialsPerRequest);
        if (first + kSerialsPerRequest - 1 > kSerials) return;
        const json body = RequestBody(Serials("A", first, first + kSerialsPerRequest - 1), pdc);
        for (int attempt = 0; attempt < 30 && !stop.load(); ++attempt) {
          const int n = (t + attempt) % kNodes;
          HttpAnswer a = clients[n]->Call("POST", "/request/ov", auth[n], body);
          const json answer = a.Json();
          std::lock_guard<std::mutex> lock(mu);
          if (a.status == 200 && answer.contains("vouchers")) {
            for (const json& v : answer["vouchers"]) {
              acknowledged.push_back(v["voucher_id"].get<std::string>());
            }
            break;
          }
          if (a.status == 0 || a.status == 503) {
            ++retried[a.status];
            continue;
          }
          wrong.push_back(absl::StrCat(a.status, " ", a.body));
          break;
        }
      }
    });
  }
  auto acked = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return acknowledged.size();
  };
  // Waits for `more` vouchers more (a phase of the run).
  auto wait_for_more = [&](size_t more) {
    const size_t target = acked() + more;
    return ::masa::testing::WaitFor([&] { return acked() >= target; }, absl::Seconds(60));
  };
  EXPECT_TRUE(wait_for_more(60));
  masad[2]->Kill();
  // SIGKILL: a node's machine dies
  EXPECT_TRUE(wait_for_more(60));
  ASSERT_TRUE((*cluster)->KillPrimary().ok());
  ASSERT_TRUE((*cluster)->PromoteStandby().ok());
  const bool carried_on = wait_for_more(60);
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_THAT(wrong, ::testing::IsEmpty());
  ASSERT_TRUE(carried_on) << "no vouchers after the failover (" << retried[0]
                          << " requests without an answer, " << retried[503] << " with 503)\n"
                          << masad[0]->log() << "\n"
                          << (*cluster)->Logs();

  // Every acknowledged voucher downloads from a surviving node and verifies.
  std::set<std::string> unique(acknowledged.begin(), acknowledged.end());
  EXPECT_EQ(unique.size(), acknowledged.size());
  int verified = 0;
  for (const std::string& id : acknowledged) {
    const int n = verified % 2;
    HttpAnswer cms = clients[n]->Call("GET", "/voucher/" + id + "/download", auth[n]);
    ASSERT_EQ(cms.status, 200) << id << ": " << cms;
    const std::string file = root / (id + ".vcj");
    WriteFile(file, cms.body);
    ProcessResult check = OpensslVerify(file, dev.trust_anchor());
    EXPECT_EQ(check.exit_code, 0) << id << ": " << check;
    ++verified;
  }
  // Any node proves a voucher's audit entry the same way, against the same checkpoint: one
  // log. (The last vouchers may wait a second for a checkpoint that covers them.)
  for (size_t i = 0; i < acknowledged.size(); i += acknowledged.size() / 5 + 1) {
    const std::string path = "/voucher/" + acknowledged[i] + "/proof";
    HttpAnswer from0;
    ::masa::testing::WaitFor([&] {
      from0 = clients[0]->Call("GET", path, auth[0]);
      return from0.status != 409;
    });
    ASSERT_EQ(from0.status, 200) << from0;
    HttpAnswer from1 = clients[1]->Call("GET", path, auth[1]);
    EXPECT_EQ(from0.Json(), from1.Json()) << path;
  }
  // The nodes say who they are, and both survivors are ready on the promoted standby.
  for (int n = 0; n < 2; ++n) {
    EXPECT_EQ(clients[n]->Call("GET", "/readyz", "").status, 200) << "node " << n;
    ProcessResult metrics = RunTool({"curl", "-sS", MasadMetricsUrl(*masad[n])});
    EXPECT_THAT(metrics.out, HasSubstr(absl::StrCat("masa_node_info{node=\"node-", n,
                                                    "\",store=\"postgres\"} 1\n")));
    EXPECT_THAT(metrics.out, HasSubstr("\nmasa_store_reachable 1\n"));
  }
  for (int n = 0; n < 2; ++n) EXPECT_EQ(masad[n]->Terminate(absl::Seconds(30)), 0);
  ProcessResult audit = Masactl({"audit", "verify", "--state", dirs[0]});
  EXPECT_EQ(audit.exit_code, 0) << audit;
  std::cout << acknowledged.size() << " vouchers acknowledged and verified; retried: " << retried[0]
            << " without an answer, " << retried[503] << " with 503\n"
            << audit.out;
}

}  // namespace
}  // namespace masa::e2e
