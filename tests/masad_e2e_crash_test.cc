// masad end to end, crashes: SIGKILL or SIGTERM under load, then a restart on the same
// state. The signal's moment is random: the seed is printed ("seed=N") and MASA_TEST_SEED=N
// replays it. See masad_e2e_test.cc.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/seed.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/internal/e2e.h"
#include "tests/internal/https_client.h"
#include "tests/internal/masad_e2e_fixture.h"

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

// ---------------------------------------------------------------------------------------
// 8. A signal under load, then a restart on the same state: everything acknowledged is
// there, downloadable, verifiable and audited, and the audit log verifies.

class MasadCrashTest : public ::testing::TestWithParam<int> {
 protected:
  static constexpr int kThreads = 3;
  static constexpr int kRequestsPerThread = 10;
  static constexpr int kSerialsPerRequest = 20;
};

struct LoadRecord {
  int status = 0;
  int curl_exit = 0;
  std::string curl_error;
  std::vector<std::string> voucher_ids;
};

TEST_P(MasadCrashTest, AcknowledgedVouchersSurviveARestart) {
  const int sig = GetParam();
  const uint64_t seed = TestSeed(absl::StrCat("MasadCrashTest, signal ", sig));
  RecordProperty("seed", std::to_string(seed));
  SCOPED_TRACE(
      absl::StrCat("signal ", sig, ", seed ", seed, " (replay: MASA_TEST_SEED=", seed, ")"));
  std::mt19937_64 random(seed);

  TempFolder root;
  const std::string state = root / "state";
  DevState dev = MakeDevState(state);
  ASSERT_FALSE(HasFailure());
  std::string admin =
      CreateOrganization(state, "gamma", "admin@gamma.example", root / "gamma-admin.token");
  AssignSerials(state, "org-gamma", Serials("C", 1, kThreads * kSerialsPerRequest));
  MakeCa(root.path(), "pdc");
  const std::string pdc = ReadFileOrEmpty(root / "pdc.pem");
  ASSERT_FALSE(HasFailure());

  std::unique_ptr<Daemon> masad;
  StartMasadOn(state, &masad);
  ASSERT_FALSE(HasFatalFailure());
  const std::string scratch = root / "http";
  ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);
  HttpsClient client(masad->ready_rest(), state + "/tls-ca.pem", scratch);
  const std::string auth = client.AuthFile("admin", admin);

  // Client loops; every request of one thread pins the same PDC to the same serials.
  std::atomic<int> acknowledged{0};
  std::vector<std::vector<LoadRecord>> records(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      json body =
          RequestBody(Serials("C", t * kSerialsPerRequest + 1, (t + 1) * kSerialsPerRequest), pdc);
      for (int i = 0; i < kRequestsPerThread; ++i) {
        HttpAnswer a = client.Call("POST", "/request/ov", auth, body);
        LoadRecord r{a.status, a.curl_exit, a.curl_error, {}};
        if (a.status == 200) {
          json j = a.Json();
          for (const json& v : j["vouchers"]) {
            EXPECT_EQ(v["status"], "completed") << a;
            if (v["voucher_id"].is_string())
              r.voucher_ids.push_back(v["voucher_id"].get<std::string>());
          }
          EXPECT_EQ(r.voucher_ids.size(), static_cast<size_t>(kSerialsPerRequest)) << a;
          acknowledged.fetch_add(1);
        }
        records[t].push_back(std::move(r));
      }
    });
  }
  // The signal lands at a random moment after a few acknowledged requests.
  const int threshold = std::uniform_int_distribution<int>(2, 8)(random);
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (acknowledged.load() < threshold && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(0, 40)(random)));
  if (sig == SIGKILL) {
    EXPECT_EQ(masad->Kill(), 128 + SIGKILL);
  } else {
    ASSERT_TRUE(masad->Signal(sig));
    std::optional<int> code = masad->Wait(absl::Seconds(60));
    EXPECT_EQ(code.value_or(-1), 0) << masad->log();
    if (!code) masad->Kill();
  }
  for (std::thread& t : threads) t.join();

  std::vector<std::string> acked;
  int answered = 0;
  std::map<std::string, int> outcomes;  // for the log: "200", "503", "curl exit 7", ...
  for (const auto& thread : records) {
    for (const LoadRecord& r : thread) {
      ++outcomes[r.status != 0 ? absl::StrCat(r.status) : absl::StrCat("curl exit ", r.curl_exit)];
      if (r.status == 200) {
        ++answered;
        acked.insert(acked.end(), r.voucher_ids.begin(), r.voucher_ids.end());
      } else if (r.status == 0) {
        // No HTTP answer: a connection error reported by curl, never a hang.
        EXPECT_NE(r.curl_exit, 0);
        EXPECT_NE(r.curl_exit, 28) << "timed out: " << r.curl_error;
      } else {
        // Draining may turn new work away; nothing else is acceptable.
        EXPECT_TRUE(sig == SIGTERM && r.status == 503)
            << "HTTP " << r.status << " during " << (sig == SIGKILL ? "SIGKILL" : "SIGTERM");
      }
    }
  }
  ASSERT_GE(answered, threshold);
  EXPECT_LT(answered, kThreads * kRequestsPerThread) << "the signal came after the load";
  std::cout << "acknowledged " << answered << " requests (" << acked.size()
            << " vouchers) around signal " << sig << "; outcomes:";
  for (const auto& [what, n] : outcomes) std::cout << " " << what << " x" << n;
  std::cout << std::endl;

  // Restart on the same state.
  masad.reset();
  StartMasadOn(state, &masad);
  ASSERT_FALSE(HasFatalFailure());
  client.set_base_url(masad->ready_rest());

  std::vector<std::string> get_paths, download_paths;
  for (const std::string& id : acked) {
    get_paths.push_back("/voucher/" + id);
    download_paths.push_back("/voucher/" + id + "/download");
  }
  const std::string fetched = root / "fetched";
  ASSERT_EQ(mkdir(fetched.c_str(), 0700), 0);
  std::vector<FetchResult> gets = client.FetchAll(get_paths, auth, fetched);
  ASSERT_EQ(gets.size(), acked.size());
  for (size_t i = 0; i < gets.size(); ++i) {
    EXPECT_EQ(gets[i].status, 200) << gets[i].path;
    json v = json::parse(ReadFileOrEmpty(gets[i].output_file), nullptr, false);
    EXPECT_EQ(v["voucher"]["voucher_id"], acked[i]);
    EXPECT_EQ(v["voucher"]["status"], "completed");
  }
  const std::string files = root / "vcj";
  ASSERT_EQ(mkdir(files.c_str(), 0700), 0);
  std::vector<FetchResult> downloads = client.FetchAll(download_paths, auth, files);
  ASSERT_EQ(downloads.size(), acked.size());
  for (const FetchResult& d : downloads) {
    ASSERT_EQ(d.status, 200) << d.path;
    ProcessResult verify = OpensslVerify(d.output_file, dev.trust_anchor());
    ASSERT_EQ(verify.exit_code, 0) << d.path << "\n" << verify;
  }

  // Every acknowledged voucher has its "voucher.issue" audit entry.
  std::set<std::string> audited;
  uint64_t from = 0;
  for (int page = 0; page < 1000; ++page) {
    HttpAnswer a = client.Call("GET", absl::StrCat("/audit?limit=1000&from=", from), auth);
    ASSERT_EQ(a.status, 200) << a;
    json j = a.Json();
    for (const json& e : j["entries"]) {
      if (e["action"] == "voucher.issue") {
        std::string target = e["target"];
        audited.insert(target.substr(target.find('/') + 1));
      }
    }
    uint64_t next = j["next_seq"];
    if (next == from) break;
    from = next;
  }
  for (const std::string& id : acked) EXPECT_TRUE(audited.count(id)) << id << " not audited";
  HttpAnswer list = client.Call("GET", "/vouchers?page_size=1", auth);
  ASSERT_EQ(list.status, 200) << list;
  const size_t stored = list.Json()["total"].get<size_t>();
  std::cout << stored << " vouchers stored after the restart" << std::endl;
  if (sig == SIGKILL) {
    // Work committed just before the kill may never have been answered.
    EXPECT_GE(stored, acked.size());
  } else {
    // A drain answers whatever it committed: nothing is stored that no client was told of.
    EXPECT_EQ(stored, acked.size());
  }

  EXPECT_EQ(masad->Terminate(absl::Seconds(60)), 0) << masad->log();
  ProcessResult audit = Masactl({"audit", "verify", "--state", state});
  EXPECT_EQ(audit.exit_code, 0) << audit;
  ClearWatchedSecrets();
}

INSTANTIATE_TEST_SUITE_P(Signals, MasadCrashTest, ::testing::Values(SIGKILL, SIGTERM),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == SIGKILL ? "Sigkill" : "Sigterm");
                         });

}  // namespace
}  // namespace masa::e2e
