// An OpenSSL 3 provider that makes private keys in a PKCS#11 token usable as EVP_PKEYs.
// Signing happens in the HSM; the key never leaves it. The provider lives in its own
// OSSL_LIB_CTX (together with OpenSSL's default provider for digests and verification),
// never in the default context that SoftHSM2 itself uses.
//
//   MASA_ASSIGN_OR_RETURN(auto ctx, hsm::ProviderContext::Create(token));
//   MASA_ASSIGN_OR_RETURN(UniquePtr<EVP_PKEY> key,
//                         ctx->LoadPrivateKey("pkcs11:token=masa-dev;object=masa-signing"));
//   // Sign with ordinary OpenSSL calls, passing ctx->libctx() wherever a libctx is taken:
//   EVP_DigestSignInit_ex(md_ctx, nullptr, "SHA256", ctx->libctx(), nullptr, key.get(), nullptr);
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/openssl.h"
#include "hsm/pkcs11.h"

namespace masa::hsm {
namespace internal {
struct ProvCtx;
}  // namespace internal

class ProviderContext {
 public:
  // The provider's name; algorithms carry the property "provider=masa-pkcs11".
  static constexpr char kName[] = "masa-pkcs11";

  // Creates a library context holding OpenSSL's default provider and this provider bound
  // to `token`. The token is kept alive as long as the context.
  static absl::StatusOr<std::unique_ptr<ProviderContext>> Create(std::shared_ptr<Token> token);

  ~ProviderContext();
  ProviderContext(const ProviderContext&) = delete;
  ProviderContext& operator=(const ProviderContext&) = delete;

  // The library context to pass to every OpenSSL call that uses a key loaded here.
  OSSL_LIB_CTX* libctx() const { return libctx_.get(); }
  Token& token() const { return *token_; }

  // Loads the private key named by the RFC 7512 `uri` through OSSL_STORE. The EVP_PKEY
  // signs in the HSM and may be used from any number of threads at once (each operation
  // takes its own EVP_PKEY_CTX / EVP_MD_CTX). kNotFound / kInvalidArgument as FindKey.
  absl::StatusOr<UniquePtr<EVP_PKEY>> LoadPrivateKey(std::string_view uri) const;

  // The public half of `key` as an ordinary key of the default provider in libctx(), for
  // putting into certificates and CSRs.
  absl::StatusOr<UniquePtr<EVP_PKEY>> PublicKey(const KeyInfo& key) const;

 private:
  ProviderContext(std::shared_ptr<Token> token, UniquePtr<OSSL_LIB_CTX> libctx);

  std::shared_ptr<Token> token_;
  std::unique_ptr<internal::ProvCtx> prov_;  // outlives the providers that point at it
  UniquePtr<OSSL_LIB_CTX> libctx_;
  OSSL_PROVIDER* default_provider_ = nullptr;
  OSSL_PROVIDER* provider_ = nullptr;
};

}  // namespace masa::hsm
