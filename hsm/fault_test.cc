// A Token under the faults a real HSM shows, made by the PKCS#11 fault module
// (hsm/testing/fault_module.cc) in front of a real SoftHSM2 token: what the caller sees, and
// that the token works again once the fault is gone.
#include <p11-kit/pkcs11.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
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

// A SoftHSM2 token with one P-256 key, opened a second time through the fault module.
class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto temp = TempToken::Create();
    ASSERT_TRUE(temp.ok()) << temp.status();
    temp_ = std::move(*temp);
    auto control = FaultControl::Create();
    ASSERT_TRUE(control.ok()) << control.status();
    faults_ = std::move(*control);
    ASSERT_TRUE(temp_->token()->GenerateKeyPair(KeyType::kEcP256, "signing").ok());
    auto module = Module::Load(FaultModulePath());
    ASSERT_TRUE(module.ok()) << module.status();
    auto token = Token::Open(*module, temp_->label(), temp_->user_pin(), {.sessions = 2});
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = std::move(*token);
    auto key = token_->FindKey(temp_->KeyUri("signing"));
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *key;
  }

  absl::StatusOr<std::string> Sign() {
    return token_->Sign(key_, {SignMechanism::kEcdsa}, Sha256("voucher"));
  }

  // `fault` for every C_Sign on this test's token.
  std::string SignRule(std::string_view fault) {
    return absl::StrCat(temp_->label(), " C_Sign ", std::string(fault), "\n");
  }

  std::unique_ptr<TempToken> temp_;
  std::unique_ptr<FaultControl> faults_;
  std::unique_ptr<Token> token_;
  KeyInfo key_;
};

TEST_F(FaultTest, ForwardsEverythingWithoutRules) {
  auto signature = Sign();
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(signature->size(), 64u);
}

TEST_F(FaultTest, RuleForAnotherTokenDoesNotHitThisOne) {
  ASSERT_TRUE(faults_->Set("some-other-token C_Sign device_error\n").ok());
  EXPECT_TRUE(Sign().ok());
}

TEST_F(FaultTest, MalformedRuleIsIgnored) {
  ASSERT_TRUE(faults_->Set(absl::StrCat(temp_->label(), " C_Sign no_such_fault\n")).ok());
  EXPECT_TRUE(Sign().ok());
}

TEST_F(FaultTest, OnceFailsOneCallOnly) {
  ASSERT_TRUE(faults_->Set(absl::StrCat(temp_->label(), " C_Sign device_error once\n")).ok());
  EXPECT_EQ(Sign().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(Sign().ok());
}

// Each fault that means "the token or its session is gone" comes back as kUnavailable (the
// caller retries), names the CK_RV, and the token signs again once the rule is removed:
// the session that saw the error was closed and a fresh one opened.
TEST_F(FaultTest, EveryDeviceFaultIsUnavailableAndRecovers) {
  for (const char* fault :
       {"session_handle_invalid", "device_removed", "device_error", "token_not_present"}) {
    SCOPED_TRACE(fault);
    ASSERT_TRUE(faults_->Set(SignRule(fault)).ok());
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<std::string> signature = Sign();
      EXPECT_EQ(signature.status().code(), absl::StatusCode::kUnavailable) << signature.status();
      EXPECT_NE(signature.status().message().find(absl::AsciiStrToUpper(fault)), std::string::npos)
          << signature.status();
    }
    ASSERT_TRUE(faults_->Clear().ok());
    absl::StatusOr<std::string> signature = Sign();
    EXPECT_TRUE(signature.ok()) << signature.status();
  }
}

TEST_F(FaultTest, EveryFunctionOfTheTokenFails) {
  ASSERT_TRUE(faults_->Set(absl::StrCat(temp_->label(), " * device_removed\n")).ok());
  EXPECT_EQ(token_->ListKeys().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Sign().status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(faults_->Clear().ok());
  EXPECT_TRUE(Sign().ok());
}

// The token forgot the login (an HSM restart): the Token logs in again with the PIN it
// keeps, and the caller sees a signature.
TEST_F(FaultTest, UserNotLoggedInLogsInAgain) {
  ASSERT_TRUE(faults_->Set(absl::StrCat(temp_->label(), " C_Sign user_not_logged_in once\n")).ok());
  absl::StatusOr<std::string> signature = Sign();
  EXPECT_TRUE(signature.ok()) << signature.status();
}

// A token that keeps saying "not logged in" after a fresh login is out of order: kUnavailable,
// and fine again once it stops.
TEST_F(FaultTest, UserStillNotLoggedInIsUnavailable) {
  ASSERT_TRUE(faults_->Set(SignRule("user_not_logged_in")).ok());
  absl::StatusOr<std::string> signature = Sign();
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kUnavailable) << signature.status();
  EXPECT_NE(signature.status().message().find("after logging in again"), std::string::npos)
      << signature.status();
  ASSERT_TRUE(faults_->Clear().ok());
  EXPECT_TRUE(Sign().ok());
}

// A real logout, as a token restart leaves it (login state is per application, so one
// C_Logout ends it for every session): the next signature logs in again and works.
TEST_F(FaultTest, RealLogoutIsRepairedByTheNextSignature) {
  ASSERT_TRUE(Sign().ok());  // the pool's session and its key copy exist
  CK_FUNCTION_LIST* fl = internal::FunctionListOf(*temp_->module());
  auto tokens = temp_->module()->Tokens();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  CK_SLOT_ID slot = 0;
  for (const TokenDescription& token : *tokens) {
    if (token.label == temp_->label()) slot = token.slot_id;
  }
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  ASSERT_EQ(fl->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session), CKR_OK);
  ASSERT_EQ(fl->C_Logout(session), CKR_OK);
  (void)fl->C_CloseSession(session);
  absl::StatusOr<std::string> signature = Sign();
  EXPECT_TRUE(signature.ok()) << signature.status();
  EXPECT_TRUE(Sign().ok());
}

}  // namespace
}  // namespace masa::hsm
