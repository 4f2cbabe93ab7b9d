// The REST API end to end inside one process: a real queue::HttpServer (plain HTTP on
// 127.0.0.1, port 0) in front of a RestApi over a real Service (LMDB store in a temp
// folder, SoftHSM2 signing key behind the OpenSSL provider, real WorkQueue), driven by the
// real curl binary; the downloaded voucher is checked with `openssl cms -verify`.
// Tokens reach curl through a 0600 header file (-H @file), never through argv.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "api/rest_api.h"
#include "common/base64.h"
#include "common/openssl.h"
#include "common/testing/subprocess.h"
#include "common/time.h"
#include "common/uuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hsm/provider/provider.h"
#include "hsm/testing/softhsm_token.h"
#include "nlohmann/json.hpp"
#include "queue/http_server.h"
#include "queue/work_queue.h"
#include "service/service.h"
#include "signer/certificate.h"
#include "signer/cms.h"
#include "store/checkpoint.h"
#include "store/store.h"

namespace masa::api {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

UniquePtr<EVP_PKEY> SoftKey() {
  return UniquePtr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, std::string_view data, mode_t mode = 0600) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
}

struct SpawnResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

// Runs `argv` (no shell) and waits; stdout and stderr together, as the program wrote them.
SpawnResult Spawn(const std::vector<std::string>& argv) {
  absl::StatusOr<subprocess::ProcessResult> r =
      subprocess::RunProcess(argv, {.merge_stderr = true});
  if (!r.ok()) return {.exit_code = -1, .out = r.status().ToString()};
  return {.exit_code = r->exit_code, .out = std::move(r->out)};
}

struct HttpResult {
  int status = 0;
  std::string headers;  // lower-cased
  std::string body;
  json Json() const { return json::parse(body, nullptr, false); }
};

class RestApiIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto token = hsm::testing::TempToken::Create();
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = token->release();
    auto provider = hsm::ProviderContext::Create(token_->token());
    ASSERT_TRUE(provider.ok()) << provider.status();
    provider_ = provider->release();
    auto info = token_->token()->GenerateKeyPair(hsm::KeyType::kEcP256, "masa-signing");
    ASSERT_TRUE(info.ok()) << info.status();
    auto masa_key = provider_->LoadPrivateKey(info->uri);
    ASSERT_TRUE(masa_key.ok()) << masa_key.status();
    auto pub = provider_->PublicKey(*info);
    ASSERT_TRUE(pub.ok()) << pub.status();
    absl::Time now = absl::Now();
    ca_key_ = SoftKey().release();
    auto ca = signer::IssueCertificate("CN=Test Vendor CA,O=Vendor", ca_key_, nullptr, ca_key_,
                                       nullptr, nullptr, now - absl::Hours(48),
                                       now + absl::Hours(24 * 3650), true, 1);
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = ca->release();
    auto cert = signer::IssueCertificate("CN=Test MASA,O=Vendor", pub->get(), ca_, ca_key_, nullptr,
                                         nullptr, now - absl::Hours(48),
                                         now + absl::Hours(24 * 3650), false, 2);
    ASSERT_TRUE(cert.ok()) << cert.status();
    auto keys = std::make_shared<service::SigningKeys>();
    keys->key_id = "key-1";
    auto signer = signer::VoucherSigner::Create(masa_key->get(), cert->get(), {ca_},
                                                signer::CmsContentType::kAnimaJsonVoucher,
                                                provider_->libctx(), nullptr);
    ASSERT_TRUE(signer.ok()) << signer.status();
    keys->anima_json_voucher = *std::move(signer);
    keys_ = new std::shared_ptr<const service::SigningKeys>(keys);
    masa_key_ = masa_key->release();
    masa_cert_ = cert->release();
  }

  void SetUp() override {
    ASSERT_NE(keys_, nullptr);
    char tmpl[] = "/tmp/masa-api-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto checkpoint_signer = store::NewEvpCheckpointSigner("test/audit", SoftKey());
    ASSERT_TRUE(checkpoint_signer.ok()) << checkpoint_signer.status();
    checkpoint_signer_ = *std::move(checkpoint_signer);
    store::StoreOptions so;
    so.state_dir = dir_;
    so.checkpoint_signer = checkpoint_signer_.get();
    auto store = store::Store::Open(so);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto queue = queue::WorkQueue::Create({.workers = 2, .capacity = 256, .max_batch = 32});
    ASSERT_TRUE(queue.ok());
    queue_ = *std::move(queue);
    service::ServiceOptions options;
    options.store = store_.get();
    options.work_queue = queue_.get();
    options.signing_keys = *keys_;
    auto service = service::Service::Create(options);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);

    auto api =
        RestApi::Create({.services = RestApiServices::Of(*service_), .work_queue = queue_.get()});
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
    queue::HttpServerOptions ho;
    ho.allow_plain_http_on_loopback = true;
    auto server = queue::HttpServer::Create(ho, api_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_TRUE(server_->Start().ok());
    api_->SetServer(server_.get());
    base_ = absl::StrCat("http://127.0.0.1:", server_->port());
    auto metrics_server = queue::HttpServer::Create(ho, api_->metrics_handler());
    ASSERT_TRUE(metrics_server.ok()) << metrics_server.status();
    metrics_server_ = *std::move(metrics_server);
    ASSERT_TRUE(metrics_server_->Start().ok());
    metrics_base_ = absl::StrCat("http://127.0.0.1:", metrics_server_->port());

    // Organization acme with its first admin; a vendor account-team principal.
    auto acme = service_->CreateOrganization("acme", "admin@acme.example");
    ASSERT_TRUE(acme.ok()) << acme.status();
    WriteFile(dir_ + "/admin.hdr",
              absl::StrCat("Authorization: Bearer ", std::string(acme->token.secret.view()), "\n"));
    auto at = service_->CreateVendorPrincipal("at@vendor.example", service::Role::kAccountTeam);
    ASSERT_TRUE(at.ok()) << at.status();
    WriteFile(dir_ + "/vendor.hdr",
              absl::StrCat("Authorization: Bearer ", std::string(at->token.secret.view()), "\n"));
    WriteFile(dir_ + "/bad.hdr", "Authorization: Bearer masa_not-a-real-token\n");

    // The owner's pinned-domain certificate.
    pdc_key_ = SoftKey();
    auto pdc = signer::IssueCertificate(
        "CN=Acme Owner CA,O=Acme Corp", pdc_key_.get(), nullptr, pdc_key_.get(), nullptr, nullptr,
        absl::Now() - absl::Hours(1), absl::Now() + absl::Hours(24 * 800), true, 7);
    ASSERT_TRUE(pdc.ok());
    pdc_pem_ = *CertificateToPem(pdc->get());
    pdc_ = *std::move(pdc);
    WriteFile(dir_ + "/ca.pem", *CertificateToPem(ca_), 0644);
  }

  void TearDown() override {
    // The metrics listener first: its /metrics handler reads the API server (SetServer).
    metrics_server_.reset();
    if (server_) server_->Shutdown(absl::Seconds(5));
    server_.reset();
    api_.reset();
    service_.reset();
    queue_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // curl with the header file `auth` ("" = none); `body` is sent when not null, with
  // `content_type` ("" = no Content-Type header at all).
  HttpResult Curl(const std::string& method, const std::string& path,
                  const std::string& auth = "admin.hdr", const std::string* body = nullptr,
                  const std::string& out_file = "",
                  const std::string& content_type = "application/json") {
    std::string out = out_file.empty() ? dir_ + "/body.out" : out_file;
    std::vector<std::string> argv = {
        "curl", "--noproxy", "*", "-sS", "--max-time",          "30", "-X",
        method, "-o",        out, "-D",  dir_ + "/headers.out", "-w", "%{http_code}"};
    if (!auth.empty()) {
      argv.push_back("-H");
      argv.push_back("@" + dir_ + "/" + auth);
    }
    if (body != nullptr) {
      WriteFile(dir_ + "/request.json", *body);
      // "Content-Type:" with nothing after it makes curl leave the header out.
      std::string header = content_type.empty() ? "Content-Type:" : "Content-Type: " + content_type;
      argv.insert(argv.end(), {"-H", header, "--data-binary", "@" + dir_ + "/request.json"});
    }
    argv.push_back(base_ + path);
    SpawnResult run = Spawn(argv);
    HttpResult result;
    EXPECT_EQ(run.exit_code, 0) << run.out;
    result.status = std::atoi(run.out.c_str());
    result.headers = ReadFile(dir_ + "/headers.out");
    for (char& c : result.headers)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    result.body = ReadFile(out);
    return result;
  }

  HttpResult Post(const std::string& path, const json& body,
                  const std::string& auth = "admin.hdr") {
    std::string text = body.dump();
    return Curl("POST", path, auth, &text);
  }

  void AssignSerials(int n) {
    json serials = json::array();
    for (int i = 0; i < n; ++i) {
      serials.push_back({{"serial_number", absl::StrFormat("SN-%02d", i)}, {"model", "X"}});
    }
    HttpResult r = Post("/serials/assign", {{"organization_id", "org-acme"}, {"serials", serials}},
                        "vendor.hdr");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["assigned"], n);
  }

  static hsm::testing::TempToken* token_;
  static hsm::ProviderContext* provider_;
  static EVP_PKEY* ca_key_;
  static X509* ca_;
  static EVP_PKEY* masa_key_;
  static X509* masa_cert_;
  static std::shared_ptr<const service::SigningKeys>* keys_;

  std::string dir_;
  std::unique_ptr<store::CheckpointSigner> checkpoint_signer_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<queue::WorkQueue> queue_;
  std::unique_ptr<service::Service> service_;
  std::unique_ptr<RestApi> api_;
  std::unique_ptr<queue::HttpServer> server_;
  std::string base_;
  std::unique_ptr<queue::HttpServer> metrics_server_;  // GET /metrics only
  std::string metrics_base_;
  UniquePtr<EVP_PKEY> pdc_key_;
  UniquePtr<X509> pdc_;
  std::string pdc_pem_;
};

hsm::testing::TempToken* RestApiIntegrationTest::token_ = nullptr;
hsm::ProviderContext* RestApiIntegrationTest::provider_ = nullptr;
EVP_PKEY* RestApiIntegrationTest::ca_key_ = nullptr;
X509* RestApiIntegrationTest::ca_ = nullptr;
EVP_PKEY* RestApiIntegrationTest::masa_key_ = nullptr;
X509* RestApiIntegrationTest::masa_cert_ = nullptr;
std::shared_ptr<const service::SigningKeys>* RestApiIntegrationTest::keys_ = nullptr;

TEST_F(RestApiIntegrationTest, RequestGetDownloadAndVerifyWithOpenssl) {
  AssignSerials(3);
  HttpResult r =
      Post("/request/ov", {{"serial_numbers", {"SN-00", "SN-01", "NOT-OURS"}}, {"pdc", pdc_pem_}});
  ASSERT_EQ(r.status, 200) << r.body;
  json answer = r.Json();
  EXPECT_EQ(answer["ok"], true);
  std::string req_id = answer["req_id"];
  ASSERT_EQ(answer["vouchers"].size(), 3u);
  EXPECT_EQ(UuidVersion(req_id), 7) << req_id;
  EXPECT_EQ(answer["vouchers"][0]["status"], "completed");
  EXPECT_EQ(answer["vouchers"][1]["status"], "completed");
  EXPECT_EQ(answer["vouchers"][2]["status"], "failed");
  EXPECT_FALSE(answer["vouchers"][2]["reason"].get<std::string>().empty());
  std::string voucher_id = answer["vouchers"][0]["voucher_id"];
  EXPECT_EQ(CanonicalUuid(voucher_id), voucher_id);
  EXPECT_EQ(UuidVersion(voucher_id), 7) << voucher_id;

  HttpResult get = Curl("GET", "/voucher/" + voucher_id);
  ASSERT_EQ(get.status, 200) << get.body;
  json v = get.Json();
  std::set<std::string> members;
  for (auto& [k, _] : v["voucher"].items()) members.insert(k);
  EXPECT_EQ(members, (std::set<std::string>{"req_id", "voucher_id", "requested_at", "created_at",
                                            "expires_at", "last_renewal_at", "assertion", "status",
                                            "serial_number", "pdc_organization", "requested_by"}));
  EXPECT_EQ(v["voucher"]["serial_number"], "SN-00");
  EXPECT_EQ(v["voucher"]["req_id"], req_id);
  EXPECT_EQ(v["voucher"]["pdc_organization"], "Acme Corp");
  EXPECT_EQ(v["voucher"]["requested_by"], "admin@acme.example");
  EXPECT_TRUE(v["voucher"]["last_renewal_at"].is_null());
  EXPECT_EQ(v["voucher"]["status"], "completed");

  std::string file = dir_ + "/SN-00.vcj";
  HttpResult download =
      Curl("GET", "/voucher/" + voucher_id + "/download", "admin.hdr", nullptr, file);
  ASSERT_EQ(download.status, 200);
  EXPECT_THAT(download.headers, HasSubstr("content-type: application/voucher-cms+json"));
  EXPECT_THAT(download.headers, HasSubstr("filename=\"sn-00.vcj\""));
  SpawnResult verify = Spawn({"openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", file,
                              "-CAfile", dir_ + "/ca.pem", "-out", dir_ + "/voucher.json"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr("Verification successful"));
  json inner = json::parse(ReadFile(dir_ + "/voucher.json"), nullptr, false);
  EXPECT_EQ(inner["ietf-voucher:voucher"]["serial-number"], "SN-00");

  // The whole request as one tar archive, listed by the system's tar.
  std::string tar = dir_ + "/request.tar";
  HttpResult all = Curl("GET", "/request/" + req_id + "/download", "admin.hdr", nullptr, tar);
  ASSERT_EQ(all.status, 200);
  EXPECT_THAT(all.headers, HasSubstr("content-type: application/x-tar"));
  EXPECT_THAT(all.headers, HasSubstr("filename=\"" + req_id + ".tar\""));
  SpawnResult list = Spawn({"tar", "-tf", tar});
  EXPECT_EQ(list.exit_code, 0) << list.out;
  EXPECT_EQ(list.out, "SN-00.vcj\nSN-01.vcj\n");

  HttpResult request = Curl("GET", "/request/" + req_id);
  ASSERT_EQ(request.status, 200) << request.body;
  EXPECT_EQ(request.Json()["request"]["vouchers"].size(), 2u);
  EXPECT_EQ(request.Json()["request"]["status"], "partial");
  EXPECT_EQ(request.Json()["request"]["req_id"], req_id);

  HttpResult listed = Curl("GET", "/vouchers?serial_number=SN-01");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.Json()["total"], 1);
  // The status filter takes the documented names, and "issued" from older clients.
  EXPECT_EQ(Curl("GET", "/vouchers?status=completed").Json()["total"], 2);
  EXPECT_EQ(Curl("GET", "/vouchers?status=issued").Json()["total"], 2);
  EXPECT_EQ(Curl("GET", "/vouchers?status=expired").Json()["total"], 0);
  HttpResult bad_status = Curl("GET", "/vouchers?status=done");
  EXPECT_EQ(bad_status.status, 400);
  EXPECT_THAT(bad_status.Json()["detail"].get<std::string>(),
              HasSubstr("completed, expired, archived"));
  EXPECT_EQ(Curl("GET", "/vouchers?req_id=" + req_id).Json()["total"], 2);
  EXPECT_EQ(Curl("GET", "/vouchers?req_id=nope").status, 400);
}

// The extended ownership voucher end to end: the platform certificate given with the request
// is in the signed JSON that `openssl cms -verify` extracts from the download, and stays there
// after a renewal; one the PDC did not issue is refused.
TEST_F(RestApiIntegrationTest, PlatformCertificateIsInTheSignedVoucher) {
  AssignSerials(1);
  UniquePtr<EVP_PKEY> pk_key = SoftKey();
  auto pk = signer::IssueCertificate("CN=Acme Platform Key,O=Acme Corp", pk_key.get(), pdc_.get(),
                                     pdc_key_.get(), nullptr, nullptr, absl::Now() - absl::Hours(1),
                                     absl::Now() + absl::Hours(24 * 400), false, 8);
  ASSERT_TRUE(pk.ok()) << pk.status();
  const std::string pk_b64 = Base64Encode(*CertificateToDer(pk->get()));
  auto self = signer::IssueCertificate("CN=Acme Platform Key,O=Acme Corp", pk_key.get(), nullptr,
                                       pk_key.get(), nullptr, nullptr, absl::Now() - absl::Hours(1),
                                       absl::Now() + absl::Hours(24 * 400), false, 9);
  ASSERT_TRUE(self.ok());
  HttpResult refused = Post("/request/ov", {{"serial_numbers", {"SN-00"}},
                                            {"pdc", pdc_pem_},
                                            {"platform_cert", *CertificateToPem(self->get())}});
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_THAT(refused.body,
              HasSubstr("platform_cert: not issued by the pinned-domain certificate"));

  HttpResult r = Post("/request/ov", {{"serial_numbers", {"SN-00"}},
                                      {"pdc", pdc_pem_},
                                      {"platform_cert", *CertificateToPem(pk->get())}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::string voucher_id = r.Json()["vouchers"][0]["voucher_id"];
  EXPECT_EQ(Curl("GET", "/voucher/" + voucher_id).Json()["voucher"]["assertion"], "logged");
  auto signed_json = [&](const std::string& name) {
    std::string file = dir_ + "/" + name + ".vcj";
    EXPECT_EQ(
        Curl("GET", "/voucher/" + voucher_id + "/download", "admin.hdr", nullptr, file).status,
        200);
    SpawnResult verify =
        Spawn({"openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", file, "-CAfile",
               dir_ + "/ca.pem", "-out", dir_ + "/" + name + ".json"});
    EXPECT_EQ(verify.exit_code, 0) << verify.out;
    return json::parse(ReadFile(dir_ + "/" + name + ".json"), nullptr, false);
  };
  json inner = signed_json("issued");
  EXPECT_EQ(inner["ietf-voucher:voucher"]["masa-extended-voucher:platform-key-certificate"], pk_b64)
      << inner.dump();
  EXPECT_EQ(inner["ietf-voucher:voucher"]["assertion"], "logged");

  HttpResult renewed = Post("/voucher/" + voucher_id + "/renew", json::object());
  ASSERT_EQ(renewed.status, 200) << renewed.body;
  json after = signed_json("renewed");
  EXPECT_EQ(after["ietf-voucher:voucher"]["masa-extended-voucher:platform-key-certificate"], pk_b64)
      << after.dump();
}

TEST_F(RestApiIntegrationTest, RefusesBadInputWithProblems) {
  AssignSerials(1);
  json serials = json::array();
  for (int i = 0; i < 21; ++i) serials.push_back(absl::StrFormat("SN-%02d", i));
  HttpResult too_many = Post("/request/ov", {{"serial_numbers", serials}, {"pdc", pdc_pem_}});
  EXPECT_EQ(too_many.status, 400) << too_many.body;
  EXPECT_THAT(too_many.headers, HasSubstr("content-type: application/problem+json"));
  EXPECT_THAT(too_many.Json()["detail"].get<std::string>(), HasSubstr("serial_numbers"));

  std::string broken = "{\"serial_numbers\": [\"SN-00\"";
  HttpResult malformed = Curl("POST", "/request/ov", "admin.hdr", &broken);
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  EXPECT_THAT(malformed.Json()["detail"].get<std::string>(), HasSubstr("not valid JSON"));

  HttpResult bad_pem = Post("/request/ov", {{"serial_numbers", {"SN-00"}},
                                            {"pdc", "-----BEGIN CERTIFICATE-----\nnope\n"}});
  EXPECT_EQ(bad_pem.status, 400) << bad_pem.body;

  std::string bomb = "{\"serial_numbers\":" + std::string(200000, '[') + "}";
  HttpResult nested = Curl("POST", "/request/ov", "admin.hdr", &bomb);
  EXPECT_EQ(nested.status, 400) << nested.body;

  std::string latin1 = "{\"serial_numbers\":[\"SN-\xe9\"],\"cert_id\":\"c\"}";
  EXPECT_EQ(Curl("POST", "/request/ov", "admin.hdr", &latin1).status, 400);

  std::string huge(2 * 1024 * 1024, ' ');
  EXPECT_EQ(Curl("POST", "/request/ov", "admin.hdr", &huge).status, 413);

  std::string body = json{{"serial_numbers", {"SN-00"}}, {"pdc", pdc_pem_}}.dump();
  HttpResult no_token = Curl("POST", "/request/ov", "", &body);
  EXPECT_EQ(no_token.status, 401) << no_token.body;
  EXPECT_THAT(no_token.headers, HasSubstr("www-authenticate: bearer"));
  HttpResult wrong_token = Curl("GET", "/vouchers", "bad.hdr");
  EXPECT_EQ(wrong_token.status, 401) << wrong_token.body;

  EXPECT_EQ(Curl("GET", "/voucher/v-nope").status, 404);
  HttpResult not_uuid = Curl("GET", "/voucher/not-a-uuid/download");
  EXPECT_EQ(not_uuid.status, 404);
  EXPECT_THAT(not_uuid.Json()["detail"].get<std::string>(), HasSubstr("UUID"));
  EXPECT_EQ(Curl("GET", "/request/3fa85f64-5717-4562-b3fc-2c963f66afa6").status, 404);
  HttpResult wrong_method = Curl("PUT", "/voucher/v-nope");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_THAT(wrong_method.headers, HasSubstr("allow: get"));

  // None of the refused requests wrote anything.
  HttpResult vouchers = Curl("GET", "/vouchers");
  ASSERT_EQ(vouchers.status, 200) << vouchers.body;
  EXPECT_EQ(vouchers.Json()["total"], 0);

  // Metrics are on their own listener only.
  EXPECT_EQ(Curl("GET", "/metrics", "").status, 404);
  std::string api_base = base_;
  base_ = metrics_base_;
  HttpResult metrics = Curl("GET", "/metrics", "");
  base_ = api_base;
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("masa_http_requests_total{code=\"400\"} 5"));
  EXPECT_THAT(metrics.body, HasSubstr("masa_open_connections"));
}

// Issue 8: after the account team moves a serial to another organization, the old owner's
// voucher is superseded and cannot be renewed, the new owner is not held by it, and both
// audit views show the transfer.
TEST_F(RestApiIntegrationTest, ReassignedSerialSupersedesTheOldOwnersVoucher) {
  AssignSerials(1);
  auto other = service_->CreateOrganization("other", "admin@other.example");
  ASSERT_TRUE(other.ok()) << other.status();
  WriteFile(dir_ + "/other.hdr",
            absl::StrCat("Authorization: Bearer ", std::string(other->token.secret.view()), "\n"));
  HttpResult issued = Post("/request/ov", {{"serial_numbers", {"SN-00"}}, {"pdc", pdc_pem_}});
  ASSERT_EQ(issued.status, 200) << issued.body;
  std::string old_id = issued.Json()["vouchers"][0]["voucher_id"];

  HttpResult moved = Post("/serials/assign",
                          {{"organization_id", "org-other"},
                           {"reassign", true},
                           {"serials", {{{"serial_number", "SN-00"}}}}},
                          "vendor.hdr");
  ASSERT_EQ(moved.status, 200) << moved.body;

  HttpResult renew = Post("/voucher/" + old_id + "/renew", json::object());
  EXPECT_EQ(renew.status, 409) << renew.body;
  HttpResult old_voucher = Curl("GET", "/voucher/" + old_id);
  ASSERT_EQ(old_voucher.status, 200) << old_voucher.body;
  EXPECT_EQ(old_voucher.Json()["voucher"]["status"], "superseded");
  EXPECT_EQ(Curl("GET", "/vouchers?status=superseded").Json()["total"], 1);
  EXPECT_EQ(Curl("GET", "/voucher/" + old_id + "/download").status, 200);

  // The new owner, with a certificate of its own: issued, no conflict, no override.
  UniquePtr<EVP_PKEY> key = SoftKey();
  auto cert = signer::IssueCertificate("CN=Other Owner CA,O=Other Corp", key.get(), nullptr,
                                       key.get(), nullptr, nullptr, absl::Now() - absl::Hours(1),
                                       absl::Now() + absl::Hours(24 * 800), true, 8);
  ASSERT_TRUE(cert.ok());
  HttpResult theirs =
      Post("/request/ov", {{"serial_numbers", {"SN-00"}}, {"pdc", *CertificateToPem(cert->get())}},
           "other.hdr");
  ASSERT_EQ(theirs.status, 200) << theirs.body;
  EXPECT_EQ(theirs.Json()["vouchers"][0]["status"], "completed") << theirs.body;

  HttpResult acme_audit = Curl("GET", "/audit?limit=1000");
  ASSERT_EQ(acme_audit.status, 200) << acme_audit.body;
  EXPECT_THAT(acme_audit.body, HasSubstr("\"serial.transfer-out\""));
  EXPECT_THAT(acme_audit.body, HasSubstr("\"voucher.supersede\""));
  EXPECT_THAT(acme_audit.body, ::testing::Not(HasSubstr("org-other")));
  HttpResult other_audit = Curl("GET", "/audit?limit=1000", "other.hdr");
  ASSERT_EQ(other_audit.status, 200) << other_audit.body;
  EXPECT_THAT(other_audit.body, HasSubstr("\"serial.reassign\""));
  EXPECT_THAT(other_audit.body, ::testing::Not(HasSubstr("org-acme")));
}

// Issue 8: a requestor bound to one sub-group sees only its serials in GET /request, and
// "not yours" reads the same as "not visible to you".
TEST_F(RestApiIntegrationTest, ARequestShowsASubGroupOnlyItsSerials) {
  AssignSerials(2);
  HttpResult group = Post("/groups", {{"parent_id", "org-acme"}, {"name", "east"}});
  ASSERT_EQ(group.status, 201) << group.body;
  std::string east = group.Json()["group"]["group_id"];
  ASSERT_EQ(
      Post("/serials/place", {{"group_id", east}, {"serials", {{{"serial_number", "SN-00"}}}}})
          .status,
      200);
  HttpResult user = Post("/users", {{"username", "east@acme.example"}});
  ASSERT_EQ(user.status, 201) << user.body;
  std::string principal = user.Json()["principal"]["principal_id"];
  ASSERT_EQ(
      Post("/bindings", {{"principal_id", principal}, {"group_id", east}, {"role", "requestor"}})
          .status,
      201);
  HttpResult token = Post("/tokens", {{"principal_id", principal}});
  ASSERT_EQ(token.status, 201) << token.body;
  WriteFile(dir_ + "/east.hdr",
            absl::StrCat("Authorization: Bearer ",
                         token.Json()["token"]["secret"].get<std::string>(), "\n"));

  HttpResult both =
      Post("/request/ov", {{"serial_numbers", {"SN-00", "SN-01"}}, {"pdc", pdc_pem_}});
  ASSERT_EQ(both.status, 200) << both.body;
  std::string req_id = both.Json()["req_id"];
  HttpResult seen = Curl("GET", "/request/" + req_id, "east.hdr");
  ASSERT_EQ(seen.status, 200) << seen.body;
  json serials = seen.Json()["request"]["serials"];
  ASSERT_EQ(serials.size(), 1u) << seen.body;
  EXPECT_EQ(serials[0]["serial_number"], "SN-00");
  EXPECT_THAT(seen.body, ::testing::Not(HasSubstr("SN-01")));

  HttpResult mixed =
      Post("/request/ov", {{"serial_numbers", {"SN-00", "SN-01", "NO-SUCH"}}, {"pdc", pdc_pem_}},
           "east.hdr");
  ASSERT_EQ(mixed.status, 200) << mixed.body;
  json answers = mixed.Json()["vouchers"];
  EXPECT_EQ(answers[0]["status"], "completed");
  std::string not_visible = answers[1]["reason"], not_ours = answers[2]["reason"];
  EXPECT_EQ(absl::StrReplaceAll(not_visible, {{"SN-01", "X"}}),
            absl::StrReplaceAll(not_ours, {{"NO-SUCH", "X"}}));
}

TEST_F(RestApiIntegrationTest, TokensAndPublicEndpoints) {
  HttpResult created = Post("/tokens", {{"validity_days", 7}, {"description", "ztp"}});
  ASSERT_EQ(created.status, 201) << created.body;
  std::string secret = created.Json()["token"]["secret"];
  std::string token_id = created.Json()["token"]["token_id"];
  WriteFile(dir_ + "/new.hdr", "Authorization: Bearer " + secret + "\n");
  EXPECT_EQ(Curl("GET", "/tokens", "new.hdr").status, 200);
  HttpResult listed = Curl("GET", "/tokens");
  EXPECT_THAT(listed.body, ::testing::Not(HasSubstr(secret)));
  EXPECT_EQ(Curl("DELETE", "/tokens/" + token_id).status, 200);
  EXPECT_EQ(Curl("GET", "/tokens", "new.hdr").status, 401);

  EXPECT_EQ(Curl("GET", "/healthz", "").body, "ok\n");
  EXPECT_EQ(Curl("GET", "/readyz", "").status, 200);
  HttpResult doc = Curl("GET", "/openapi.json", "");
  EXPECT_EQ(doc.Json()["openapi"], "3.1.0");
}

// Strict bodies through the real server and curl: 415 for a body that is not JSON (curl's
// own default for --data is a form), 400 naming a duplicated key.
TEST_F(RestApiIntegrationTest, NonJsonBodiesAre415AndDuplicateKeys400) {
  const std::string body = R"({"description":"x","validity_days":7})";
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", ""}) {
    SCOPED_TRACE(type);
    HttpResult r = Curl("POST", "/tokens", "admin.hdr", &body, "", type);
    EXPECT_EQ(r.status, 415) << r.body;
    EXPECT_THAT(r.headers, HasSubstr("content-type: application/problem+json"));
    EXPECT_THAT(r.Json()["detail"].get<std::string>(), HasSubstr("application/json"));
  }
  HttpResult utf8 =
      Curl("POST", "/tokens", "admin.hdr", &body, "", "application/json; charset=utf-8");
  EXPECT_EQ(utf8.status, 201) << utf8.body;

  const std::string twice = R"({"validity_days":1,"validity_days":180})";
  HttpResult dup = Curl("POST", "/tokens", "admin.hdr", &twice);
  EXPECT_EQ(dup.status, 400) << dup.body;
  EXPECT_THAT(dup.Json()["detail"].get<std::string>(), HasSubstr("\"validity_days\" twice"));

  // A POST without a body needs no Content-Type: the answer is about the voucher.
  HttpResult archive = Curl("POST", "/voucher/0190a0b0-0000-7000-8000-000000000000/archive");
  EXPECT_EQ(archive.status, 404) << archive.body;
}

TEST_F(RestApiIntegrationTest, WeakPdcIsRefusedNamingTheProblem) {
  UniquePtr<EVP_PKEY> rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024}));
  ASSERT_NE(rsa, nullptr);
  auto weak = signer::IssueCertificate("CN=Weak Owner,O=Acme Corp", rsa.get(), nullptr, rsa.get(),
                                       nullptr, nullptr, absl::Now() - absl::Hours(1),
                                       absl::Now() + absl::Hours(24 * 30), true, 9);
  ASSERT_TRUE(weak.ok()) << weak.status();
  HttpResult r = Post("/pdc", {{"certificate", *CertificateToPem(weak->get())}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.Json()["detail"].get<std::string>(), HasSubstr("1024 bits"));
  HttpResult junk = Post("/pdc", {{"certificate", pdc_pem_ + "trailing junk\n"}});
  EXPECT_EQ(junk.status, 400) << junk.body;
  EXPECT_THAT(junk.Json()["detail"].get<std::string>(), HasSubstr("after the END"));
  EXPECT_EQ(Curl("GET", "/pdcs").Json()["pdcs"].size(), 0u);
}

// A token minted with a one-day token cannot outlive it, and dies with it.
TEST_F(RestApiIntegrationTest, MintedTokensAreBoundedByAndRevokedWithTheirMinter) {
  HttpResult day = Post("/tokens", {{"validity_days", 1}, {"description", "one day"}});
  ASSERT_EQ(day.status, 201) << day.body;
  const std::string day_id = day.Json()["token"]["token_id"];
  WriteFile(dir_ + "/day.hdr",
            "Authorization: Bearer " + day.Json()["token"]["secret"].get<std::string>() + "\n");

  HttpResult long_one = Post("/tokens", {{"validity_days", 183}}, "day.hdr");
  EXPECT_EQ(long_one.status, 400) << long_one.body;
  EXPECT_THAT(long_one.Json()["detail"].get<std::string>(), HasSubstr(day_id));

  HttpResult child = Post("/tokens", json::object(), "day.hdr");
  ASSERT_EQ(child.status, 201) << child.body;
  EXPECT_EQ(child.Json()["token"]["minted_by"], day_id);
  EXPECT_LE(child.Json()["token"]["expires_at"].get<std::string>(),
            day.Json()["token"]["expires_at"].get<std::string>());
  WriteFile(dir_ + "/child.hdr",
            "Authorization: Bearer " + child.Json()["token"]["secret"].get<std::string>() + "\n");
  ASSERT_EQ(Curl("GET", "/tokens", "child.hdr").status, 200);

  ASSERT_EQ(Curl("DELETE", "/tokens/" + day_id).status, 200);
  HttpResult refused = Curl("GET", "/tokens", "child.hdr");
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_EQ(Curl("GET", "/tokens").status, 200) << "the admin's own token still works";
}

// What the domain gained for OVGS, through REST: a group's details, an organization
// delegated into a group, a user of it given a role there by tuple, and undone again.
TEST_F(RestApiIntegrationTest, GroupDetailsDelegatedOrgsAndUserRolesByTuple) {
  HttpResult beta =
      Post("/organizations", {{"name", "beta"}, {"admin_username", "ops"}}, "vendor.hdr");
  ASSERT_EQ(beta.status, 201) << beta.body;
  WriteFile(dir_ + "/beta.hdr",
            "Authorization: Bearer " + beta.Json()["token"]["secret"].get<std::string>() + "\n");
  HttpResult group = Post("/groups", {{"parent_id", "org-acme"}, {"name", "lab east"}});
  ASSERT_EQ(group.status, 201) << group.body;
  const std::string east = group.Json()["group"]["group_id"];

  HttpResult delegated =
      Post("/groups/" + east + "/delegated-orgs", {{"organization_id", "org-beta"}});
  ASSERT_EQ(delegated.status, 201) << delegated.body;
  EXPECT_EQ(Post("/groups/" + east + "/delegated-orgs", {{"organization_id", "org-beta"}}).status,
            409);
  // Beta's admin, named by tuple (a plain username, as OVGS allows), gets a role on east.
  const json ops = {{"username", "ops"}, {"organization_id", "org-beta"}, {"role", "requestor"}};
  HttpResult bound = Post("/groups/" + east + "/users", ops);
  ASSERT_EQ(bound.status, 201) << bound.body;
  EXPECT_EQ(bound.Json()["binding"]["role"], "requestor");
  EXPECT_EQ(Post("/groups/" + east + "/users", ops).status, 409) << "one role per group";

  HttpResult details = Curl("GET", "/groups/" + east);
  ASSERT_EQ(details.status, 200) << details.body;
  json g = details.Json()["group"];
  EXPECT_EQ(g["name"], "lab east");
  EXPECT_EQ(g["parent_id"], "org-acme");
  EXPECT_EQ(g["delegated_orgs"], json({{"org-beta", {east}}}));
  EXPECT_THAT(g["users"].dump(), HasSubstr(R"("organization_id":"org-beta","role":"requestor")"));
  // A certificate is its group's, not its parent's.
  HttpResult pdc = Post("/pdc", {{"certificate", pdc_pem_}, {"group_id", east}});
  ASSERT_EQ(pdc.status, 201) << pdc.body;
  EXPECT_EQ(Curl("GET", "/groups/" + east).Json()["group"]["cert_ids"],
            json::array({pdc.Json()["pdc"]["cert_id"]}));
  json root = Curl("GET", "/groups/org-acme").Json()["group"];
  EXPECT_EQ(root["cert_ids"], json::array());
  EXPECT_EQ(root["child_group_ids"], json::array({east}));
  EXPECT_THAT(root["users"].dump(), HasSubstr("admin@acme.example"));

  HttpResult roles = Curl("GET", "/users/ops/roles?organization_id=org-beta");
  ASSERT_EQ(roles.status, 200) << roles.body;
  EXPECT_EQ(roles.Json()["roles"],
            json::parse(R"([{"group_id":")" + east + R"(","role":"requestor"}])"));
  EXPECT_EQ(Curl("GET", "/users/nobody/roles?organization_id=org-beta").status, 404);
  // Beta's admin sees the group it was let into, and only its own organization's users.
  HttpResult seen_by_beta = Curl("GET", "/groups/" + east, "beta.hdr");
  ASSERT_EQ(seen_by_beta.status, 200) << seen_by_beta.body;
  EXPECT_THAT(seen_by_beta.body, ::testing::Not(HasSubstr("admin@acme.example")));

  EXPECT_EQ(Curl("DELETE", "/groups/" + east + "/delegated-orgs/org-beta").status, 409)
      << "beta's user still holds a role only this delegation lets in";
  EXPECT_EQ(Curl("DELETE", "/groups/" + east + "/users/ops?organization_id=org-beta").status, 200);
  EXPECT_EQ(Curl("DELETE", "/groups/" + east + "/users/ops?organization_id=org-beta").status, 404);
  EXPECT_EQ(Curl("DELETE", "/groups/" + east + "/delegated-orgs/org-beta").status, 200);
  EXPECT_EQ(Curl("GET", "/groups/" + east).Json()["group"]["delegated_orgs"], json::object());
}

// The vendor-side data of a serial goes in with its assignment and comes back with its
// details; a placement is undone; a PDC keeps its revocation_checks and expiry_time.
TEST_F(RestApiIntegrationTest, SerialDetailsPlacementRemovalAndPdcFields) {
  // The TPM data are DER: an EK certificate (any certificate will do) and a public key.
  unsigned char* der = nullptr;
  int der_length = i2d_X509(pdc_.get(), &der);
  ASSERT_GT(der_length, 0);
  const std::string ek_cert(reinterpret_cast<char*>(der), static_cast<size_t>(der_length));
  OPENSSL_free(der);
  der = nullptr;
  der_length = i2d_PUBKEY(pdc_key_.get(), &der);
  ASSERT_GT(der_length, 0);
  const std::string ppk(reinterpret_cast<char*>(der), static_cast<size_t>(der_length));
  OPENSSL_free(der);
  HttpResult assigned = Post("/serials/assign",
                             {{"organization_id", "org-acme"},
                              {"serials",
                               {{{"serial_number", "SN-00"},
                                 {"model", "ASR-9001"},
                                 {"mac_addr", "00-1C-73-AA-BB-CC"},
                                 {"tpm_info",
                                  {{"ek_certificate", Base64Encode(ek_cert)},
                                   {"platform_primary_key", Base64Encode(ppk)}}}},
                                {{"serial_number", "SN-01"}}}}},
                             "vendor.hdr");
  ASSERT_EQ(assigned.status, 200) << assigned.body;
  HttpResult group = Post("/groups", {{"parent_id", "org-acme"}, {"name", "east"}});
  ASSERT_EQ(group.status, 201) << group.body;
  const std::string east = group.Json()["group"]["group_id"];
  ASSERT_EQ(
      Post("/serials/place", {{"group_id", east}, {"serials", {{{"serial_number", "SN-00"}}}}})
          .status,
      200);

  HttpResult one = Curl("GET", "/serial/SN-00");
  ASSERT_EQ(one.status, 200) << one.body;
  json serial = one.Json()["serial"];
  EXPECT_EQ(serial["group_ids"], json::array({east, "org-acme"}));
  EXPECT_EQ(serial["organization_id"], "org-acme");
  EXPECT_EQ(serial["model"], "ASR-9001");
  EXPECT_EQ(serial["mac_addr"], "00:1c:73:aa:bb:cc");  // as the service writes it
  EXPECT_EQ(serial["tpm_info"]["ek_certificate"], Base64Encode(ek_cert));
  EXPECT_EQ(serial["tpm_info"]["endorsement_key"], nullptr);
  EXPECT_EQ(serial["tpm_info"]["platform_primary_key"], Base64Encode(ppk));

  HttpResult many =
      Post("/serials/lookup",
           {{"serials", {{{"serial_number", "SN-01"}}, {{"serial_number", "SN-00"}}}}});
  ASSERT_EQ(many.status, 200) << many.body;
  ASSERT_EQ(many.Json()["serials"].size(), 2u);
  EXPECT_EQ(many.Json()["serials"][0]["serial_number"], "SN-01");
  EXPECT_EQ(many.Json()["serials"][0]["group_ids"], json::array({"org-acme"}));
  EXPECT_EQ(Post("/serials/lookup",
                 {{"serials", {{{"serial_number", "SN-00"}}, {{"serial_number", "NOT-OURS"}}}}})
                .status,
            404);
  HttpResult listed = Curl("GET", "/groups/" + east + "/components");
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.Json()["components"].size(), 1u);
  EXPECT_EQ(listed.Json()["components"][0]["serial_number"], "SN-00");

  EXPECT_EQ(Curl("DELETE", "/groups/org-acme/components/SN-00").status, 400) << "the root";
  EXPECT_EQ(Curl("DELETE", "/groups/" + east + "/components/SN-00").status, 200);
  EXPECT_EQ(Curl("DELETE", "/groups/" + east + "/components/SN-00").status, 404);
  EXPECT_EQ(Curl("GET", "/serial/SN-00").Json()["serial"]["group_ids"], json::array({"org-acme"}));

  const std::string expiry =
      FormatRfc3339(absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(24 * 30))));
  HttpResult pdc = Post(
      "/pdc", {{"certificate", pdc_pem_}, {"revocation_checks", true}, {"expiry_time", expiry}});
  ASSERT_EQ(pdc.status, 201) << pdc.body;
  const std::string cert_id = pdc.Json()["pdc"]["cert_id"];
  json shown = Curl("GET", "/pdc/" + cert_id).Json()["pdc"];
  EXPECT_EQ(shown["revocation_checks"], true);
  EXPECT_EQ(shown["expiry_time"], expiry);
  HttpResult past =
      Post("/pdc", {{"certificate", pdc_pem_}, {"expiry_time", "2020-01-01T00:00:00Z"}});
  EXPECT_EQ(past.status, 400) << past.body;
}

}  // namespace
}  // namespace masa::api
