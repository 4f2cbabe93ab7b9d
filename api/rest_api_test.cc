// The REST layer over a fake service: problem+json for every error class, authentication,
// 404/405, the exact GET /voucher shape, downloads, and the public endpoints.
#include "api/rest_api.h"

#include <atomic>
#include <future>
#include <set>
#include <sstream>
#include <string>

#include "api/internal/problem.h"
#include "api/testing/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace masa::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;
using testing::Call;
using testing::FakeServices;
using testing::HeaderOf;
using testing::MakeRequest;

class RestApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RestApiOptions options;
    options.services = fakes_.services();
    options.handler_threads = 0;
    options.retry_after_seconds = 7;
    options.ready = [this] { return ready_; };
    auto api = RestApi::Create(options);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
  }

  queue::HttpResponse Do(queue::HttpRequest r) { return Call(*api_, std::move(r)); }

  // Checks the RFC 9457 shape and returns the parsed body.
  json ExpectProblem(const queue::HttpResponse& r, int status) {
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.content_type, "application/problem+json");
    json body = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(body.is_object()) << r.body;
    std::set<std::string> keys;
    for (auto& [k, _] : body.items()) keys.insert(k);
    EXPECT_EQ(keys, (std::set<std::string>{"type", "title", "status", "detail"})) << r.body;
    EXPECT_EQ(body["status"], status);
    EXPECT_FALSE(body["detail"].get<std::string>().empty());
    return body;
  }

  FakeServices fakes_;
  bool ready_ = true;
  std::unique_ptr<RestApi> api_;
};

TEST_F(RestApiTest, CreateRefusesMissingService) {
  EXPECT_EQ(RestApi::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RestApiTest, CreateRefusesAMissingInterface) {
  RestApiOptions options;
  options.services = fakes_.services();
  options.services.audit = nullptr;
  EXPECT_EQ(RestApi::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

// Role and grant names are parsed here, at the edge: the service is given the enums, and an
// unknown name never reaches it.
TEST_F(RestApiTest, RoleAndGrantNamesAreParsedAtTheEdge) {
  queue::HttpResponse bound = Do(MakeRequest(
      "POST", "/bindings", R"({"principal_id":"p-1","group_id":"org-acme","role":"assigner"})"));
  ASSERT_EQ(bound.status, 201) << bound.body;
  EXPECT_EQ(fakes_.principals.last_role, service::Role::kAssigner);
  EXPECT_EQ(json::parse(bound.body)["binding"]["role"], "assigner");

  fakes_.principals.last_role.reset();
  queue::HttpResponse god = Do(MakeRequest(
      "POST", "/bindings", R"({"principal_id":"p-1","group_id":"org-acme","role":"god"})"));
  EXPECT_EQ(ExpectProblem(god, 400)["detail"],
            "role: must be one of viewer, requestor, assigner, admin, support, account-team, "
            "security-officer");
  EXPECT_FALSE(fakes_.principals.last_role) << "the service was called";

  queue::HttpResponse granted =
      Do(MakeRequest("POST", "/bindings/b-1/grants", R"({"grant":"download"})"));
  ASSERT_EQ(granted.status, 200) << granted.body;
  EXPECT_EQ(fakes_.principals.last_grant, service::Grant::kDownload);
  EXPECT_EQ(json::parse(granted.body)["binding"]["grants"], json::array({"download"}));

  queue::HttpResponse revoked = Do(MakeRequest("DELETE", "/bindings/b-1/grants/archive"));
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(fakes_.principals.last_grant, service::Grant::kArchive);

  fakes_.principals.last_grant.reset();
  EXPECT_EQ(ExpectProblem(Do(MakeRequest("DELETE", "/bindings/b-1/grants/all")), 400)["detail"],
            "grant (path): must be one of request, download, archive");
  EXPECT_EQ(ExpectProblem(Do(MakeRequest("POST", "/bindings/b-1/grants", R"({"grant":"x"})")),
                          400)["detail"],
            "grant: must be one of request, download, archive");
  EXPECT_FALSE(fakes_.principals.last_grant) << "the service was called";
}

TEST_F(RestApiTest, PrincipalKindsAreRenderedByName) {
  queue::HttpResponse user =
      Do(MakeRequest("POST", "/users", R"({"username":"bob@acme.example"})"));
  ASSERT_EQ(user.status, 201) << user.body;
  EXPECT_EQ(json::parse(user.body)["principal"]["kind"], "user");
  queue::HttpResponse account = Do(MakeRequest("POST", "/service-accounts", R"({"name":"ztp-1"})"));
  ASSERT_EQ(account.status, 201) << account.body;
  EXPECT_EQ(json::parse(account.body)["principal"]["kind"], "service-account");
}

TEST_F(RestApiTest, EveryStatusCodeMapsThroughTheOneTable) {
  struct Case {
    absl::StatusCode code;
    int http;
    bool retry_after;
    bool shows_message;
  };
  const Case cases[] = {
      {absl::StatusCode::kInvalidArgument, 400, false, true},
      {absl::StatusCode::kUnauthenticated, 401, false, true},
      {absl::StatusCode::kPermissionDenied, 403, false, true},
      {absl::StatusCode::kNotFound, 404, false, true},
      {absl::StatusCode::kAlreadyExists, 409, false, true},
      {absl::StatusCode::kFailedPrecondition, 409, false, true},
      {absl::StatusCode::kResourceExhausted, 503, true, true},
      {absl::StatusCode::kUnavailable, 503, true, true},
      {absl::StatusCode::kInternal, 500, false, false},
      {absl::StatusCode::kDataLoss, 500, false, false},
      {absl::StatusCode::kUnknown, 500, false, false},
      {absl::StatusCode::kUnimplemented, 500, false, false},
      {absl::StatusCode::kAborted, 500, false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StatusCodeToString(c.code));
    fakes_.voucher_views.fail_with = absl::Status(c.code, "secret detail /var/lib/masa/key.pem");
    queue::HttpResponse r = Do(MakeRequest("GET", "/voucher/v-1"));
    json body = ExpectProblem(r, c.http);
    if (c.shows_message) {
      EXPECT_EQ(body["detail"], "secret detail /var/lib/masa/key.pem");
    } else {
      EXPECT_THAT(r.body, Not(HasSubstr("secret")));
      EXPECT_THAT(r.body, Not(HasSubstr("/var/lib")));
    }
    EXPECT_EQ(HeaderOf(r, "Retry-After"), c.retry_after ? "7" : "");
    if (c.code == absl::StatusCode::kUnauthenticated) {
      EXPECT_THAT(HeaderOf(r, "WWW-Authenticate"), HasSubstr("Bearer"));
    }
  }
}

TEST_F(RestApiTest, AsyncErrorsMapTheSameWay) {
  fakes_.voucher_requests.fail_with =
      absl::ResourceExhaustedError("the signing queue is full (4096/4096)");
  queue::HttpResponse r =
      Do(MakeRequest("POST", "/request/ov", R"({"serial_numbers":["a"],"cert_id":"c"})"));
  ExpectProblem(r, 503);
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "7");

  // Refused by admission control: the work queue's own drain estimate is the Retry-After.
  fakes_.voucher_requests.fail_with = queue::WithRetryAfterSeconds(
      absl::UnavailableError("the service is at capacity: ... retry after 3 s"), 3);
  r = Do(MakeRequest("POST", "/request/ov", R"({"serial_numbers":["a"],"cert_id":"c"})"));
  json body = ExpectProblem(r, 503);
  EXPECT_THAT(body["detail"].get<std::string>(), HasSubstr("at capacity"));
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "3");
}

TEST_F(RestApiTest, MissingOrBadTokenIs401WithChallenge) {
  queue::HttpResponse none = Do(MakeRequest("GET", "/voucher/v-1", "", /*with_token=*/false));
  ExpectProblem(none, 401);
  EXPECT_THAT(HeaderOf(none, "WWW-Authenticate"), HasSubstr("Bearer"));

  queue::HttpRequest basic = MakeRequest("GET", "/voucher/v-1", "", false);
  basic.headers["authorization"] = "Basic dXNlcjpwYXNz";
  queue::HttpResponse b = Do(basic);
  ExpectProblem(b, 401);
  EXPECT_THAT(HeaderOf(b, "WWW-Authenticate"), HasSubstr("invalid_request"));

  queue::HttpRequest wrong = MakeRequest("GET", "/voucher/v-1", "", false);
  wrong.headers["authorization"] = "Bearer not-a-token";
  queue::HttpResponse w = Do(wrong);
  ExpectProblem(w, 401);
  EXPECT_THAT(w.body, Not(HasSubstr("not-a-token")));

  queue::HttpRequest lower = MakeRequest("GET", "/voucher/v-1", "", false);
  lower.headers["authorization"] =
      "bearer  " + std::string(service::testing::FakeAuthenticator::kToken);
  EXPECT_EQ(Do(lower).status, 200);
}

TEST_F(RestApiTest, AuthenticationComesBeforeDecoding) {
  ExpectProblem(Do(MakeRequest("POST", "/request/ov", "{not json", false)), 401);
}

TEST_F(RestApiTest, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
  ExpectProblem(Do(MakeRequest("GET", "/no/such/thing")), 404);
  queue::HttpResponse r = Do(MakeRequest("PUT", "/voucher/v-1"));
  ExpectProblem(r, 405);
  EXPECT_EQ(HeaderOf(r, "Allow"), "GET");
  queue::HttpResponse ov = Do(MakeRequest("GET", "/request/ov/download/x"));
  ExpectProblem(ov, 404);
  queue::HttpResponse del = Do(MakeRequest("DELETE", "/request/ov"));
  ExpectProblem(del, 405);
  EXPECT_EQ(HeaderOf(del, "Allow"), "GET, POST");
}

TEST_F(RestApiTest, GetVoucherHasExactlyTheDocumentedShape) {
  fakes_.voucher_views.voucher.last_renewal_at = std::nullopt;
  queue::HttpResponse r = Do(MakeRequest("GET", "/voucher/v-1"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  json body = json::parse(r.body);
  std::set<std::string> top;
  for (auto& [k, _] : body.items()) top.insert(k);
  EXPECT_EQ(top, (std::set<std::string>{"ok", "voucher"}));
  EXPECT_EQ(body["ok"], true);
  json expected = {{"req_id", "r-1"},
                   {"voucher_id", "v-1"},
                   {"requested_at", "2027-01-15T08:00:00Z"},
                   {"created_at", "2027-01-15T08:00:01Z"},
                   {"expires_at", "2030-03-17T17:46:40Z"},
                   {"last_renewal_at", nullptr},
                   {"assertion", "logged"},
                   {"status", "completed"},
                   {"serial_number", "SN-1"},
                   {"pdc_organization", "Acme"},
                   {"requested_by", "alice@acme.example"}};
  EXPECT_EQ(body["voucher"], expected);
}

TEST_F(RestApiTest, QueryParametersOnPlainRoutesAreRefused) {
  json body = ExpectProblem(Do([] {
                              auto r = MakeRequest("GET", "/voucher/v-1");
                              r.query.emplace("verbose", "1");
                              return r;
                            }()),
                            400);
  EXPECT_THAT(body["detail"].get<std::string>(), HasSubstr("verbose"));
}

TEST_F(RestApiTest, MalformedBodiesAre400NamingTheField) {
  struct Case {
    const char* method;
    const char* path;
    std::string body;
    const char* must_mention;
  };
  const Case cases[] = {
      {"POST", "/request/ov", "{", "not valid JSON"},
      {"POST", "/request/ov", R"({"serial_numbers":"x","cert_id":"c"})", "serial_numbers"},
      {"POST", "/request/ov", R"({"serial_numbers":["a"],"cert_id":"c","x":1})", "x"},
      {"POST", "/voucher/v-1/renew", R"({"expires_at":1})", "expires_at"},
      {"POST", "/voucher/v-1/archive", "[]", "JSON object"},
      {"POST", "/pdc", R"({"certificate":7})", "certificate"},
      {"POST", "/users", R"({"user":"a"})", "username"},
      {"POST", "/service-accounts", "", "empty"},
      {"POST", "/bindings", R"({"principal_id":"p","group_id":"g","role":"root"})", "role"},
      {"POST", "/bindings/b-1/grants", R"({"grant":"all"})", "grant"},
      {"DELETE", "/bindings/b-1/grants/all", "", "grant"},
      {"POST", "/groups", R"({"parent_id":1,"name":"n"})", "parent_id"},
      {"POST", "/tokens", R"({"validity_days":"x"})", "validity_days"},
      {"POST", "/serials/assign", R"({"organization_id":"o","serials":[{}]})",
       "serials[0].serial_number"},
      {"POST", "/serials/place", R"({"group_id":"g"})", "serials"},
      {"POST", "/organizations", R"({"name":"acme"})", "admin_username"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.path + " " + c.body);
    json body = ExpectProblem(Do(MakeRequest(c.method, c.path, c.body)), 400);
    EXPECT_THAT(body["detail"].get<std::string>(), HasSubstr(c.must_mention));
  }
}

TEST_F(RestApiTest, DuplicateKeysAre400NamingTheKey) {
  struct Case {
    const char* path;
    std::string body;
    const char* key;
  };
  const Case cases[] = {
      {"/request/ov", R"({"serial_numbers":["a"],"cert_id":"c","cert_id":"d"})", "cert_id"},
      {"/tokens", R"({"validity_days":1,"description":"x","validity_days":183})", "validity_days"},
      {"/serials/assign",
       R"({"organization_id":"o","serials":[{"serial_number":"a","serial_number":"b"}]})",
       "serial_number"},
      {"/voucher/v-1/archive", R"({"a":{"b":1},"a":2})", "a"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    json body = ExpectProblem(Do(MakeRequest("POST", c.path, c.body)), 400);
    EXPECT_THAT(body["detail"].get<std::string>(),
                HasSubstr(std::string("the key \"") + c.key + "\" twice"));
  }
  // The same key in two different objects is fine.
  queue::HttpResponse r = Do(MakeRequest(
      "POST", "/serials/assign",
      R"({"organization_id":"o","serials":[{"serial_number":"a"},{"serial_number":"b"}]})"));
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(RestApiTest, BodiesThatAreNotJsonAre415) {
  const std::string request_body = R"({"serial_numbers":["SN-415"],"cert_id":"c"})";
  for (const char* type :
       {"text/plain", "application/x-www-form-urlencoded", "application/merge-patch+json",
        "application/json; charset=latin1", "application/jsonx", ""}) {
    SCOPED_TRACE(type);
    queue::HttpRequest r = MakeRequest("POST", "/request/ov", request_body);
    if (*type == '\0') {
      r.headers.erase("content-type");
    } else {
      r.headers["content-type"] = type;
    }
    queue::HttpResponse answer = Do(r);
    json body = ExpectProblem(answer, 415);
    EXPECT_THAT(body["detail"].get<std::string>(), HasSubstr("application/json"));
    EXPECT_EQ(HeaderOf(answer, "Accept"), "application/json");
    EXPECT_TRUE(fakes_.voucher_requests.last_request.serial_numbers.empty())
        << "the service was called";
  }
  for (const char* type : {"application/json", "Application/JSON; charset=UTF-8",
                           "application/json;charset=\"utf-8\""}) {
    SCOPED_TRACE(type);
    queue::HttpRequest r = MakeRequest("POST", "/request/ov", request_body);
    r.headers["content-type"] = type;
    EXPECT_EQ(Do(r).status, 200);
  }
  // A POST without a body needs no Content-Type.
  queue::HttpRequest archive = MakeRequest("POST", "/voucher/v-1/archive", "");
  ASSERT_EQ(archive.headers.count("content-type"), 0u);
  EXPECT_EQ(Do(archive).status, 200);
}

TEST_F(RestApiTest, RequestOvAnswers200WithPerSerialResults) {
  queue::HttpResponse r = Do(MakeRequest(
      "POST", "/request/ov", R"({"serial_numbers":["SN-1","SN-X"],"cert_id":"pdc-1"})"));
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["ok"], true);
  EXPECT_EQ(body["req_id"], "r-1");
  ASSERT_EQ(body["vouchers"].size(), 2u);
  EXPECT_EQ(body["vouchers"][0],
            (json{{"serial_number", "SN-1"}, {"voucher_id", "v-1"}, {"status", "completed"}}));
  EXPECT_EQ(body["vouchers"][1]["status"], "failed");
  EXPECT_TRUE(body["vouchers"][1]["voucher_id"].is_null());
  EXPECT_FALSE(body["vouchers"][1]["reason"].get<std::string>().empty());
  EXPECT_EQ(fakes_.voucher_requests.last_request.pdc_cert_id, "pdc-1");
}

TEST_F(RestApiTest, DownloadsCarryMediaTypeAndSafeFileName) {
  fakes_.voucher_views.voucher.serial_number = "SN/../\"x";
  queue::HttpResponse r = Do(MakeRequest("GET", "/voucher/v-1/download"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/voucher-cms+json");
  EXPECT_EQ(HeaderOf(r, "Content-Disposition"), "attachment; filename=\"SN_..__x.vcj\"");
  EXPECT_EQ(r.body, fakes_.voucher_views.cms);

  // The archive is named by the request's id as the service gives it (its UUID), not by
  // the id in the path, which may be one of the older form.
  const std::string uuid = "019acc3c-4c7b-7012-8d15-9e26af37bc00";
  fakes_.voucher_views.request_files = {{"v-1", uuid, "9", "SN1", "one"},
                                        {"v-2", uuid, "10", "SN1", "two"}};
  queue::HttpResponse tar =
      Do(MakeRequest("GET", "/request/req-019acc3c4c7b0123456789abcdef/download"));
  ASSERT_EQ(tar.status, 200);
  EXPECT_EQ(tar.content_type, "application/x-tar");
  EXPECT_EQ(HeaderOf(tar, "Content-Disposition"), "attachment; filename=\"" + uuid + ".tar\"");
  EXPECT_EQ(tar.body.substr(0, 7), std::string("SN1.vcj"));
  EXPECT_EQ(tar.body.substr(1024, 9), std::string("SN1-2.vcj"));
}

TEST_F(RestApiTest, TokenSecretIsShownOnceAndNotCached) {
  queue::HttpResponse r = Do(MakeRequest("POST", "/tokens", ""));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["token"]["secret"], "masa_secret");
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-store");
}

TEST_F(RestApiTest, NewOrganizationCarriesItsAdminAndTokenOnceAndIsListed) {
  queue::HttpResponse r = Do(MakeRequest("POST", "/organizations",
                                         R"({"name":"acme","admin_username":"a@acme.example"})"));
  ASSERT_EQ(r.status, 201) << r.body;
  json made = json::parse(r.body);
  EXPECT_EQ(made["organization"]["organization_id"], "org-acme");
  EXPECT_EQ(made["organization"]["name"], "acme");
  EXPECT_EQ(made["admin"]["name"], "a@acme.example");
  EXPECT_EQ(made["token"]["secret"], "masa_first-secret");
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-store");
  queue::HttpResponse list = Do(MakeRequest("GET", "/organizations"));
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(json::parse(list.body)["organizations"][0]["organization_id"], "org-acme");
}

TEST_F(RestApiTest, ProofHasIndexSizeBase64HashesAndCheckpoint) {
  queue::HttpResponse r = Do(MakeRequest("GET", "/voucher/v-1/proof"));
  ASSERT_EQ(r.status, 200) << r.body;
  json proof = json::parse(r.body)["proof"];
  EXPECT_EQ(proof["leaf_index"], 3);
  EXPECT_EQ(proof["tree_size"], 8);
  EXPECT_EQ(proof["hashes"][0], "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=");
  EXPECT_EQ(proof["checkpoint"], "masa/audit\n8\nroot\n");
}

TEST_F(RestApiTest, PublicEndpoints) {
  queue::HttpResponse health = Do(MakeRequest("GET", "/healthz", "", false));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");

  EXPECT_EQ(Do(MakeRequest("GET", "/readyz", "", false)).status, 200);
  ready_ = false;
  EXPECT_EQ(Do(MakeRequest("GET", "/readyz", "", false)).status, 503);

  queue::HttpResponse doc = Do(MakeRequest("GET", "/openapi.json", "", false));
  EXPECT_EQ(doc.status, 200);
  EXPECT_EQ(json::parse(doc.body)["openapi"], "3.1.0");
  EXPECT_EQ(doc.body, api_->OpenApiDocument());
}

TEST_F(RestApiTest, MetricsInPrometheusTextFormat) {
  fakes_.metrics.sign_latency.Observe(absl::Microseconds(300));
  fakes_.metrics.batch_size.Observe(20);
  Do(MakeRequest("GET", "/nope"));
  queue::HttpResponse r = Call(*api_->metrics_handler(), MakeRequest("GET", "/metrics", "", false));
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.content_type, HasSubstr("version=0.0.4"));
  EXPECT_THAT(r.body, HasSubstr("# TYPE masa_queue_depth gauge\nmasa_queue_depth 7\n"));
  EXPECT_THAT(r.body, HasSubstr("# TYPE masa_sign_latency_seconds histogram"));
  EXPECT_THAT(r.body, HasSubstr("masa_sign_latency_seconds_bucket{le=\"0.00025\"} 0\n"));
  EXPECT_THAT(r.body, HasSubstr("masa_sign_latency_seconds_bucket{le=\"0.0005\"} 1\n"));
  EXPECT_THAT(r.body, HasSubstr("masa_sign_latency_seconds_bucket{le=\"+Inf\"} 1\n"));
  EXPECT_THAT(r.body, HasSubstr("masa_sign_latency_seconds_count 1\n"));
  EXPECT_THAT(r.body, HasSubstr("masa_batch_size_bucket{le=\"20\"} 1\n"));
  EXPECT_THAT(r.body, HasSubstr("masa_commit_latency_seconds_count 0\n"));
  EXPECT_THAT(r.body, HasSubstr("masa_http_requests_total{code=\"404\"} 1\n"));
  // Every sample line belongs to a family announced by # TYPE.
  std::set<std::string> families;
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      families.insert(line.substr(7, line.find(' ', 7) - 7));
    } else if (!line.empty() && line[0] != '#') {
      std::string name = line.substr(0, line.find_first_of("{ "));
      bool known = families.count(name) > 0;
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        std::string s = suffix;
        if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
          known = known || families.count(name.substr(0, name.size() - s.size())) > 0;
        }
      }
      EXPECT_TRUE(known) << line;
    }
  }
}

// The signing path's fault counters, and the lines the daemon adds (its HSM tokens).
TEST_F(RestApiTest, MetricsShowSigningFaultsAndTheDaemonsOwnLines) {
  fakes_.metrics.sign_retries = 3;
  fakes_.metrics.signatures_abandoned = 2;
  fakes_.metrics.sign_failures = 1;
  fakes_.metrics.requests_busy = 4;
  RestApiOptions options;
  options.services = fakes_.services();
  options.handler_threads = 0;
  options.extra_metrics = [] {
    return std::string(
        "# HELP masa_hsm_token_up 1 while up.\n# TYPE masa_hsm_token_up gauge\n"
        "masa_hsm_token_up{token=\"masa-dev\"} 1\n");
  };
  auto api = RestApi::Create(options);
  ASSERT_TRUE(api.ok()) << api.status();
  queue::HttpResponse r =
      Call(*(*api)->metrics_handler(), MakeRequest("GET", "/metrics", "", false));
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("masa_sign_retries_total 3\n"));
  EXPECT_THAT(r.body, HasSubstr("masa_sign_abandoned_total 2\n"));
  EXPECT_THAT(r.body, HasSubstr("masa_sign_failures_total 1\n"));
  EXPECT_THAT(r.body,
              HasSubstr("# TYPE masa_requests_shed_total counter\nmasa_requests_shed_total 4\n"));
  EXPECT_THAT(
      r.body,
      HasSubstr("# TYPE masa_hsm_token_up gauge\nmasa_hsm_token_up{token=\"masa-dev\"} 1\n"));
}

// /metrics needs no token and counts across every tenant: only its own listener serves it.
TEST_F(RestApiTest, MetricsAreNotOnTheApiAndTheMetricsHandlerServesNothingElse) {
  ExpectProblem(Do(MakeRequest("GET", "/metrics", "", false)), 404);
  queue::HttpHandler& metrics = *api_->metrics_handler();
  ExpectProblem(Call(metrics, MakeRequest("GET", "/healthz", "", false)), 404);
  ExpectProblem(Call(metrics, MakeRequest("GET", "/vouchers", "", false)), 404);
  queue::HttpResponse post = Call(metrics, MakeRequest("POST", "/metrics", "", false));
  ExpectProblem(post, 405);
  EXPECT_EQ(post.headers, (std::vector<std::pair<std::string, std::string>>{{"Allow", "GET"}}));
}

TEST_F(RestApiTest, WorkerThreadsAnswerEveryRequest) {
  RestApiOptions options;
  options.services = fakes_.services();
  options.handler_threads = 2;
  auto api = RestApi::Create(options);
  ASSERT_TRUE(api.ok());
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(Call(**api, MakeRequest("GET", "/voucher/v-1")).status, 200);
  }
}

TEST_F(RestApiTest, FullHandlerQueueAnswers503WithRetryAfter) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  std::atomic<bool> first{true};
  fakes_.voucher_views.on_get_voucher = [&] {
    if (first.exchange(false)) {
      entered.set_value();
      released.wait();
    }
  };
  RestApiOptions options;
  options.services = fakes_.services();
  options.handler_threads = 1;
  options.handler_queue_capacity = 1;
  options.retry_after_seconds = 3;
  auto api = RestApi::Create(options);
  ASSERT_TRUE(api.ok());
  std::vector<std::future<queue::HttpResponse>> answers;
  auto send = [&] {
    auto p = std::make_shared<std::promise<queue::HttpResponse>>();
    answers.push_back(p->get_future());
    (*api)->Handle(MakeRequest("GET", "/voucher/v-1"),
                   [p](queue::HttpResponse r) { p->set_value(std::move(r)); });
  };
  send();  // taken by the one worker, which then waits
  entered.get_future().wait();
  send();  // waits in the queue
  send();  // no room
  queue::HttpResponse busy = answers[2].get();
  ExpectProblem(busy, 503);
  EXPECT_EQ(HeaderOf(busy, "Retry-After"), "3");
  release.set_value();
  EXPECT_EQ(answers[0].get().status, 200);
  EXPECT_EQ(answers[1].get().status, 200);
}

}  // namespace
}  // namespace masa::api
