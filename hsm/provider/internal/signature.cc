// Signature operations for HSM keys: the digest is computed here with OpenSSL's default
// provider, the private-key operation happens in the token (CKM_ECDSA / CKM_RSA_PKCS /
// CKM_RSA_PKCS_PSS on the digest). Ed25519 is one-shot: CKM_EDDSA over the whole message.
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/openssl.h"
#include "hsm/provider/internal/provider_internal.h"

namespace masa::hsm::internal {
namespace {

using Fn = void (*)();

struct SigCtx {
  ProvCtx* prov = nullptr;
  ProvKey* key = nullptr;  // owned by the EVP_PKEY, which outlives this context
  const EVP_MD* md = nullptr;
  EVP_MD_CTX* md_ctx = nullptr;
  int pad_mode = RSA_PKCS1_PADDING;
  int salt_len = RSA_PSS_SALTLEN_DIGEST;
};

// DER DigestInfo prefixes (RFC 8017 section 9.2, note 1).
constexpr unsigned char kSha256Prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                           0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                           0x01, 0x05, 0x00, 0x04, 0x20};
constexpr unsigned char kSha384Prefix[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                           0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                           0x02, 0x05, 0x00, 0x04, 0x30};
constexpr unsigned char kSha512Prefix[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                           0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                           0x03, 0x05, 0x00, 0x04, 0x40};

void* NewCtx(void* provctx, const char* /*propq*/) {
  auto* ctx = new SigCtx;
  ctx->prov = static_cast<ProvCtx*>(provctx);
  return ctx;
}

void FreeCtx(void* vctx) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  EVP_MD_CTX_free(ctx->md_ctx);
  delete ctx;
}

void* DupCtx(void* vctx) {
  auto* src = static_cast<SigCtx*>(vctx);
  auto* dst = new SigCtx(*src);
  dst->md_ctx = nullptr;
  if (src->md_ctx != nullptr) {
    dst->md_ctx = EVP_MD_CTX_new();
    if (dst->md_ctx == nullptr || !EVP_MD_CTX_copy_ex(dst->md_ctx, src->md_ctx)) {
      FreeCtx(dst);
      return nullptr;
    }
  }
  return dst;
}

int SetCtxParams(void* vctx, const OSSL_PARAM params[]);

bool SetDigest(SigCtx* ctx, const char* name) {
  const EVP_MD* md = ctx->prov->Digest(name);
  if (md == nullptr) {
    RaiseError(ctx->prov, absl::StrCat("digest ", name, " is not supported for HSM keys").c_str());
    return false;
  }
  ctx->md = md;
  return true;
}

int SignInit(void* vctx, void* provkey, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  auto* key = static_cast<ProvKey*>(provkey);
  if (key == nullptr || !key->has_private) {
    RaiseError(ctx->prov, "the key has no private half in the HSM");
    return 0;
  }
  ctx->key = key;
  ctx->md = nullptr;
  return SetCtxParams(ctx, params);
}

int DigestSignInit(void* vctx, const char* mdname, void* provkey, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (!SignInit(vctx, provkey, params)) return 0;
  if (!SetDigest(ctx, mdname != nullptr && *mdname != '\0' ? mdname : DefaultDigest(*ctx->key))) {
    return 0;
  }
  if (ctx->md_ctx == nullptr) ctx->md_ctx = EVP_MD_CTX_new();
  return ctx->md_ctx != nullptr && EVP_DigestInit_ex2(ctx->md_ctx, ctx->md, nullptr);
}

int DigestSignUpdate(void* vctx, const unsigned char* data, size_t len) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  return ctx->md_ctx != nullptr && EVP_DigestUpdate(ctx->md_ctx, data, len);
}

size_t PssSaltLength(const SigCtx& ctx, size_t digest_len) {
  if (ctx.salt_len >= 0) return static_cast<size_t>(ctx.salt_len);
  if (ctx.salt_len == RSA_PSS_SALTLEN_DIGEST) return digest_len;
  // RSA_PSS_SALTLEN_MAX / AUTO: as long as the modulus allows (RFC 8017 section 9.1.1).
  size_t em_len = (static_cast<size_t>(ctx.key->bits) - 1 + 7) / 8;
  return em_len - digest_len - 2;
}

// Signs `digest` in the token and writes the DER (EC) or raw (RSA) signature to `sig`.
int SignDigest(SigCtx* ctx, unsigned char* sig, size_t* siglen, size_t sigsize,
               const unsigned char* digest, size_t digest_len) {
  const ProvKey& key = *ctx->key;
  size_t max = MaxSignatureSize(key);
  if (sig == nullptr) {
    *siglen = max;
    return 1;
  }
  SignParams params;
  std::string input;
  if (key.family == KeyFamily::kEc) {
    params.mechanism = SignMechanism::kEcdsa;
    input.assign(reinterpret_cast<const char*>(digest), digest_len);
  } else if (ctx->pad_mode == RSA_PKCS1_PSS_PADDING) {
    params.mechanism = SignMechanism::kRsaPss;
    switch (digest_len) {
      case 32:
        params.pss_hash = HashAlgorithm::kSha256;
        break;
      case 48:
        params.pss_hash = HashAlgorithm::kSha384;
        break;
      case 64:
        params.pss_hash = HashAlgorithm::kSha512;
        break;
      default:
        RaiseError(ctx->prov, "RSA-PSS needs a SHA-256, SHA-384 or SHA-512 digest");
        return 0;
    }
    params.pss_salt_length = PssSaltLength(*ctx, digest_len);
    input.assign(reinterpret_cast<const char*>(digest), digest_len);
  } else if (ctx->pad_mode == RSA_PKCS1_PADDING) {
    params.mechanism = SignMechanism::kRsaPkcs1;
    const unsigned char* prefix = digest_len == 32   ? kSha256Prefix
                                  : digest_len == 48 ? kSha384Prefix
                                  : digest_len == 64 ? kSha512Prefix
                                                     : nullptr;
    if (prefix == nullptr) {
      RaiseError(ctx->prov, "RSA PKCS#1 needs a SHA-256, SHA-384 or SHA-512 digest");
      return 0;
    }
    input.assign(reinterpret_cast<const char*>(prefix), sizeof(kSha256Prefix));
    input.append(reinterpret_cast<const char*>(digest), digest_len);
  } else {
    RaiseError(ctx->prov, "unsupported RSA padding for an HSM key");
    return 0;
  }
  absl::StatusOr<std::string> raw = ctx->prov->token->Sign(key.info, params, input);
  if (!raw.ok()) {
    RaiseError(ctx->prov, raw.status());
    return 0;
  }
  if (key.family == KeyFamily::kRsa) {
    if (raw->size() > sigsize) return 0;
    std::memcpy(sig, raw->data(), raw->size());
    *siglen = raw->size();
    return 1;
  }
  // PKCS#11 returns r||s; X.509 and CMS want the DER ECDSA-Sig-Value.
  size_t half = raw->size() / 2;
  UniquePtr<ECDSA_SIG> ecdsa(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw->data()), static_cast<int>(half),
                        nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw->data()) + half,
                        static_cast<int>(half), nullptr);
  if (ecdsa == nullptr || r == nullptr || s == nullptr || !ECDSA_SIG_set0(ecdsa.get(), r, s)) {
    BN_free(r);
    BN_free(s);
    return 0;
  }
  int der_len = i2d_ECDSA_SIG(ecdsa.get(), nullptr);
  if (der_len <= 0 || static_cast<size_t>(der_len) > sigsize) return 0;
  unsigned char* out = sig;
  *siglen = static_cast<size_t>(i2d_ECDSA_SIG(ecdsa.get(), &out));
  return 1;
}

int Sign(void* vctx, unsigned char* sig, size_t* siglen, size_t sigsize, const unsigned char* tbs,
         size_t tbslen) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (ctx->key == nullptr) return 0;
  if (ctx->md != nullptr && sig != nullptr &&
      tbslen != static_cast<size_t>(EVP_MD_get_size(ctx->md))) {
    RaiseError(ctx->prov, "the input is not a digest of the configured size");
    return 0;
  }
  return SignDigest(ctx, sig, siglen, sigsize, tbs, tbslen);
}

int DigestSignFinal(void* vctx, unsigned char* sig, size_t* siglen, size_t sigsize) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (ctx->key == nullptr || ctx->md_ctx == nullptr) return 0;
  if (sig == nullptr) return SignDigest(ctx, nullptr, siglen, sigsize, nullptr, 0);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (!EVP_DigestFinal_ex(ctx->md_ctx, digest, &digest_len)) return 0;
  return SignDigest(ctx, sig, siglen, sigsize, digest, digest_len);
}

// The DER AlgorithmIdentifier of this signature (X.509 and CMS need it for provider keys).
int AlgorithmId(const SigCtx& ctx, OSSL_PARAM* p) {
  if (ctx.key == nullptr || ctx.md == nullptr) return 1;
  if (ctx.key->family == KeyFamily::kRsa && ctx.pad_mode != RSA_PKCS1_PADDING) return 1;
  int sig_nid = NID_undef;
  int pkey_nid = ctx.key->family == KeyFamily::kEc ? NID_X9_62_id_ecPublicKey : NID_rsaEncryption;
  if (!OBJ_find_sigid_by_algs(&sig_nid, EVP_MD_get_type(ctx.md), pkey_nid)) return 0;
  UniquePtr<X509_ALGOR> algor(X509_ALGOR_new());
  if (!algor ||
      !X509_ALGOR_set0(algor.get(), OBJ_nid2obj(sig_nid),
                       ctx.key->family == KeyFamily::kRsa ? V_ASN1_NULL : V_ASN1_UNDEF, nullptr)) {
    return 0;
  }
  unsigned char* der = nullptr;
  int len = i2d_X509_ALGOR(algor.get(), &der);
  if (len <= 0) return 0;
  int ok = OSSL_PARAM_set_octet_string(p, der, static_cast<size_t>(len));
  OPENSSL_free(der);
  return ok;
}

int GetCtxParams(void* vctx, OSSL_PARAM params[]) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) && !AlgorithmId(*ctx, p)) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) && ctx->md != nullptr &&
      !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(ctx->md))) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != nullptr) {
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
      if (!OSSL_PARAM_set_utf8_string(p,
                                      ctx->pad_mode == RSA_PKCS1_PSS_PADDING ? "pss" : "pkcs1")) {
        return 0;
      }
    } else if (!OSSL_PARAM_set_int(p, ctx->pad_mode)) {
      return 0;
    }
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != nullptr &&
      p->data_type != OSSL_PARAM_UTF8_STRING && !OSSL_PARAM_set_int(p, ctx->salt_len)) {
    return 0;
  }
  return 1;
}

const OSSL_PARAM* GettableCtxParams(void*, void*) {
  static const OSSL_PARAM kParams[] = {
      OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
      OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr),
      OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr), OSSL_PARAM_END};
  return kParams;
}

int SetCtxParams(void* vctx, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (params == nullptr) return 1;
  const OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST)) != nullptr) {
    const char* name = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !SetDigest(ctx, name)) return 0;
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != nullptr) {
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
      const char* name = nullptr;
      if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) return 0;
      if (std::strcmp(name, "pss") == 0) {
        ctx->pad_mode = RSA_PKCS1_PSS_PADDING;
      } else if (std::strcmp(name, "pkcs1") == 0) {
        ctx->pad_mode = RSA_PKCS1_PADDING;
      } else {
        return 0;
      }
    } else if (!OSSL_PARAM_get_int(p, &ctx->pad_mode)) {
      return 0;
    }
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != nullptr) {
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
      const char* name = nullptr;
      if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) return 0;
      ctx->salt_len = std::strcmp(name, "digest") == 0 ? RSA_PSS_SALTLEN_DIGEST
                      : std::strcmp(name, "max") == 0  ? RSA_PSS_SALTLEN_MAX
                      : std::strcmp(name, "auto") == 0 ? RSA_PSS_SALTLEN_AUTO
                                                       : std::atoi(name);
    } else if (!OSSL_PARAM_get_int(p, &ctx->salt_len)) {
      return 0;
    }
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != nullptr) {
    // The token uses MGF1 with the message digest; accept only that.
    const char* name = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) return 0;
    if (ctx->md != nullptr && !EVP_MD_is_a(ctx->md, name)) {
      RaiseError(ctx->prov, "HSM RSA-PSS uses MGF1 with the message digest");
      return 0;
    }
  }
  return 1;
}

const OSSL_PARAM* SettableCtxParams(void*, void*) {
  static const OSSL_PARAM kParams[] = {
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
      OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr),
      OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, nullptr, 0), OSSL_PARAM_END};
  return kParams;
}

// PureEdDSA (RFC 8032, RFC 8419): the token hashes the whole message itself, so there is no
// digest to choose and no streaming; EVP_DigestSign hands the message over in one call.
int EdDigestSignInit(void* vctx, const char* mdname, void* provkey, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (mdname != nullptr && *mdname != '\0') {
    RaiseError(ctx->prov, "Ed25519 signs the message itself and takes no digest");
    return 0;
  }
  return SignInit(vctx, provkey, params);
}

int EdDigestSign(void* vctx, unsigned char* sig, size_t* siglen, size_t sigsize,
                 const unsigned char* tbs, size_t tbslen) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (ctx->key == nullptr) return 0;
  if (sig == nullptr) {
    *siglen = kEd25519SignatureSize;
    return 1;
  }
  if (sigsize < kEd25519SignatureSize) return 0;
  absl::StatusOr<std::string> raw =
      ctx->prov->token->Sign(ctx->key->info, SignParams{.mechanism = SignMechanism::kEddsa},
                             std::string_view(reinterpret_cast<const char*>(tbs), tbslen));
  if (!raw.ok()) {
    RaiseError(ctx->prov, raw.status());
    return 0;
  }
  if (raw->size() != kEd25519SignatureSize) {
    RaiseError(ctx->prov, "the token returned an Ed25519 signature of the wrong size");
    return 0;
  }
  std::memcpy(sig, raw->data(), raw->size());
  *siglen = raw->size();
  return 1;
}

// id-Ed25519 with absent parameters (RFC 8410 section 3), for X.509 and CMS.
int EdGetCtxParams(void* vctx, OSSL_PARAM params[]) {
  (void)vctx;
  static constexpr unsigned char kAlgorithmId[] = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};
  OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
  return p == nullptr || OSSL_PARAM_set_octet_string(p, kAlgorithmId, sizeof(kAlgorithmId));
}

const OSSL_PARAM* EdGettableCtxParams(void*, void*) {
  static const OSSL_PARAM kParams[] = {
      OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, nullptr, 0), OSSL_PARAM_END};
  return kParams;
}

int EdSetCtxParams(void*, const OSSL_PARAM[]) { return 1; }

const OSSL_PARAM* EdSettableCtxParams(void*, void*) {
  static const OSSL_PARAM kParams[] = {OSSL_PARAM_END};
  return kParams;
}

}  // namespace

const OSSL_DISPATCH kEd25519SignatureFunctions[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, reinterpret_cast<Fn>(NewCtx)},
    {OSSL_FUNC_SIGNATURE_FREECTX, reinterpret_cast<Fn>(FreeCtx)},
    {OSSL_FUNC_SIGNATURE_DUPCTX, reinterpret_cast<Fn>(DupCtx)},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, reinterpret_cast<Fn>(EdDigestSignInit)},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN, reinterpret_cast<Fn>(EdDigestSign)},
    {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, reinterpret_cast<Fn>(EdGetCtxParams)},
    {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, reinterpret_cast<Fn>(EdGettableCtxParams)},
    {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, reinterpret_cast<Fn>(EdSetCtxParams)},
    {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, reinterpret_cast<Fn>(EdSettableCtxParams)},
    {0, nullptr}};

#define MASA_SIGNATURE_FUNCTIONS                                                            \
  {OSSL_FUNC_SIGNATURE_NEWCTX, reinterpret_cast<Fn>(NewCtx)},                               \
      {OSSL_FUNC_SIGNATURE_FREECTX, reinterpret_cast<Fn>(FreeCtx)},                         \
      {OSSL_FUNC_SIGNATURE_DUPCTX, reinterpret_cast<Fn>(DupCtx)},                           \
      {OSSL_FUNC_SIGNATURE_SIGN_INIT, reinterpret_cast<Fn>(SignInit)},                      \
      {OSSL_FUNC_SIGNATURE_SIGN, reinterpret_cast<Fn>(Sign)},                               \
      {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, reinterpret_cast<Fn>(DigestSignInit)},         \
      {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, reinterpret_cast<Fn>(DigestSignUpdate)},     \
      {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, reinterpret_cast<Fn>(DigestSignFinal)},       \
      {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, reinterpret_cast<Fn>(GetCtxParams)},             \
      {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, reinterpret_cast<Fn>(GettableCtxParams)},   \
      {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, reinterpret_cast<Fn>(SetCtxParams)},             \
      {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, reinterpret_cast<Fn>(SettableCtxParams)}, { \
    0, nullptr                                                                              \
  }

const OSSL_DISPATCH kSignatureFunctions[] = {MASA_SIGNATURE_FUNCTIONS};
#undef MASA_SIGNATURE_FUNCTIONS

}  // namespace masa::hsm::internal
