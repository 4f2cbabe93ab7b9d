// TokenGroup over two real SoftHSM2 tokens holding the same key, reached through the PKCS#11
// fault module so that one or both can be made to fail, hang or forget the login.
#include "hsm/token_group.h"

#include <p11-kit/pkcs11.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/openssl.h"
#include "common/sha256.h"
#include "gtest/gtest.h"
#include "hsm/internal/ck.h"
#include "hsm/pkcs11.h"
#include "hsm/testing/fault_control.h"
#include "hsm/testing/softhsm_token.h"

namespace masa::hsm {
namespace {

using ::masa::hsm::testing::FaultControl;
using ::masa::hsm::testing::FaultModulePath;
using ::masa::hsm::testing::TempToken;
using State = MemberStatus::State;

// Waits (without a timed assertion) for `condition`, giving up after a generous bound.
bool Eventually(const std::function<bool()>& condition) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Two tokens, one P-256 key imported into both (the same key, as an HSM's cloning tools
// would leave it), and a group over them through the fault module.
class TokenGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* temp : {&a_, &b_}) {
      auto made = TempToken::Create();
      ASSERT_TRUE(made.ok()) << made.status();
      *temp = std::move(*made);
    }
    auto control = FaultControl::Create();
    ASSERT_TRUE(control.ok()) << control.status();
    faults_ = std::move(*control);
    UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* raw = nullptr;
    ASSERT_EQ(EVP_PKEY_keygen_init(ctx.get()), 1);
    ASSERT_EQ(EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256"), 1);
    ASSERT_EQ(EVP_PKEY_keygen(ctx.get(), &raw), 1);
    key_pair_.reset(raw);
    PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(key_pair_.get());
    ASSERT_NE(p8, nullptr);
    unsigned char* der = nullptr;
    int size = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
    PKCS8_PRIV_KEY_INFO_free(p8);
    ASSERT_GT(size, 0);
    pkcs8_.assign(reinterpret_cast<char*>(der), size);
    OPENSSL_clear_free(der, size);
  }

  TokenMember Member(const TempToken& temp) {
    TokenMember member;
    member.module_path = FaultModulePath();
    member.token_label = temp.label();
    member.pin = Secret(std::string(temp.user_pin().view()));
    return member;
  }

  // Opens the group (both members unless `only_a`) and imports the key through it.
  void OpenGroup(std::chrono::milliseconds call_timeout = std::chrono::milliseconds(5000),
                 bool only_a = false) {
    TokenGroupOptions options;
    options.members.push_back(Member(*a_));
    if (!only_a) options.members.push_back(Member(*b_));
    options.sessions_per_member = 2;
    options.call_timeout = call_timeout;
    options.probe_interval = std::chrono::milliseconds(50);
    auto group = TokenGroup::Open(std::move(options));
    ASSERT_TRUE(group.ok()) << group.status();
    group_ = std::move(*group);
    auto imported = group_->ImportKeyPair("signing", "", pkcs8_);
    ASSERT_TRUE(imported.ok()) << imported.status();
    auto key = group_->FindKey(a_->KeyUri("signing"));
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *key;
  }

  absl::StatusOr<std::string> Sign(const std::shared_ptr<TokenGroup>& group) {
    return group->Sign(key_, {SignMechanism::kEcdsa}, Sha256("voucher"));
  }
  absl::StatusOr<std::string> Sign() { return Sign(group_); }

  // The raw r||s verifies with the key that was imported.
  bool Verifies(const std::string& signature) {
    if (signature.size() != 64) return false;
    UniquePtr<ECDSA_SIG> sig(ECDSA_SIG_new());
    ECDSA_SIG_set0(
        sig.get(), BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr),
        BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr));
    unsigned char* der = nullptr;
    int size = i2d_ECDSA_SIG(sig.get(), &der);
    UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new(key_pair_.get(), nullptr));
    std::string digest = Sha256("voucher");
    bool ok =
        EVP_PKEY_verify_init(ctx.get()) == 1 &&
        EVP_PKEY_verify(ctx.get(), der, size, reinterpret_cast<const unsigned char*>(digest.data()),
                        digest.size()) == 1;
    OPENSSL_free(der);
    return ok;
  }

  MemberStatus Status(size_t index) { return group_->members().at(index); }

  std::unique_ptr<TempToken> a_;
  std::unique_ptr<TempToken> b_;
  std::unique_ptr<FaultControl> faults_;
  UniquePtr<EVP_PKEY> key_pair_;
  std::string pkcs8_;
  std::shared_ptr<TokenGroup> group_;
  KeyInfo key_;
};

std::string Pkcs8(EVP_PKEY* key) {
  PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(key);
  unsigned char* der = nullptr;
  int size = p8 != nullptr ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : 0;
  std::string result = size > 0 ? std::string(reinterpret_cast<char*>(der), size) : "";
  OPENSSL_clear_free(der, size > 0 ? size : 0);
  PKCS8_PRIV_KEY_INFO_free(p8);
  return result;
}

// An imported key of each family signs on both tokens, the signatures verify with the
// original public key, and the private key stays inside: sensitive, not extractable.
TEST_F(TokenGroupTest, ImportedKeysOfEveryFamilySignOnBothTokens) {
  OpenGroup();
  struct Case {
    const char* label;
    UniquePtr<EVP_PKEY> key;
    SignMechanism mechanism;
  };
  std::vector<Case> cases;
  cases.push_back({"p384", UniquePtr<EVP_PKEY>(EVP_EC_gen("P-384")), SignMechanism::kEcdsa});
  cases.push_back({"rsa", UniquePtr<EVP_PKEY>(EVP_RSA_gen(2048)), SignMechanism::kRsaPkcs1});
  cases.push_back({"ed25519", UniquePtr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")),
                   SignMechanism::kEddsa});
  const std::string digest = Sha256("voucher");
  // DER DigestInfo prefix of SHA-256, for CKM_RSA_PKCS.
  const std::string digest_info =
      std::string("\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20",
                  19) +
      digest;
  for (Case& c : cases) {
    SCOPED_TRACE(c.label);
    ASSERT_NE(c.key, nullptr);
    auto imported = group_->ImportKeyPair(c.label, "", Pkcs8(c.key.get()));
    ASSERT_TRUE(imported.ok()) << imported.status();
    for (const auto& temp : {a_.get(), b_.get()}) {
      auto key = temp->token()->FindKey(temp->KeyUri(c.label));
      ASSERT_TRUE(key.ok()) << key.status();
      EXPECT_EQ(key->id, imported->id);
      const std::string input = c.mechanism == SignMechanism::kRsaPkcs1 ? digest_info
                                : c.mechanism == SignMechanism::kEddsa  ? std::string("voucher")
                                                                        : digest;
      auto signature = temp->token()->Sign(*key, {c.mechanism}, input);
      ASSERT_TRUE(signature.ok()) << signature.status();
      std::string der = *signature;
      if (c.mechanism == SignMechanism::kEcdsa) {
        size_t half = signature->size() / 2;
        UniquePtr<ECDSA_SIG> sig(ECDSA_SIG_new());
        const auto* bytes = reinterpret_cast<const unsigned char*>(signature->data());
        ECDSA_SIG_set0(sig.get(), BN_bin2bn(bytes, half, nullptr),
                       BN_bin2bn(bytes + half, half, nullptr));
        unsigned char* out = nullptr;
        int size = i2d_ECDSA_SIG(sig.get(), &out);
        der.assign(reinterpret_cast<char*>(out), size);
        OPENSSL_free(out);
      }
      const auto* sig = reinterpret_cast<const unsigned char*>(der.data());
      if (c.mechanism == SignMechanism::kEddsa) {
        UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
        ASSERT_EQ(EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, c.key.get()), 1);
        EXPECT_EQ(EVP_DigestVerify(ctx.get(), sig, der.size(),
                                   reinterpret_cast<const unsigned char*>("voucher"), 7),
                  1);
      } else {
        UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new(c.key.get(), nullptr));
        ASSERT_EQ(EVP_PKEY_verify_init(ctx.get()), 1);
        if (c.mechanism == SignMechanism::kRsaPkcs1) {
          ASSERT_EQ(EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()), 1);
        }
        EXPECT_EQ(EVP_PKEY_verify(ctx.get(), sig, der.size(),
                                  reinterpret_cast<const unsigned char*>(digest.data()),
                                  digest.size()),
                  1);
      }
    }
  }
  // Sensitive and not extractable, as a real HSM's key: its value cannot be read back.
  CK_FUNCTION_LIST* fl = internal::FunctionListOf(*a_->module());
  auto tokens = a_->module()->Tokens();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  CK_SLOT_ID slot = 0;
  for (const TokenDescription& token : *tokens) {
    if (token.label == a_->label()) slot = token.slot_id;
  }
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  ASSERT_EQ(fl->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session), CKR_OK);
  for (Case& c : cases) {
    CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
    std::string label = c.label;
    CK_BBOOL yes = CK_TRUE;  // the token object, not the pool's session copies
    CK_ATTRIBUTE search[] = {{CKA_CLASS, &private_class, sizeof(private_class)},
                             {CKA_TOKEN, &yes, sizeof(yes)},
                             {CKA_LABEL, label.data(), label.size()}};
    auto found = internal::FindObjects(fl, session, search, 3);
    ASSERT_TRUE(found.ok()) << found.status();
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ(internal::GetBoolAttribute(fl, session, found->front(), CKA_SENSITIVE).value_or(0),
              true);
    EXPECT_EQ(internal::GetBoolAttribute(fl, session, found->front(), CKA_EXTRACTABLE).value_or(1),
              false);
    CK_ATTRIBUTE_TYPE secret =
        c.mechanism == SignMechanism::kRsaPkcs1 ? CKA_PRIVATE_EXPONENT : CKA_VALUE;
    EXPECT_EQ(internal::GetAttribute(fl, session, found->front(), secret).status().code(),
              absl::StatusCode::kPermissionDenied);
  }
  (void)fl->C_CloseSession(session);

  EXPECT_EQ(group_->ImportKeyPair("p384", "", Pkcs8(cases[0].key.get())).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(group_->ImportKeyPair("junk", "", "not a key").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TokenMemberUriTest, ParsesTokenModuleAndPinSource) {
  auto member = ParseTokenMemberUri(
      "pkcs11:token=masa-a?module-path=/usr/lib/softhsm/libsofthsm2.so"
      "&pin-source=file:/etc/masa/a.pin");
  ASSERT_TRUE(member.ok()) << member.status();
  EXPECT_EQ(member->token_label, "masa-a");
  EXPECT_EQ(member->module_path, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(member->pin_file, "/etc/masa/a.pin");

  auto relative = ParseTokenMemberUri("pkcs11:token=masa%20b?module-path=/m.so&pin-source=b.pin");
  ASSERT_TRUE(relative.ok()) << relative.status();
  EXPECT_EQ(relative->token_label, "masa b");
  EXPECT_EQ(relative->pin_file, "b.pin");  // the caller resolves it

  auto no_pin = ParseTokenMemberUri("pkcs11:token=masa-a?module-path=/m.so");
  ASSERT_TRUE(no_pin.ok()) << no_pin.status();
  EXPECT_TRUE(no_pin->pin_file.empty());
}

TEST(TokenMemberUriTest, RefusesWhatCannotNameAToken) {
  for (const char* uri : {"not-a-uri", "pkcs11:?module-path=/m.so", "pkcs11:token=masa-a",
                          "pkcs11:token=masa-a;object=k?module-path=/m.so",
                          "pkcs11:token=masa-a?module-path=/m.so&pin-source=https://x/pin"}) {
    auto member = ParseTokenMemberUri(uri);
    EXPECT_EQ(member.status().code(), absl::StatusCode::kInvalidArgument) << uri;
  }
  auto with_pin = ParseTokenMemberUri("pkcs11:token=masa-a?module-path=/m.so&pin-value=S3cret42");
  EXPECT_EQ(with_pin.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with_pin.status().message().find("S3cret42"), std::string::npos) << with_pin.status();
}

TEST_F(TokenGroupTest, BothMembersSignWithTheSameKey) {
  OpenGroup();
  ASSERT_TRUE(group_->ready());
  for (int i = 0; i < 20; ++i) {
    auto signature = Sign();
    ASSERT_TRUE(signature.ok()) << signature.status();
    EXPECT_TRUE(Verifies(*signature));
  }
  EXPECT_GT(Status(0).signatures, 0u);
  EXPECT_GT(Status(1).signatures, 0u);
  EXPECT_EQ(Status(0).state, State::kUp);
  EXPECT_EQ(Status(0).label, a_->label());
  EXPECT_EQ(Status(0).module, FaultModulePath());
  // A URI naming the other member's token finds the same key.
  auto on_b = group_->FindKey(b_->KeyUri("signing"));
  ASSERT_TRUE(on_b.ok()) << on_b.status();
  EXPECT_EQ(on_b->id, key_.id);
  EXPECT_EQ(group_->FindKey("pkcs11:token=elsewhere;object=signing").status().code(),
            absl::StatusCode::kNotFound);
  auto anywhere = group_->FindKey("pkcs11:object=signing");
  ASSERT_TRUE(anywhere.ok()) << anywhere.status();
  EXPECT_EQ(anywhere->id, key_.id);
}

TEST_F(TokenGroupTest, OpenReadsPinFilesAndRefusesAWrongPin) {
  TokenGroupOptions options;
  options.members.push_back(Member(*a_));
  options.members.back().pin = Secret();
  options.members.back().pin_file = a_->user_pin_file();
  auto group = TokenGroup::Open(std::move(options));
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_TRUE((*group)->ready());

  // Through the module object that logged in (login state is per application: a module
  // object only knows the PINs its own logins used).
  TokenGroupOptions wrong;
  wrong.members.push_back(Member(*a_));
  wrong.members.back().module_path = testing::SoftHsmModulePath();
  wrong.members.back().pin = Secret("not-the-pin");
  EXPECT_EQ(TokenGroup::Open(std::move(wrong)).status().code(),
            absl::StatusCode::kPermissionDenied);

  TokenGroupOptions no_pin;
  no_pin.members.push_back(Member(*a_));
  no_pin.members.back().pin = Secret();
  EXPECT_EQ(TokenGroup::Open(std::move(no_pin)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A member whose token is absent at start starts down (and is probed); the group serves
// with the others. With no member present at all, Open fails.
TEST_F(TokenGroupTest, AbsentMemberStartsDown) {
  TokenGroupOptions options;
  options.members.push_back(Member(*a_));
  options.members.push_back(Member(*b_));
  options.members.back().token_label = "masa-absent";
  auto group = TokenGroup::Open(std::move(options));
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_TRUE((*group)->ready());
  EXPECT_EQ((*group)->members().at(1).state, State::kDown);
  EXPECT_NE((*group)->members().at(1).last_error.find("masa-absent"), std::string::npos);

  TokenGroupOptions none;
  none.members.push_back(Member(*a_));
  none.members.back().token_label = "masa-absent";
  EXPECT_EQ(TokenGroup::Open(std::move(none)).status().code(), absl::StatusCode::kNotFound);
}

// A key made through the group lives in the first token only, and the group will not sign
// with it until it has been cloned into the second (here: the same key imported).
TEST_F(TokenGroupTest, GenerateMakesTheKeyInTheFirstTokenOnly) {
  OpenGroup();
  ASSERT_TRUE(group_->GenerateKeyPair(KeyType::kEcP256, "fresh").ok());
  EXPECT_TRUE(a_->token()->FindKey(a_->KeyUri("fresh")).ok());
  EXPECT_EQ(b_->token()->FindKey(b_->KeyUri("fresh")).status().code(), absl::StatusCode::kNotFound);
  auto found = group_->FindKey(a_->KeyUri("fresh"));
  EXPECT_EQ(found.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(found.status().message().find(b_->label()), std::string::npos) << found.status();
}

TEST_F(TokenGroupTest, MembersHoldingDifferentKeysAreRefused) {
  OpenGroup();
  ASSERT_TRUE(a_->token()->GenerateKeyPair(KeyType::kEcP256, "diverged").ok());
  ASSERT_TRUE(b_->token()->GenerateKeyPair(KeyType::kEcP256, "diverged").ok());
  EXPECT_EQ(group_->FindKey(a_->KeyUri("diverged")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(a_->token()->GenerateKeyPair(KeyType::kEcP256, "only-a").ok());
  auto only_a = group_->FindKey(a_->KeyUri("only-a"));
  EXPECT_EQ(only_a.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(only_a.status().message().find(b_->label()), std::string::npos) << only_a.status();
}

// Every device fault on one member: every signature still succeeds, the member is taken
// out, work goes to the other, and the member comes back by itself once the fault is gone.
TEST_F(TokenGroupTest, OneMemberFailingLosesNoSignatureAndRecovers) {
  OpenGroup();
  for (const char* fault :
       {"device_error", "device_removed", "token_not_present", "session_handle_invalid"}) {
    SCOPED_TRACE(fault);
    ASSERT_TRUE(faults_->Set(absl::StrCat(a_->label(), " C_Sign ", fault, "\n")).ok());
    const uint64_t b_before = Status(1).signatures;
    for (int i = 0; i < 20; ++i) {
      auto signature = Sign();
      ASSERT_TRUE(signature.ok()) << signature.status();
      EXPECT_TRUE(Verifies(*signature));
    }
    EXPECT_EQ(Status(0).state, State::kDown);
    EXPECT_NE(Status(0).last_error.find(absl::AsciiStrToUpper(fault)), std::string::npos)
        << Status(0).last_error;
    EXPECT_EQ(Status(1).signatures, b_before + 20);
    EXPECT_TRUE(group_->ready());

    ASSERT_TRUE(faults_->Clear().ok());
    ASSERT_TRUE(Eventually([&] { return Status(0).state == State::kUp; }));
    const uint64_t a_before = Status(0).signatures;
    ASSERT_TRUE(Eventually([&] { return Sign().ok() && Status(0).signatures > a_before; }));
  }
}

TEST_F(TokenGroupTest, BothFailingIsUnavailableUntilOneRecovers) {
  OpenGroup();
  ASSERT_TRUE(faults_->Set("* C_Sign device_error\n").ok());
  auto signature = Sign();
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kUnavailable) << signature.status();
  EXPECT_FALSE(group_->ready());
  EXPECT_EQ(Sign().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Status(0).state, State::kDown);
  EXPECT_EQ(Status(1).state, State::kDown);

  ASSERT_TRUE(faults_->Clear().ok());
  ASSERT_TRUE(Eventually([&] { return group_->ready(); }));
  signature = Sign();
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_TRUE(Verifies(*signature));
  ASSERT_TRUE(
      Eventually([&] { return Status(0).state == State::kUp && Status(1).state == State::kUp; }));
}

// A single member survives a dead session: the call is retried on a fresh session of the
// same member, which stays up.
TEST_F(TokenGroupTest, SingleMemberRetriesOnAFreshSession) {
  OpenGroup(std::chrono::milliseconds(5000), /*only_a=*/true);
  ASSERT_TRUE(Sign().ok());
  ASSERT_TRUE(
      faults_->Set(absl::StrCat(a_->label(), " C_Sign session_handle_invalid once\n")).ok());
  auto signature = Sign();
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(Status(0).state, State::kUp);
  EXPECT_EQ(Status(0).failures, 1u);
}

TEST_F(TokenGroupTest, UserNotLoggedInIsRepairedWithoutTakingTheMemberOut) {
  OpenGroup();
  ASSERT_TRUE(faults_->Set("* C_Sign user_not_logged_in once\n").ok());
  for (int i = 0; i < 4; ++i) {
    auto signature = Sign();
    ASSERT_TRUE(signature.ok()) << signature.status();
  }
  EXPECT_EQ(Status(0).state, State::kUp);
  EXPECT_EQ(Status(1).state, State::kUp);
  EXPECT_EQ(Status(0).failures + Status(1).failures, 0u);
}

// A member whose call hangs is taken out within the timeout while the call still hangs;
// the next calls go to the other member; the hung call's session is never used again.
TEST_F(TokenGroupTest, HungMemberIsTakenOutAndWorkGoesElsewhere) {
  OpenGroup(std::chrono::milliseconds(300));
  ASSERT_TRUE(faults_->Set(absl::StrCat(a_->label(), " C_Sign hang 600\n")).ok());
  std::atomic<bool> stop{false};
  absl::Status background_failure;
  std::thread background([&] {
    while (!stop) {
      auto signature = Sign();
      if (!signature.ok()) background_failure = signature.status();
    }
  });
  ASSERT_TRUE(Eventually([&] { return Status(0).state == State::kDown; }));
  EXPECT_EQ(Status(0).calls_in_flight, 1u);
  EXPECT_NE(Status(0).last_error.find("did not return within 300 ms"), std::string::npos)
      << Status(0).last_error;
  const uint64_t a_before = Status(0).signatures;
  for (int i = 0; i < 10; ++i) {
    auto signature = Sign();
    ASSERT_TRUE(signature.ok()) << signature.status();
  }
  EXPECT_EQ(Status(0).signatures, a_before);
  ASSERT_TRUE(faults_->Clear().ok());  // the hung call returns (and is retried on b)
  stop = true;
  background.join();
  EXPECT_TRUE(background_failure.ok()) << background_failure;
  EXPECT_EQ(Status(0).calls_in_flight, 0u);
  ASSERT_TRUE(Eventually([&] { return Status(0).state == State::kUp; }));
}

// Dropping the group while a call hangs in the module: nothing crashes, the call ends with
// kUnavailable when the module lets go, and the group goes with the last reference.
TEST_F(TokenGroupTest, GroupDroppedWhileACallHangs) {
  OpenGroup(std::chrono::milliseconds(300), /*only_a=*/true);
  ASSERT_TRUE(faults_->Set(absl::StrCat(a_->label(), " C_Sign hang 600\n")).ok());
  std::weak_ptr<TokenGroup> weak = group_;
  absl::Status result;
  std::thread caller([&, group = group_] { result = Sign(group).status(); });
  ASSERT_TRUE(Eventually([&] { return Status(0).state == State::kDown; }));
  group_.reset();
  EXPECT_FALSE(weak.expired());  // the caller's reference keeps it
  ASSERT_TRUE(faults_->Clear().ok());
  caller.join();
  EXPECT_EQ(result.code(), absl::StatusCode::kUnavailable) << result;
  EXPECT_TRUE(weak.expired());
}

TEST_F(TokenGroupTest, ConcurrentSigningSpreadsOverBothMembers) {
  OpenGroup();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto signature = Sign();
        if (!signature.ok() || !Verifies(*signature)) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(Status(0).signatures + Status(1).signatures, 100u);
  EXPECT_GT(Status(0).signatures, 0u);
  EXPECT_GT(Status(1).signatures, 0u);
}

}  // namespace
}  // namespace masa::hsm
