// masad end to end: the real daemon (fresh dev-init state: SoftHSM2 token, PKI, LMDB store,
// localhost TLS identity; port 0) driven over HTTPS by the real curl binary, as a customer's
// ZTP server or an account team would. Organizations, the vendor principal and serial
// numbers are provisioned offline with masactl first, as scripts/run.sh does; everything
// else goes through the REST API. Downloaded vouchers are checked with `openssl cms -verify`
// and `masactl voucher verify`, the audit log with `masactl audit verify`.
//
// Each TEST runs in its own ctest process, so each builds its own state and daemon; run
// together in one process they share one (they use disjoint serial numbers).
//
// Token expiry is not waited for here (token validity is set in whole days through the
// API); it is covered with an injected clock by ServiceTest.TokensExpireAndRevokeAtOnce in
// service/service_test.cc. Revocation, and the six-month cap, are checked here.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
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
#include "tests/internal/daemon.h"
#include "tests/internal/e2e.h"
#include "tests/internal/https_client.h"

#ifndef MASAD
#error "MASAD must name the masad binary"
#endif
#ifndef MASACTL
#error "MASACTL must name the masactl binary"
#endif

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

constexpr char kAlpha[] = "org-alpha";
constexpr char kBeta[] = "org-beta";

// Lower-case 8-4-4-4-12 hex with version 7 and variant 0b10, checked by hand (std::regex
// trips GCC 12's -Wmaybe-uninitialized under ASan).
bool IsUuidV7(const std::string& id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = id[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return id[14] == '7' && std::string_view("89ab").find(id[19]) != std::string_view::npos;
}

// "A-0001" style serial numbers.
std::string Serial(const std::string& prefix, int n) {
  return absl::StrFormat("%s-%04d", prefix, n);
}
std::vector<std::string> Serials(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(Serial(prefix, i));
  return out;
}

std::string Trimmed(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

// Starts masad on `state` (port 0); the caller checks HasFatalFailure().
// Starts masad on `state`; `days_ahead` > 0 runs it with its clock that many days in the
// future (libfaketime), as if it were restarted then.
void StartMasad(const std::string& state, std::unique_ptr<Daemon>* out, int days_ahead = 0) {
  EnvChanges env = {{"MASA_HSM_PIN", std::nullopt}, {"MASA_PKCS11_MODULE", std::nullopt}};
  if (days_ahead > 0) {
    env.push_back({"LD_PRELOAD", LIBFAKETIME});
    env.push_back({"FAKETIME", absl::StrCat("+", days_ahead, "d")});
    env.push_back({"FAKETIME_DONT_FAKE_MONOTONIC", "1"});
    env.push_back({"FAKETIME_NO_CACHE", "1"});
    // Under ASan, the preloaded library comes before ASan's runtime, which it then refuses
    // unless told that this order is intended.
    const char* asan = getenv("ASAN_OPTIONS");
    env.push_back({"ASAN_OPTIONS", absl::StrCat(asan ? asan : "", asan && *asan ? ":" : "",
                                                "verify_asan_link_order=0")});
  }
  auto masad = Daemon::Start({.argv = {MASAD, "--config", state + "/masad.toml", "--listen",
                                       "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"},
                              .env = std::move(env),
                              .ready_prefix = "masad listening on ",
                              .start_timeout = absl::Seconds(90),
                              .log_path = state + "/masad.log"});
  ASSERT_TRUE(masad.ok()) << masad.status();
  ASSERT_TRUE(absl::StartsWith((*masad)->ready_rest(), "https://127.0.0.1:"))
      << (*masad)->ready_rest();
  *out = *std::move(masad);
}

// `masactl org create`, the admin's token secret read back from its 0600 file.
std::string CreateOrganization(const std::string& state, const std::string& name,
                               const std::string& admin, const std::string& token_file) {
  ProcessResult r = Masactl({"org", "create", "--state", state, "--name", name, "--admin", admin,
                             "--token-out", token_file});
  EXPECT_EQ(r.exit_code, 0) << r;
  return Trimmed(ReadFileOrEmpty(token_file));
}

void AssignSerials(const std::string& state, const std::string& org,
                   const std::vector<std::string>& serials) {
  ProcessResult r = Masactl({"serials", "assign", "--state", state, "--org", org, "--serials",
                             absl::StrJoin(serials, ",")});
  EXPECT_EQ(r.exit_code, 0) << r;
}

json RequestBody(const std::vector<std::string>& serials, const std::string& pdc_pem,
                 bool override_conflicts = false) {
  json body = {{"serial_numbers", serials}, {"pdc", pdc_pem}};
  if (override_conflicts) body["override"] = true;
  return body;
}

// `openssl cms -verify` of a DER voucher file against the vendor trust anchor, as a device
// vendor's tooling would; the signed content goes to `content_out` when given.
ProcessResult OpensslVerify(const std::string& file, const std::string& trust_anchor,
                            const std::string& content_out = "/dev/null") {
  return RunTool({OPENSSL_CLI, "cms", "-verify", "-binary", "-inform", "DER", "-in", file,
                  "-CAfile", trust_anchor, "-out", content_out});
}

// ---------------------------------------------------------------------------------------
// One provisioned state and its running daemon, shared by the tests of this process.

struct World {
  TempFolder root;
  std::string state;
  DevState dev;
  std::unique_ptr<Daemon> masad;
  std::unique_ptr<HttpsClient> client;
  std::string pdc_x;  // PEM of two customer CAs, the pinned-domain certificates
  std::string pdc_y;
  std::map<std::string, std::string> auth;  // principal -> curl auth file
};

class MasadE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = new World();
    World& w = *world_;
    w.state = w.root / "state";
    w.dev = MakeDevState(w.state);
    if (::testing::Test::HasFailure()) return;
    std::string alpha = CreateOrganization(w.state, "alpha", "admin@alpha.example",
                                           w.root / "alpha-admin.token");
    std::string beta = CreateOrganization(w.state, "beta", "admin@beta.example",
                                          w.root / "beta-admin.token");
    ProcessResult vendor = Masactl({"vendor", "add", "--state", w.state, "--username",
                                    "at@vendor.example", "--role", "account-team", "--token-out",
                                    w.root / "account-team.token"});
    EXPECT_EQ(vendor.exit_code, 0) << vendor;
    AssignSerials(w.state, kAlpha, Serials("A", 1, 200));
    AssignSerials(w.state, kBeta, Serials("B", 1, 5));
    MakeCa(w.root.path(), "pdc-x");
    MakeCa(w.root.path(), "pdc-y");
    w.pdc_x = ReadFileOrEmpty(w.root / "pdc-x.pem");
    w.pdc_y = ReadFileOrEmpty(w.root / "pdc-y.pem");
    if (::testing::Test::HasFailure()) return;

    StartMasad(w.state, &w.masad);
    if (::testing::Test::HasFailure()) return;
    const std::string scratch = w.root / "http";
    ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);
    w.client =
        std::make_unique<HttpsClient>(w.masad->ready_rest(), w.state + "/tls-ca.pem", scratch);
    w.auth["admin"] = w.client->AuthFile("admin", alpha);
    w.auth["b-admin"] = w.client->AuthFile("b-admin", beta);
    w.auth["account-team"] =
        w.client->AuthFile("account-team", Trimmed(ReadFileOrEmpty(w.root / "account-team.token")));
  }

  static void TearDownTestSuite() {
    if (world_ != nullptr && world_->masad != nullptr) {
      // SIGTERM drains and exits 0; a crash or hang here is a defect of its own.
      int code = world_->masad->Terminate(absl::Seconds(30));
      EXPECT_EQ(code, 0) << world_->masad->log();
      ProcessResult audit = Masactl({"audit", "verify", "--state", world_->state});
      EXPECT_EQ(audit.exit_code, 0) << audit;
    }
    delete world_;
    world_ = nullptr;
    ClearWatchedSecrets();
  }

  void SetUp() override {
    ASSERT_NE(world_, nullptr);
    ASSERT_NE(world_->client, nullptr) << "the suite set-up failed";
  }

  World& w() { return *world_; }
  const HttpsClient& http() { return *world_->client; }
  const std::string& Auth(const std::string& who) { return world_->auth.at(who); }

  HttpAnswer Get(const std::string& path, const std::string& who) {
    return http().Call("GET", path, who.empty() ? "" : Auth(who));
  }
  HttpAnswer Post(const std::string& path, const std::string& who, const json& body) {
    return http().Call("POST", path, who.empty() ? "" : Auth(who), body);
  }

  // Requests vouchers as `who`; expects 200 and every serial issued; the voucher ids.
  std::vector<std::string> Issue(const std::string& who, const std::vector<std::string>& serials,
                                 const std::string& pdc, std::string* req_id = nullptr) {
    HttpAnswer a = Post("/request/ov", who, RequestBody(serials, pdc));
    std::vector<std::string> ids;
    EXPECT_EQ(a.status, 200) << a;
    json j = a.Json();
    if (a.status != 200 || !j.contains("vouchers")) return ids;
    if (req_id != nullptr) *req_id = j.value("req_id", "");
    for (const json& v : j["vouchers"]) {
      EXPECT_EQ(v.value("status", ""), "completed") << a;
      ids.push_back(v["voucher_id"].is_string() ? v["voucher_id"].get<std::string>() : "");
    }
    EXPECT_EQ(ids.size(), serials.size()) << a;
    return ids;
  }

  // GET /vouchers total for `who` (with an optional query).
  int64_t VoucherTotal(const std::string& who, const std::string& query = "") {
    HttpAnswer a = Get("/vouchers" + query, who);
    EXPECT_EQ(a.status, 200) << a;
    json j = a.Json();
    return j.is_object() && j.contains("total") ? j["total"].get<int64_t>() : -1;
  }

  // Makes a user of org-alpha with `role` (and grants) through the API as its admin, and a
  // token for it; registers the token's auth file as `who`.
  void AddPrincipal(const std::string& who, const std::string& role,
                    const std::vector<std::string>& grants) {
    HttpAnswer user = Post("/users", "admin", {{"username", who + "@alpha.example"}});
    ASSERT_EQ(user.status, 201) << user;
    std::string pid = user.Json()["principal"]["principal_id"];
    HttpAnswer binding =
        Post("/bindings", "admin", {{"principal_id", pid}, {"group_id", kAlpha}, {"role", role}});
    ASSERT_EQ(binding.status, 201) << binding;
    std::string bid = binding.Json()["binding"]["binding_id"];
    for (const std::string& g : grants) {
      HttpAnswer grant = Post("/bindings/" + bid + "/grants", "admin", {{"grant", g}});
      ASSERT_EQ(grant.status, 200) << grant;
      EXPECT_THAT(grant.Json()["binding"]["grants"].dump(), HasSubstr(g));
    }
    HttpAnswer token = Post("/tokens", "admin",
                            {{"principal_id", pid}, {"validity_days", 1}, {"description", who}});
    ASSERT_EQ(token.status, 201) << token;
    std::string secret = token.Json()["token"]["secret"];
    ASSERT_FALSE(secret.empty());
    world_->auth[who] = http().AuthFile(who, secret);
  }

  static World* world_;
};

World* MasadE2eTest::world_ = nullptr;

// ---------------------------------------------------------------------------------------
// 1. The permission matrix.

TEST_F(MasadE2eTest, PermissionMatrixThroughRest) {
  AddPrincipal("viewer", "viewer", {});
  AddPrincipal("requestor", "requestor", {});
  AddPrincipal("assigner", "assigner", {});
  AddPrincipal("viewer-request", "viewer", {"request"});
  ASSERT_FALSE(HasFatalFailure());

  // "" is a caller without a token.
  const std::vector<std::string> who = {"viewer",       "requestor", "assigner", "admin",
                                        "viewer-request", "account-team", "b-admin", ""};
  // Vouchers of org-alpha made by its admin: one shared, one per caller to archive.
  std::string shared_req;
  std::vector<std::string> shared = Issue("admin", {"A-0010"}, w().pdc_x, &shared_req);
  std::vector<std::string> own = Issue("admin", Serials("A", 1, 8), w().pdc_x);
  ASSERT_EQ(shared.size(), 1u);
  ASSERT_EQ(own.size(), who.size());

  struct Op {
    std::string name;
    std::function<HttpAnswer(size_t caller)> run;
    std::vector<int> expected;  // per caller, in the order of `who`
  };
  const std::string v = shared[0];
  std::vector<Op> ops = {
      {"request vouchers",
       [&](size_t i) {
         return Post("/request/ov", who[i], RequestBody({Serial("A", 11 + int(i))}, w().pdc_x));
       },
       {403, 200, 200, 200, 200, 403, 200, 401}},
      {"get voucher", [&](size_t i) { return Get("/voucher/" + v, who[i]); },
       {200, 200, 200, 200, 200, 200, 404, 401}},
      {"download voucher", [&](size_t i) { return Get("/voucher/" + v + "/download", who[i]); },
       {403, 200, 200, 200, 403, 403, 404, 401}},
      {"get request", [&](size_t i) { return Get("/request/" + shared_req, who[i]); },
       {200, 200, 200, 200, 200, 200, 404, 401}},
      {"download request",
       [&](size_t i) { return Get("/request/" + shared_req + "/download", who[i]); },
       {403, 200, 200, 200, 403, 403, 404, 401}},
      {"archive voucher",
       [&](size_t i) { return Post("/voucher/" + own[i] + "/archive", who[i], json::object()); },
       {403, 403, 200, 200, 403, 403, 404, 401}},
      {"upload PDC",
       [&](size_t i) {
         return Post("/pdc", who[i], {{"certificate", w().pdc_y}, {"group_id", kAlpha}});
       },
       {403, 403, 201, 201, 403, 403, 404, 401}},
      // Into the caller's own organization: B's admin may, A's non-admins may not.
      {"invite user",
       [&](size_t i) {
         return Post("/users", who[i], {{"username", absl::StrCat("invited-", i, "@x.example")}});
       },
       {403, 403, 403, 201, 403, 403, 201, 401}},
      {"assign serials to org-alpha",
       [&](size_t i) {
         return Post("/serials/assign", who[i],
                     {{"organization_id", kAlpha},
                      {"serials", json::array({{{"serial_number", Serial("A", 900 + int(i))}}})}});
       },
       {403, 403, 403, 403, 403, 200, 403, 401}},
      {"list audit", [&](size_t i) { return Get("/audit", who[i]); },
       {403, 403, 403, 200, 403, 200, 200, 401}},
      {"list vouchers", [&](size_t i) { return Get("/vouchers?page_size=1000", who[i]); },
       {200, 200, 200, 200, 200, 200, 200, 401}},
  };

  for (const Op& op : ops) {
    for (size_t i = 0; i < who.size(); ++i) {
      SCOPED_TRACE(absl::StrCat(op.name, " as ", who[i].empty() ? "(no token)" : who[i]));
      HttpAnswer a = op.run(i);
      EXPECT_EQ(a.status, op.expected[i]) << a;
      if (a.status >= 400) {
        EXPECT_TRUE(a.IsProblem()) << a;
      }
      if (op.name == "request vouchers" && a.status == 200) {
        json j = a.Json();
        ASSERT_EQ(j["vouchers"].size(), 1u) << a;
        // B's admin is answered per serial: not a serial of its organization, nothing issued.
        if (who[i] == "b-admin") {
          EXPECT_EQ(j["vouchers"][0]["status"], "failed") << a;
          EXPECT_TRUE(j["vouchers"][0]["voucher_id"].is_null()) << a;
          EXPECT_THAT(j["vouchers"][0].value("reason", ""), HasSubstr("not assigned")) << a;
        } else {
          EXPECT_EQ(j["vouchers"][0]["status"], "completed") << a;
        }
      }
      if (op.name == "download voucher" && a.status == 200) {
        EXPECT_EQ(a.content_type, "application/voucher-cms+json") << a;
        EXPECT_FALSE(a.body.empty());
      }
      if (op.name == "archive voucher" && a.status == 200) {
        EXPECT_EQ(a.Json()["voucher"]["status"], "archived") << a;
      }
      if (op.name == "list audit" && who[i] == "b-admin" && a.status == 200) {
        const json page = a.Json();
        for (const json& e : page["entries"]) {
          EXPECT_FALSE(absl::StartsWith(e.value("target", ""), "org-alpha/")) << e.dump();
        }
      }
    }
  }

  // Who sees which vouchers: everyone of org-alpha and the account team see all of
  // org-alpha's; B's admin sees none, even when it asks for org-alpha's.
  HttpAnswer mine = Get("/vouchers?page_size=1000", "admin");
  ASSERT_EQ(mine.status, 200) << mine;
  const int64_t total = mine.Json()["total"];
  EXPECT_GE(total, 1 + 8 + 4);
  for (const char* p : {"viewer", "requestor", "assigner", "viewer-request"}) {
    EXPECT_EQ(VoucherTotal(p), total) << p;
  }
  HttpAnswer at = Get("/vouchers?page_size=1000&organization_id=org-alpha", "account-team");
  ASSERT_EQ(at.status, 200) << at;
  EXPECT_EQ(at.Json()["total"], total);
  EXPECT_THAT(at.body, HasSubstr(v));
  HttpAnswer b = Get("/vouchers?page_size=1000", "b-admin");
  ASSERT_EQ(b.status, 200) << b;
  EXPECT_EQ(b.Json()["total"], 0) << b;
  EXPECT_TRUE(b.Json()["vouchers"].empty()) << b;
  // Naming the other organization is not silently ignored: it is unknown to B (404).
  HttpAnswer named = Get("/vouchers?organization_id=org-alpha", "b-admin");
  EXPECT_EQ(named.status, 404) << named;
  EXPECT_TRUE(named.IsProblem()) << named;
  // ... and nothing of it by id either.
  EXPECT_EQ(Get("/voucher/" + own[0] + "/download", "b-admin").status, 404);
  EXPECT_EQ(Post("/voucher/" + v + "/renew", "b-admin", json::object()).status, 404);
  // The account team's assignment landed: A's admin can now request that serial.
  Issue("admin", {Serial("A", 905)}, w().pdc_x);
}

// ---------------------------------------------------------------------------------------
// 2. Tokens: revocation takes effect at once; validity is capped at six months and by the
//    token that mints it.

TEST_F(MasadE2eTest, RevokedTokenIsRefusedAtOnceAndValidityIsCapped) {
  HttpAnswer made = Post("/tokens", "admin", {{"description", "to revoke"}});
  ASSERT_EQ(made.status, 201) << made;
  const std::string token_id = made.Json()["token"]["token_id"];
  const std::string secret = made.Json()["token"]["secret"];
  w().auth["short"] = http().AuthFile("short", secret);
  EXPECT_EQ(Get("/vouchers", "short").status, 200);

  // Listed, never with the secret.
  HttpAnswer list = Get("/tokens", "admin");
  ASSERT_EQ(list.status, 200) << list;
  EXPECT_THAT(list.body, HasSubstr(token_id));
  EXPECT_THAT(list.body, ::testing::Not(HasSubstr(secret)));

  // Another organization's admin cannot revoke it (and cannot learn it exists).
  HttpAnswer foreign = http().Call("DELETE", "/tokens/" + token_id, Auth("b-admin"));
  EXPECT_EQ(foreign.status, 404) << foreign;
  EXPECT_EQ(Get("/vouchers", "short").status, 200);

  HttpAnswer revoke = http().Call("DELETE", "/tokens/" + token_id, Auth("admin"));
  ASSERT_EQ(revoke.status, 200) << revoke;
  for (const HttpAnswer& a :
       {Get("/vouchers", "short"), Post("/request/ov", "short", RequestBody({"A-0190"}, w().pdc_x)),
        Post("/tokens", "short", json::object())}) {
    EXPECT_EQ(a.status, 401) << a;
    EXPECT_TRUE(a.IsProblem()) << a;
    EXPECT_THAT(a.body, ::testing::Not(HasSubstr(secret)));
  }
  EXPECT_EQ(VoucherTotal("admin", "?serial_number=A-0190"), 0);
  // The admin's own token is untouched.
  EXPECT_EQ(Get("/vouchers", "admin").status, 200);

  // A minted token never outlives the token that mints it: the admin's token (from
  // masactl, 30 days) cannot mint a six-month one; the refusal names the limit.
  HttpAnswer longest = Post("/tokens", "admin", {{"validity_days", 183}});
  ASSERT_EQ(longest.status, 400) << longest;
  EXPECT_THAT(longest.body, HasSubstr("never outlives the token that mints it")) << longest;
  HttpAnswer week = Post("/tokens", "admin", {{"validity_days", 7}});
  ASSERT_EQ(week.status, 201) << week;
  absl::Time created, expires;
  std::string err;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, week.Json()["token"]["created_at"].get<std::string>(),
                              &created, &err)) << err;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, week.Json()["token"]["expires_at"].get<std::string>(),
                              &expires, &err)) << err;
  EXPECT_EQ(expires - created, absl::Hours(24 * 7));
  for (int days : {184, 365, 0, -1, 100000}) {
    HttpAnswer a = Post("/tokens", "admin", {{"validity_days", days}});
    EXPECT_EQ(a.status, 400) << days << ": " << a;
    EXPECT_TRUE(a.IsProblem()) << a;
  }
}

// Token expiry against the real daemon: tokens made today, masad restarted days later.
TEST(MasadClockTest, TokensAreRefusedOnceTheyExpire) {
  TempFolder root;
  const std::string state = root / "state";
  DevState dev = MakeDevState(state);
  ASSERT_FALSE(::testing::Test::HasFailure());
  const std::string admin = CreateOrganization(state, "delta", "admin@delta.example",
                                               root / "delta-admin.token");
  const std::string scratch = root / "http";
  ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);

  std::unique_ptr<Daemon> masad;
  StartMasad(state, &masad);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  std::string day_token, week_token;
  {
    HttpsClient client(masad->ready_rest(), state + "/tls-ca.pem", scratch);
    const std::string auth = client.AuthFile("admin", admin);
    HttpAnswer day = client.Call("POST", "/tokens", auth, json{{"validity_days", 1}});
    HttpAnswer week = client.Call("POST", "/tokens", auth, json{{"validity_days", 7}});
    ASSERT_EQ(day.status, 201) << day;
    ASSERT_EQ(week.status, 201) << week;
    day_token = day.Json()["token"]["secret"];
    week_token = week.Json()["token"]["secret"];
    EXPECT_EQ(client.Call("GET", "/vouchers", client.AuthFile("day", day_token)).status, 200);
  }
  ASSERT_EQ(masad->Terminate(absl::Seconds(30)), 0) << masad->log();

  // Two days on: the one-day token is refused, the week's token and the admin's (30 days)
  // still work.
  StartMasad(state, &masad, /*days_ahead=*/2);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  {
    HttpsClient client(masad->ready_rest(), state + "/tls-ca.pem", scratch);
    HttpAnswer expired = client.Call("GET", "/vouchers", client.AuthFile("day", day_token));
    EXPECT_EQ(expired.status, 401) << expired;
    EXPECT_TRUE(expired.IsProblem()) << expired;
    EXPECT_THAT(expired.body, HasSubstr("expired")) << expired;
    EXPECT_THAT(expired.body, ::testing::Not(HasSubstr(day_token)));
    EXPECT_EQ(client.Call("GET", "/vouchers", client.AuthFile("week", week_token)).status, 200);
    EXPECT_EQ(client.Call("GET", "/vouchers", client.AuthFile("admin", admin)).status, 200);
  }
  ASSERT_EQ(masad->Terminate(absl::Seconds(30)), 0) << masad->log();

  // A month on, the admin's first token has expired too.
  StartMasad(state, &masad, /*days_ahead=*/31);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  HttpsClient client(masad->ready_rest(), state + "/tls-ca.pem", scratch);
  for (const auto& [who, secret] : {std::pair{"week", week_token}, std::pair{"admin", admin}}) {
    HttpAnswer a = client.Call("GET", "/vouchers", client.AuthFile(who, secret));
    EXPECT_EQ(a.status, 401) << who << ": " << a;
  }
  EXPECT_EQ(masad->Terminate(absl::Seconds(30)), 0) << masad->log();
}

// Clients that refuse an end-entity certificate as a trust anchor (GnuTLS certtool says "The
// certificate issuer is not a CA" of the old self-signed tls.pem) verify masad's server
// certificate against dev-init's tls-ca.pem; Python's ssl with X.509 strict checks reaches
// masad through it.
TEST(MasadTlsTest, StrictClientsTrustTheDevelopmentTlsCa) {
  TempFolder root;
  const std::string state = root / "state";
  MakeDevState(state);
  ASSERT_FALSE(::testing::Test::HasFailure());
  ProcessResult verify = RunTool({OPENSSL_CLI, "verify", "-x509_strict", "-purpose", "sslserver",
                                  "-CAfile", state + "/tls-ca.pem", state + "/tls.pem"});
  EXPECT_EQ(verify.exit_code, 0) << verify;
  ProcessResult gnutls = RunTool({CERTTOOL, "--verify", "--load-ca-certificate",
                                  state + "/tls-ca.pem", "--infile", state + "/tls.pem"});
  EXPECT_EQ(gnutls.exit_code, 0) << gnutls;
  EXPECT_THAT(gnutls.out, HasSubstr("Chain verification output: Verified")) << gnutls;
  ProcessResult leaf = RunTool({OPENSSL_CLI, "x509", "-noout", "-ext", "basicConstraints",
                                "-in", state + "/tls.pem"});
  EXPECT_THAT(leaf.out, HasSubstr("CA:FALSE")) << leaf;

  std::unique_ptr<Daemon> masad;
  StartMasad(state, &masad);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const std::string port = masad->ready_rest().substr(masad->ready_rest().rfind(':') + 1);
  const std::string client = R"(
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[1])
ctx.verify_flags |= ssl.VERIFY_X509_STRICT
with urllib.request.urlopen("https://localhost:" + sys.argv[2] + "/healthz", context=ctx) as r:
    print(r.status, r.read().decode())
)";
  ProcessResult python =
      RunTool({"/usr/bin/python3", "-c", client, state + "/tls-ca.pem", port});
  EXPECT_EQ(python.exit_code, 0) << python;
  EXPECT_THAT(python.out, HasSubstr("200")) << python;
  EXPECT_EQ(masad->Terminate(absl::Seconds(30)), 0) << masad->log();
}

// ---------------------------------------------------------------------------------------
// 3. 20 serials are issued; 21 are refused and write nothing.

TEST_F(MasadE2eTest, TwentySerialsIssueAndTwentyOneWriteNothing) {
  const int64_t before = VoucherTotal("admin");
  std::string req_id;
  const int64_t asked_at = absl::ToUnixMillis(absl::Now());
  std::vector<std::string> ids = Issue("admin", Serials("A", 21, 40), w().pdc_x, &req_id);
  const int64_t answered_at = absl::ToUnixMillis(absl::Now());
  ASSERT_EQ(ids.size(), 20u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 20u);
  // Ids are RFC 9562 UUIDv7 as the product documentation types them: lower-case
  // 8-4-4-4-12, version 7, variant 0b10, and their first 48 bits the Unix time in ms.
  ids.push_back(req_id);
  for (const std::string& id : ids) {
    EXPECT_TRUE(IsUuidV7(id)) << id;
    const int64_t ms = std::stoll(id.substr(0, 8) + id.substr(9, 4), nullptr, 16);
    EXPECT_GE(ms, asked_at) << id;
    EXPECT_LE(ms, answered_at) << id;
  }
  ids.pop_back();
  EXPECT_EQ(VoucherTotal("admin"), before + 20);
  HttpAnswer req = Get("/request/" + req_id, "admin");
  ASSERT_EQ(req.status, 200) << req;
  EXPECT_EQ(req.Json()["request"]["status"], "completed");
  EXPECT_EQ(req.Json()["request"]["req_id"], req_id);
  HttpAnswer one = Get("/voucher/" + ids[0], "admin");
  ASSERT_EQ(one.status, 200) << one;
  EXPECT_EQ(one.Json()["voucher"]["voucher_id"], ids[0]);
  EXPECT_EQ(one.Json()["voucher"]["req_id"], req_id);
  EXPECT_EQ(one.Json()["voucher"]["status"], "completed");
  EXPECT_EQ(VoucherTotal("admin", "?status=completed&req_id=" + req_id), 20);
  EXPECT_EQ(Get("/voucher/not-a-uuid", "admin").status, 404);

  HttpAnswer audit_before = Get("/audit?limit=1000", "admin");
  ASSERT_EQ(audit_before.status, 200) << audit_before;
  HttpAnswer too_many = Post("/request/ov", "admin", RequestBody(Serials("A", 41, 61), w().pdc_x));
  EXPECT_EQ(too_many.status, 400) << too_many;
  EXPECT_TRUE(too_many.IsProblem()) << too_many;
  json problem = too_many.Json();
  EXPECT_EQ(problem.value("status", 0), 400);
  EXPECT_THAT(problem.value("detail", ""), HasSubstr("21")) << too_many;
  EXPECT_THAT(problem.value("detail", ""), HasSubstr("20")) << too_many;
  // Nothing written: no voucher, no request, no audit entry.
  EXPECT_EQ(VoucherTotal("admin"), before + 20);
  EXPECT_EQ(VoucherTotal("admin", "?serial_number=A-0041"), 0);
  HttpAnswer audit_after = Get("/audit?limit=1000", "admin");
  EXPECT_EQ(audit_after.Json()["entries"].size(), audit_before.Json()["entries"].size());
  EXPECT_EQ(audit_after.Json()["next_seq"], audit_before.Json()["next_seq"]);
}

// ---------------------------------------------------------------------------------------
// 4. A live voucher pinned to another PDC: a per-serial conflict, unless "override".

TEST_F(MasadE2eTest, OverrideIssuesOverALiveVoucherPinnedElsewhere) {
  std::vector<std::string> first = Issue("admin", {"A-0050"}, w().pdc_x);
  ASSERT_EQ(first.size(), 1u);
  // The same PDC again is no conflict.
  Issue("admin", {"A-0050"}, w().pdc_x);

  HttpAnswer conflict = Post("/request/ov", "admin", RequestBody({"A-0050", "A-0051"}, w().pdc_y));
  ASSERT_EQ(conflict.status, 200) << conflict;
  json j = conflict.Json();
  ASSERT_EQ(j["vouchers"].size(), 2u);
  EXPECT_EQ(j["vouchers"][0]["status"], "failed") << conflict;
  EXPECT_TRUE(j["vouchers"][0]["voucher_id"].is_null()) << conflict;
  EXPECT_THAT(j["vouchers"][0].value("reason", ""), HasSubstr("override")) << conflict;
  // The other serial proceeds.
  EXPECT_EQ(j["vouchers"][1]["status"], "completed") << conflict;
  HttpAnswer req = Get("/request/" + j["req_id"].get<std::string>(), "admin");
  EXPECT_EQ(req.Json()["request"]["status"], "partial") << req;
  EXPECT_EQ(VoucherTotal("admin", "?serial_number=A-0050"), 2);

  HttpAnswer forced = Post("/request/ov", "admin", RequestBody({"A-0050"}, w().pdc_y, true));
  ASSERT_EQ(forced.status, 200) << forced;
  json f = forced.Json();
  EXPECT_EQ(f["vouchers"][0]["status"], "completed") << forced;
  ASSERT_TRUE(f["vouchers"][0]["voucher_id"].is_string()) << forced;
  const std::string id = f["vouchers"][0]["voucher_id"];
  EXPECT_NE(id, first[0]);
  HttpAnswer got = Get("/voucher/" + id, "admin");
  ASSERT_EQ(got.status, 200) << got;
  EXPECT_EQ(got.Json()["voucher"]["status"], "completed");
  EXPECT_EQ(got.Json()["voucher"]["serial_number"], "A-0050");
  EXPECT_EQ(VoucherTotal("admin", "?serial_number=A-0050"), 3);
}

// ---------------------------------------------------------------------------------------
// 5. Renew re-signs (last_renewal_at set, a new CMS that verifies); archive.

TEST_F(MasadE2eTest, RenewResignsAndArchiveMarksArchived) {
  std::vector<std::string> ids = Issue("admin", {"A-0060"}, w().pdc_x);
  ASSERT_EQ(ids.size(), 1u);
  const std::string id = ids[0];
  HttpAnswer before = Get("/voucher/" + id, "admin");
  ASSERT_EQ(before.status, 200) << before;
  json vb = before.Json()["voucher"];
  // Exactly the documented members.
  std::set<std::string> keys;
  for (auto it = vb.begin(); it != vb.end(); ++it) keys.insert(it.key());
  EXPECT_EQ(keys, (std::set<std::string>{"req_id", "voucher_id", "requested_at", "created_at",
                                         "expires_at", "last_renewal_at", "assertion", "status",
                                         "serial_number", "pdc_organization", "requested_by"}));
  EXPECT_TRUE(vb["last_renewal_at"].is_null()) << before;
  EXPECT_EQ(vb["pdc_organization"], "Example Customer");
  EXPECT_EQ(vb["requested_by"], "admin@alpha.example");
  HttpAnswer cms1 = Get("/voucher/" + id + "/download", "admin");
  ASSERT_EQ(cms1.status, 200) << cms1;

  HttpAnswer renew = Post("/voucher/" + id + "/renew", "admin", json::object());
  ASSERT_EQ(renew.status, 200) << renew;
  EXPECT_EQ(renew.Json()["vouchers"][0]["voucher_id"], id) << renew;
  EXPECT_EQ(renew.Json()["vouchers"][0]["status"], "completed") << renew;
  HttpAnswer after = Get("/voucher/" + id, "admin");
  ASSERT_EQ(after.status, 200) << after;
  EXPECT_TRUE(after.Json()["voucher"]["last_renewal_at"].is_string()) << after;
  EXPECT_EQ(after.Json()["voucher"]["created_at"], vb["created_at"]);
  HttpAnswer cms2 = Get("/voucher/" + id + "/download", "admin");
  ASSERT_EQ(cms2.status, 200) << cms2;
  EXPECT_NE(cms1.body, cms2.body);
  const std::string file = w().root / "A-0060-renewed.vcj";
  WriteFile(file, cms2.body);
  ProcessResult verify = OpensslVerify(file, w().dev.trust_anchor());
  EXPECT_EQ(verify.exit_code, 0) << verify;
  ProcessResult device = Masactl({"voucher", "verify", "--trust-anchor", w().dev.trust_anchor(),
                                  "--serial", "A-0060", file});
  EXPECT_EQ(device.exit_code, 0) << device;

  HttpAnswer archive = Post("/voucher/" + id + "/archive", "admin", json::object());
  ASSERT_EQ(archive.status, 200) << archive;
  EXPECT_EQ(archive.Json()["voucher"]["status"], "archived");
  EXPECT_EQ(Get("/voucher/" + id, "admin").Json()["voucher"]["status"], "archived");
  EXPECT_THAT(Get("/vouchers?status=archived&page_size=1000", "admin").body, HasSubstr(id));
  // Archived: cannot be archived again or renewed (409), can still be downloaded.
  HttpAnswer again = Post("/voucher/" + id + "/archive", "admin", json::object());
  EXPECT_EQ(again.status, 409) << again;
  EXPECT_TRUE(again.IsProblem()) << again;
  HttpAnswer renew_archived = Post("/voucher/" + id + "/renew", "admin", json::object());
  EXPECT_EQ(renew_archived.status, 409) << renew_archived;
  EXPECT_EQ(Get("/voucher/" + id + "/download", "admin").status, 200);
}

// ---------------------------------------------------------------------------------------
// 6. A downloaded voucher verifies with openssl and as a device would; tampering is caught.

TEST_F(MasadE2eTest, DownloadedVoucherVerifiesWithOpensslAndMasactl) {
  std::vector<std::string> ids = Issue("admin", {"A-0070"}, w().pdc_x);
  ASSERT_EQ(ids.size(), 1u);
  HttpAnswer cms = Get("/voucher/" + ids[0] + "/download", "admin");
  ASSERT_EQ(cms.status, 200) << cms;
  EXPECT_EQ(cms.content_type, "application/voucher-cms+json");
  const std::string file = w().root / "A-0070.vcj";
  WriteFile(file, cms.body);

  const std::string content = w().root / "A-0070.json";
  ProcessResult verify = OpensslVerify(file, w().dev.trust_anchor(), content);
  ASSERT_EQ(verify.exit_code, 0) << verify;
  json voucher = json::parse(ReadFileOrEmpty(content), nullptr, false);
  ASSERT_TRUE(voucher.contains("ietf-voucher:voucher")) << ReadFileOrEmpty(content);
  EXPECT_EQ(voucher["ietf-voucher:voucher"]["serial-number"], "A-0070");
  EXPECT_EQ(voucher["ietf-voucher:voucher"]["assertion"], "logged");
  EXPECT_EQ(voucher["ietf-voucher:voucher"]["pinned-domain-cert"], PemBody(w().pdc_x));

  ProcessResult device = Masactl({"voucher", "verify", "--trust-anchor", w().dev.trust_anchor(),
                                  "--serial", "A-0070", file});
  EXPECT_EQ(device.exit_code, 0) << device;
  // The same checks fail for another device and for a tampered file.
  ProcessResult other = Masactl({"voucher", "verify", "--trust-anchor", w().dev.trust_anchor(),
                                 "--serial", "A-0071", file});
  EXPECT_NE(other.exit_code, 0) << other;
  std::string tampered = cms.body;
  size_t at = tampered.find("A-0070");
  ASSERT_NE(at, std::string::npos);
  tampered[at + 5] = '1';
  WriteFile(file + ".bad", tampered);
  EXPECT_NE(OpensslVerify(file + ".bad", w().dev.trust_anchor()).exit_code, 0);
  // Someone else's trust anchor does not verify it.
  EXPECT_NE(OpensslVerify(file, w().root / "pdc-y.pem").exit_code, 0);
}

// ---------------------------------------------------------------------------------------
// 7. Malformed input: always a 4xx problem+json, never a 500, nothing written.

TEST_F(MasadE2eTest, MalformedInputIs4xxProblemJsonNever500) {
  const int64_t before = VoucherTotal("admin");
  const std::string pem = w().pdc_x;
  auto with = [&](const char* key, json value) {
    json body = RequestBody({"A-0080"}, pem);
    body[key] = std::move(value);
    return body.dump();
  };
  std::vector<std::string> twenty_one = Serials("A", 80, 100);
  std::string deep(40, '[');
  deep += std::string(40, ']');
  struct Case {
    std::string name;
    std::string method;
    std::string path;
    std::string body;
    int expected;
    std::string who = "admin";
  };
  std::vector<Case> cases = {
      {"bad JSON", "POST", "/request/ov", "{\"serial_numbers\": [\"A-0080\"", 400},
      {"not an object", "POST", "/request/ov", "[\"A-0080\"]", 400},
      {"empty body", "POST", "/request/ov", "", 400},
      {"invalid UTF-8", "POST", "/request/ov", "{\"serial_numbers\": [\"A-\xff\xfe\"]}", 400},
      {"nested too deep", "POST", "/request/ov", "{\"serial_numbers\": " + deep + "}", 400},
      {"serial_numbers a string", "POST", "/request/ov", with("serial_numbers", "A-0080"), 400},
      {"serial_numbers numbers", "POST", "/request/ov", with("serial_numbers", {1, 2}), 400},
      {"override a string", "POST", "/request/ov", with("override", "yes"), 400},
      {"expires_at not a time", "POST", "/request/ov", with("expires_at", "tomorrow"), 400},
      {"expires_at in the past", "POST", "/request/ov", with("expires_at", "2001-01-01T00:00:00Z"),
       400},
      {"unknown field", "POST", "/request/ov", with("serial_number", "A-0080"), 400},
      {"unknown os_type", "POST", "/request/ov", with("os_type", "windows"), 400},
      {"huge serial", "POST", "/request/ov",
       with("serial_numbers", {std::string(100000, 'S')}), 400},
      {"serial over 64 characters", "POST", "/request/ov",
       with("serial_numbers", {std::string(100, 'S')}), 400},
      {"serial with NUL", "POST", "/request/ov", with("serial_numbers", {std::string("A\0B", 3)}),
       400},
      {"duplicate serials", "POST", "/request/ov", with("serial_numbers", {"A-0080", "A-0080"}),
       400},
      {"no serials", "POST", "/request/ov", with("serial_numbers", json::array()), 400},
      {"21 serials", "POST", "/request/ov", with("serial_numbers", twenty_one), 400},
      {"PEM garbage", "POST", "/request/ov", with("pdc", "not a certificate"), 400},
      {"PEM bad base64", "POST", "/request/ov",
       with("pdc", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"), 400},
      {"PEM truncated", "POST", "/request/ov", with("pdc", pem.substr(0, pem.size() / 2)), 400},
      {"pdc and cert_id", "POST", "/request/ov", with("cert_id", "org-alpha.pdc-00"), 400},
      {"upload bad PEM", "POST", "/pdc", json{{"certificate", "-----BEGIN X-----"}}.dump(), 400},
      {"username a number", "POST", "/users", json{{"username", 5}}.dump(), 400},
      {"validity a string", "POST", "/tokens", json{{"validity_days", "1"}}.dump(), 400},
      {"bogus role", "POST", "/bindings",
       json{{"principal_id", "x"}, {"group_id", kAlpha}, {"role", "root"}}.dump(), 400},
      {"renew body not JSON", "POST", "/voucher/v-0/renew", "expires tomorrow", 400},
      {"assign serials not an array", "POST", "/serials/assign",
       json{{"organization_id", kAlpha}, {"serials", "A-0999"}}.dump(), 400, "account-team"},
      {"bad page_size", "GET", "/vouchers?page_size=lots", "", 400},
      {"unknown query parameter", "GET", "/vouchers?colour=red", "", 400},
      {"unknown voucher", "GET", "/voucher/v-does-not-exist", "", 404},
      {"unknown route", "GET", "/no/such/route", "", 404},
      {"wrong method", "DELETE", "/request/ov", "", 405},
      {"garbage token", "GET", "/vouchers", "", 401, "garbage"},
      {"body over the limit", "POST", "/request/ov",
       "{\"pdc\": \"" + std::string(1100 * 1024, 'x') + "\"}", 413},
  };
  w().auth["garbage"] = http().AuthFile("garbage", "masa_not-a-real-token");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HttpAnswer a = c.body.empty() && c.method != "POST"
                       ? http().Call(c.method, c.path, Auth(c.who))
                       : http().Call(c.method, c.path, Auth(c.who), std::optional(c.body));
    EXPECT_EQ(a.status, c.expected) << a;
    EXPECT_NE(a.status, 500) << a;
    if (c.expected == 413 && a.status == 413) continue;  // see the test below
    EXPECT_TRUE(a.IsProblem()) << a;
    json p = a.Json();
    EXPECT_EQ(p.value("status", 0), c.expected) << a;
    EXPECT_FALSE(p.value("detail", "").empty()) << a;
  }
  EXPECT_EQ(VoucherTotal("admin"), before);
  HttpAnswer health = Get("/healthz", "");
  EXPECT_EQ(health.status, 200) << health;
  EXPECT_TRUE(w().masad->running());
}

// The one refusal that is not answered by the API: the HTTP server refuses a body over
// max_body_bytes from its Content-Length, before any handler runs (and before libevent would
// with its own HTML page), with a problem+json body of its own.
TEST_F(MasadE2eTest, OversizeBodyIsProblemJson) {
  HttpAnswer a = http().Call("POST", "/request/ov", Auth("admin"),
                             std::optional("{\"pdc\": \"" + std::string(1100 * 1024, 'x') + "\"}"));
  EXPECT_EQ(a.status, 413) << a;
  EXPECT_TRUE(a.IsProblem()) << a;
  EXPECT_THAT(a.Json().value("detail", ""), HasSubstr("-byte limit")) << a;
  EXPECT_EQ(a.Json().value("status", 0), 413) << a;
}

// ---------------------------------------------------------------------------------------
// 9. /openapi.json (/metrics has a listener of its own: masad_http_e2e_test.cc).

TEST_F(MasadE2eTest, OpenApiIsServed) {
  HttpAnswer doc = Get("/openapi.json", "");
  ASSERT_EQ(doc.status, 200) << doc;
  EXPECT_TRUE(absl::StartsWith(doc.content_type, "application/json")) << doc.content_type;
  json openapi = doc.Json();
  ASSERT_FALSE(openapi.is_discarded()) << "not JSON";
  ASSERT_TRUE(openapi["openapi"].is_string());
  EXPECT_TRUE(absl::StartsWith(openapi["openapi"].get<std::string>(), "3.1."))
      << openapi["openapi"];
  // Every route these tests use.
  const std::vector<std::pair<std::string, std::string>> used = {
      {"get", "/healthz"},
      {"get", "/openapi.json"},
      {"post", "/request/ov"},
      {"get", "/request/{req_id}"},
      {"get", "/request/{req_id}/download"},
      {"get", "/voucher/{voucher_id}"},
      {"get", "/voucher/{voucher_id}/download"},
      {"post", "/voucher/{voucher_id}/renew"},
      {"post", "/voucher/{voucher_id}/archive"},
      {"get", "/vouchers"},
      {"post", "/pdc"},
      {"post", "/users"},
      {"post", "/bindings"},
      {"post", "/bindings/{binding_id}/grants"},
      {"post", "/tokens"},
      {"get", "/tokens"},
      {"delete", "/tokens/{token_id}"},
      {"post", "/serials/assign"},
      {"get", "/audit"},
  };
  ASSERT_TRUE(openapi["paths"].is_object());
  for (const auto& [method, path] : used) {
    EXPECT_TRUE(openapi["paths"].contains(path) && openapi["paths"][path].contains(method))
        << method << " " << path << " is missing from /openapi.json";
  }

  EXPECT_FALSE(openapi["paths"].contains("/metrics"));
  EXPECT_EQ(Get("/healthz", "").status, 200);
  EXPECT_EQ(Get("/readyz", "").status, 200);
}

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
  std::random_device seed_source;
  const unsigned seed = seed_source();
  SCOPED_TRACE(absl::StrCat("signal ", sig, ", seed ", seed));
  std::mt19937 random(seed);

  TempFolder root;
  const std::string state = root / "state";
  DevState dev = MakeDevState(state);
  ASSERT_FALSE(HasFailure());
  std::string admin = CreateOrganization(state, "gamma", "admin@gamma.example",
                                         root / "gamma-admin.token");
  AssignSerials(state, "org-gamma", Serials("C", 1, kThreads * kSerialsPerRequest));
  MakeCa(root.path(), "pdc");
  const std::string pdc = ReadFileOrEmpty(root / "pdc.pem");
  ASSERT_FALSE(HasFailure());

  std::unique_ptr<Daemon> masad;
  StartMasad(state, &masad);
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
      json body = RequestBody(Serials("C", t * kSerialsPerRequest + 1,
                                      (t + 1) * kSerialsPerRequest), pdc);
      for (int i = 0; i < kRequestsPerThread; ++i) {
        HttpAnswer a = client.Call("POST", "/request/ov", auth, body);
        LoadRecord r{a.status, a.curl_exit, a.curl_error, {}};
        if (a.status == 200) {
          json j = a.Json();
          for (const json& v : j["vouchers"]) {
            EXPECT_EQ(v["status"], "completed") << a;
            if (v["voucher_id"].is_string()) r.voucher_ids.push_back(v["voucher_id"].get<std::string>());
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
  StartMasad(state, &masad);
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
