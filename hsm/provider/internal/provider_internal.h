// Shared state of the masa-pkcs11 provider's keymgmt, signature and store implementations.
#pragma once

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "hsm/pkcs11.h"

namespace masa::hsm::internal {

// The provider context: the token and the core's error functions.
struct ProvCtx {
  std::shared_ptr<Token> token;
  const OSSL_CORE_HANDLE* handle = nullptr;
  OSSL_LIB_CTX* libctx = nullptr;
  OSSL_FUNC_core_new_error_fn* new_error = nullptr;
  OSSL_FUNC_core_set_error_debug_fn* set_error_debug = nullptr;
  OSSL_FUNC_core_vset_error_fn* vset_error = nullptr;

  // The digests HSM signatures use, fetched once from the default provider right after
  // the provider is loaded. Digest() answers one of them by any of its names, or null.
  const EVP_MD* Digest(const char* name) const;
  EVP_MD* digests[3] = {nullptr, nullptr, nullptr};  // SHA2-256, SHA2-384, SHA2-512

  ~ProvCtx();
};

// Puts `status`'s message on the OpenSSL error queue through the core, so that callers
// see "C_Sign: CKR_DEVICE_REMOVED" in FromOpenSslErrors().
void RaiseError(ProvCtx* ctx, const absl::Status& status);
void RaiseError(ProvCtx* ctx, const char* message);

// One key object of the provider: a private key in the token (with its public half), or a
// public key imported for comparison.
struct ProvKey {
  ProvCtx* ctx = nullptr;
  KeyFamily family = KeyFamily::kEc;
  bool has_private = false;
  KeyInfo info;            // hsm key (id, label, uri) when has_private
  std::string group_name;  // EC: "prime256v1", "secp384r1"
  int bits = 0;            // Ed25519: 253, as OpenSSL counts it
  std::string ec_point;    // EC: uncompressed point; Edwards: raw public key
  std::string rsa_n;       // RSA: big-endian modulus
  std::string rsa_e;       // RSA: big-endian exponent
};

// Ed25519 (RFC 8032): raw public key and signature sizes, and the size OpenSSL reports.
inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;
inline constexpr int kEd25519Bits = 253;

// Fills the public fields of `key` from the token's description. kInvalidArgument when the
// curve is not supported.
absl::Status SetPublicFromInfo(ProvKey* key, const KeyInfo& info);

// Upper bound of a DER signature by `key`.
size_t MaxSignatureSize(const ProvKey& key);

// Name of the digest a key of this size uses by default ("SHA256" / "SHA384").
const char* DefaultDigest(const ProvKey& key);

extern const OSSL_DISPATCH kEcKeymgmtFunctions[];
extern const OSSL_DISPATCH kRsaKeymgmtFunctions[];
extern const OSSL_DISPATCH kEd25519KeymgmtFunctions[];
// One implementation serves ECDSA and RSA: the key says which mechanism the token uses.
extern const OSSL_DISPATCH kSignatureFunctions[];
// PureEdDSA (Ed25519): one-shot EVP_DigestSign with no digest; CKM_EDDSA over the message.
extern const OSSL_DISPATCH kEd25519SignatureFunctions[];
extern const OSSL_DISPATCH kStoreFunctions[];

}  // namespace masa::hsm::internal
