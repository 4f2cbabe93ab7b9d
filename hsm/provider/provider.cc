#include "hsm/provider/provider.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/proverr.h>

#include <cstdarg>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "hsm/provider/internal/provider_internal.h"

namespace masa::hsm {
namespace internal {
namespace {

using Fn = void (*)();

constexpr int kReasonHsm = 1;

// OSSL_PROVIDER_load() runs the init function on the calling thread; this is how the
// provider finds the context ProviderContext::Create prepared for it.
thread_local ProvCtx* pending_ctx = nullptr;

constexpr char kProps[] = "provider=masa-pkcs11";

const OSSL_ALGORITHM kKeymgmt[] = {
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", kProps, kEcKeymgmtFunctions, "HSM EC key"},
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", kProps, kRsaKeymgmtFunctions, "HSM RSA key"},
    {"ED25519:1.3.101.112", kProps, kEd25519KeymgmtFunctions, "HSM Ed25519 key"},
    {nullptr, nullptr, nullptr, nullptr}};
const OSSL_ALGORITHM kSignature[] = {
    {"ECDSA", kProps, kSignatureFunctions, "ECDSA in the HSM"},
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", kProps, kSignatureFunctions, "RSA in the HSM"},
    {"ED25519:Ed25519:1.3.101.112", kProps, kEd25519SignatureFunctions, "Ed25519 in the HSM"},
    {nullptr, nullptr, nullptr, nullptr}};
const OSSL_ALGORITHM kStore[] = {{"pkcs11", kProps, kStoreFunctions, "RFC 7512 pkcs11: URIs"},
                                 {nullptr, nullptr, nullptr, nullptr}};

const OSSL_ALGORITHM* Query(void*, int operation_id, int* no_cache) {
  *no_cache = 0;
  switch (operation_id) {
    case OSSL_OP_KEYMGMT:
      return kKeymgmt;
    case OSSL_OP_SIGNATURE:
      return kSignature;
    case OSSL_OP_STORE:
      return kStore;
    default:
      return nullptr;
  }
}

const OSSL_ITEM* ReasonStrings(void*) {
  static const OSSL_ITEM kReasons[] = {{ERR_PACK(0, 0, kReasonHsm), const_cast<char*>("HSM")},
                                       {0, nullptr}};
  return kReasons;
}

void Teardown(void*) {}  // the ProvCtx belongs to ProviderContext

int Init(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
         void** provctx) {
  ProvCtx* ctx = pending_ctx;
  if (ctx == nullptr) return 0;
  ctx->handle = handle;
  for (; in->function_id != 0; ++in) {
    switch (in->function_id) {
      case OSSL_FUNC_CORE_NEW_ERROR:
        ctx->new_error = OSSL_FUNC_core_new_error(in);
        break;
      case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
        ctx->set_error_debug = OSSL_FUNC_core_set_error_debug(in);
        break;
      case OSSL_FUNC_CORE_VSET_ERROR:
        ctx->vset_error = OSSL_FUNC_core_vset_error(in);
        break;
      default:
        break;
    }
  }
  static const OSSL_DISPATCH kProviderFunctions[] = {
      {OSSL_FUNC_PROVIDER_QUERY_OPERATION, reinterpret_cast<Fn>(Query)},
      {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, reinterpret_cast<Fn>(ReasonStrings)},
      {OSSL_FUNC_PROVIDER_TEARDOWN, reinterpret_cast<Fn>(Teardown)},
      {0, nullptr}};
  *out = kProviderFunctions;
  *provctx = ctx;
  return 1;
}

void SetError(ProvCtx* ctx, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  ctx->vset_error(ctx->handle, kReasonHsm, fmt, args);
  va_end(args);
}

}  // namespace

void RaiseError(ProvCtx* ctx, const char* message) {
  if (ctx == nullptr || ctx->new_error == nullptr || ctx->vset_error == nullptr) return;
  ctx->new_error(ctx->handle);
  if (ctx->set_error_debug != nullptr)
    ctx->set_error_debug(ctx->handle, __FILE__, __LINE__, "masa-pkcs11");
  SetError(ctx, "%s", message);
}

void RaiseError(ProvCtx* ctx, const absl::Status& status) {
  RaiseError(ctx, std::string(status.message()).c_str());
}

const EVP_MD* ProvCtx::Digest(const char* name) const {
  for (EVP_MD* md : digests) {
    if (md != nullptr && EVP_MD_is_a(md, name)) return md;
  }
  return nullptr;
}

ProvCtx::~ProvCtx() {
  for (EVP_MD* md : digests) EVP_MD_free(md);
}

}  // namespace internal

ProviderContext::ProviderContext(std::shared_ptr<Token> token, UniquePtr<OSSL_LIB_CTX> libctx)
    : token_(std::move(token)), libctx_(std::move(libctx)) {}

ProviderContext::~ProviderContext() {
  if (provider_ != nullptr) OSSL_PROVIDER_unload(provider_);
  if (default_provider_ != nullptr) OSSL_PROVIDER_unload(default_provider_);
  libctx_.reset();
}

absl::StatusOr<std::unique_ptr<ProviderContext>> ProviderContext::Create(
    std::shared_ptr<Token> token) {
  if (token == nullptr) return absl::InvalidArgumentError("no token given to the provider");
  UniquePtr<OSSL_LIB_CTX> libctx(OSSL_LIB_CTX_new());
  if (libctx == nullptr) return FromOpenSslErrors("creating an OpenSSL library context");
  std::unique_ptr<ProviderContext> ctx(new ProviderContext(token, std::move(libctx)));
  ctx->prov_ = std::make_unique<internal::ProvCtx>();
  ctx->prov_->token = token;
  ctx->prov_->libctx = ctx->libctx();

  ctx->default_provider_ = OSSL_PROVIDER_load(ctx->libctx(), "default");
  if (ctx->default_provider_ == nullptr) {
    return FromOpenSslErrors("loading OpenSSL's default provider");
  }
  // Unqualified fetches (certificate parsing, verification, digests) prefer the default
  // provider; HSM keys are reached through OSSL_STORE with an explicit provider query.
  if (!EVP_set_default_properties(ctx->libctx(), "?provider=default")) {
    return FromOpenSslErrors("setting default properties");
  }
  if (!OSSL_PROVIDER_add_builtin(ctx->libctx(), kName, internal::Init)) {
    return FromOpenSslErrors("registering the masa-pkcs11 provider");
  }
  internal::pending_ctx = ctx->prov_.get();
  ctx->provider_ = OSSL_PROVIDER_load(ctx->libctx(), kName);
  internal::pending_ctx = nullptr;
  if (ctx->provider_ == nullptr) return FromOpenSslErrors("loading the masa-pkcs11 provider");

  const char* names[] = {"SHA2-256", "SHA2-384", "SHA2-512"};
  for (int i = 0; i < 3; ++i) {
    ctx->prov_->digests[i] = EVP_MD_fetch(ctx->libctx(), names[i], "provider=default");
    if (ctx->prov_->digests[i] == nullptr) {
      return FromOpenSslErrors(absl::StrCat("fetching ", names[i]));
    }
  }
  return ctx;
}

absl::StatusOr<UniquePtr<EVP_PKEY>> ProviderContext::LoadPrivateKey(std::string_view uri) const {
  // Ask the token first: its status says precisely why a key cannot be had (not found,
  // ambiguous, malformed URI), which OSSL_STORE would flatten.
  MASA_RETURN_IF_ERROR(token_->FindKey(uri).status());
  std::string uri_str(uri);
  UniquePtr<OSSL_STORE_CTX> store(OSSL_STORE_open_ex(uri_str.c_str(), libctx(),
                                                     "provider=masa-pkcs11", nullptr, nullptr,
                                                     nullptr, nullptr, nullptr));
  if (store == nullptr) return FromOpenSslErrors(absl::StrCat("opening ", uri_str));
  if (!OSSL_STORE_expect(store.get(), OSSL_STORE_INFO_PKEY)) {
    return FromOpenSslErrors("restricting the store to private keys");
  }
  while (!OSSL_STORE_eof(store.get())) {
    UniquePtr<OSSL_STORE_INFO> info(OSSL_STORE_load(store.get()));
    if (info == nullptr) break;
    if (OSSL_STORE_INFO_get_type(info.get()) == OSSL_STORE_INFO_PKEY) {
      UniquePtr<EVP_PKEY> key(OSSL_STORE_INFO_get1_PKEY(info.get()));
      if (key != nullptr) return key;
    }
  }
  return FromOpenSslErrors(absl::StrCat("loading the private key ", uri_str),
                           absl::StatusCode::kNotFound);
}

absl::StatusOr<UniquePtr<EVP_PKEY>> ProviderContext::PublicKey(const KeyInfo& key) const {
  const PublicKeyInfo& pub = key.public_key;
  internal::ProvKey desc;
  MASA_RETURN_IF_ERROR(internal::SetPublicFromInfo(&desc, key));
  if (pub.family == KeyFamily::kEdwards) {
    UniquePtr<EVP_PKEY> ed(EVP_PKEY_new_raw_public_key_ex(
        libctx(), "ED25519", "provider=default",
        reinterpret_cast<const unsigned char*>(desc.ec_point.data()), desc.ec_point.size()));
    if (ed == nullptr) {
      return FromOpenSslErrors("building the Ed25519 public key",
                               absl::StatusCode::kInvalidArgument);
    }
    return ed;
  }
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  UniquePtr<BIGNUM> n, e;
  bool ok = bld != nullptr;
  const char* type = pub.family == KeyFamily::kRsa ? "RSA" : "EC";
  if (pub.family == KeyFamily::kRsa) {
    n.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(pub.rsa_modulus.data()),
                      static_cast<int>(pub.rsa_modulus.size()), nullptr));
    e.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(pub.rsa_public_exponent.data()),
                      static_cast<int>(pub.rsa_public_exponent.size()), nullptr));
    ok = ok && n && e && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n.get()) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e.get());
  } else {
    ok = ok &&
         OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, desc.group_name.c_str(),
                                         0) &&
         OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, desc.ec_point.data(),
                                          desc.ec_point.size());
  }
  OSSL_PARAM* params = ok ? OSSL_PARAM_BLD_to_param(bld) : nullptr;
  OSSL_PARAM_BLD_free(bld);
  if (params == nullptr) return FromOpenSslErrors("describing the public key");
  UniquePtr<EVP_PKEY_CTX> pctx(EVP_PKEY_CTX_new_from_name(libctx(), type, "provider=default"));
  EVP_PKEY* out = nullptr;
  bool built = pctx && EVP_PKEY_fromdata_init(pctx.get()) > 0 &&
               EVP_PKEY_fromdata(pctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params) > 0;
  OSSL_PARAM_free(params);
  if (!built)
    return FromOpenSslErrors("building the public key", absl::StatusCode::kInvalidArgument);
  return UniquePtr<EVP_PKEY>(out);
}

}  // namespace masa::hsm
