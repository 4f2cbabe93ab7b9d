// A small Service for tests of one concept (tokens, PDC input, ...): a temp LMDB store, the
// real work queue, software signing keys (no HSM: these tests do not look at signatures),
// an injected clock, and organization "acme" with its first admin logged in.
// service_test.cc keeps the full fixture with the HSM-backed signer.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "common/openssl.h"
#include "service/internal/test_clock.h"
#include "service/service.h"
#include "signer/certificate.h"
#include "store/checkpoint.h"

namespace masa::service::testing {

inline UniquePtr<EVP_PKEY> EcKey(const char* curve = "P-256") {
  return UniquePtr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

class SmallServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/masa-small-service-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto checkpoint_signer = store::NewEvpCheckpointSigner("test/audit", EcKey());
    ASSERT_TRUE(checkpoint_signer.ok()) << checkpoint_signer.status();
    checkpoint_signer_ = *std::move(checkpoint_signer);
    auto store =
        store::Store::Open(TestStoreOptions(dir_, &clock_, checkpoint_signer_.get()));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto queue = queue::WorkQueue::Create({.workers = 1, .capacity = 64, .max_batch = 8});
    ASSERT_TRUE(queue.ok()) << queue.status();
    queue_ = *std::move(queue);

    absl::Time now = clock_.Now();
    signing_key_ = EcKey();
    auto cert = signer::IssueCertificate("CN=Test MASA,O=Vendor", signing_key_.get(), nullptr,
                                         signing_key_.get(), nullptr, nullptr,
                                         now - absl::Hours(1), now + absl::Hours(24 * 3650),
                                         true, 1);
    ASSERT_TRUE(cert.ok()) << cert.status();
    signing_cert_ = *std::move(cert);
    auto signer = signer::VoucherSigner::Create(signing_key_.get(), signing_cert_.get(), {});
    ASSERT_TRUE(signer.ok()) << signer.status();
    auto keys = std::make_shared<SigningKeys>();
    keys->key_id = "key-1";
    keys->anima_json_voucher = *std::move(signer);

    ServiceOptions options;
    options.store = store_.get();
    options.work_queue = queue_.get();
    options.signing_keys = keys;
    options.clock = &clock_;
    Configure(options);
    auto service = Service::Create(options);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);

    auto acme = service_->CreateOrganization("acme", "admin@acme.example");
    ASSERT_TRUE(acme.ok()) << acme.status();
    admin_ = Login(acme->token.secret.view());
  }

  void TearDown() override {
    service_.reset();
    queue_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Lets a test change the options before the service is made.
  virtual void Configure(ServiceOptions&) {}

  Caller Login(std::string_view token) {
    auto c = service_->Authenticate(token);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : Caller();
  }

  TestClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::string dir_;
  std::unique_ptr<store::CheckpointSigner> checkpoint_signer_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<queue::WorkQueue> queue_;
  UniquePtr<EVP_PKEY> signing_key_;
  UniquePtr<X509> signing_cert_;
  std::unique_ptr<Service> service_;
  Caller admin_;
};

}  // namespace masa::service::testing
