// The key lifecycle through a real masad, as a security officer and a verifier see it:
// GET /keys without a token publishes the signing certificate with its chain up to the
// trust anchor; an officer (a vendor principal with the security-officer role, made by
// masactl) generates a key in the SoftHSM2 token, gets a CSR signed inside the HSM (openssl
// checks it), has the vendor CA in the HSM issue the certificate, and activates the key
// while voucher requests are in flight. What a user notices: no request fails, both keys
// are published (the old one retired), every voucher from before and after verifies with
// `openssl cms -verify` against the published chain of exactly one of the two keys, each
// key signed some, /metrics shows the seconds to both certificates' expiry and the new
// active key, the audit log holds every step with the officer as actor and `masactl audit
// verify` passes.
#include <sys/stat.h>

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
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
#include "tests/internal/masad.h"
#include "tests/internal/masad_e2e_fixture.h"

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using nlohmann::json;

// The published key `key_id` of a GET /keys answer, or null.
json FindKey(const json& listing, const std::string& key_id) {
  for (const json& k : listing["keys"]) {
    if (k["key_id"] == key_id) return k;
  }
  return nullptr;
}

// The published voucher-signing keys of GET /keys, by state.
std::vector<json> SigningKeys(const json& listing, const std::string& state) {
  std::vector<json> out;
  for (const json& k : listing["keys"]) {
    if (k["purpose"] == "voucher-signing" && k["state"] == state) out.push_back(k);
  }
  return out;
}

// Writes a published key's chain as PEM files: DIR/KEY-chain.pem (every certificate) and
// DIR/KEY-anchor.pem (the last one, the trust anchor). Returns the chain file.
std::string WriteChain(const std::string& dir, const json& key) {
  std::string chain;
  for (const json& pem : key["chain"]) chain += pem.get<std::string>();
  const std::string id = key["key_id"];
  WriteFile(dir + "/" + id + "-chain.pem", chain);
  WriteFile(dir + "/" + id + "-anchor.pem",
            key["chain"].empty() ? "" : key["chain"].back().get<std::string>());
  return dir + "/" + id + "-chain.pem";
}

// `openssl cms -verify` of a DER voucher with only the certificates of one published chain
// (-nointern: the certificates inside the voucher are not used), trusting its anchor.
bool VerifiesWith(const std::string& voucher, const std::string& dir, const std::string& key_id) {
  ProcessResult r = RunTool({OPENSSL_CLI, "cms", "-verify", "-binary", "-inform", "DER", "-in",
                             voucher, "-nointern", "-certfile", dir + "/" + key_id + "-chain.pem",
                             "-CAfile", dir + "/" + key_id + "-anchor.pem", "-out", "/dev/null"});
  return r.exit_code == 0;
}

// Voucher requests from several threads until Stop(), recording the voucher ids each
// answer acknowledged and every answer other than 200.
class RequestStream {
 public:
  RequestStream(const HttpsClient& client, std::string auth, std::string pdc,
                std::vector<std::vector<std::string>> serials_per_thread)
      : client_(client), auth_(std::move(auth)), pdc_(std::move(pdc)) {
    for (auto& serials : serials_per_thread) {
      threads_.emplace_back([this, serials] {
        while (!stop_.load()) {
          HttpAnswer a = client_.Call("POST", "/request/ov", auth_, RequestBody(serials, pdc_));
          std::lock_guard<std::mutex> lock(mu_);
          if (a.status != 200) {
            failures_.push_back(absl::StrCat(a.status, " ", a.body, " ", a.curl_error));
            continue;
          }
          const json answer = a.Json();  // the loop below must not range over a temporary
          for (const json& v : answer["vouchers"]) {
            if (v["voucher_id"].is_string()) acked_.push_back(v["voucher_id"].get<std::string>());
            if (v["status"] != "completed") failures_.push_back(v.dump());
          }
          answered_.fetch_add(1);
        }
      });
    }
  }
  ~RequestStream() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  // Waits (bounded) until `n` requests were answered 200.
  bool WaitForAnswers(int n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (answered_.load() < n && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    return answered_.load() >= n;
  }
  int answered() const { return answered_.load(); }
  // After Stop().
  const std::vector<std::string>& acked() const { return acked_; }
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  const HttpsClient& client_;
  const std::string auth_;
  const std::string pdc_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  std::mutex mu_;
  std::vector<std::string> acked_;
  std::vector<std::string> failures_;
};

TEST(MasadKeysRestE2eTest, AnOfficerRotatesTheSigningKeyWhileRequestsAreInFlight) {
  TempFolder root;
  const std::string state = root / "state";
  DevState dev = MakeDevState(state);
  ASSERT_FALSE(HasFailure());
  MakeCa(root.path(), "pdc");
  const std::string pdc = ReadFileOrEmpty(root / "pdc.pem");
  const std::string admin =
      CreateOrganization(state, "acme", "admin@acme.example", root / "admin.token");
  AssignSerials(state, "org-acme", Serials("K", 1, 7));
  for (auto [name, role] : std::vector<std::pair<std::string, std::string>>{
           {"officer", "security-officer"}, {"auditor", "account-team"}}) {
    ProcessResult added =
        Masactl({"vendor", "add", "--state", state, "--username", name + "@vendor.example",
                 "--role", role, "--token-out", root / (name + ".token")});
    ASSERT_EQ(added.exit_code, 0) << added;
  }
  std::unique_ptr<Daemon> masad;
  StartMasadOn(state, &masad);
  ASSERT_FALSE(HasFatalFailure());
  const std::string scratch = root / "http";
  ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);
  HttpsClient client(masad->ready_rest(), state + "/tls-ca.pem", scratch);
  const std::string officer =
      client.AuthFile("officer", Trimmed(ReadFileOrEmpty(root / "officer.token")));
  const std::string auditor =
      client.AuthFile("auditor", Trimmed(ReadFileOrEmpty(root / "auditor.token")));
  const std::string customer = client.AuthFile("admin", admin);

  // A verifier's view before the rotation: one active signing key, its chain ending in the
  // trust anchor devices hold.
  HttpAnswer before = client.Call("GET", "/keys", "");
  ASSERT_EQ(before.status, 200) << before;
  std::vector<json> active = SigningKeys(before.Json(), "active");
  ASSERT_EQ(active.size(), 1u) << before;
  const std::string old_id = active[0]["key_id"];
  ASSERT_GE(active[0]["chain"].size(), 2u) << before;
  EXPECT_EQ(PemBody(active[0]["chain"].back()), PemBody(ReadFileOrEmpty(dev.trust_anchor())))
      << "the published chain must end in the trust anchor";

  // Only the security officer manages keys.
  EXPECT_EQ(client.Call("GET", "/keys/managed", customer).status, 403);
  EXPECT_EQ(client.Call("POST", "/keys", customer, json::object()).status, 403);

  // generate -> csr (signed inside the HSM) -> issue (the vendor CA in the HSM).
  HttpAnswer made = client.Call("POST", "/keys", officer, json{{"algorithm", "p256"}});
  ASSERT_EQ(made.status, 201) << made;
  const json key = made.Json()["key"];
  const std::string new_id = key["key_id"];
  EXPECT_EQ(key["state"], "pending");
  EXPECT_THAT(key["uri"].get<std::string>(), ::testing::StartsWith("pkcs11:"));
  EXPECT_TRUE(FindKey(client.Call("GET", "/keys", "").Json(), new_id).is_null())
      << "a pending key is not published";

  HttpAnswer csr = client.Call("POST", "/keys/" + new_id + "/csr", officer,
                               json{{"subject", "CN=MASA e2e 2027,O=Example Vendor"}});
  ASSERT_EQ(csr.status, 200) << csr;
  EXPECT_THAT(csr.body, HasSubstr("-----BEGIN CERTIFICATE REQUEST-----"));
  WriteFile(root / "new.csr", csr.body);
  ProcessResult checked = RunTool(
      {OPENSSL_CLI, "req", "-in", root / "new.csr", "-verify", "-noout", "-pubkey", "-subject"});
  EXPECT_EQ(checked.exit_code, 0) << checked;
  EXPECT_THAT(checked.out, HasSubstr(key["public_key"].get<std::string>()))
      << "the CSR must hold the generated key";
  EXPECT_THAT(checked.out, HasSubstr("MASA e2e 2027"));

  // A certificate for another key is refused, naming the check that failed.
  std::string old_chain;
  for (const json& pem : active[0]["chain"]) old_chain += pem.get<std::string>();
  HttpAnswer mismatch = client.Call("PUT", "/keys/" + new_id + "/certificate", officer, old_chain,
                                    "application/pem-certificate-chain");
  EXPECT_EQ(mismatch.status, 409) << mismatch;

  HttpAnswer issued = client.Call("POST", "/keys/" + new_id + "/issue", officer,
                                  json{{"subject", "CN=MASA e2e 2027,O=Example Vendor"}});
  ASSERT_EQ(issued.status, 200) << issued;
  EXPECT_GE(issued.Json()["key"]["chain"].size(), 2u) << issued;

  // The switch, with requests in flight from three clients.
  RequestStream stream(client, customer, pdc,
                       {Serials("K", 1, 2), Serials("K", 3, 4), Serials("K", 5, 6)});
  ASSERT_TRUE(stream.WaitForAnswers(3)) << "masad answered no voucher request";
  HttpAnswer activated = client.Call("POST", "/keys/" + new_id + "/activate", officer);
  ASSERT_EQ(activated.status, 200) << activated;
  EXPECT_EQ(activated.Json()["applied"], true);
  EXPECT_EQ(activated.Json()["key"]["state"], "active");
  HttpAnswer after = client.Call("GET", "/keys", "");
  ASSERT_EQ(after.status, 200) << after;
  const std::string keys_dir = root / "keys";
  ASSERT_EQ(mkdir(keys_dir.c_str(), 0700), 0);
  ASSERT_FALSE(FindKey(after.Json(), old_id).is_null()) << "the old key must stay published";
  EXPECT_EQ(FindKey(after.Json(), old_id)["state"], "retired");
  EXPECT_EQ(FindKey(after.Json(), new_id)["state"], "active");
  WriteChain(keys_dir, FindKey(after.Json(), old_id));
  WriteChain(keys_dir, FindKey(after.Json(), new_id));
  // The running daemon follows the store's active key (at once, or at its next refresh):
  // wait (bounded) until a voucher it answers is signed by the new key, then let the stream
  // run on past the switch.
  const std::string probes = root / "probes";
  ASSERT_EQ(mkdir(probes.c_str(), 0700), 0);
  bool switched = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!switched && absl::Now() < deadline) {
    HttpAnswer probe =
        client.Call("POST", "/request/ov", customer, RequestBody({Serial("K", 7)}, pdc));
    ASSERT_EQ(probe.status, 200) << probe;
    const std::string id = probe.Json()["vouchers"][0]["voucher_id"];
    std::vector<FetchResult> got =
        client.FetchAll({"/voucher/" + id + "/download"}, customer, probes);
    ASSERT_EQ(got.size(), 1u);
    switched = VerifiesWith(got[0].output_file, keys_dir, new_id);
  }
  ASSERT_TRUE(switched) << "masad never signed with the activated key";
  ASSERT_TRUE(stream.WaitForAnswers(stream.answered() + 3));
  stream.Stop();
  EXPECT_THAT(stream.failures(), IsEmpty());

  // Every voucher verifies against the published chain of exactly one key; both signed.
  const std::string fetched = root / "vouchers";
  ASSERT_EQ(mkdir(fetched.c_str(), 0700), 0);
  std::vector<std::string> paths;
  for (const std::string& id : stream.acked()) paths.push_back("/voucher/" + id + "/download");
  std::vector<FetchResult> files = client.FetchAll(paths, customer, fetched);
  ASSERT_EQ(files.size(), paths.size());
  std::map<std::string, int> signed_by;
  for (const FetchResult& f : files) {
    ASSERT_EQ(f.status, 200) << f.path;
    const bool by_old = VerifiesWith(f.output_file, keys_dir, old_id);
    const bool by_new = VerifiesWith(f.output_file, keys_dir, new_id);
    EXPECT_NE(by_old, by_new) << f.path << " must verify with exactly one published chain";
    ++signed_by[by_old ? old_id : by_new ? new_id : "none"];
  }
  std::cout << files.size() << " vouchers: " << signed_by[old_id] << " by " << old_id << ", "
            << signed_by[new_id] << " by " << new_id << std::endl;
  EXPECT_GT(signed_by[old_id], 0);
  EXPECT_GT(signed_by[new_id], 0) << "no voucher after the switch was signed by the new key";
  EXPECT_EQ(signed_by["none"], 0);

  // The chain download, as a verifier fetches one chain.
  HttpAnswer chain = client.Call("GET", "/keys/" + new_id + "/chain.pem", "");
  EXPECT_EQ(chain.status, 200) << chain;
  EXPECT_EQ(chain.content_type, "application/pem-certificate-chain");
  EXPECT_EQ(chain.body, ReadFileOrEmpty(keys_dir + "/" + new_id + "-chain.pem"));

  // The only active key cannot be retired; the officer's list shows the use of both.
  EXPECT_EQ(client.Call("POST", "/keys/" + new_id + "/retire", officer).status, 409);
  HttpAnswer managed = client.Call("GET", "/keys/managed", officer);
  ASSERT_EQ(managed.status, 200) << managed;
  uint64_t signatures = 0;
  const json managed_keys = managed.Json()["keys"];
  for (const json& k : managed_keys) {
    if (k["purpose"] == "voucher-signing") signatures += k["signatures"].get<uint64_t>();
  }
  EXPECT_GE(signatures, files.size());

  // /metrics: seconds to each certificate's expiry, and the active key.
  const std::string metrics_url = MasadMetricsUrl(*masad);
  ProcessResult metrics =
      RunTool({CURL_CLI, "--noproxy", "*", "-sS", "--max-time", "30", metrics_url});
  EXPECT_EQ(metrics.exit_code, 0) << metrics;
  EXPECT_THAT(metrics.out, HasSubstr("masa_key_certificate_expiry_seconds{key_id=\"" + old_id +
                                     "\",purpose=\"voucher-signing\",state=\"retired\"}"));
  EXPECT_THAT(metrics.out, HasSubstr("masa_key_certificate_expiry_seconds{key_id=\"" + new_id +
                                     "\",purpose=\"voucher-signing\",state=\"active\"}"));
  EXPECT_THAT(metrics.out, HasSubstr("masa_active_key_info{purpose=\"voucher-signing\",key_id=\"" +
                                     new_id + "\"} 1"));

  // The audit log: every step, the officer (its principal id) as actor.
  std::map<std::string, std::string> actor_of;
  for (uint64_t from = 0;;) {
    HttpAnswer page = client.Call("GET", absl::StrCat("/audit?limit=1000&from=", from), auditor);
    ASSERT_EQ(page.status, 200) << page;
    const json entries = page.Json()["entries"];
    for (const json& e : entries) {
      const std::string action = e["action"];
      if (absl::StartsWith(action, "key.")) actor_of[action] = e["actor"];
    }
    const uint64_t next = page.Json()["next_seq"];
    if (next == from) break;
    from = next;
  }
  for (const char* action : {"key.generate", "key.csr", "key.issue", "key.activate"}) {
    EXPECT_TRUE(actor_of.count(action)) << action << " is not in the audit log";
    EXPECT_EQ(actor_of[action], key["created_by"]) << action;
  }

  EXPECT_EQ(masad->Terminate(absl::Seconds(60)), 0) << masad->log();
  ProcessResult verify = Masactl({"audit", "verify", "--state", state});
  EXPECT_EQ(verify.exit_code, 0) << verify;
  ClearWatchedSecrets();
}

}  // namespace
}  // namespace masa::e2e
