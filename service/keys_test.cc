// The key lifecycle (service/keys.h): who may use it, the pending -> active -> retired
// state machine, the two-person rule, the audit trail, adoption of the configured keys,
// usage counters, and a rotation while requests are in flight.
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "service/service.h"
#include "service/testing/hsm_fixture.h"
#include "service/testing/test_key_vault.h"
#include "signer/cms.h"

namespace masa::service::testing {
namespace {

class KeysTest : public ServiceTest {
 protected:
  void Configure(ServiceOptions& options) override {
    options.key_vault = &vault_;
    options.key_policy = policy_;
  }

  void SetUp() override {
    ServiceTest::SetUp();
    if (HasFatalFailure()) return;
    officer_ = Officer("so1@vendor.example");
  }

  Caller Officer(const std::string& name) {
    auto so = service_->CreateVendorPrincipal(name, Role::kSecurityOfficer);
    EXPECT_TRUE(so.ok()) << so.status();
    return Login(so->token.secret.view());
  }

  // A pending voucher-signing key with a certificate for `subject`.
  KeyInfo IssuedKey(const std::string& subject, KeyAlgorithm algorithm = KeyAlgorithm::kEcP256) {
    auto key = service_->GenerateKey(officer_, {KeyPurpose::kVoucherSigning, algorithm, ""});
    EXPECT_TRUE(key.ok()) << key.status();
    if (!key.ok()) return {};
    auto issued = service_->IssueCertificate(officer_, {key->key_id, subject, std::nullopt});
    EXPECT_TRUE(issued.ok()) << issued.status();
    return issued.ok() ? *issued : KeyInfo();
  }

  KeyInfo Find(const std::string& key_id) {
    auto keys = service_->ListKeys(officer_);
    EXPECT_TRUE(keys.ok()) << keys.status();
    for (const auto& k : *keys) {
      if (k.key_id == key_id) return k;
    }
    ADD_FAILURE() << key_id << " not listed";
    return {};
  }

  // The subject of the certificate that signed `voucher_id`'s CMS.
  std::string SignerSubject(const std::string& voucher_id) {
    auto file = service_->DownloadVoucher(admin_, voucher_id);
    EXPECT_TRUE(file.ok()) << file.status();
    signer::VerificationResult r = Verify(file->cms, file->serial_number);
    EXPECT_TRUE(r.ok()) << r.status;
    return r.voucher_signer ? SubjectName(r.voucher_signer.get()) : "";
  }

  // The signing_key_id the store holds for a voucher.
  std::string KeyIdOf(const std::string& voucher_id) {
    auto v = store_->Read()->Get<store::Voucher>(voucher_id);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? v->signing_key_id : "";
  }

  std::vector<store::AuditEntry> AuditEntries() {
    std::vector<store::AuditEntry> out;
    auto snap = store_->Read();
    uint64_t n = *snap->AuditSize();
    for (uint64_t i = 0; i < n; ++i) out.push_back(*snap->GetAuditEntry(i));
    return out;
  }

  TestKeyVault vault_;
  KeyPolicy policy_;
  Caller officer_;
};

TEST_F(KeysTest, OnlySecurityOfficersManageKeys) {
  for (const Caller* c : {&admin_, &account_team_, &other_admin_}) {
    SCOPED_TRACE(c->principal_id());
    EXPECT_EQ(service_->GenerateKey(*c, {}).status().code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(service_->ListKeys(*c).status().code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(service_->ListApprovals(*c).status().code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(service_->ActivateKey(*c, "key-0000000000000000").status().code(),
              StatusCode::kPermissionDenied);
  }
  EXPECT_TRUE(service_->ListKeys(officer_).ok());
  EXPECT_EQ(service_->ActivateKey(officer_, "key-0000000000000000").status().code(),
            StatusCode::kNotFound);
  // Publishing needs no caller.
  EXPECT_TRUE(service_->PublishedKeys().ok());

  // Without a vault the lifecycle says so.
  ServiceOptions options = Options();
  options.key_vault = nullptr;
  MakeService(std::move(options));
  auto refused = service_->GenerateKey(officer_, {});
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(), "no HSM key vault configured");
  EXPECT_TRUE(service_->RefreshKeys().ok());
}

TEST_F(KeysTest, GenerateIssueActivateRotateAndRetire) {
  std::string before = Issue("SN-01");  // the fixture's key, which has no record

  KeyInfo k1 = IssuedKey("CN=MASA 2027,O=Vendor");
  EXPECT_EQ(k1.state, KeyState::kPending);
  EXPECT_EQ(k1.subject, "CN=MASA 2027,O=Vendor");
  EXPECT_EQ(k1.chain_der.size(), 2u);
  EXPECT_EQ(k1.created_by, officer_.principal_id());
  EXPECT_FALSE(k1.fingerprint_sha256.empty());
  ASSERT_TRUE(k1.not_after.has_value());
  // A key without a certificate cannot be activated.
  auto bare = service_->GenerateKey(
      officer_, {KeyPurpose::kVoucherSigning, KeyAlgorithm::kEcP384, "bare-key"});
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(service_->ActivateKey(officer_, bare->key_id).status().code(),
            StatusCode::kFailedPrecondition);
  auto csr = service_->CreateCsr(officer_, bare->key_id, "CN=MASA External,O=Vendor");
  ASSERT_TRUE(csr.ok()) << csr.status();
  EXPECT_FALSE(csr->empty());

  auto activated = service_->ActivateKey(officer_, k1.key_id);
  ASSERT_TRUE(activated.ok()) << activated.status();
  EXPECT_TRUE(activated->applied);
  EXPECT_EQ(activated->key.state, KeyState::kActive);
  ASSERT_TRUE(service_->RefreshKeys().ok());
  std::string with_k1 = Issue("SN-02");
  EXPECT_EQ(KeyIdOf(with_k1), k1.key_id);
  EXPECT_EQ(SignerSubject(with_k1), "CN=MASA 2027,O=Vendor");
  KeyInfo used = Find(k1.key_id);
  EXPECT_EQ(used.signatures, 1u);
  EXPECT_TRUE(used.first_used_at.has_value());
  EXPECT_EQ(used.last_used_at, used.first_used_at);

  // The successor retires k1 in the same step; k1's vouchers still verify.
  KeyInfo k2 = IssuedKey("CN=MASA 2028,O=Vendor", KeyAlgorithm::kEcP384);
  ASSERT_TRUE(service_->ActivateKey(officer_, k2.key_id).ok());
  EXPECT_EQ(Find(k1.key_id).state, KeyState::kRetired);
  EXPECT_TRUE(Find(k1.key_id).retired_at.has_value());
  EXPECT_EQ(Find(k2.key_id).state, KeyState::kActive);
  ASSERT_TRUE(service_->RefreshKeys().ok());
  std::string with_k2 = Issue("SN-03");
  EXPECT_EQ(SignerSubject(with_k2), "CN=MASA 2028,O=Vendor");
  EXPECT_EQ(SignerSubject(with_k1), "CN=MASA 2027,O=Vendor");
  EXPECT_EQ(SignerSubject(before), "CN=Test MASA,O=Vendor");

  // What each state refuses.
  EXPECT_EQ(service_->ActivateKey(officer_, k2.key_id).status().code(),
            StatusCode::kFailedPrecondition);  // already active
  EXPECT_EQ(service_->RetireKey(officer_, k2.key_id).status().code(),
            StatusCode::kFailedPrecondition);  // the only active key
  EXPECT_EQ(service_->RetireKey(officer_, k1.key_id).status().code(),
            StatusCode::kFailedPrecondition);  // already retired
  EXPECT_EQ(service_->ActivateKey(officer_, k1.key_id).status().code(),
            StatusCode::kFailedPrecondition);  // never again
  EXPECT_EQ(service_->IssueCertificate(officer_, {k2.key_id, "CN=X", std::nullopt}).status().code(),
            StatusCode::kFailedPrecondition);
  // A pending key may be abandoned; it is then never published.
  auto abandoned = service_->RetireKey(officer_, bare->key_id);
  ASSERT_TRUE(abandoned.ok()) << abandoned.status();
  EXPECT_EQ(abandoned->key.state, KeyState::kRetired);

  // Published: k2 active first, then k1 retired, with their chains.
  auto published = service_->PublishedKeys();
  ASSERT_TRUE(published.ok()) << published.status();
  ASSERT_EQ(published->size(), 2u);
  EXPECT_EQ((*published)[0].key_id, k2.key_id);
  EXPECT_EQ((*published)[0].state, KeyState::kActive);
  EXPECT_EQ((*published)[1].key_id, k1.key_id);
  EXPECT_EQ((*published)[1].state, KeyState::kRetired);
  EXPECT_EQ((*published)[1].chain_der, k1.chain_der);

  // Every step in the audit log, by the officer.
  std::multiset<std::string> actions;
  for (const auto& e : AuditEntries()) {
    if (e.action.rfind("key.", 0) != 0) continue;
    EXPECT_EQ(e.actor, officer_.principal_id()) << e.action;
    EXPECT_EQ(e.target.rfind("org-vendor/key:", 0), 0u) << e.target;
    actions.insert(e.action);
  }
  EXPECT_EQ(actions.count("key.generate"), 3u);
  EXPECT_EQ(actions.count("key.issue"), 2u);
  EXPECT_EQ(actions.count("key.csr"), 1u);
  EXPECT_EQ(actions.count("key.activate"), 2u);
  EXPECT_EQ(actions.count("key.retire"), 2u);  // k1 by k2's activation, the abandoned key
}

TEST_F(KeysTest, ActivationChecksTheHsmSide) {
  KeyInfo k = IssuedKey("CN=MASA Missing,O=Vendor");
  vault_.SetMissing(k.uri);
  auto refused = service_->ActivateKey(officer_, k.key_id);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Find(k.key_id).state, KeyState::kPending);
  // An external certificate that does not hold the key is refused.
  KeyInfo other = IssuedKey("CN=MASA Other,O=Vendor");
  auto pending = service_->GenerateKey(officer_, {});
  ASSERT_TRUE(pending.ok());
  std::string wrong = other.chain_der[0] + other.chain_der[1];
  EXPECT_EQ(service_->ImportCertificate(officer_, pending->key_id, wrong).status().code(),
            StatusCode::kFailedPrecondition);
  // The right one (issued elsewhere for this key) is taken, PEM or DER.
  auto chain = vault_.Issue(pending->public_key_der, "CN=MASA Imported,O=Vendor", absl::Hours(24));
  ASSERT_TRUE(chain.ok());
  auto imported = service_->ImportCertificate(officer_, pending->key_id, (*chain)[0] + (*chain)[1]);
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(imported->subject, "CN=MASA Imported,O=Vendor");
}

TEST_F(KeysTest, TwoOfficersMustApproveAndApprovalsExpire) {
  policy_.approvals_required = 2;
  policy_.approval_ttl = absl::Hours(1);
  MakeService();
  Caller second = Officer("so2@vendor.example");
  KeyInfo k = IssuedKey("CN=MASA Two,O=Vendor");

  auto opened = service_->ActivateKey(officer_, k.key_id);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_FALSE(opened->applied);
  ASSERT_TRUE(opened->approval.has_value());
  EXPECT_EQ(opened->approval->approved_by, std::vector<std::string>{officer_.principal_id()});
  EXPECT_EQ(opened->approval->required, 2u);
  EXPECT_EQ(Find(k.key_id).state, KeyState::kPending);
  EXPECT_EQ(service_->ActivateKey(second, k.key_id).status().code(), StatusCode::kAlreadyExists);
  auto listed = service_->ListApprovals(second);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  const std::string approval = (*listed)[0].approval_id;
  EXPECT_EQ(service_->Approve(admin_, approval).status().code(), StatusCode::kPermissionDenied);

  // The same officer twice does not make two.
  EXPECT_EQ(service_->Approve(officer_, approval).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Find(k.key_id).state, KeyState::kPending);
  auto applied = service_->Approve(second, approval);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_TRUE(applied->applied);
  EXPECT_EQ(Find(k.key_id).state, KeyState::kActive);
  EXPECT_TRUE(service_->ListApprovals(officer_)->empty());
  EXPECT_EQ(service_->Approve(second, approval).status().code(), StatusCode::kNotFound);

  // An approval left alone expires: not listed, not approvable, and the expiry is audited.
  auto pending = service_->GenerateKey(officer_, {});
  ASSERT_TRUE(pending.ok());
  auto retire = service_->RetireKey(officer_, pending->key_id);
  ASSERT_TRUE(retire.ok()) << retire.status();
  ASSERT_TRUE(retire->approval.has_value());
  clock_.Advance(absl::Hours(2));
  EXPECT_TRUE(service_->ListApprovals(officer_)->empty());
  auto late = service_->Approve(second, retire->approval->approval_id);
  EXPECT_EQ(late.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(late.status().message().find("expired"), std::string::npos) << late.status();
  EXPECT_EQ(Find(pending->key_id).state, KeyState::kPending);
  EXPECT_EQ(service_->Approve(second, retire->approval->approval_id).status().code(),
            StatusCode::kNotFound);

  std::vector<std::pair<std::string, std::string>> trail;  // action, actor
  for (const auto& e : AuditEntries()) {
    if (e.action.rfind("key.approval", 0) == 0 || e.action == "key.activate") {
      trail.emplace_back(e.action, e.actor);
    }
  }
  std::vector<std::pair<std::string, std::string>> expected = {
      {"key.approval.open", officer_.principal_id()},
      {"key.approval.approve", second.principal_id()},
      {"key.activate", second.principal_id()},
      {"key.approval.open", officer_.principal_id()},
      {"key.approval.expire", second.principal_id()}};
  EXPECT_EQ(trail, expected);
}

TEST_F(KeysTest, ConfiguredKeysAreAdoptedOnceAndNameTheirVouchers) {
  Pki& pki = SharedPki();
  ConfiguredKey configured;
  configured.uri = "pkcs11:token=masa-test;object=masa-signing;type=private";
  configured.chain_der = {*CertificateToDer(pki.masa_cert.get()), *CertificateToDer(pki.ca.get())};
  configured.public_key_der = PublicKeyDerOf(X509_get0_pubkey(pki.masa_cert.get()));
  auto adopted = service_->AdoptConfiguredKeys({configured});
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  ASSERT_EQ(adopted->size(), 1u);
  const KeyInfo& k = (*adopted)[0];
  EXPECT_EQ(k.state, KeyState::kActive);
  EXPECT_EQ(k.algorithm, KeyAlgorithm::kEcP256);
  EXPECT_EQ(k.subject, "CN=Test MASA,O=Vendor");
  std::string id = Issue("SN-04");
  EXPECT_EQ(KeyIdOf(id), k.key_id);
  // Nothing to switch: the running key is the active one.
  ASSERT_TRUE(service_->RefreshKeys().ok());
  EXPECT_EQ(vault_.signing_loads(), 0);
  EXPECT_EQ(Find(k.key_id).signatures, 1u);

  // Again (the next start): the same record, no new one.
  auto again = service_->AdoptConfiguredKeys({configured});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].key_id, k.key_id);
  EXPECT_EQ(service_->ListKeys(officer_)->size(), 1u);
  int adopts = 0;
  for (const auto& e : AuditEntries()) adopts += e.action == "key.adopt";
  EXPECT_EQ(adopts, 1);

  // A certificate that is not the key's is refused.
  configured.public_key_der = PublicKeyDer();
  EXPECT_EQ(service_->AdoptConfiguredKeys({configured}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(KeysTest, RotationWhileRequestsAreInFlightFailsNoneAndSplitsNoRequest) {
  KeyInfo k1 = IssuedKey("CN=MASA Rot 1,O=Vendor");
  ASSERT_TRUE(service_->ActivateKey(officer_, k1.key_id).ok());
  ASSERT_TRUE(service_->RefreshKeys().ok());
  KeyInfo k2 = IssuedKey("CN=MASA Rot 2,O=Vendor");

  // Two clients request 5 serials at a time while the officer activates k2 and the daemon
  // refreshes; the requests started before the refresh finish with k1.
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::mutex mu;
  std::vector<std::vector<std::string>> requests;  // voucher ids per request
  auto client = [&](int c) {
    // Until the switch is done (at most 15 requests before it, which keeps the sanitizer
    // runs short), and two requests more.
    for (int round = 0, after = 0; after < 2; ++round) {
      if (stop.load() || round >= 15) ++after;
      std::vector<std::string> serials;
      for (int i = 0; i < 5; ++i) serials.push_back(absl::StrFormat("SN-%02d", c * 5 + i));
      VoucherRequestInput in = Input(serials);
      in.override_conflicts = true;
      auto r = Request(admin_, in);
      if (!r.ok()) {
        failures.fetch_add(1);
        ADD_FAILURE() << r.status();
        continue;
      }
      std::vector<std::string> ids;
      for (const auto& s : r->serials) {
        if (s.status != SerialStatus::kCompleted) {
          failures.fetch_add(1);
          ADD_FAILURE() << s.reason;
        }
        ids.push_back(s.voucher_id);
      }
      std::lock_guard<std::mutex> lock(mu);
      requests.push_back(std::move(ids));
    }
  };
  std::thread a(client, 0), b(client, 1);
  ASSERT_TRUE(service_->ActivateKey(officer_, k2.key_id).ok());
  ASSERT_TRUE(service_->RefreshKeys().ok());
  stop = true;
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  std::string after = Issue("SN-20");
  EXPECT_EQ(SignerSubject(after), "CN=MASA Rot 2,O=Vendor");

  // One request never mixes keys, and its vouchers verify with exactly the key they name
  // (the first of each request verified in full: the sanitizer runs stay short).
  std::map<std::string, std::string> subject_of = {{k1.key_id, k1.subject},
                                                   {k2.key_id, k2.subject}};
  uint64_t counted = 0;
  for (const auto& ids : requests) {
    std::set<std::string> keys;
    for (const auto& id : ids) keys.insert(KeyIdOf(id));
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(SignerSubject(ids.front()), subject_of[KeyIdOf(ids.front())]) << ids.front();
    EXPECT_EQ(keys.size(), 1u);
    counted += ids.size();
  }
  EXPECT_EQ(Find(k1.key_id).signatures + Find(k2.key_id).signatures, counted + 1);
}

}  // namespace
}  // namespace masa::service::testing
