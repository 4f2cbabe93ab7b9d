// masad surviving HSM faults, end to end: a real masad on loopback whose PKCS#11 module is
// the fault module (hsm/testing/fault_module.cc) in front of two SoftHSM2 tokens that hold
// the same keys (`masactl dev-init --tokens 2`). For each fault the module makes, what the
// client sees (200, or 503 with Retry-After) and what the store holds afterwards: every
// acknowledged voucher downloads and verifies with openssl, the audit log has a
// voucher.issue entry for exactly the vouchers that were returned, and `masactl audit verify`
// passes. Then load with one token failing (no request lost) and with both (503s, /readyz
// 503, and recovery with nobody touching masad).
#include <sys/stat.h>

#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
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
#ifndef MASA_PKCS11_FAULT_MODULE
#error "MASA_PKCS11_FAULT_MODULE must name libmasa_pkcs11_fault.so"
#endif

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;

// One HTTP answer with its headers (curl -D), for Retry-After.
struct Answer {
  int status = 0;
  std::string headers;
  std::string body;
  json Json() const { return json::parse(body, nullptr, false); }
};

// What the suite shares: one state with two tokens, its masad, clients and credentials.
struct Suite {
  TempFolder root;
  std::string state;
  std::string rules;  // the fault module's rule file
  std::unique_ptr<Daemon> masad;
  std::unique_ptr<HttpsClient> client;
  std::string admin_auth;  // org-fault's admin
  std::string at_auth;     // the account team, which reads the audit log
  std::string admin_token;
  std::string pdc;
  int next_serial = 1;
  std::mutex mu;
  std::set<std::string> acknowledged;  // every voucher id a client got back
  std::map<std::string, std::string> serial_of;
};

class MasadFaultsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_ = new Suite();
    Suite& s = *s_;
    s.state = s.root / "state";
    ProcessResult init = Masactl({"dev-init", "--state", s.state, "--tokens", "2"});
    ASSERT_EQ(init.exit_code, 0) << init;
    WatchSecret(Trimmed(ReadFileOrEmpty(s.state + "/user.pin")));
    std::string toml = ReadFileOrEmpty(s.state + "/masad.toml");
    ASSERT_THAT(toml, HasSubstr("pkcs11:token=masa-dev-2"));
    // The fault module in front of SoftHSM2, short timeouts so that a hang costs half a
    // second, and quick probes so that recovery is quick.
    const std::string hsm = absl::StrCat("[hsm]\nmodule = \"", MASA_PKCS11_FAULT_MODULE,
                                         "\"\ncall_timeout_ms = 500\nprobe_interval_ms = 100\n");
    toml.replace(toml.find("[hsm]\n"), 6, hsm);
    // Admission control (dev-init's masad.toml has no [queue]), with a budget that the
    // 150 ms signatures of the slow-token test exceed at once and the other tests' loads,
    // a few milliseconds of signatures ahead, never reach even on a slow machine.
    ASSERT_THAT(toml, Not(HasSubstr("[queue]")));
    toml += "\n[queue]\nmax_queue_delay_ms = 100\n";
    WriteFile(s.state + "/masad.toml", toml);
    s.rules = s.root / "fault-rules";
    WriteFile(s.rules, "");
    MakeCa(s.root.path(), "pdc");
    s.pdc = ReadFileOrEmpty(s.root / "pdc.pem");

    ProcessResult org = Masactl({"org", "create", "--state", s.state, "--name", "fault", "--admin",
                                 "admin@fault.example", "--token-out", s.root / "admin.token"});
    ASSERT_EQ(org.exit_code, 0) << org;
    ProcessResult at =
        Masactl({"vendor", "add", "--state", s.state, "--username", "at@vendor.example", "--role",
                 "account-team", "--token-out", s.root / "at.token"});
    ASSERT_EQ(at.exit_code, 0) << at;
    std::vector<std::string> serials;
    for (int i = 1; i <= 800; ++i) serials.push_back(absl::StrFormat("F-%04d", i));
    ProcessResult assigned = Masactl({"serials", "assign", "--state", s.state, "--org", "org-fault",
                                      "--serials", absl::StrJoin(serials, ",")});
    ASSERT_EQ(assigned.exit_code, 0) << assigned;

    auto started = StartMasad(
        {.binary = MASAD,
         .state = s.state,
         .env = {{"MASA_FAULT_MODULE", MASA_SOFTHSM2_MODULE}, {"MASA_FAULT_CONTROL", s.rules}}});
    ASSERT_TRUE(started.ok()) << started.status();
    s.masad = *std::move(started);
    const std::string scratch = s.root / "http";
    ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);
    s.client =
        std::make_unique<HttpsClient>(s.masad->ready_rest(), s.state + "/tls-ca.pem", scratch);
    s.admin_token = Trimmed(ReadFileOrEmpty(s.root / "admin.token"));
    s.admin_auth = s.client->AuthFile("admin", s.admin_token);
    s.at_auth = s.client->AuthFile("at", Trimmed(ReadFileOrEmpty(s.root / "at.token")));
  }

  static void TearDownTestSuite() {
    if (s_ != nullptr && s_->masad != nullptr) {
      WriteFile(s_->rules, "");
      EXPECT_EQ(s_->masad->Terminate(absl::Seconds(60)), 0) << s_->masad->log();
      ProcessResult verify = Masactl({"audit", "verify", "--state", s_->state});
      EXPECT_EQ(verify.exit_code, 0) << verify;
    }
    delete s_;
    s_ = nullptr;
    ClearWatchedSecrets();
  }

  void SetUp() override {
    ASSERT_NE(s_, nullptr);
    ASSERT_NE(s_->client, nullptr) << "the suite set-up failed";
    SetRules("");
    ASSERT_TRUE(WaitReady(true)) << "masad is not ready before the test";
  }

  // Replaces the fault module's rules (atomically: temp file + rename).
  void SetRules(const std::string& rules) {
    const std::string tmp = s_->rules + ".tmp";
    WriteFile(tmp, rules);
    ASSERT_EQ(rename(tmp.c_str(), s_->rules.c_str()), 0);
  }

  // The next `n` unused serials.
  std::vector<std::string> NextSerials(int n) {
    std::lock_guard<std::mutex> lock(s_->mu);
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(absl::StrFormat("F-%04d", s_->next_serial++));
    return out;
  }

  // POST /request/ov for `serials` with curl, headers included; records what was returned.
  Answer Request(const std::vector<std::string>& serials) {
    TempFolder tmp;
    WriteFile(tmp / "body.json", json{{"serial_numbers", serials}, {"pdc", s_->pdc}}.dump());
    WriteFile(tmp / "auth",
              absl::StrCat("header = \"Authorization: Bearer ", s_->admin_token, "\"\n"));
    chmod((tmp / "auth").c_str(), 0600);
    ProcessResult r =
        RunTool({CURL_CLI, "-sS", "--max-time", "60", "--cacert", s_->state + "/tls-ca.pem", "-K",
                 tmp / "auth", "-D", tmp / "headers", "-o", tmp / "out", "-w", "%{http_code}", "-H",
                 "Content-Type: application/json", "--data-binary",
                 absl::StrCat("@", tmp / "body.json"), s_->masad->ready_rest() + "/request/ov"});
    Answer a;
    a.status = std::atoi(r.out.c_str());
    a.headers = ReadFileOrEmpty(tmp / "headers");
    a.body = ReadFileOrEmpty(tmp / "out");
    if (a.status == 200) {
      json j = a.Json();
      std::lock_guard<std::mutex> lock(s_->mu);
      for (const json& v : j["vouchers"]) {
        if (!v["voucher_id"].is_string()) continue;
        s_->acknowledged.insert(v["voucher_id"].get<std::string>());
        s_->serial_of[v["voucher_id"].get<std::string>()] = v["serial_number"].get<std::string>();
      }
    }
    return a;
  }

  static bool HasRetryAfter(const Answer& a) {
    return absl::StrContains(absl::AsciiStrToLower(a.headers), "retry-after:");
  }

  int Readyz() { return s_->client->Call("GET", "/readyz", "").status; }

  // Waits (bounded) until /readyz answers 200 (ready) or 503 (not ready).
  bool WaitReady(bool ready) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      if (Readyz() == (ready ? 200 : 503)) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  // /metrics as text.
  std::string Metrics() {
    std::string url = MasadMetricsUrl(*s_->masad);
    ProcessResult r = RunTool({CURL_CLI, "-sS", url});
    return r.out;
  }

  // What the store holds: every acknowledged voucher downloads and verifies against the
  // vendor trust anchor (openssl cms), the audit log names exactly the acknowledged
  // vouchers in its voucher.issue entries, and `masactl audit verify` passes.
  void ExpectStoreHoldsExactlyWhatWasAcknowledged() {
    std::set<std::string> audited;
    uint64_t from = 0;
    for (int page = 0; page < 1000; ++page) {
      HttpAnswer a =
          s_->client->Call("GET", absl::StrCat("/audit?limit=1000&from=", from), s_->at_auth);
      ASSERT_EQ(a.status, 200) << a;
      json j = a.Json();
      for (const json& e : j["entries"]) {
        if (e["action"] != "voucher.issue") continue;
        std::string target = e["target"];
        EXPECT_TRUE(audited.insert(target.substr(target.find('/') + 1)).second) << target;
      }
      uint64_t next = j["next_seq"];
      if (next == from) break;
      from = next;
    }
    std::set<std::string> acknowledged;
    {
      std::lock_guard<std::mutex> lock(s_->mu);
      acknowledged = s_->acknowledged;
    }
    EXPECT_EQ(audited, acknowledged) << "audited vouchers differ from the ones returned";

    TempFolder out;
    std::vector<std::string> paths;
    for (const std::string& id : acknowledged) paths.push_back("/voucher/" + id + "/download");
    std::vector<FetchResult> gets = s_->client->FetchAll(paths, s_->admin_auth, out.path());
    ASSERT_EQ(gets.size(), paths.size());
    for (const FetchResult& g : gets) {
      ASSERT_EQ(g.status, 200) << g.path;
      ProcessResult v =
          RunTool({OPENSSL_CLI, "cms", "-verify", "-binary", "-inform", "DER", "-in", g.output_file,
                   "-CAfile", s_->state + "/trust-anchor.pem", "-out", "/dev/null"});
      EXPECT_EQ(v.exit_code, 0) << g.path << ": " << v;
    }
    ProcessResult verify = Masactl({"audit", "verify", "--state", s_->state});
    EXPECT_EQ(verify.exit_code, 0) << verify;
  }

  // One fault kind: once on any token, the request is retried and answered 200; on every
  // call of both tokens, 503 with Retry-After and nothing stored, /readyz 503; with the
  // fault gone, /readyz 200 again by itself and the same request succeeds.
  void CheckFault(const std::string& fault) {
    SetRules(absl::StrCat("* C_Sign ", fault, " once\n"));
    Answer once = Request(NextSerials(2));
    EXPECT_EQ(once.status, 200) << fault << ": " << once.body;

    SetRules(absl::StrCat("* C_Sign ", fault, "\n"));
    const std::vector<std::string> serials = NextSerials(2);
    Answer failing = Request(serials);
    EXPECT_EQ(failing.status, 503) << fault << ": " << failing.body;
    EXPECT_TRUE(HasRetryAfter(failing)) << failing.headers;
    EXPECT_THAT(failing.body, HasSubstr("urn:masa:problem:unavailable"));
    EXPECT_TRUE(WaitReady(false)) << fault << ": /readyz stayed 200 with every token failing";
    std::string metrics = Metrics();
    EXPECT_THAT(metrics, HasSubstr("masa_hsm_token_up{token=\"masa-dev\"} 0")) << metrics;
    EXPECT_THAT(metrics, HasSubstr("masa_hsm_token_up{token=\"masa-dev-2\"} 0")) << metrics;

    SetRules("");
    EXPECT_TRUE(WaitReady(true)) << fault << ": no automatic recovery";
    Answer again = Request(serials);
    EXPECT_EQ(again.status, 200) << fault << ": " << again.body;
    ExpectStoreHoldsExactlyWhatWasAcknowledged();
  }

  static inline Suite* s_ = nullptr;
};

TEST_F(MasadFaultsTest, SessionHandleInvalid) { CheckFault("session_handle_invalid"); }
TEST_F(MasadFaultsTest, DeviceRemoved) { CheckFault("device_removed"); }
TEST_F(MasadFaultsTest, DeviceError) { CheckFault("device_error"); }
TEST_F(MasadFaultsTest, TokenNotPresent) { CheckFault("token_not_present"); }
TEST_F(MasadFaultsTest, UserNotLoggedIn) { CheckFault("user_not_logged_in"); }

// A call that hangs is abandoned after the call timeout: once, the request is answered 200
// by the other token; on every call, 503 with Retry-After, and the hung threads are let go
// when the fault is lifted.
TEST_F(MasadFaultsTest, HangingCall) { CheckFault("hang 30"); }

// One token failing under load: every request is answered 200, none lost, and the failing
// token shows as down in /metrics while the other signs.
TEST_F(MasadFaultsTest, OneTokenFailingUnderLoadLosesNoRequest) {
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::mutex mu;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        Answer a = Request(NextSerials(5));
        if (a.status == 200) {
          ok.fetch_add(1);
        } else {
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(absl::StrCat(a.status, " ", a.body));
        }
      }
    });
  }
  auto wait_for = [&](int n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (ok.load() < n && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  };
  wait_for(5);
  SetRules("masa-dev-2 C_Sign device_error\n");
  const int at_fault = ok.load();
  wait_for(at_fault + 15);
  std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr("masa_hsm_token_up{token=\"masa-dev-2\"} 0")) << metrics;
  EXPECT_THAT(metrics, HasSubstr("masa_hsm_token_up{token=\"masa-dev\"} 1")) << metrics;
  EXPECT_EQ(Readyz(), 200);
  SetRules("");
  const int healed = ok.load();
  wait_for(healed + 5);
  stop = true;
  for (std::thread& t : clients) t.join();
  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_GE(ok.load(), healed + 5);
  std::cout << ok.load() << " requests answered 200, " << ok.load() - at_fault
            << " after one token failed" << std::endl;
  ExpectStoreHoldsExactlyWhatWasAcknowledged();
}

// Both tokens failing under load: requests get 503 with Retry-After, /readyz is 503; when the
// tokens work again masad recovers by itself and every request succeeds.
TEST_F(MasadFaultsTest, BothTokensFailingGive503AndRecoverByThemselves) {
  SetRules("masa-dev C_Sign device_removed\nmasa-dev-2 C_Sign device_error\n");
  int refused = 0;
  for (int i = 0; i < 4; ++i) {
    Answer a = Request(NextSerials(3));
    EXPECT_EQ(a.status, 503) << a.body;
    if (a.status == 503) {
      EXPECT_TRUE(HasRetryAfter(a)) << a.headers;
      ++refused;
    }
  }
  EXPECT_EQ(refused, 4);
  EXPECT_TRUE(WaitReady(false));
  SetRules("");
  EXPECT_TRUE(WaitReady(true));
  for (int i = 0; i < 3; ++i) {
    Answer a = Request(NextSerials(3));
    EXPECT_EQ(a.status, 200) << a.body;
  }
  ExpectStoreHoldsExactlyWhatWasAcknowledged();
}

// Admission control with a slow token: every C_Sign takes 150 ms (the fault module's delay),
// so bursts of requests build a backlog in the signing queue. Requests whose signatures would
// wait longer than [queue] max_queue_delay_ms (100 ms in this suite) are answered at once: 503,
// Retry-After, a problem saying the service is at capacity, counted in
// masa_requests_shed_total; they leave no voucher and no audit entry behind. Every request
// answered 200 has its vouchers stored, audited and downloadable.
TEST_F(MasadFaultsTest, SlowTokenBurstIsShedWith503AndRetryAfterLeavingNothingBehind) {
  auto shed_total = [&] {
    const std::string m = Metrics();
    const size_t at = m.find("\nmasa_requests_shed_total ");
    return at == std::string::npos ? -1 : std::atoll(m.c_str() + at + 26);
  };
  const long long shed_before = shed_total();
  ASSERT_GE(shed_before, 0) << Metrics();
  SetRules("* C_Sign delay 150\n");
  // The queue learns how long a signature takes now from the runs it sees (its mean
  // follows about the last 32).
  Answer warm = Request(NextSerials(20));
  ASSERT_EQ(warm.status, 200) << warm.body;

  int ok = 0;
  std::vector<std::string> shed_serials;
  // Eight requests of three serials at once: two workers take one request each, a third
  // waits (nothing ahead of it), the rest find 3 to 18 signatures of 150 ms ahead. Rounds repeat
  // (a few at most) until both outcomes were seen, so a slow machine is not a failure.
  for (int round = 0; round < 5 && (ok == 0 || shed_serials.empty()); ++round) {
    constexpr int kBurst = 8;
    std::vector<std::vector<std::string>> serials;
    for (int i = 0; i < kBurst; ++i) serials.push_back(NextSerials(3));
    std::vector<Answer> answers(kBurst);
    std::vector<std::thread> clients;
    for (int i = 0; i < kBurst; ++i) {
      clients.emplace_back([&, i] { answers[i] = Request(serials[i]); });
    }
    for (std::thread& t : clients) t.join();
    for (int i = 0; i < kBurst; ++i) {
      const Answer& a = answers[i];
      if (a.status == 200) {
        ++ok;
        continue;
      }
      ASSERT_EQ(a.status, 503) << a.body;
      EXPECT_TRUE(HasRetryAfter(a)) << a.headers;
      // The expected drain time in whole seconds, at least 1: 18 signatures ahead at most.
      const std::string headers = absl::AsciiStrToLower(a.headers);
      const size_t at = headers.find("retry-after: ");
      const int seconds = at == std::string::npos ? 0 : std::atoi(headers.c_str() + at + 13);
      EXPECT_GE(seconds, 1) << a.headers;
      EXPECT_LE(seconds, 3) << a.headers;
      EXPECT_THAT(a.body, HasSubstr("urn:masa:problem:unavailable"));
      EXPECT_THAT(a.body, HasSubstr("at capacity")) << a.body;
      shed_serials.insert(shed_serials.end(), serials[i].begin(), serials[i].end());
    }
  }
  SetRules("");
  EXPECT_GT(ok, 0);
  ASSERT_FALSE(shed_serials.empty()) << "no burst found the queue over its delay budget";
  EXPECT_EQ(shed_total() - shed_before, static_cast<long long>(shed_serials.size() / 3));
  for (const std::string& serial : shed_serials) {
    HttpAnswer a = s_->client->Call("GET", "/vouchers?serial_number=" + serial, s_->admin_auth);
    ASSERT_EQ(a.status, 200) << a;
    EXPECT_TRUE(a.Json()["vouchers"].empty()) << serial << ": " << a;
  }
  ExpectStoreHoldsExactlyWhatWasAcknowledged();
  std::cout << ok << " burst requests answered 200, " << shed_serials.size() / 3 << " shed (503)"
            << std::endl;
}

}  // namespace
}  // namespace masa::e2e
