// masad end to end, vouchers: 20 serials issue and 21 write nothing, override, renew and
// archive, downloads verified with openssl and masactl, the signatures' CPU on /metrics.
// See masad_e2e_test.cc.
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/internal/e2e.h"
#include "tests/internal/https_client.h"
#include "tests/internal/masad.h"
#include "tests/internal/masad_e2e_fixture.h"

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

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
  ProcessResult device = Masactl(
      {"voucher", "verify", "--trust-anchor", w().dev.trust_anchor(), "--serial", "A-0060", file});
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

  ProcessResult device = Masactl(
      {"voucher", "verify", "--trust-anchor", w().dev.trust_anchor(), "--serial", "A-0070", file});
  EXPECT_EQ(device.exit_code, 0) << device;
  // The same checks fail for another device and for a tampered file.
  ProcessResult other = Masactl(
      {"voucher", "verify", "--trust-anchor", w().dev.trust_anchor(), "--serial", "A-0071", file});
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
// 7. /metrics gives the CPU time of the HSM signatures themselves (load_bench takes it from
// masad's CPU to get the CPU per voucher outside the signature).

// The value of the unlabelled sample `name` in a Prometheus text, or -1 when absent.
double SampleOf(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.compare(0, name.size() + 1, name + " ") != 0) continue;
    double value = -1;
    return absl::SimpleAtod(line.substr(name.size() + 1), &value) ? value : -1;
  }
  return -1;
}

TEST_F(MasadE2eTest, MetricsCountTheCpuOfTheHsmSignatures) {
  const std::string url = MasadMetricsUrl(*w().masad);
  ASSERT_FALSE(url.empty()) << w().masad->log();
  auto scrape = [&] {
    ProcessResult r = RunTool({CURL_CLI, "--noproxy", "*", "-sS", "--max-time", "30", url});
    EXPECT_EQ(r.exit_code, 0) << r;
    return r.out;
  };
  const std::string before = scrape();
  EXPECT_THAT(before, HasSubstr("# TYPE masa_hsm_sign_cpu_seconds summary\n"));
  EXPECT_THAT(before, HasSubstr("# HELP masa_hsm_sign_cpu_seconds "));
  const double calls_before = SampleOf(before, "masa_hsm_sign_calls_total");
  ASSERT_GE(calls_before, 0) << before;

  ASSERT_EQ(Issue("admin", Serials("A", 160, 162), w().pdc_x).size(), 3u);
  const std::string after = scrape();
  // Three vouchers, three signing calls at least (an audit checkpoint may have signed too).
  // The CPU is timed on a sample of the calls (the first of each signing thread included),
  // so after any signature there is a timed one, with the CPU it took.
  const double calls = SampleOf(after, "masa_hsm_sign_calls_total");
  const double timed = SampleOf(after, "masa_hsm_sign_cpu_seconds_count");
  EXPECT_GE(calls, calls_before + 3) << after;
  EXPECT_GE(timed, 1) << after;
  EXPECT_LE(timed, calls) << after;
  EXPECT_GT(SampleOf(after, "masa_hsm_sign_cpu_seconds_sum"), 0) << after;
}

}  // namespace
}  // namespace masa::e2e
