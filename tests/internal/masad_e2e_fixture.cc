#include "tests/internal/masad_e2e_fixture.h"

#include <sys/stat.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "tests/internal/masad.h"

#ifndef MASAD
#error "MASAD must name the masad binary"
#endif
#ifndef LIBFAKETIME
#error "LIBFAKETIME must name libfaketime.so.1"
#endif

namespace masa::e2e {

using ::testing::HasSubstr;
using nlohmann::json;

bool IsUuidV7(const std::string& id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = id[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return id[14] == '7' && std::string_view("89ab").find(id[19]) != std::string_view::npos;
}

std::string Serial(const std::string& prefix, int n) {
  return absl::StrFormat("%s-%04d", prefix, n);
}
std::vector<std::string> Serials(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(Serial(prefix, i));
  return out;
}

void StartMasadOn(const std::string& state, std::unique_ptr<Daemon>* out, int days_ahead) {
  auto masad = StartMasad(
      {.binary = MASAD, .state = state, .days_ahead = days_ahead, .libfaketime = LIBFAKETIME});
  ASSERT_TRUE(masad.ok()) << masad.status();
  *out = *std::move(masad);
}

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
                 bool override_conflicts) {
  json body = {{"serial_numbers", serials}, {"pdc", pdc_pem}};
  if (override_conflicts) body["override"] = true;
  return body;
}

ProcessResult OpensslVerify(const std::string& file, const std::string& trust_anchor,
                            const std::string& content_out) {
  return RunTool({OPENSSL_CLI, "cms", "-verify", "-binary", "-inform", "DER", "-in", file,
                  "-CAfile", trust_anchor, "-out", content_out});
}

void MasadE2eTest::SetUpTestSuite() {
  world_ = new World();
  World& w = *world_;
  w.state = w.root / "state";
  w.dev = MakeDevState(w.state);
  if (::testing::Test::HasFailure()) return;
  std::string alpha =
      CreateOrganization(w.state, "alpha", "admin@alpha.example", w.root / "alpha-admin.token");
  std::string beta =
      CreateOrganization(w.state, "beta", "admin@beta.example", w.root / "beta-admin.token");
  ProcessResult vendor =
      Masactl({"vendor", "add", "--state", w.state, "--username", "at@vendor.example", "--role",
               "account-team", "--token-out", w.root / "account-team.token"});
  EXPECT_EQ(vendor.exit_code, 0) << vendor;
  AssignSerials(w.state, kAlpha, Serials("A", 1, 200));
  AssignSerials(w.state, kBeta, Serials("B", 1, 5));
  MakeCa(w.root.path(), "pdc-x");
  MakeCa(w.root.path(), "pdc-y");
  w.pdc_x = ReadFileOrEmpty(w.root / "pdc-x.pem");
  w.pdc_y = ReadFileOrEmpty(w.root / "pdc-y.pem");
  if (::testing::Test::HasFailure()) return;

  StartMasadOn(w.state, &w.masad);
  if (::testing::Test::HasFailure()) return;
  const std::string scratch = w.root / "http";
  ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);
  w.client = std::make_unique<HttpsClient>(w.masad->ready_rest(), w.state + "/tls-ca.pem", scratch);
  w.auth["admin"] = w.client->AuthFile("admin", alpha);
  w.auth["b-admin"] = w.client->AuthFile("b-admin", beta);
  w.auth["account-team"] =
      w.client->AuthFile("account-team", Trimmed(ReadFileOrEmpty(w.root / "account-team.token")));
}

void MasadE2eTest::TearDownTestSuite() {
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

std::vector<std::string> MasadE2eTest::Issue(const std::string& who,
                                             const std::vector<std::string>& serials,
                                             const std::string& pdc, std::string* req_id) {
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

int64_t MasadE2eTest::VoucherTotal(const std::string& who, const std::string& query) {
  HttpAnswer a = Get("/vouchers" + query, who);
  EXPECT_EQ(a.status, 200) << a;
  json j = a.Json();
  return j.is_object() && j.contains("total") ? j["total"].get<int64_t>() : -1;
}

void MasadE2eTest::AddPrincipal(const std::string& who, const std::string& role,
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
  HttpAnswer token =
      Post("/tokens", "admin", {{"principal_id", pid}, {"validity_days", 1}, {"description", who}});
  ASSERT_EQ(token.status, 201) << token;
  std::string secret = token.Json()["token"]["secret"];
  ASSERT_FALSE(secret.empty());
  world_->auth[who] = http().AuthFile(who, secret);
}

}  // namespace masa::e2e
