// The key routes over a fake Keys: GET /keys and the chain download without a token (real
// certificates, read back as a verifier would), the security officer's lifecycle with its
// names parsed at the edge, 202 while the two-person rule waits, the PEM media types, errors
// through the one problem+json table, and the seconds to each certificate's expiry in
// /metrics.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "api/internal/key_codec.h"
#include "api/rest_api.h"
#include "api/testing/test_util.h"
#include "common/base64.h"
#include "common/openssl.h"
#include "common/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "signer/certificate.h"

namespace masa::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;
using testing::Call;
using testing::FakeServices;
using testing::HeaderOf;
using testing::MakeRequest;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

// A trust anchor and a signing certificate under it (DER), valid until `not_after`.
std::vector<std::string> MakeChain(const std::string& cn, absl::Time not_after) {
  UniquePtr<EVP_PKEY> ca_key(EVP_EC_gen("P-256"));
  UniquePtr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  auto ca = signer::IssueCertificate("CN=Vendor Root,O=Vendor", ca_key.get(), nullptr, ca_key.get(),
                                     nullptr, nullptr, kNow - absl::Hours(48),
                                     kNow + absl::Hours(24 * 3650), true, 1);
  EXPECT_TRUE(ca.ok()) << ca.status();
  auto leaf =
      signer::IssueCertificate("CN=" + cn + ",O=Vendor", key.get(), ca->get(), ca_key.get(),
                               nullptr, nullptr, kNow - absl::Hours(24), not_after, false, 2);
  EXPECT_TRUE(leaf.ok()) << leaf.status();
  return {*CertificateToDer(leaf->get()), *CertificateToDer(ca->get())};
}

service::KeyInfo MakeKey(const std::string& id, service::KeyState state,
                         std::vector<std::string> chain) {
  service::KeyInfo k;
  k.key_id = id;
  k.uri = "pkcs11:token=masa;object=" + id + ";type=private";
  k.state = state;
  k.chain_der = std::move(chain);
  k.public_key_der = "spki-" + id;
  k.created_at = kNow - absl::Hours(1);
  k.created_by = "p-officer-1";
  return k;
}

class RestApiKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_chain_ = MakeChain("MASA 2026", kNow + absl::Hours(10));
    new_chain_ = MakeChain("MASA 2027", kNow + absl::Hours(24 * 365));
    fakes_.keys.keys = {MakeKey("key-0000000000000001", service::KeyState::kRetired, old_chain_),
                        MakeKey("key-0000000000000002", service::KeyState::kActive, new_chain_),
                        MakeKey("key-0000000000000003", service::KeyState::kPending, {})};
    RestApiOptions options;
    options.services = fakes_.services();
    options.handler_threads = 0;
    options.clock = &clock_;
    auto api = RestApi::Create(options);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
  }

  queue::HttpResponse Do(queue::HttpRequest r) { return Call(*api_, std::move(r)); }
  queue::HttpResponse Public(const std::string& path) {
    return Do(MakeRequest("GET", path, "", /*with_token=*/false));
  }

  json ExpectJson(const queue::HttpResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return json::parse(r.body, nullptr, false);
  }
  std::string ExpectProblem(const queue::HttpResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json");
    json body = json::parse(r.body, nullptr, false);
    return body.is_object() ? body.value("detail", "") : "";
  }

  FakeServices fakes_;
  FixedClock clock_{kNow};
  std::vector<std::string> old_chain_, new_chain_;
  std::unique_ptr<RestApi> api_;
};

// The DER certificates of a PEM text, in order.
std::vector<std::string> DerOf(const std::string& pem) {
  std::vector<std::string> out;
  auto certs = ParseCertificates(pem);
  EXPECT_TRUE(certs.ok()) << certs.status();
  if (!certs.ok()) return out;
  for (auto& c : *certs) out.push_back(*CertificateToDer(c.get()));
  return out;
}

TEST_F(RestApiKeysTest, PublishedKeysNeedNoTokenAndCarryTheirChains) {
  json body = ExpectJson(Public("/keys"), 200);
  ASSERT_TRUE(body["keys"].is_array()) << body;
  ASSERT_EQ(body["keys"].size(), 2u) << "the pending key must not be published: " << body;
  const json& retired = body["keys"][0];
  EXPECT_EQ(retired["key_id"], "key-0000000000000001");
  EXPECT_EQ(retired["state"], "retired");
  EXPECT_EQ(retired["purpose"], "voucher-signing");
  EXPECT_EQ(retired["subject"], "CN=MASA 2026,O=Vendor");
  EXPECT_EQ(retired["not_after"], FormatRfc3339(kNow + absl::Hours(10)));
  std::string chain;
  for (const json& pem : retired["chain"]) chain += pem.get<std::string>();
  EXPECT_EQ(DerOf(chain), old_chain_);
  EXPECT_EQ(retired["fingerprint_sha256"].get<std::string>().size(), 64u);
  const json& active = body["keys"][1];
  EXPECT_EQ(active["state"], "active");
  EXPECT_EQ(active["subject"], "CN=MASA 2027,O=Vendor");
  EXPECT_THAT(active["public_key"].get<std::string>(), HasSubstr("-----BEGIN PUBLIC KEY-----"));

  queue::HttpRequest with_query = MakeRequest("GET", "/keys", "", false);
  with_query.query.emplace("all", "1");
  EXPECT_THAT(ExpectProblem(Do(with_query), 400), HasSubstr("all"));
}

TEST_F(RestApiKeysTest, ChainPemIsTheWholeChainLeafFirst) {
  queue::HttpResponse r = Public("/keys/key-0000000000000002/chain.pem");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/pem-certificate-chain");
  EXPECT_EQ(DerOf(r.body), new_chain_);
  EXPECT_EQ(DerOf(Public("/keys/key-0000000000000001/chain.pem").body), old_chain_)
      << "a retired key's chain stays published";

  EXPECT_THAT(ExpectProblem(Public("/keys/key-0000000000000003/chain.pem"), 404),
              HasSubstr("pending keys are not published"));
  ExpectProblem(Public("/keys/key-ffff/chain.pem"), 404);
  // An audit key may have no certificate: its public key is in GET /keys instead.
  fakes_.keys.keys.push_back(MakeKey("key-0000000000000004", service::KeyState::kActive, {}));
  fakes_.keys.keys.back().purpose = service::KeyPurpose::kAudit;
  EXPECT_THAT(ExpectProblem(Public("/keys/key-0000000000000004/chain.pem"), 404),
              HasSubstr("no certificate"));
}

TEST_F(RestApiKeysTest, TheOfficerRoutesNeedAToken) {
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/keys/managed"},
           {"POST", "/keys"},
           {"POST", "/keys/key-0000000000000003/csr"},
           {"POST", "/keys/key-0000000000000003/issue"},
           {"PUT", "/keys/key-0000000000000003/certificate"},
           {"POST", "/keys/key-0000000000000003/activate"},
           {"POST", "/keys/key-0000000000000001/retire"},
           {"GET", "/key-approvals"},
           {"POST", "/key-approvals/apr-1/approve"}}) {
    SCOPED_TRACE(method + " " + path);
    ExpectProblem(Do(MakeRequest(method, path, "", /*with_token=*/false)), 401);
  }
  EXPECT_EQ(fakes_.keys.keys[2].state, service::KeyState::kPending);
}

TEST_F(RestApiKeysTest, ManagedListShowsEveryKeyWithItsUri) {
  json body = ExpectJson(Do(MakeRequest("GET", "/keys/managed")), 200);
  ASSERT_EQ(body["keys"].size(), 3u) << body;
  const json& pending = body["keys"][2];
  EXPECT_EQ(pending["state"], "pending");
  EXPECT_EQ(pending["uri"], "pkcs11:token=masa;object=key-0000000000000003;type=private");
  EXPECT_EQ(pending["chain"], json::array());
  EXPECT_EQ(pending["not_after"], nullptr);
  EXPECT_EQ(pending["created_by"], "p-officer-1");
  EXPECT_EQ(pending["signatures"], 0);
}

TEST_F(RestApiKeysTest, GenerateParsesPurposeAndAlgorithmAtTheEdge) {
  json made = ExpectJson(
      Do(MakeRequest("POST", "/keys", R"({"purpose":"audit","algorithm":"ed25519","label":"l"})")),
      201);
  ASSERT_TRUE(fakes_.keys.last_generate);
  EXPECT_EQ(fakes_.keys.last_generate->purpose, service::KeyPurpose::kAudit);
  EXPECT_EQ(fakes_.keys.last_generate->algorithm, service::KeyAlgorithm::kEd25519);
  EXPECT_EQ(fakes_.keys.last_generate->label, "l");
  EXPECT_EQ(made["key"]["state"], "pending");
  EXPECT_EQ(made["key"]["algorithm"], "ed25519");
  EXPECT_EQ(made["key"]["purpose"], "audit");

  // No body: a P-256 voucher-signing key, the contract's defaults.
  ExpectJson(Do(MakeRequest("POST", "/keys")), 201);
  EXPECT_EQ(fakes_.keys.last_generate->purpose, service::KeyPurpose::kVoucherSigning);
  EXPECT_EQ(fakes_.keys.last_generate->algorithm, service::KeyAlgorithm::kEcP256);

  fakes_.keys.last_generate.reset();
  EXPECT_EQ(ExpectProblem(Do(MakeRequest("POST", "/keys", R"({"algorithm":"dsa"})")), 400),
            "algorithm: must be one of p256, p384, rsa3072, ed25519");
  EXPECT_EQ(ExpectProblem(Do(MakeRequest("POST", "/keys", R"({"purpose":"tls"})")), 400),
            "purpose: must be one of voucher-signing, audit");
  EXPECT_THAT(ExpectProblem(Do(MakeRequest("POST", "/keys", R"({"curve":"p256"})")), 400),
              HasSubstr("curve"));
  EXPECT_FALSE(fakes_.keys.last_generate) << "the service was called";
}

TEST_F(RestApiKeysTest, CsrIsAnsweredAsPem) {
  queue::HttpResponse r = Do(MakeRequest("POST", "/keys/key-0000000000000003/csr",
                                         R"({"subject":"CN=MASA 2027,O=Vendor"})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/x-pem-file");
  EXPECT_THAT(HeaderOf(r, "Content-Disposition"), HasSubstr("key-0000000000000003.csr.pem"));
  const std::string begin = "-----BEGIN CERTIFICATE REQUEST-----\n";
  const std::string end = "-----END CERTIFICATE REQUEST-----\n";
  ASSERT_TRUE(absl::StartsWith(r.body, begin) && absl::EndsWith(r.body, end)) << r.body;
  std::string b64 = r.body.substr(begin.size(), r.body.size() - begin.size() - end.size());
  b64.erase(std::remove(b64.begin(), b64.end(), '\n'), b64.end());
  EXPECT_EQ(Base64Decode(b64).value_or(""), "csr:CN=MASA 2027,O=Vendor");
  ExpectProblem(Do(MakeRequest("POST", "/keys/key-9/csr", R"({"subject":"CN=x"})")), 404);
}

TEST_F(RestApiKeysTest, IssueTakesSubjectAndValidityDays) {
  json issued = ExpectJson(Do(MakeRequest("POST", "/keys/key-0000000000000003/issue",
                                          R"({"subject":"CN=MASA 2027","validity_days":30})")),
                           200);
  ASSERT_TRUE(fakes_.keys.last_issue);
  EXPECT_EQ(fakes_.keys.last_issue->key_id, "key-0000000000000003");
  EXPECT_EQ(fakes_.keys.last_issue->subject, "CN=MASA 2027");
  EXPECT_EQ(fakes_.keys.last_issue->validity, absl::Hours(24 * 30));
  EXPECT_EQ(issued["key"]["key_id"], "key-0000000000000003");

  ExpectJson(Do(MakeRequest("POST", "/keys/key-0000000000000003/issue")), 200);
  EXPECT_EQ(fakes_.keys.last_issue->subject, "");
  EXPECT_FALSE(fakes_.keys.last_issue->validity) << "the service's default applies";
  EXPECT_THAT(ExpectProblem(Do(MakeRequest("POST", "/keys/key-0000000000000003/issue",
                                           R"({"validity_days":0})")),
                            400),
              HasSubstr("validity_days"));
}

TEST_F(RestApiKeysTest, ImportTakesAPemCertificateChain) {
  const std::string pem = internal::ChainPem(new_chain_);
  queue::HttpRequest put = MakeRequest("PUT", "/keys/key-0000000000000003/certificate");
  put.body = pem;
  put.headers["content-type"] = "Application/PEM-Certificate-Chain; charset=us-ascii";
  ExpectJson(Do(put), 200);
  EXPECT_EQ(fakes_.keys.last_chain, pem);

  fakes_.keys.last_chain.clear();
  put.headers["content-type"] = "application/json";
  queue::HttpResponse wrong = Do(put);
  EXPECT_THAT(ExpectProblem(wrong, 415), HasSubstr("application/pem-certificate-chain"));
  EXPECT_EQ(HeaderOf(wrong, "Accept"), "application/pem-certificate-chain");
  put.headers["content-type"] = "application/pem-certificate-chain";
  put.body = " \n";
  EXPECT_THAT(ExpectProblem(Do(put), 400), HasSubstr("empty"));
  EXPECT_EQ(fakes_.keys.last_chain, "") << "the service was called";
}

TEST_F(RestApiKeysTest, TheTwoPersonRuleAnswers202UntilApproved) {
  fakes_.keys.approvals_required = 2;
  json pending = ExpectJson(Do(MakeRequest("POST", "/keys/key-0000000000000003/activate")), 202);
  EXPECT_EQ(pending["applied"], false);
  EXPECT_EQ(pending["key"]["state"], "pending");
  EXPECT_EQ(pending["approval"]["action"], "activate");
  EXPECT_EQ(pending["approval"]["required"], 2);
  const std::string approval_id = pending["approval"]["approval_id"];

  json listed = ExpectJson(Do(MakeRequest("GET", "/key-approvals")), 200);
  ASSERT_EQ(listed["approvals"].size(), 1u) << listed;
  EXPECT_EQ(listed["approvals"][0]["approval_id"], approval_id);
  EXPECT_EQ(listed["approvals"][0]["approved_by"], json::array({"p-officer-1"}));
  EXPECT_EQ(ExpectJson(Public("/keys"), 200)["keys"].size(), 2u) << "nothing changed yet";

  json applied =
      ExpectJson(Do(MakeRequest("POST", "/key-approvals/" + approval_id + "/approve")), 200);
  EXPECT_EQ(applied["applied"], true);
  EXPECT_EQ(applied["key"]["state"], "active");
  EXPECT_EQ(applied["approval"], nullptr);
  json published = ExpectJson(Public("/keys"), 200);
  ASSERT_EQ(published["keys"].size(), 3u) << published;
  EXPECT_EQ(published["keys"][1]["state"], "retired") << "activation retires the active key";
  EXPECT_EQ(published["keys"][2]["state"], "active");

  ExpectProblem(Do(MakeRequest("POST", "/key-approvals/" + approval_id + "/approve")), 404);
}

TEST_F(RestApiKeysTest, ActivateAndRetireApplyAtOnceWithoutTheRule) {
  json applied = ExpectJson(Do(MakeRequest("POST", "/keys/key-0000000000000003/activate")), 200);
  EXPECT_EQ(applied["applied"], true);
  EXPECT_EQ(applied["key"]["state"], "active");
  json retired = ExpectJson(Do(MakeRequest("POST", "/keys/key-0000000000000002/retire")), 200);
  EXPECT_EQ(retired["key"]["state"], "retired");
  EXPECT_THAT(
      ExpectProblem(Do(MakeRequest("POST", "/keys/key-0000000000000003/activate", "[]")), 400),
      HasSubstr("object"));
}

TEST_F(RestApiKeysTest, ServiceErrorsGoThroughTheOneTable) {
  fakes_.keys.fail_with = absl::PermissionDeniedError("needs the security-officer role");
  EXPECT_EQ(ExpectProblem(Do(MakeRequest("POST", "/keys")), 403),
            "needs the security-officer role");
  fakes_.keys.fail_with = absl::FailedPreconditionError("key key-3 is retired, not pending");
  EXPECT_EQ(ExpectProblem(Do(MakeRequest("POST", "/keys/key-3/activate")), 409),
            "key key-3 is retired, not pending");
  fakes_.keys.fail_with = absl::UnavailableError("the HSM cannot be reached");
  queue::HttpResponse busy = Do(MakeRequest("POST", "/keys"));
  ExpectProblem(busy, 503);
  EXPECT_FALSE(HeaderOf(busy, "Retry-After").empty());
  fakes_.keys.fail_with = absl::InternalError("lmdb: MDB_CORRUPTED at /var/lib/masa");
  EXPECT_THAT(ExpectProblem(Public("/keys"), 500), Not(HasSubstr("lmdb")));
}

TEST_F(RestApiKeysTest, MetricsShowSecondsToEachCertificatesExpiryAndTheActiveKey) {
  queue::HttpResponse r =
      Call(*api_->metrics_handler(), MakeRequest("GET", "/metrics", "", /*with_token=*/false));
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("# TYPE masa_key_certificate_expiry_seconds gauge\n"));
  EXPECT_THAT(r.body, HasSubstr("masa_key_certificate_expiry_seconds{key_id=\"key-"
                                "0000000000000001\",purpose=\"voucher-signing\",state=\"retired\"} "
                                "36000\n"));
  EXPECT_THAT(r.body, HasSubstr("masa_key_certificate_expiry_seconds{key_id=\"key-"
                                "0000000000000002\",purpose=\"voucher-signing\",state=\"active\"} "
                                "31536000\n"));
  EXPECT_THAT(r.body, Not(HasSubstr("key-0000000000000003"))) << "pending keys are not shown";
  EXPECT_THAT(r.body, HasSubstr("masa_active_key_info{purpose=\"voucher-signing\",key_id=\"key-"
                                "0000000000000002\"} 1\n"));

  // An expired certificate counts below zero, so an alert on "< 30 days" fires for it too.
  clock_.Set(kNow + absl::Hours(11));
  r = Call(*api_->metrics_handler(), MakeRequest("GET", "/metrics", "", false));
  EXPECT_THAT(r.body, HasSubstr("state=\"retired\"} -3600\n"));

  // The store unreadable: every other family is still there.
  fakes_.keys.fail_with = absl::UnavailableError("store");
  r = Call(*api_->metrics_handler(), MakeRequest("GET", "/metrics", "", false));
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("masa_queue_depth 7"));
  EXPECT_THAT(r.body, Not(HasSubstr("masa_key_certificate_expiry_seconds")));
}

}  // namespace
}  // namespace masa::api
