// OSSL_STORE loader for "pkcs11:" URIs: finds the private key in the token and hands
// OpenSSL a reference that this provider's keymgmt turns into an EVP_PKEY.
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>

#include <cstring>

#include "hsm/provider/internal/provider_internal.h"

namespace masa::hsm::internal {
namespace {

using Fn = void (*)();

struct LoaderCtx {
  ProvCtx* prov = nullptr;
  std::string uri;
  bool done = false;
  ProvKey key;  // the loaded key; keymgmt Load() copies it
};

void* Open(void* provctx, const char* uri) {
  if (uri == nullptr || std::strncmp(uri, "pkcs11:", 7) != 0) return nullptr;
  auto* ctx = new LoaderCtx;
  ctx->prov = static_cast<ProvCtx*>(provctx);
  ctx->uri = uri;
  return ctx;
}

int StoreSetCtxParams(void* vctx, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<LoaderCtx*>(vctx);
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT)) {
    int expect = 0;
    if (!OSSL_PARAM_get_int(p, &expect)) return 0;
    // Only private keys are offered; a caller expecting anything else finds nothing.
    if (expect != 0 && expect != OSSL_STORE_INFO_PKEY) ctx->done = true;
  }
  return 1;
}

const OSSL_PARAM* StoreSettableCtxParams(void*) {
  static const OSSL_PARAM kParams[] = {OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, nullptr),
                                       OSSL_PARAM_END};
  return kParams;
}

int StoreLoad(void* vctx, OSSL_CALLBACK* object_cb, void* object_cbarg,
              OSSL_PASSPHRASE_CALLBACK* /*pw_cb*/, void* /*pw_cbarg*/) {
  auto* ctx = static_cast<LoaderCtx*>(vctx);
  if (ctx->done) return 0;
  ctx->done = true;
  absl::StatusOr<KeyInfo> info = ctx->prov->token->FindKey(ctx->uri);
  if (!info.ok()) {
    RaiseError(ctx->prov, info.status());
    return 0;
  }
  ctx->key.ctx = ctx->prov;
  ctx->key.has_private = true;
  ctx->key.info = *info;
  if (absl::Status s = SetPublicFromInfo(&ctx->key, *info); !s.ok()) {
    RaiseError(ctx->prov, s);
    return 0;
  }
  int type = OSSL_OBJECT_PKEY;
  ProvKey* reference = &ctx->key;
  const char* data_type = ctx->key.family == KeyFamily::kRsa       ? "RSA"
                          : ctx->key.family == KeyFamily::kEdwards ? "ED25519"
                                                                   : "EC";
  OSSL_PARAM params[] = {
      OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &type),
      OSSL_PARAM_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, const_cast<char*>(data_type), 0),
      OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &reference, sizeof(reference)),
      OSSL_PARAM_END};
  return object_cb(params, object_cbarg);
}

int Eof(void* vctx) { return static_cast<LoaderCtx*>(vctx)->done ? 1 : 0; }

int Close(void* vctx) {
  delete static_cast<LoaderCtx*>(vctx);
  return 1;
}

}  // namespace

const OSSL_DISPATCH kStoreFunctions[] = {
    {OSSL_FUNC_STORE_OPEN, reinterpret_cast<Fn>(Open)},
    {OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, reinterpret_cast<Fn>(StoreSettableCtxParams)},
    {OSSL_FUNC_STORE_SET_CTX_PARAMS, reinterpret_cast<Fn>(StoreSetCtxParams)},
    {OSSL_FUNC_STORE_LOAD, reinterpret_cast<Fn>(StoreLoad)},
    {OSSL_FUNC_STORE_EOF, reinterpret_cast<Fn>(Eof)},
    {OSSL_FUNC_STORE_CLOSE, reinterpret_cast<Fn>(Close)},
    {0, nullptr}};

}  // namespace masa::hsm::internal
