// ServiceTest: the fixture of the tests of the whole domain (service_*_test.cc,
// ownership_test.cc) on the shared set-up of service/testing/fixture.h, with the signing key
// in a real SoftHSM2 token behind the OpenSSL provider. Two organizations (acme with a child
// group "east", other), an account team principal, and serials assigned to both. Tests only.
#pragma once

#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/openssl.h"
#include "hsm/provider/provider.h"
#include "hsm/testing/softhsm_token.h"
#include "service/service.h"
#include "service/testing/fixture.h"
#include "signer/certificate.h"
#include "signer/verifier.h"
#include "signer/voucher_json.h"

namespace masa::service::testing {

// The HSM, the vendor CA and the MASA signing certificate: made once per process.
struct Pki {
  std::unique_ptr<hsm::testing::TempToken> token;
  std::unique_ptr<hsm::ProviderContext> provider;
  UniquePtr<EVP_PKEY> ca_key;
  UniquePtr<X509> ca;
  UniquePtr<EVP_PKEY> masa_key;  // in the HSM
  UniquePtr<X509> masa_cert;
  std::shared_ptr<const SigningKeys> keys;
};

// The DER SubjectPublicKeyInfo of a new software key (TPM data in tests).
inline std::string PublicKeyDer() {
  UniquePtr<EVP_PKEY> key = SoftKey();
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(key.get(), &der);
  std::string out(reinterpret_cast<char*>(der), n);
  OPENSSL_free(der);
  return out;
}

inline Pki& SharedPki() {
  static Pki* pki = [] {
    auto* p = new Pki;
    auto token = hsm::testing::TempToken::Create();
    EXPECT_TRUE(token.ok()) << token.status();
    p->token = *std::move(token);
    auto provider = hsm::ProviderContext::Create(p->token->token());
    EXPECT_TRUE(provider.ok()) << provider.status();
    p->provider = *std::move(provider);
    auto info = p->token->token()->GenerateKeyPair(hsm::KeyType::kEcP256, "masa-signing");
    EXPECT_TRUE(info.ok()) << info.status();
    p->masa_key = *p->provider->LoadPrivateKey(info->uri);
    auto pub = p->provider->PublicKey(*info);
    EXPECT_TRUE(pub.ok()) << pub.status();
    absl::Time now = absl::Now();
    p->ca_key = SoftKey();
    p->ca = *signer::IssueCertificate("CN=Test Vendor CA,O=Vendor", p->ca_key.get(), nullptr,
                                      p->ca_key.get(), nullptr, nullptr, now - absl::Hours(48),
                                      now + absl::Hours(24 * 3650), true, 1);
    p->masa_cert = *signer::IssueCertificate(
        "CN=Test MASA,O=Vendor", pub->get(), p->ca.get(), p->ca_key.get(), nullptr, nullptr,
        now - absl::Hours(48), now + absl::Hours(24 * 3650), false, 2);
    auto keys = std::make_shared<SigningKeys>();
    keys->key_id = "key-1";
    keys->anima_json_voucher = *signer::VoucherSigner::Create(
        p->masa_key.get(), p->masa_cert.get(), {p->ca.get()},
        signer::CmsContentType::kAnimaJsonVoucher, p->provider->libctx(), nullptr);
    keys->data = *signer::VoucherSigner::Create(p->masa_key.get(), p->masa_cert.get(),
                                                {p->ca.get()}, signer::CmsContentType::kData,
                                                p->provider->libctx(), nullptr);
    p->keys = keys;
    return p;
  }();
  return *pki;
}

// An owner's pinned-domain certificate.
struct Owner {
  UniquePtr<EVP_PKEY> key;
  UniquePtr<X509> cert;
  std::string pem;
  std::string der;
};

inline Owner MakeOwner(const std::string& subject, absl::Time now, absl::Duration life) {
  Owner o;
  o.key = SoftKey();
  o.cert = *signer::IssueCertificate(subject, o.key.get(), nullptr, o.key.get(), nullptr, nullptr,
                                     now - absl::Hours(1), now + life, true, 7);
  o.pem = Pem(o.cert.get());
  o.der = *CertificateToDer(o.cert.get());
  return o;
}

class ServiceTest : public ServiceFixture {
 protected:
  ServiceTest() : ServiceFixture(absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()))) {}

  std::shared_ptr<const SigningKeys> Keys() override { return SharedPki().keys; }
  queue::WorkQueueOptions QueueOptions() override {
    return {.workers = 2, .capacity = 256, .max_batch = 32};
  }

  void SetUp() override {
    ServiceFixture::SetUp();
    if (HasFatalFailure()) return;
    acme_pdc_ = MakeOwner("CN=Acme Owner CA,O=Acme Corp", clock_.Now(), absl::Hours(24 * 800));
    acme_pdc2_ = MakeOwner("CN=Acme Other CA,O=Acme Labs", clock_.Now(), absl::Hours(24 * 800));

    // Organization acme: admin, a child group "east", serials SN-00..SN-29 at the root and
    // EAST-0..EAST-4 in east. Organization other: its admin and OT-1.
    auto acme = service_->CreateOrganization("acme", "admin@acme.example");
    ASSERT_TRUE(acme.ok()) << acme.status();
    admin_ = Login(acme->token.secret.view());
    auto other = service_->CreateOrganization("other", "admin@other.example");
    ASSERT_TRUE(other.ok()) << other.status();
    other_admin_ = Login(other->token.secret.view());
    auto at = service_->CreateVendorPrincipal("at@vendor.example", Role::kAccountTeam);
    ASSERT_TRUE(at.ok()) << at.status();
    account_team_ = Login(at->token.secret.view());

    auto east = service_->CreateGroup(admin_, "org-acme", "east");
    ASSERT_TRUE(east.ok()) << east.status();
    east_ = east->group_id;
    AssignInput root{"org-acme", "", {}, false};
    for (int i = 0; i < 30; ++i) {
      root.serials.push_back({"", absl::StrFormat("SN-%02d", i), "ASR-9001", "", {}});
    }
    auto assigned = service_->AssignSerials(account_team_, root);
    ASSERT_TRUE(assigned.ok()) << assigned.status();
    ASSERT_EQ(assigned->assigned, 30u);
    AssignInput east_serials{"org-acme", east_, {}, false};
    for (int i = 0; i < 5; ++i) {
      east_serials.serials.push_back({"", absl::StrFormat("EAST-%d", i), "", "", {}});
    }
    ASSERT_TRUE(service_->AssignSerials(account_team_, east_serials).ok());
    ASSERT_TRUE(
        service_->AssignSerialsOffline({"org-other", "", {{"", "OT-1", "", "", {}}}, false}).ok());
  }

  // A new user of `by`'s organization with `role` on `group` ("" = root), logged in.
  Caller User(const Caller& by, const std::string& name, Role role, std::string group = "",
              std::string* binding_id = nullptr) {
    auto p = service_->InviteUser(by, name);
    EXPECT_TRUE(p.ok()) << p.status();
    {
      auto b = service_->BindRole(by, p->principal_id, group.empty() ? by.organization_id() : group,
                                  role);
      EXPECT_TRUE(b.ok()) << b.status();
      if (binding_id && b.ok()) *binding_id = b->binding_id;
    }
    auto t = service_->CreateToken(by, {p->principal_id, std::nullopt, "test"});
    EXPECT_TRUE(t.ok()) << t.status();
    return Login(t->secret.view());
  }

  VoucherRequestInput Input(std::vector<std::string> serials, const Owner* pdc = nullptr) {
    VoucherRequestInput in;
    in.serial_numbers = std::move(serials);
    in.pdc_pem = (pdc ? pdc : &acme_pdc_)->pem;
    return in;
  }

  // Issues one voucher for `serial` as admin and returns its id.
  std::string Issue(const std::string& serial) {
    auto r = Request(admin_, Input({serial}));
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(StatusName(r->serials[0].status), "completed") << r->serials[0].reason;
    return r->serials[0].voucher_id;
  }

  // Replaces the service by one on the same store and queue whose vouchers assert `a`.
  void RestartWithAssertion(signer::Assertion a) {
    ServiceOptions options = Options();
    options.default_assertion = a;
    MakeService(std::move(options));
  }

  // A UEFI platform key certificate issued by `issuer` (signed with `key`), valid `from`..`to`.
  std::string PlatformCert(X509* issuer, EVP_PKEY* key, absl::Time from, absl::Time to) {
    UniquePtr<EVP_PKEY> pk = SoftKey();
    auto cert = signer::IssueCertificate("CN=Acme Platform Key,O=Acme Corp", pk.get(), issuer, key,
                                         nullptr, nullptr, from, to, false, 9);
    EXPECT_TRUE(cert.ok()) << cert.status();
    return cert.ok() ? Pem(cert->get()) : "";
  }

  signer::VerificationResult Verify(const std::string& cms, const std::string& serial) {
    signer::DeviceProfile device;
    device.vendor_trust_anchors = {SharedPki().ca.get()};
    device.serial_number = serial;
    device.clock = &clock_;
    return signer::VerifyOwnershipVoucher(device, cms);
  }

  Owner acme_pdc_, acme_pdc2_;
  Caller admin_, other_admin_, account_team_;
  std::string east_;
};

}  // namespace masa::service::testing
