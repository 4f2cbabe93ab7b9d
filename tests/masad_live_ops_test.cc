// Operations without downtime: masactl's store-writing commands (org create, vendor add,
// serials assign) run against the state folder of a masad that is serving a stream of voucher
// requests, and the account team onboards a customer through POST /organizations. What a
// user notices: every acknowledged voucher is there afterwards, `masactl audit verify`
// passes (hash chain, Merkle tree, signed checkpoints), and a new organization's admin token
// works against the running daemon at once and can request a voucher for its new serial.
#include <sys/stat.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/internal/e2e.h"
#include "tests/internal/https_client.h"
#include "tests/internal/masad.h"

#ifndef MASAD
#error "MASAD must name the masad binary"
#endif

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

std::vector<std::string> Serials(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(absl::StrFormat("%s-%04d", prefix, i));
  return out;
}

json RequestBody(const std::vector<std::string>& serials, const std::string& pdc_pem) {
  return {{"serial_numbers", serials}, {"pdc", pdc_pem}};
}

// A dev-init state whose masad signs a checkpoint every few audit entries (so that both
// processes sign checkpoints while the test runs) and every second while the log grew.
void MakeBusyState(const TempFolder& root, const std::string& state) {
  MakeDevState(state);
  if (::testing::Test::HasFailure()) return;
  std::string toml = ReadFileOrEmpty(state + "/masad.toml");
  ASSERT_THAT(toml, ::testing::Not(HasSubstr("[audit]")));
  WriteFile(state + "/masad.toml",
            toml + "\n[audit]\ncheckpoint_every_entries = 5\ncheckpoint_every_seconds = 1\n");
  MakeCa(root.path(), "pdc");
}

// A bounded stream of voucher requests from several curl loops, recording every voucher id
// the daemon acknowledged.
class VoucherStream {
 public:
  VoucherStream(const HttpsClient& client, std::string auth, std::string pdc,
                std::vector<std::vector<std::string>> serials_per_thread, int requests)
      : client_(client), auth_(std::move(auth)), pdc_(std::move(pdc)) {
    for (auto& serials : serials_per_thread) {
      threads_.emplace_back([this, serials, requests] {
        for (int i = 0; i < requests; ++i) {
          HttpAnswer a = client_.Call("POST", "/request/ov", auth_, RequestBody(serials, pdc_));
          std::lock_guard<std::mutex> lock(mu_);
          if (a.status != 200) {
            failures_.push_back(absl::StrCat(a.status, " ", a.body, " ", a.curl_error));
            continue;
          }
          json answer = a.Json();
          for (json& v : answer["vouchers"]) {
            if (v["voucher_id"].is_string()) acked_.push_back(v["voucher_id"].get<std::string>());
          }
          answered_.fetch_add(1);
        }
      });
    }
  }
  ~VoucherStream() { Join(); }

  void Join() {
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  // Waits (bounded) until `n` requests were answered 200.
  void WaitForAnswers(int n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(120);
    while (answered_.load() < n && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  }
  int answered() const { return answered_.load(); }
  // After Join().
  const std::vector<std::string>& acked() const { return acked_; }
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  const HttpsClient& client_;
  const std::string auth_;
  const std::string pdc_;
  std::vector<std::thread> threads_;
  std::atomic<int> answered_{0};
  std::mutex mu_;
  std::vector<std::string> acked_;
  std::vector<std::string> failures_;
};

// Every acknowledged voucher can be read back.
void ExpectAllAcknowledgedThere(const HttpsClient& client, const std::string& auth,
                                const VoucherStream& stream, const std::string& out_dir) {
  std::vector<std::string> paths;
  for (const std::string& id : stream.acked()) paths.push_back("/voucher/" + id);
  ASSERT_EQ(mkdir(out_dir.c_str(), 0700), 0);
  std::vector<FetchResult> gets = client.FetchAll(paths, auth, out_dir);
  ASSERT_EQ(gets.size(), paths.size());
  int missing = 0;
  for (const FetchResult& g : gets) {
    if (g.status != 200) ++missing;
  }
  EXPECT_EQ(missing, 0) << "of " << gets.size() << " acknowledged vouchers";
}

// The audit log's size, read through the API as `auth` (the account team).
uint64_t LogSize(const HttpsClient& client, const std::string& auth) {
  uint64_t from = 0;
  for (int page = 0; page < 10000; ++page) {
    HttpAnswer a = client.Call("GET", absl::StrCat("/audit?limit=1000&from=", from), auth);
    EXPECT_EQ(a.status, 200) << a;
    if (a.status != 200) return 0;
    uint64_t next = a.Json()["next_seq"];
    if (next == from) break;
    from = next;
  }
  return from;
}

// Waits (bounded) until `masactl audit prove` can prove entry `seq`: a signed checkpoint
// covers it.
bool WaitUntilCheckpointed(const std::string& state, uint64_t seq) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    ProcessResult r = Masactl({"audit", "prove", "--state", state, "--entry", absl::StrCat(seq)});
    if (r.exit_code == 0) return true;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return false;
}

TEST(MasadLiveOpsTest, OperatorCommandsRunBesideABusyMasad) {
  TempFolder root;
  const std::string state = root / "state";
  MakeBusyState(root, state);
  ASSERT_FALSE(HasFailure());
  const std::string pdc = ReadFileOrEmpty(root / "pdc.pem");
  ProcessResult gamma = Masactl({"org", "create", "--state", state, "--name", "gamma", "--admin",
                                 "admin@gamma.example", "--token-out", root / "gamma.token"});
  ASSERT_EQ(gamma.exit_code, 0) << gamma;
  ProcessResult assigned = Masactl({"serials", "assign", "--state", state, "--org", "org-gamma",
                                    "--serials", absl::StrJoin(Serials("G", 1, 40), ",")});
  ASSERT_EQ(assigned.exit_code, 0) << assigned;

  auto started = StartMasad({.binary = MASAD, .state = state});
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<Daemon> masad = *std::move(started);
  const std::string scratch = root / "http";
  ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);
  HttpsClient client(masad->ready_rest(), state + "/tls-ca.pem", scratch);
  const std::string gamma_auth =
      client.AuthFile("gamma", Trimmed(ReadFileOrEmpty(root / "gamma.token")));

  {
    VoucherStream stream(client, gamma_auth, pdc, {Serials("G", 1, 20), Serials("G", 21, 40)},
                         /*requests=*/12);
    stream.WaitForAnswers(2);
    ASSERT_GE(stream.answered(), 2) << "masad answered no voucher request";

    // Onboarding while masad serves: each command commits to the store masad writes.
    ProcessResult org = Masactl({"org", "create", "--state", state, "--name", "delta", "--admin",
                                 "admin@delta.example", "--token-out", root / "delta.token"});
    EXPECT_EQ(org.exit_code, 0) << org;
    ProcessResult vendor =
        Masactl({"vendor", "add", "--state", state, "--username", "at@vendor.example", "--role",
                 "account-team", "--token-out", root / "at.token"});
    EXPECT_EQ(vendor.exit_code, 0) << vendor;
    ProcessResult serials = Masactl({"serials", "assign", "--state", state, "--org", "org-delta",
                                     "--serials", "D-0001,D-0002"});
    EXPECT_EQ(serials.exit_code, 0) << serials;
    const int during = stream.answered();

    // The new admin's token works at once, with no restart, and requests a voucher for the
    // newly assigned serial.
    const std::string delta_auth =
        client.AuthFile("delta", Trimmed(ReadFileOrEmpty(root / "delta.token")));
    HttpAnswer issued =
        client.Call("POST", "/request/ov", delta_auth, RequestBody({"D-0001"}, pdc));
    EXPECT_EQ(issued.status, 200) << issued;
    HttpAnswer listed = client.Call("GET", "/vouchers?serial_number=D-0001", delta_auth);
    EXPECT_EQ(listed.status, 200) << listed;
    if (listed.status == 200) {
      EXPECT_EQ(listed.Json()["total"], 1) << listed;
    }
    const std::string at_auth = client.AuthFile("at", Trimmed(ReadFileOrEmpty(root / "at.token")));
    HttpAnswer audit = client.Call("GET", "/audit?organization_id=org-delta", at_auth);
    EXPECT_EQ(audit.status, 200) << audit;
    EXPECT_THAT(audit.body, HasSubstr("org.create"));

    stream.Join();
    std::cout << stream.answered() << " requests answered (" << during
              << " before the commands had finished)" << std::endl;
    EXPECT_THAT(stream.failures(), ::testing::IsEmpty());
    // The log verifies while masad keeps running (masactl reads a snapshot).
    ProcessResult live = Masactl({"audit", "verify", "--state", state});
    EXPECT_EQ(live.exit_code, 0) << live;
    ExpectAllAcknowledgedThere(client, gamma_auth, stream, root / "fetched");
  }

  // masad's writer must keep working after the other process' commits.
  HttpAnswer after =
      client.Call("POST", "/request/ov", gamma_auth, RequestBody(Serials("G", 1, 3), pdc));
  EXPECT_EQ(after.status, 200) << after;

  // With masad idle, an operator command appends to the log; masad signs a checkpoint over
  // that entry as it would over its own, so it can be proved.
  const std::string at_auth = client.AuthFile("at-2", Trimmed(ReadFileOrEmpty(root / "at.token")));
  ASSERT_TRUE(WaitUntilCheckpointed(state, LogSize(client, at_auth) - 1));
  ProcessResult idle =
      Masactl({"serials", "assign", "--state", state, "--org", "org-delta", "--serials", "D-0003"});
  EXPECT_EQ(idle.exit_code, 0) << idle;
  const uint64_t size = LogSize(client, at_auth);
  EXPECT_TRUE(WaitUntilCheckpointed(state, size - 1))
      << "no checkpoint ever covered entry " << size - 1 << ", appended by masactl";

  EXPECT_EQ(masad->Terminate(absl::Seconds(60)), 0) << masad->log();
  ProcessResult verify = Masactl({"audit", "verify", "--state", state});
  EXPECT_EQ(verify.exit_code, 0) << verify;
  EXPECT_THAT(verify.out, HasSubstr("audit log OK"));
  ClearWatchedSecrets();
}

// The account team onboards a customer through the API of a running masad: the new admin's
// token works at once and requests a voucher for the serial assigned to it; a customer admin
// may not create organizations and sees only its own.
TEST(MasadLiveOpsTest, AccountTeamOnboardsACustomerThroughTheApi) {
  TempFolder root;
  const std::string state = root / "state";
  MakeBusyState(root, state);
  ASSERT_FALSE(HasFailure());
  const std::string pdc = ReadFileOrEmpty(root / "pdc.pem");
  auto started = StartMasad({.binary = MASAD, .state = state});
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<Daemon> masad = *std::move(started);
  ProcessResult vendor =
      Masactl({"vendor", "add", "--state", state, "--username", "at@vendor.example", "--role",
               "account-team", "--token-out", root / "at.token"});
  ASSERT_EQ(vendor.exit_code, 0) << vendor;
  const std::string scratch = root / "http";
  ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);
  HttpsClient client(masad->ready_rest(), state + "/tls-ca.pem", scratch);
  const std::string at = client.AuthFile("at", Trimmed(ReadFileOrEmpty(root / "at.token")));

  HttpAnswer made = client.Call("POST", "/organizations", at,
                                json{{"name", "omega"}, {"admin_username", "root@omega.example"}});
  ASSERT_EQ(made.status, 201) << made;
  json m = made.Json();
  EXPECT_EQ(m["organization"]["organization_id"], "org-omega") << made;
  EXPECT_EQ(m["organization"]["name"], "omega") << made;
  EXPECT_EQ(m["admin"]["name"], "root@omega.example") << made;
  EXPECT_EQ(m["admin"]["organization_id"], "org-omega") << made;
  ASSERT_TRUE(m["token"]["secret"].is_string()) << made;
  const std::string omega = client.AuthFile("omega", m["token"]["secret"].get<std::string>());

  HttpAnswer again = client.Call("POST", "/organizations", at,
                                 json{{"name", "omega"}, {"admin_username", "x@omega.example"}});
  EXPECT_EQ(again.status, 409) << again;
  HttpAnswer bad = client.Call("POST", "/organizations", at,
                               json{{"name", "Omega Corp"}, {"admin_username", "x@o.example"}});
  EXPECT_EQ(bad.status, 400) << bad;
  EXPECT_TRUE(bad.IsProblem()) << bad;

  // The new admin's token works at once: it sees its own organization only, and may not
  // create organizations itself.
  HttpAnswer own = client.Call("GET", "/organizations", omega);
  ASSERT_EQ(own.status, 200) << own;
  ASSERT_EQ(own.Json()["organizations"].size(), 1u) << own;
  EXPECT_EQ(own.Json()["organizations"][0]["organization_id"], "org-omega");
  HttpAnswer refused = client.Call("POST", "/organizations", omega,
                                   json{{"name", "rogue"}, {"admin_username", "r@rogue.example"}});
  EXPECT_EQ(refused.status, 403) << refused;
  EXPECT_EQ(client
                .Call("POST", "/organizations", "",
                      json{{"name", "anon"}, {"admin_username", "a@anon.example"}})
                .status,
            401);
  HttpAnswer all = client.Call("GET", "/organizations", at);
  ASSERT_EQ(all.status, 200) << all;
  EXPECT_THAT(all.body, HasSubstr("\"org-omega\""));
  EXPECT_THAT(all.body, HasSubstr("\"org-vendor\""));
  EXPECT_THAT(all.body, ::testing::Not(HasSubstr("org-rogue")));

  // The account team assigns a serial; the new admin requests its voucher.
  HttpAnswer assigned = client.Call("POST", "/serials/assign", at,
                                    json{{"organization_id", "org-omega"},
                                         {"serials", json::array({{{"serial_number", "O-1"}}})}});
  ASSERT_EQ(assigned.status, 200) << assigned;
  HttpAnswer issued = client.Call("POST", "/request/ov", omega, RequestBody({"O-1"}, pdc));
  EXPECT_EQ(issued.status, 200) << issued;

  // Audited with the account-team principal as actor.
  HttpAnswer audit = client.Call("GET", "/audit?organization_id=org-omega", at);
  ASSERT_EQ(audit.status, 200) << audit;
  bool created = false;
  json entries = audit.Json()["entries"];
  for (json& e : entries) {
    if (e["action"] == "org.create") {
      created = true;
      EXPECT_THAT(e["actor"].get<std::string>(), HasSubstr("org-vendor.p-")) << e.dump();
    }
  }
  EXPECT_TRUE(created) << audit;

  EXPECT_EQ(masad->Terminate(absl::Seconds(60)), 0) << masad->log();
  ProcessResult verify = Masactl({"audit", "verify", "--state", state});
  EXPECT_EQ(verify.exit_code, 0) << verify;
  ClearWatchedSecrets();
}

}  // namespace
}  // namespace masa::e2e
