// masad end to end, input: malformed and oversize requests are 4xx problem+json, never a
// 500, and write nothing; /openapi.json is served. See masad_e2e_test.cc.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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
      {"huge serial", "POST", "/request/ov", with("serial_numbers", {std::string(100000, 'S')}),
       400},
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

}  // namespace
}  // namespace masa::e2e
