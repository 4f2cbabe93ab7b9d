// masad end to end: the real daemon (fresh dev-init state: SoftHSM2 token, PKI, LMDB store,
// localhost TLS identity; port 0) driven over HTTPS by the real curl binary, as a customer's
// ZTP server or an account team would. Organizations, the vendor principal and serial
// numbers are provisioned offline with masactl first, as scripts/run.sh does; everything
// else goes through the REST API. Downloaded vouchers are checked with `openssl cms -verify`
// and `masactl voucher verify`, the audit log with `masactl audit verify`.
//
// Each TEST runs in its own ctest process, so each builds its own state and daemon; run
// together in one process they share one (they use disjoint serial numbers). The tests are
// split by concept over masad_e2e_*_test.cc, one binary: this file has the permission
// matrix, tokens and TLS; vouchers_test the issue/override/renew/download path; input_test
// malformed input and the OpenAPI document; crash_test signals under load and a restart.
// Shared set-up: tests/internal/masad_e2e_fixture.h.
//
// Token expiry is not waited for here (token validity is set in whole days through the
// API); it is covered with an injected clock by ServiceTest.TokensExpireAndRevokeAtOnce in
// service/access_test.cc. Revocation, and the six-month cap, are checked here.
#include <sys/stat.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
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
// 1. The permission matrix.

TEST_F(MasadE2eTest, PermissionMatrixThroughRest) {
  AddPrincipal("viewer", "viewer", {});
  AddPrincipal("requestor", "requestor", {});
  AddPrincipal("assigner", "assigner", {});
  AddPrincipal("viewer-request", "viewer", {"request"});
  ASSERT_FALSE(HasFatalFailure());

  // "" is a caller without a token.
  const std::vector<std::string> who = {"viewer",         "requestor",    "assigner", "admin",
                                        "viewer-request", "account-team", "b-admin",  ""};
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
      {"get voucher",
       [&](size_t i) { return Get("/voucher/" + v, who[i]); },
       {200, 200, 200, 200, 200, 200, 404, 401}},
      {"download voucher",
       [&](size_t i) { return Get("/voucher/" + v + "/download", who[i]); },
       {403, 200, 200, 200, 403, 403, 404, 401}},
      {"get request",
       [&](size_t i) { return Get("/request/" + shared_req, who[i]); },
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
      {"list audit",
       [&](size_t i) { return Get("/audit", who[i]); },
       {403, 403, 403, 200, 403, 200, 200, 401}},
      {"list vouchers",
       [&](size_t i) { return Get("/vouchers?page_size=1000", who[i]); },
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
  ASSERT_TRUE(absl::ParseTime(
      absl::RFC3339_full, week.Json()["token"]["created_at"].get<std::string>(), &created, &err))
      << err;
  ASSERT_TRUE(absl::ParseTime(
      absl::RFC3339_full, week.Json()["token"]["expires_at"].get<std::string>(), &expires, &err))
      << err;
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
  const std::string admin =
      CreateOrganization(state, "delta", "admin@delta.example", root / "delta-admin.token");
  const std::string scratch = root / "http";
  ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);

  std::unique_ptr<Daemon> masad;
  StartMasadOn(state, &masad);
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
  StartMasadOn(state, &masad, /*days_ahead=*/2);
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
  StartMasadOn(state, &masad, /*days_ahead=*/31);
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
  ProcessResult leaf = RunTool(
      {OPENSSL_CLI, "x509", "-noout", "-ext", "basicConstraints", "-in", state + "/tls.pem"});
  EXPECT_THAT(leaf.out, HasSubstr("CA:FALSE")) << leaf;

  std::unique_ptr<Daemon> masad;
  StartMasadOn(state, &masad);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const std::string port = masad->ready_rest().substr(masad->ready_rest().rfind(':') + 1);
  const std::string client = R"(
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[1])
ctx.verify_flags |= ssl.VERIFY_X509_STRICT
with urllib.request.urlopen("https://localhost:" + sys.argv[2] + "/healthz", context=ctx) as r:
    print(r.status, r.read().decode())
)";
  ProcessResult python = RunTool({"/usr/bin/python3", "-c", client, state + "/tls-ca.pem", port});
  EXPECT_EQ(python.exit_code, 0) << python;
  EXPECT_THAT(python.out, HasSubstr("200")) << python;
  EXPECT_EQ(masad->Terminate(absl::Seconds(30)), 0) << masad->log();
}

}  // namespace
}  // namespace masa::e2e
