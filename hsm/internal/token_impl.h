// The logged-in token behind hsm::Token: its admin session, session pool and key-handle
// cache. Signing and certificates live in hsm/token.cc, key lookup and generation in
// hsm/keys.cc. Only hsm/ may include this header.
#pragma once

#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/secret.h"
#include "hsm/internal/ck.h"
#include "hsm/internal/module_impl.h"
#include "hsm/internal/session_pool.h"
#include "hsm/pkcs11.h"

namespace masa::hsm::internal {

struct UriDeleter {
  void operator()(P11KitUri* uri) const { p11_kit_uri_free(uri); }
};
using UriPtr = std::unique_ptr<P11KitUri, UriDeleter>;

// RFC 7512 URI for an object on the token labelled `token_label`; empty `id` / `label`
// are left out. p11-kit does the percent-encoding.
std::string FormatObjectUri(std::string_view token_label, std::string_view label,
                            std::string_view id, CK_OBJECT_CLASS object_class);

// hsm::Token over one logged-in token. Thread-safe.
class TokenImpl final : public Token {
 public:
  TokenImpl(std::shared_ptr<ModuleImpl> module, CK_SLOT_ID slot, std::string label,
            CK_TOKEN_INFO info, Secret pin, CK_SESSION_HANDLE admin_session,
            std::set<CK_MECHANISM_TYPE> mechanisms, TokenOptions options)
      : module_(std::move(module)), fl_(module_->functions()), slot_(slot),
        label_(std::move(label)), info_(info), pin_(std::move(pin)), admin_session_(admin_session),
        mechanisms_(std::move(mechanisms)), options_(options),
        pool_(fl_, slot_, options.sessions, 0) {}

  ~TokenImpl() override {
    // No C_Logout: login state is per application, and another Token of this process may
    // use the same token. It ends when the module's last session on it closes.
    (void)MASA_CK(fl_, C_CloseSession, admin_session_);
  }

  const std::string& label() const override { return label_; }
  absl::StatusOr<KeyInfo> FindKey(std::string_view uri) override;
  absl::StatusOr<std::vector<KeyInfo>> ListKeys() override;
  absl::StatusOr<KeyInfo> GenerateKeyPair(KeyType type, std::string_view label) override;
  absl::StatusOr<std::string> Sign(const KeyInfo& key, const SignParams& params,
                                   std::string_view input) override;
  absl::StatusOr<KeyInfo> ImportKeyPair(std::string_view label, std::string_view id,
                                        std::string_view pkcs8_der) override;
  absl::Status StoreCertificate(std::string_view label, std::string_view id,
                                std::string_view der) override;
  size_t pool_size() const override { return pool_.capacity(); }

  // The token's description as read at Open (for URI matching by TokenGroup).
  const CK_TOKEN_INFO& info() const { return info_; }

 private:
  // Reads label, id and the public half of the private key `handle`. Requires admin_mu_.
  absl::StatusOr<KeyInfo> ReadKeyInfo(CK_OBJECT_HANDLE handle);
  // The handle to sign with in `session`: the cached one, else found (and copied).
  absl::StatusOr<CK_OBJECT_HANDLE> KeyHandle(PooledSession& session, const KeyInfo& key);
  absl::StatusOr<std::string> SignInSession(PooledSession& session, const KeyInfo& key,
                                            const SignParams& params, std::string_view input);
  // One signature on a session from the pool; the lease is discarded after any error.
  absl::StatusOr<std::string> SignOnce(const KeyInfo& key, const SignParams& params,
                                       std::string_view input, bool login_first);

  const std::shared_ptr<ModuleImpl> module_;  // outlives every session below
  CK_FUNCTION_LIST* const fl_;
  const CK_SLOT_ID slot_;
  const std::string label_;
  const CK_TOKEN_INFO info_;
  // Kept to log in again after CKR_USER_NOT_LOGGED_IN (see Token::Open).
  const Secret pin_;
  // Opened at login and kept for the Token's life (keeps the application logged in);
  // used, under admin_mu_, for lookups, key generation and certificate storage.
  const CK_SESSION_HANDLE admin_session_;
  std::mutex admin_mu_;
  const std::set<CK_MECHANISM_TYPE> mechanisms_;
  const TokenOptions options_;
  SessionPool pool_;
  std::atomic<bool> copy_refusal_logged_{false};
  // Serializes a session's first look-up of a key with the copy it makes: SoftHSM2 builds a
  // C_CopyObject copy from the original's attributes before applying the template, so a
  // search in another session at that moment finds the half-made copy as a second token
  // key. Taken once per session and key, never on the signing path.
  std::mutex key_lookup_mu_;
};

}  // namespace masa::hsm::internal
