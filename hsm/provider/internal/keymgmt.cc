// Key management for HSM keys: keys are never generated or imported privately here; the
// provider only describes keys that live in the token, exports their public halves, and
// accepts public keys so that OpenSSL can compare a certificate with an HSM key.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <cstring>

#include "common/openssl.h"
#include "hsm/provider/internal/provider_internal.h"

namespace masa::hsm::internal {
namespace {

using Fn = void (*)();

int CurveNid(const char* name) {
  int nid = EC_curve_nist2nid(name);
  if (nid == NID_undef) nid = OBJ_sn2nid(name);
  if (nid == NID_undef) nid = OBJ_ln2nid(name);
  return nid;
}

int SecurityBits(const ProvKey& key) {
  if (key.family == KeyFamily::kEdwards) return 128;
  if (key.family == KeyFamily::kRsa)
    return key.bits >= 15360  ? 256
           : key.bits >= 7680 ? 192
           : key.bits >= 3072 ? 128
           : key.bits >= 2048 ? 112
                              : 80;
  return key.bits / 2;
}

void* NewKey(void* provctx, KeyFamily family) {
  auto* key = new ProvKey;
  key->ctx = static_cast<ProvCtx*>(provctx);
  key->family = family;
  return key;
}
void* EcNew(void* provctx) { return NewKey(provctx, KeyFamily::kEc); }
void* RsaNew(void* provctx) { return NewKey(provctx, KeyFamily::kRsa); }
void* EdNew(void* provctx) { return NewKey(provctx, KeyFamily::kEdwards); }

void Free(void* keydata) { delete static_cast<ProvKey*>(keydata); }

// The store hands over a pointer to a key it owns; the EVP_PKEY gets its own copy.
void* Load(const void* reference, size_t reference_size) {
  if (reference == nullptr || reference_size != sizeof(ProvKey*)) return nullptr;
  ProvKey* source;
  std::memcpy(&source, reference, sizeof(source));
  return new ProvKey(*source);
}

bool HasPublic(const ProvKey& key) {
  return key.family == KeyFamily::kRsa ? !key.rsa_n.empty() : !key.ec_point.empty();
}

int Has(const void* keydata, int selection) {
  const auto* key = static_cast<const ProvKey*>(keydata);
  if (key == nullptr) return 0;
  if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && !key->has_private) return 0;
  if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) && !HasPublic(*key)) return 0;
  if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) && key->family == KeyFamily::kEc &&
      key->group_name.empty()) {
    return 0;
  }
  return 1;
}

int Match(const void* a, const void* b, int selection) {
  const auto* k1 = static_cast<const ProvKey*>(a);
  const auto* k2 = static_cast<const ProvKey*>(b);
  if (k1->family != k2->family) return 0;
  if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) && k1->group_name != k2->group_name) {
    return 0;
  }
  if (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) {
    if (!HasPublic(*k1) || !HasPublic(*k2)) {
      // Two HSM keys without public halves compare by identity.
      return k1->has_private && k2->has_private && k1->info.id == k2->info.id;
    }
    return k1->ec_point == k2->ec_point && k1->rsa_n == k2->rsa_n && k1->rsa_e == k2->rsa_e;
  }
  return 1;
}

std::string BnToBytes(const BIGNUM* bn) {
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

int Import(void* keydata, int selection, const OSSL_PARAM params[]) {
  auto* key = static_cast<ProvKey*>(keydata);
  if (key == nullptr || key->has_private) return 0;
  // Private halves never enter this provider.
  if (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY) != nullptr ||
      OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_D) != nullptr) {
    return 0;
  }
  if (key->family == KeyFamily::kEdwards) {
    if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY)) {
      const void* data = nullptr;
      size_t len = 0;
      if (!OSSL_PARAM_get_octet_string_ptr(p, &data, &len) || len != kEd25519PublicKeySize) {
        return 0;
      }
      key->ec_point.assign(static_cast<const char*>(data), len);
      key->bits = kEd25519Bits;
    } else if (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) {
      return 0;
    }
    return 1;
  }
  if (key->family == KeyFamily::kEc) {
    if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME)) {
      const char* name = nullptr;
      if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) return 0;
      int nid = CurveNid(name);
      if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1) return 0;
      key->group_name = OBJ_nid2sn(nid);
      key->bits = nid == NID_secp384r1 ? 384 : 256;
    } else if (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) {
      return 0;
    }
    if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY)) {
      const void* data = nullptr;
      size_t len = 0;
      if (!OSSL_PARAM_get_octet_string_ptr(p, &data, &len)) return 0;
      key->ec_point.assign(static_cast<const char*>(data), len);
    } else if (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) {
      return 0;
    }
    return 1;
  }
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  const OSSL_PARAM* pn = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_N);
  const OSSL_PARAM* pe = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_E);
  if (pn == nullptr || pe == nullptr || !OSSL_PARAM_get_BN(pn, &n) || !OSSL_PARAM_get_BN(pe, &e)) {
    BN_free(n);
    BN_free(e);
    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) ? 0 : 1;
  }
  key->rsa_n = BnToBytes(n);
  key->rsa_e = BnToBytes(e);
  key->bits = BN_num_bits(n);
  BN_free(n);
  BN_free(e);
  return 1;
}

const OSSL_PARAM* EcImportTypes(int) {
  static const OSSL_PARAM kTypes[] = {
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0), OSSL_PARAM_END};
  return kTypes;
}

const OSSL_PARAM* EdImportTypes(int) {
  static const OSSL_PARAM kTypes[] = {OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
                                      OSSL_PARAM_END};
  return kTypes;
}

const OSSL_PARAM* RsaImportTypes(int) {
  static const OSSL_PARAM kTypes[] = {OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0),
                                      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0),
                                      OSSL_PARAM_END};
  return kTypes;
}

int Export(void* keydata, int selection, OSSL_CALLBACK* callback, void* cbarg) {
  auto* key = static_cast<ProvKey*>(keydata);
  // Refusing a request that includes the private half makes OpenSSL fall back to this
  // provider's own signature implementation instead of a public-only copy elsewhere.
  if (key == nullptr || (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)) return 0;
  UniquePtr<BIGNUM> n, e;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (bld == nullptr) return 0;
  bool ok = true;
  if (key->family == KeyFamily::kEdwards) {
    if (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) {
      ok = OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, key->ec_point.data(),
                                            key->ec_point.size());
    }
  } else if (key->family == KeyFamily::kEc) {
    if (selection & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS) {
      ok = ok && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                                 key->group_name.c_str(), 0);
    }
    if (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) {
      ok = ok && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                                  key->ec_point.data(), key->ec_point.size());
    }
  } else if (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) {
    n.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(key->rsa_n.data()),
                      static_cast<int>(key->rsa_n.size()), nullptr));
    e.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(key->rsa_e.data()),
                      static_cast<int>(key->rsa_e.size()), nullptr));
    ok = n && e && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n.get()) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e.get());
  }
  OSSL_PARAM* params = ok ? OSSL_PARAM_BLD_to_param(bld) : nullptr;
  OSSL_PARAM_BLD_free(bld);
  if (params == nullptr) return 0;
  int ret = callback(params, cbarg);
  OSSL_PARAM_free(params);
  return ret;
}

int GetParams(void* keydata, OSSL_PARAM params[]) {
  auto* key = static_cast<ProvKey*>(keydata);
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) && !OSSL_PARAM_set_int(p, key->bits)) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) &&
      !OSSL_PARAM_set_int(p, SecurityBits(*key))) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) &&
      !OSSL_PARAM_set_int(p, static_cast<int>(MaxSignatureSize(*key)))) {
    return 0;
  }
  if (key->family == KeyFamily::kEdwards) {
    // PureEdDSA hashes inside the signature: "" tells EVP_DigestSignInit to use no digest.
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MANDATORY_DIGEST)) &&
        !OSSL_PARAM_set_utf8_string(p, "")) {
      return 0;
    }
    for (const char* name : {OSSL_PKEY_PARAM_PUB_KEY, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY}) {
      if ((p = OSSL_PARAM_locate(params, name)) &&
          !OSSL_PARAM_set_octet_string(p, key->ec_point.data(), key->ec_point.size())) {
        return 0;
      }
    }
    return 1;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST)) &&
      !OSSL_PARAM_set_utf8_string(p, DefaultDigest(*key))) {
    return 0;
  }
  if (key->family == KeyFamily::kEc) {
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_GROUP_NAME)) &&
        !OSSL_PARAM_set_utf8_string(p, key->group_name.c_str())) {
      return 0;
    }
    for (const char* name : {OSSL_PKEY_PARAM_PUB_KEY, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY}) {
      if ((p = OSSL_PARAM_locate(params, name)) &&
          !OSSL_PARAM_set_octet_string(p, key->ec_point.data(), key->ec_point.size())) {
        return 0;
      }
    }
  } else {
    for (auto [name, bytes] : {std::pair{OSSL_PKEY_PARAM_RSA_N, &key->rsa_n},
                               std::pair{OSSL_PKEY_PARAM_RSA_E, &key->rsa_e}}) {
      if ((p = OSSL_PARAM_locate(params, name)) != nullptr) {
        UniquePtr<BIGNUM> bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()),
                                       static_cast<int>(bytes->size()), nullptr));
        if (!bn || !OSSL_PARAM_set_BN(p, bn.get())) return 0;
      }
    }
  }
  return 1;
}

const OSSL_PARAM* EcGettableParams(void*) {
  static const OSSL_PARAM kParams[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
      OSSL_PARAM_END};
  return kParams;
}

const OSSL_PARAM* RsaGettableParams(void*) {
  static const OSSL_PARAM kParams[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0),
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0),
      OSSL_PARAM_END};
  return kParams;
}

const OSSL_PARAM* EdGettableParams(void*) {
  static const OSSL_PARAM kParams[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
      OSSL_PARAM_END};
  return kParams;
}

const char* EcOperationName(int operation) {
  return operation == OSSL_OP_SIGNATURE ? "ECDSA" : nullptr;
}
const char* RsaOperationName(int operation) {
  return operation == OSSL_OP_SIGNATURE ? "RSA" : nullptr;
}
const char* EdOperationName(int operation) {
  return operation == OSSL_OP_SIGNATURE ? "ED25519" : nullptr;
}

}  // namespace

absl::Status SetPublicFromInfo(ProvKey* key, const KeyInfo& info) {
  const PublicKeyInfo& pub = info.public_key;
  key->family = pub.family;
  key->bits = pub.bits;
  if (pub.family == KeyFamily::kRsa) {
    key->rsa_n = pub.rsa_modulus;
    key->rsa_e = pub.rsa_public_exponent;
    return absl::OkStatus();
  }
  if (pub.family == KeyFamily::kEdwards) {
    // The token names the curve by the id-Ed25519 OID or the PrintableString "edwards25519".
    static constexpr std::string_view kEd25519Oid("\x06\x03\x2b\x65\x70", 5);
    static constexpr std::string_view kEd25519Name(
        "\x13\x0c"
        "edwards25519",
        14);
    if ((pub.ec_params != kEd25519Oid && pub.ec_params != kEd25519Name) ||
        pub.ec_point.size() != kEd25519PublicKeySize) {
      return absl::InvalidArgumentError("the key's Edwards curve is not Ed25519");
    }
    key->bits = kEd25519Bits;
    key->ec_point = pub.ec_point;
    return absl::OkStatus();
  }
  if (pub.family != KeyFamily::kEc) {
    return absl::InvalidArgumentError("the provider signs with EC, RSA and Ed25519 keys only");
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(pub.ec_params.data());
  UniquePtr<ASN1_OBJECT> oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(pub.ec_params.size())));
  int nid = oid ? OBJ_obj2nid(oid.get()) : NID_undef;
  if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1) {
    return absl::InvalidArgumentError("the key's curve is neither P-256 nor P-384");
  }
  key->group_name = OBJ_nid2sn(nid);
  key->bits = nid == NID_secp384r1 ? 384 : 256;
  key->ec_point = pub.ec_point;
  return absl::OkStatus();
}

size_t MaxSignatureSize(const ProvKey& key) {
  if (key.family == KeyFamily::kEdwards) return kEd25519SignatureSize;
  if (key.family == KeyFamily::kRsa) return (static_cast<size_t>(key.bits) + 7) / 8;
  // SEQUENCE { INTEGER r, INTEGER s }, each at most one byte longer than the order.
  size_t n = (static_cast<size_t>(key.bits) + 7) / 8;
  return 2 * (n + 3) + 3;
}

const char* DefaultDigest(const ProvKey& key) {
  return key.family == KeyFamily::kEc && key.bits > 256 ? "SHA384" : "SHA256";
}

#define MASA_KEYMGMT_COMMON(prefix)                                                            \
  {OSSL_FUNC_KEYMGMT_NEW, reinterpret_cast<Fn>(prefix##New)},                                  \
      {OSSL_FUNC_KEYMGMT_FREE, reinterpret_cast<Fn>(Free)},                                    \
      {OSSL_FUNC_KEYMGMT_LOAD, reinterpret_cast<Fn>(Load)},                                    \
      {OSSL_FUNC_KEYMGMT_HAS, reinterpret_cast<Fn>(Has)},                                      \
      {OSSL_FUNC_KEYMGMT_MATCH, reinterpret_cast<Fn>(Match)},                                  \
      {OSSL_FUNC_KEYMGMT_IMPORT, reinterpret_cast<Fn>(Import)},                                \
      {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, reinterpret_cast<Fn>(prefix##ImportTypes)},             \
      {OSSL_FUNC_KEYMGMT_EXPORT, reinterpret_cast<Fn>(Export)},                                \
      {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, reinterpret_cast<Fn>(prefix##ImportTypes)},             \
      {OSSL_FUNC_KEYMGMT_GET_PARAMS, reinterpret_cast<Fn>(GetParams)},                         \
      {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, reinterpret_cast<Fn>(prefix##GettableParams)},       \
      {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, reinterpret_cast<Fn>(prefix##OperationName)}, { \
    0, nullptr                                                                                 \
  }

const OSSL_DISPATCH kEcKeymgmtFunctions[] = {MASA_KEYMGMT_COMMON(Ec)};
const OSSL_DISPATCH kRsaKeymgmtFunctions[] = {MASA_KEYMGMT_COMMON(Rsa)};
const OSSL_DISPATCH kEd25519KeymgmtFunctions[] = {MASA_KEYMGMT_COMMON(Ed)};
#undef MASA_KEYMGMT_COMMON

}  // namespace masa::hsm::internal
