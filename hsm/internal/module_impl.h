// The loaded PKCS#11 module behind hsm::Module: one per module file in the process, with
// its slot listing, token initialization and the per-process login bookkeeping
// (hsm/module.cc). Only hsm/ may include this header.
#pragma once

#include <openssl/crypto.h>
#include <p11-kit/pkcs11.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/secret.h"
#include "hsm/pkcs11.h"

namespace masa::hsm::internal {

inline constexpr size_t kLabelSize = 32;  // CK_TOKEN_INFO.label

// A PIN copied into a buffer the module may write to (PKCS#11 takes a non-const pointer),
// wiped when dropped.
class PinBuffer {
 public:
  explicit PinBuffer(const Secret& pin) : bytes_(pin.view().begin(), pin.view().end()) {}
  ~PinBuffer() {
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  }
  PinBuffer(const PinBuffer&) = delete;
  PinBuffer& operator=(const PinBuffer&) = delete;
  CK_UTF8CHAR* data() { return bytes_.empty() ? nullptr : bytes_.data(); }
  CK_ULONG size() const { return bytes_.size(); }

 private:
  std::vector<CK_UTF8CHAR> bytes_;
};

// `label` blank-padded (or cut) to the 32 bytes of a token label.
std::string Padded(std::string_view label);

// hsm::Module over one dlopen()ed PKCS#11 library (see Module::Load). Thread-safe.
class ModuleImpl final : public Module {
 public:
  ModuleImpl(std::string path, std::string key, void* library, CK_FUNCTION_LIST* fl, bool finalize)
      : path_(std::move(path)), key_(std::move(key)), library_(library), fl_(fl),
        finalize_(finalize) {}

  // C_Finalize (unless someone else initialized the module), then dlclose.
  ~ModuleImpl() override;

  absl::StatusOr<std::vector<TokenDescription>> Tokens() override;
  absl::Status InitToken(std::string_view label, const Secret& so_pin,
                         const Secret& user_pin) override;
  const std::string& path() const override { return path_; }

  CK_FUNCTION_LIST* functions() const { return fl_; }
  const std::string& key() const { return key_; }

  // The slot of the one initialized token labelled `label`: kNotFound when none,
  // kFailedPrecondition when several tokens carry that label.
  absl::StatusOr<CK_SLOT_ID> FindSlot(std::string_view label);

  // PKCS#11 login is per application and C_Login answers CKR_USER_ALREADY_LOGGED_IN
  // without looking at the PIN. So that a second Token::Open with a wrong PIN still
  // fails, remember a keyed MAC (never the PIN) of the PIN each successful login used.
  void RememberLogin(const std::string& token, const Secret& pin);
  // kPermissionDenied when this process logged in to `token` with another PIN; OK when it
  // used this PIN, or when the login was not made through this module object.
  absl::Status CheckLogin(const std::string& token, const Secret& pin);

 private:
  const std::string path_;
  const std::string key_;
  void* const library_;
  CK_FUNCTION_LIST* const fl_;
  const bool finalize_;  // false when someone else in the process initialized the module
  std::mutex init_mu_;   // one InitToken at a time: they compete for the free slot

  std::mutex login_mu_;
  std::string mac_key_;                        // random, per module object
  std::map<std::string, std::string> logins_;  // token -> HMAC-SHA256(mac_key_, PIN)
  std::string PinMac(const Secret& pin);       // requires login_mu_
};

}  // namespace masa::hsm::internal
