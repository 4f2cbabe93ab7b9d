// Test support: a fresh, logged-in SoftHSM2 token in a temporary folder.
//
//   auto temp = masa::hsm::testing::TempToken::Create();
//   ASSERT_TRUE(temp.ok()) << temp.status();
//   std::shared_ptr<masa::hsm::Token> token = (*temp)->token();
//   auto key = token->GenerateKeyPair(masa::hsm::KeyType::kEcP256, "signing");
//
// SoftHSM2 reads SOFTHSM2_CONF once, at the first C_Initialize, so a process can have only
// one SoftHSM2 configuration. Every TempToken of a process therefore shares ONE temporary
// token folder (created by the first TempToken, removed at process exit) and gets its own
// token label in it ("masa-test-<n>"). Create the first TempToken (or call
// SoftHsmConfigPath()) before anything else in the process loads SoftHSM2; a child process
// inherits SOFTHSM2_CONF and so sees the same tokens.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/secret.h"
#include "hsm/pkcs11.h"

namespace masa::hsm::testing {

// The SoftHSM2 module tests use: the MASA_SOFTHSM2_MODULE compile definition of this
// library, else /usr/lib/softhsm/libsofthsm2.so.
std::string SoftHsmModulePath();

// Creates (once per process) <tmp>/masa-softhsm-XXXXXX/ with softhsm2.conf and tokens/,
// points SOFTHSM2_CONF at it, and returns the path of softhsm2.conf. Thread-safe.
absl::StatusOr<std::string> SoftHsmConfigPath();

// One freshly initialized token with random SO and user PINs, opened and logged in.
// Methods are const and thread-safe (the Token is). The token stays in the shared token
// folder after destruction (SoftHSM2 cannot delete a token through PKCS#11); the folder
// goes at process exit.
class TempToken {
 public:
  // Loads the module, initializes token "masa-test-<n>", opens it with `options`, and
  // writes the user PIN to dir()/user.pin (mode 0600) for code that reads PIN files.
  static absl::StatusOr<std::unique_ptr<TempToken>> Create(TokenOptions options = {});

  // Closes the Token (the caller must have dropped other references to token() to really
  // close its sessions) and removes dir().
  ~TempToken();
  TempToken(const TempToken&) = delete;
  TempToken& operator=(const TempToken&) = delete;

  const std::shared_ptr<Module>& module() const { return module_; }
  const std::shared_ptr<Token>& token() const { return token_; }
  const std::string& label() const { return label_; }
  const Secret& user_pin() const { return user_pin_; }
  const Secret& so_pin() const { return so_pin_; }
  // This token's own scratch folder (holds user.pin); removed at destruction.
  const std::string& dir() const { return dir_; }
  // dir() + "/user.pin".
  std::string user_pin_file() const { return dir_ + "/user.pin"; }
  // The shared SoftHSM2 folder of the process (softhsm2.conf, tokens/).
  std::string softhsm_dir() const;
  // PrivateKeyUri(label(), key_label).
  std::string KeyUri(std::string_view key_label) const;

 private:
  TempToken() = default;

  std::shared_ptr<Module> module_;
  std::shared_ptr<Token> token_;
  std::string label_;
  Secret so_pin_;
  Secret user_pin_;
  std::string dir_;
};

}  // namespace masa::hsm::testing
