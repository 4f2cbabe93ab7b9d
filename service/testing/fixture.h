// The one set-up of the service tests: the Service against the real store (an LMDB folder in
// a temporary directory), the real work queue, an injected clock, and signing keys. Two
// fixtures build on it:
//   SmallServiceTest   software signing keys and organization "acme" with its admin: for
//                      tests of one concept (tokens, PDC input) that never look at a
//                      signature;
//   ServiceTest        (service/testing/hsm_fixture.h) the signing key in a real SoftHSM2
//                      token behind the OpenSSL provider, two organizations, groups,
//                      serials and an account team: the tests of the whole domain.
// Tests only.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/openssl.h"
#include "queue/work_queue.h"
#include "service/service.h"
#include "service/testing/test_clock.h"
#include "signer/certificate.h"
#include "store/checkpoint.h"
#include "store/store.h"

namespace masa::service::testing {

using absl::StatusCode;

// A software EC key on `curve` (OpenSSL's name).
inline UniquePtr<EVP_PKEY> EcKey(const char* curve = "P-256") {
  return UniquePtr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}
inline UniquePtr<EVP_PKEY> SoftKey() { return EcKey(); }

inline std::string Pem(X509* cert) { return *CertificateToPem(cert); }

// A self-signed software signing key of its own, for fixtures that do not look at
// signatures. Owns what the SigningKeys point into.
struct SoftwareKeys {
  UniquePtr<EVP_PKEY> key;
  UniquePtr<X509> cert;
  std::shared_ptr<const SigningKeys> keys;
};

inline SoftwareKeys MakeSoftwareKeys(absl::Time now) {
  SoftwareKeys out;
  out.key = EcKey();
  auto cert = signer::IssueCertificate("CN=Test MASA,O=Vendor", out.key.get(), nullptr,
                                       out.key.get(), nullptr, nullptr, now - absl::Hours(1),
                                       now + absl::Hours(24 * 3650), true, 1);
  EXPECT_TRUE(cert.ok()) << cert.status();
  if (!cert.ok()) return out;
  out.cert = *std::move(cert);
  auto signer = signer::VoucherSigner::Create(out.key.get(), out.cert.get(), {});
  EXPECT_TRUE(signer.ok()) << signer.status();
  if (!signer.ok()) return out;
  auto keys = std::make_shared<SigningKeys>();
  keys->key_id = "key-1";
  keys->anima_json_voucher = *std::move(signer);
  out.keys = keys;
  return out;
}

// The shared base: SetUp() makes the store, queue and service (with Keys() and
// Configure()); TearDown() removes them and the folder.
class ServiceFixture : public ::testing::Test {
 protected:
  explicit ServiceFixture(absl::Time start) : clock_(start) {}

  void SetUp() override {
    char tmpl[] = "/tmp/masa-service-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto checkpoint_signer = store::NewEvpCheckpointSigner("test/audit", EcKey());
    ASSERT_TRUE(checkpoint_signer.ok()) << checkpoint_signer.status();
    checkpoint_signer_ = *std::move(checkpoint_signer);
    OpenStore();
    MakeQueue(QueueOptions());
    ASSERT_NE(Keys(), nullptr);
    MakeService();
  }

  // Opens the store on dir_ (running its migrations).
  void OpenStore() {
    store::StoreOptions store_options = TestStoreOptions(dir_, &clock_, checkpoint_signer_.get());
    ConfigureStore(store_options);
    auto store = store::Store::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  void TearDown() override {
    service_.reset();
    queue_.reset();
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // The signing keys the service starts with.
  virtual std::shared_ptr<const SigningKeys> Keys() = 0;
  virtual queue::WorkQueueOptions QueueOptions() {
    return {.workers = 1, .capacity = 64, .max_batch = 8};
  }
  // Lets a test change the options before the service is made.
  virtual void Configure(ServiceOptions&) {}
  // Lets a test change the store's options before it opens.
  virtual void ConfigureStore(store::StoreOptions&) {}

  ServiceOptions Options() {
    ServiceOptions options;
    options.store = store_.get();
    options.work_queue = queue_.get();
    options.signing_keys = Keys();
    options.clock = &clock_;
    Configure(options);
    return options;
  }

  // (Re)makes the service on the same store and queue.
  void MakeService(std::optional<ServiceOptions> options = std::nullopt) {
    service_.reset();
    auto service = Service::Create(options ? *std::move(options) : Options());
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
  }

  void MakeQueue(queue::WorkQueueOptions o) {
    auto q = queue::WorkQueue::Create(o);
    ASSERT_TRUE(q.ok()) << q.status();
    queue_ = *std::move(q);
  }

  Caller Login(std::string_view token) {
    auto c = service_->Authenticate(token);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : Caller();
  }

  // The RequestVouchers / RenewVoucher callbacks, waited for.
  absl::StatusOr<RequestResult> Request(const Caller& c, VoucherRequestInput in) {
    std::promise<absl::StatusOr<RequestResult>> p;
    auto f = p.get_future();
    absl::Status s =
        service_->RequestVouchers(c, std::move(in), [&p](auto r) { p.set_value(std::move(r)); });
    if (!s.ok()) return s;
    return f.get();
  }
  absl::StatusOr<RequestResult> Renew(const Caller& c, const std::string& id, RenewInput in = {}) {
    std::promise<absl::StatusOr<RequestResult>> p;
    auto f = p.get_future();
    absl::Status s = service_->RenewVoucher(c, id, in, [&p](auto r) { p.set_value(std::move(r)); });
    if (!s.ok()) return s;
    return f.get();
  }

  std::vector<std::string> AuditActions() {
    std::vector<std::string> out;
    auto snap = store_->Read();
    uint64_t n = *snap->AuditSize();
    for (uint64_t i = 0; i < n; ++i) out.push_back(snap->GetAuditEntry(i)->action);
    return out;
  }

  uint64_t AuditSize() { return *store_->Read()->AuditSize(); }

  TestClock clock_;
  std::string dir_;
  std::unique_ptr<store::CheckpointSigner> checkpoint_signer_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<queue::WorkQueue> queue_;
  std::unique_ptr<Service> service_;
};

// Software keys and organization "acme" with its first admin logged in (admin_).
class SmallServiceTest : public ServiceFixture {
 protected:
  SmallServiceTest() : ServiceFixture(absl::FromUnixSeconds(1'800'000'000)) {}

  void SetUp() override {
    ServiceFixture::SetUp();
    if (HasFatalFailure()) return;
    auto acme = service_->CreateOrganization("acme", "admin@acme.example");
    ASSERT_TRUE(acme.ok()) << acme.status();
    admin_ = Login(acme->token.secret.view());
  }

  std::shared_ptr<const SigningKeys> Keys() override {
    if (!software_keys_.keys) software_keys_ = MakeSoftwareKeys(clock_.Now());
    return software_keys_.keys;
  }

  SoftwareKeys software_keys_;
  Caller admin_;
};

}  // namespace masa::service::testing
