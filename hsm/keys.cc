// Keys on a token: lookup by pkcs11: URI (RFC 7512), listing, generation inside the token,
// and the per-session key handles signing uses.
#include <stdlib.h>

#include <algorithm>
#include <cstring>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/der.h"
#include "common/log.h"
#include "common/openssl.h"
#include "common/status.h"
#include "hsm/internal/ck.h"
#include "hsm/internal/token_impl.h"

namespace masa::hsm {
namespace internal {
namespace {

constexpr size_t kKeyIdSize = 16;

// DER of the namedCurve OIDs (CKA_EC_PARAMS).
constexpr unsigned char kP256Params[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                         0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr unsigned char kP384Params[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
// id-Ed25519 (1.3.101.112), as RFC 8410 and PKCS#11 3.0 name the curve.
constexpr unsigned char kEd25519Params[] = {0x06, 0x03, 0x2b, 0x65, 0x70};

std::string_view AsView(const unsigned char* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// CKA_EC_POINT is a DER OCTET STRING holding the point; some tokens return the bare point.
// Returns the content when `value` is exactly one OCTET STRING whose content has a length
// `plausible` accepts, else `value` unchanged.
template <typename Plausible>
std::string UnwrapOctetString(const std::string& value, Plausible plausible) {
  absl::StatusOr<std::string_view> content = der::ReadWhole(value, der::kOctetString);
  if (!content.ok() || !plausible(content->size())) return value;
  return std::string(*content);
}

int BitLength(std::string_view big_endian) {
  size_t i = 0;
  while (i < big_endian.size() && big_endian[i] == 0) ++i;
  if (i == big_endian.size()) return 0;
  int bits = static_cast<int>((big_endian.size() - i - 1) * 8);
  for (auto top = static_cast<unsigned char>(big_endian[i]); top != 0; top >>= 1) ++bits;
  return bits;
}

}  // namespace

std::string FormatObjectUri(std::string_view token_label, std::string_view label,
                            std::string_view id, CK_OBJECT_CLASS object_class) {
  UriPtr uri(p11_kit_uri_new());
  if (uri == nullptr) return "";
  CK_TOKEN_INFO* token = p11_kit_uri_get_token_info(uri.get());
  std::string padded = Padded(token_label);
  std::memcpy(token->label, padded.data(), kLabelSize);
  if (!label.empty()) {
    CK_ATTRIBUTE attribute = {CKA_LABEL, const_cast<char*>(label.data()), label.size()};
    p11_kit_uri_set_attribute(uri.get(), &attribute);
  }
  if (!id.empty()) {
    CK_ATTRIBUTE attribute = {CKA_ID, const_cast<char*>(id.data()), id.size()};
    p11_kit_uri_set_attribute(uri.get(), &attribute);
  }
  CK_ATTRIBUTE class_attribute = {CKA_CLASS, &object_class, sizeof(object_class)};
  p11_kit_uri_set_attribute(uri.get(), &class_attribute);
  char* text = nullptr;
  if (p11_kit_uri_format(uri.get(), P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &text) != P11_KIT_URI_OK ||
      text == nullptr) {
    return "";
  }
  std::string result(text);
  free(text);
  return result;
}

absl::StatusOr<KeyInfo> TokenImpl::ReadKeyInfo(CK_OBJECT_HANDLE handle) {
  KeyInfo key;
  MASA_ASSIGN_OR_RETURN(key.label, GetAttribute(fl_, admin_session_, handle, CKA_LABEL));
  MASA_ASSIGN_OR_RETURN(key.id, GetAttribute(fl_, admin_session_, handle, CKA_ID));
  MASA_ASSIGN_OR_RETURN(CK_ULONG key_type,
                        GetUlongAttribute(fl_, admin_session_, handle, CKA_KEY_TYPE));
  key.uri = FormatObjectUri(label_, key.label, key.id, CKO_PRIVATE_KEY);

  CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
  CK_BBOOL yes = CK_TRUE;
  std::vector<CK_ATTRIBUTE> search = {{CKA_CLASS, &public_class, sizeof(public_class)},
                                      {CKA_TOKEN, &yes, sizeof(yes)},
                                      {CKA_KEY_TYPE, &key_type, sizeof(key_type)}};
  if (!key.id.empty()) {
    search.push_back({CKA_ID, key.id.data(), key.id.size()});
  } else {
    search.push_back({CKA_LABEL, key.label.data(), key.label.size()});
  }
  MASA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> publics,
                        FindObjects(fl_, admin_session_, search.data(), search.size()));
  if (publics.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("key ", key.uri, " has no public key object with the same CKA_ID"));
  }
  CK_OBJECT_HANDLE pub = publics.front();
  PublicKeyInfo& info = key.public_key;
  switch (key_type) {
    case CKK_EC: {
      info.family = KeyFamily::kEc;
      MASA_ASSIGN_OR_RETURN(info.ec_params, GetAttribute(fl_, admin_session_, pub, CKA_EC_PARAMS));
      MASA_ASSIGN_OR_RETURN(std::string point,
                            GetAttribute(fl_, admin_session_, pub, CKA_EC_POINT));
      info.ec_point = UnwrapOctetString(point, [](size_t n) { return n % 2 == 1; });
      if (info.ec_params == AsView(kP256Params, sizeof(kP256Params))) {
        info.bits = 256;
      } else if (info.ec_params == AsView(kP384Params, sizeof(kP384Params))) {
        info.bits = 384;
      } else {
        info.bits = static_cast<int>((info.ec_point.size() - 1) / 2 * 8);
      }
      break;
    }
    case CKK_EC_EDWARDS: {
      info.family = KeyFamily::kEdwards;
      MASA_ASSIGN_OR_RETURN(info.ec_params, GetAttribute(fl_, admin_session_, pub, CKA_EC_PARAMS));
      MASA_ASSIGN_OR_RETURN(std::string point,
                            GetAttribute(fl_, admin_session_, pub, CKA_EC_POINT));
      info.ec_point = UnwrapOctetString(point, [](size_t n) { return n == 32 || n == 57; });
      info.bits = info.ec_point.size() == 57 ? 448 : 255;
      break;
    }
    case CKK_RSA: {
      info.family = KeyFamily::kRsa;
      MASA_ASSIGN_OR_RETURN(info.rsa_modulus, GetAttribute(fl_, admin_session_, pub, CKA_MODULUS));
      MASA_ASSIGN_OR_RETURN(info.rsa_public_exponent,
                            GetAttribute(fl_, admin_session_, pub, CKA_PUBLIC_EXPONENT));
      info.bits = BitLength(info.rsa_modulus);
      break;
    }
    default:
      return absl::FailedPreconditionError(
          absl::StrFormat("key %s has unsupported CKA_KEY_TYPE 0x%x", key.uri, key_type));
  }
  return key;
}

absl::StatusOr<KeyInfo> TokenImpl::FindKey(std::string_view uri_text) {
  UriPtr uri(p11_kit_uri_new());
  if (uri == nullptr) return absl::ResourceExhaustedError("p11_kit_uri_new failed");
  std::string text(uri_text);
  int parsed = p11_kit_uri_parse(text.c_str(), P11_KIT_URI_FOR_OBJECT_ON_TOKEN, uri.get());
  if (parsed != P11_KIT_URI_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid pkcs11: URI '", text, "': ", p11_kit_uri_message(parsed)));
  }
  if (p11_kit_uri_any_unrecognized(uri.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat("pkcs11: URI '", text, "' has attributes this library does not know"));
  }
  if (!p11_kit_uri_match_token_info(uri.get(), &info_)) {
    return absl::NotFoundError(
        absl::StrCat("URI '", text, "' names another token than '", label_, "'"));
  }
  CK_ULONG count = 0;
  CK_ATTRIBUTE* attributes = p11_kit_uri_get_attributes(uri.get(), &count);
  std::vector<CK_ATTRIBUTE> search(attributes, attributes + count);
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  auto class_it = std::find_if(search.begin(), search.end(),
                               [](const CK_ATTRIBUTE& a) { return a.type == CKA_CLASS; });
  if (class_it == search.end()) {
    search.push_back({CKA_CLASS, &private_class, sizeof(private_class)});
  } else if (class_it->ulValueLen != sizeof(CK_OBJECT_CLASS) ||
             *static_cast<CK_OBJECT_CLASS*>(class_it->pValue) != CKO_PRIVATE_KEY) {
    return absl::InvalidArgumentError(
        absl::StrCat("URI '", text, "' does not name a private key (type= must be private)"));
  }
  // Every session of this application sees the pool's session-object copies of the keys:
  // look at token objects only.
  CK_BBOOL yes = CK_TRUE;
  search.push_back({CKA_TOKEN, &yes, sizeof(yes)});

  std::lock_guard<std::mutex> lock(admin_mu_);
  MASA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found,
                        FindObjects(fl_, admin_session_, search.data(), search.size()));
  if (found.empty()) {
    return absl::NotFoundError(absl::StrCat("no private key matches '", text, "'"));
  }
  if (found.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(found.size(), " private keys match '", text,
                                                   "'; add id= or object= to choose one"));
  }
  return ReadKeyInfo(found.front());
}

absl::StatusOr<std::vector<KeyInfo>> TokenImpl::ListKeys() {
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE search[] = {{CKA_CLASS, &private_class, sizeof(private_class)},
                           {CKA_TOKEN, &yes, sizeof(yes)}};
  std::lock_guard<std::mutex> lock(admin_mu_);
  MASA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found,
                        FindObjects(fl_, admin_session_, search, 2));
  std::vector<KeyInfo> keys;
  for (CK_OBJECT_HANDLE handle : found) {
    MASA_ASSIGN_OR_RETURN(KeyInfo key, ReadKeyInfo(handle));
    keys.push_back(std::move(key));
  }
  return keys;
}

absl::StatusOr<KeyInfo> TokenImpl::GenerateKeyPair(KeyType type, std::string_view label_view) {
  if (label_view.empty()) return absl::InvalidArgumentError("a key needs a label");
  std::string label(label_view);
  CK_MECHANISM mechanism = {CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  const unsigned char* ec_params = nullptr;
  size_t ec_params_size = 0;
  switch (type) {
    case KeyType::kEcP256:
      ec_params = kP256Params;
      ec_params_size = sizeof(kP256Params);
      break;
    case KeyType::kEcP384:
      ec_params = kP384Params;
      ec_params_size = sizeof(kP384Params);
      break;
    case KeyType::kRsa3072:
      mechanism.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
      break;
    case KeyType::kEd25519:
      mechanism.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
      ec_params = kEd25519Params;
      ec_params_size = sizeof(kEd25519Params);
      break;
  }
  if (mechanisms_.count(mechanism.mechanism) == 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("token '%s' has no key-pair generation mechanism 0x%x for this key type",
                        label_, mechanism.mechanism));
  }

  std::string id(kKeyIdSize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), static_cast<int>(id.size())) != 1) {
    return FromOpenSslErrors("generating a key id", absl::StatusCode::kUnavailable);
  }
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_ULONG modulus_bits = 3072;
  unsigned char public_exponent[] = {0x01, 0x00, 0x01};
  std::vector<CK_ATTRIBUTE> public_template = {
      {CKA_TOKEN, &yes, sizeof(yes)},  {CKA_PRIVATE, &no, sizeof(no)},
      {CKA_VERIFY, &yes, sizeof(yes)}, {CKA_LABEL, label.data(), label.size()},
      {CKA_ID, id.data(), id.size()},
  };
  if (type == KeyType::kRsa3072) {
    public_template.push_back({CKA_MODULUS_BITS, &modulus_bits, sizeof(modulus_bits)});
    public_template.push_back({CKA_PUBLIC_EXPONENT, public_exponent, sizeof(public_exponent)});
  } else {
    public_template.push_back(
        {CKA_EC_PARAMS, const_cast<unsigned char*>(ec_params), ec_params_size});
  }
  std::vector<CK_ATTRIBUTE> private_template = {
      {CKA_TOKEN, &yes, sizeof(yes)},
      {CKA_PRIVATE, &yes, sizeof(yes)},
      {CKA_SENSITIVE, &yes, sizeof(yes)},
      {CKA_EXTRACTABLE, &no, sizeof(no)},
      {CKA_SIGN, &yes, sizeof(yes)},
      // Lets each pool session hold a session-object copy (see KeyHandle()); the copy is
      // as sensitive and non-extractable as the original.
      {CKA_COPYABLE, &yes, sizeof(yes)},
      {CKA_LABEL, label.data(), label.size()},
      {CKA_ID, id.data(), id.size()},
  };

  std::lock_guard<std::mutex> lock(admin_mu_);
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE same_label[] = {{CKA_CLASS, &private_class, sizeof(private_class)},
                               {CKA_TOKEN, &yes, sizeof(yes)},
                               {CKA_LABEL, label.data(), label.size()}};
  MASA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> existing,
                        FindObjects(fl_, admin_session_, same_label, 3));
  if (!existing.empty()) {
    return absl::AlreadyExistsError(
        absl::StrCat("token '", label_, "' already has a private key labelled '", label, "'"));
  }
  CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
  MASA_RETURN_IF_ERROR(
      Annotate(MASA_CK(fl_, C_GenerateKeyPair, admin_session_, &mechanism, public_template.data(),
                       public_template.size(), private_template.data(), private_template.size(),
                       &public_key, &private_key),
               absl::StrCat("generating key pair '", label, "' on token '", label_, "'")));
  return ReadKeyInfo(private_key);
}

namespace {

// A BIGNUM parameter of `key` as big-endian bytes (`size` bytes, zero-padded, when nonzero).
absl::StatusOr<Secret> BnParam(const EVP_PKEY* key, const char* name, int size = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1 || raw == nullptr) {
    return FromOpenSslErrors(absl::StrCat("the key has no ", name),
                             absl::StatusCode::kInvalidArgument);
  }
  UniquePtr<BIGNUM> bn(raw);
  std::string bytes(size > 0 ? size : BN_num_bytes(bn.get()), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()),
                   static_cast<int>(bytes.size())) < 0) {
    return absl::InvalidArgumentError(absl::StrCat("the key's ", name, " does not fit"));
  }
  BN_clear(bn.get());
  return Secret(std::move(bytes));
}

// DER OCTET STRING around `content` (CKA_EC_POINT), short or long form length.
std::string OctetString(std::string_view content) {
  std::string out(1, '\x04');
  if (content.size() < 0x80) {
    out.push_back(static_cast<char>(content.size()));
  } else {
    out.push_back('\x81');
    out.push_back(static_cast<char>(content.size()));
  }
  out.append(content);
  return out;
}

CK_ATTRIBUTE Attribute(CK_ATTRIBUTE_TYPE type, const Secret& value) {
  return {type, const_cast<char*>(value.view().data()), value.view().size()};
}

}  // namespace

absl::StatusOr<KeyInfo> TokenImpl::ImportKeyPair(std::string_view label_view,
                                                 std::string_view id_view,
                                                 std::string_view pkcs8_der) {
  if (label_view.empty()) return absl::InvalidArgumentError("a key needs a label");
  if (pkcs8_der.size() > (1u << 16)) return absl::InvalidArgumentError("the key is too large");
  std::string label(label_view);
  std::string id(id_view);
  if (id.empty()) {
    id.resize(kKeyIdSize);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), static_cast<int>(id.size())) != 1) {
      return FromOpenSslErrors("generating a key id", absl::StatusCode::kUnavailable);
    }
  }
  const auto* p = reinterpret_cast<const unsigned char*>(pkcs8_der.data());
  UniquePtr<EVP_PKEY> key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(pkcs8_der.size())));
  if (key == nullptr) {
    return FromOpenSslErrors("the key is not a DER PKCS#8 private key",
                             absl::StatusCode::kInvalidArgument);
  }

  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
  CK_KEY_TYPE key_type = CKK_EC;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  std::vector<CK_ATTRIBUTE> private_template = {
      {CKA_CLASS, &private_class, sizeof(private_class)},
      {CKA_KEY_TYPE, &key_type, sizeof(key_type)},
      {CKA_TOKEN, &yes, sizeof(yes)},
      {CKA_PRIVATE, &yes, sizeof(yes)},
      {CKA_SENSITIVE, &yes, sizeof(yes)},
      {CKA_EXTRACTABLE, &no, sizeof(no)},
      {CKA_SIGN, &yes, sizeof(yes)},
      {CKA_COPYABLE, &yes, sizeof(yes)},
      {CKA_LABEL, label.data(), label.size()},
      {CKA_ID, id.data(), id.size()},
  };
  std::vector<CK_ATTRIBUTE> public_template = {
      {CKA_CLASS, &public_class, sizeof(public_class)},
      {CKA_KEY_TYPE, &key_type, sizeof(key_type)},
      {CKA_TOKEN, &yes, sizeof(yes)},
      {CKA_PRIVATE, &no, sizeof(no)},
      {CKA_VERIFY, &yes, sizeof(yes)},
      {CKA_LABEL, label.data(), label.size()},
      {CKA_ID, id.data(), id.size()},
  };
  // Owners of the attribute values, alive until the objects are created.
  std::vector<Secret> values;
  values.reserve(16);
  auto add = [&](std::vector<CK_ATTRIBUTE>& to, CK_ATTRIBUTE_TYPE type, Secret value) {
    values.push_back(std::move(value));
    to.push_back(Attribute(type, values.back()));
  };
  auto as_secret = [](const unsigned char* data, size_t size) {
    return Secret(std::string(reinterpret_cast<const char*>(data), size));
  };
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_EC: {
      int bits = EVP_PKEY_get_bits(key.get());
      if (bits != 256 && bits != 384) {
        return absl::InvalidArgumentError("only P-256 and P-384 EC keys can be imported");
      }
      Secret params = bits == 256 ? as_secret(kP256Params, sizeof(kP256Params))
                                  : as_secret(kP384Params, sizeof(kP384Params));
      unsigned char point[160];
      size_t point_size = 0;
      if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                          &point_size) != 1 ||
          point_size == 0 || point[0] != 0x04) {
        return absl::InvalidArgumentError("the EC key has no uncompressed public point");
      }
      MASA_ASSIGN_OR_RETURN(Secret d, BnParam(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, bits / 8));
      add(private_template, CKA_EC_PARAMS, Secret(std::string(params.view())));
      add(private_template, CKA_VALUE, std::move(d));
      add(public_template, CKA_EC_PARAMS, std::move(params));
      add(public_template, CKA_EC_POINT,
          Secret(OctetString(std::string_view(reinterpret_cast<char*>(point), point_size))));
      break;
    }
    case EVP_PKEY_ED25519: {
      key_type = CKK_EC_EDWARDS;
      unsigned char raw[32];
      size_t size = sizeof(raw);
      if (EVP_PKEY_get_raw_private_key(key.get(), raw, &size) != 1 || size != 32) {
        return absl::InvalidArgumentError("the Ed25519 key has no 32-byte private key");
      }
      add(private_template, CKA_VALUE, as_secret(raw, size));
      OPENSSL_cleanse(raw, sizeof(raw));
      size = sizeof(raw);
      if (EVP_PKEY_get_raw_public_key(key.get(), raw, &size) != 1 || size != 32) {
        return absl::InvalidArgumentError("the Ed25519 key has no 32-byte public key");
      }
      add(private_template, CKA_EC_PARAMS, as_secret(kEd25519Params, sizeof(kEd25519Params)));
      add(public_template, CKA_EC_PARAMS, as_secret(kEd25519Params, sizeof(kEd25519Params)));
      add(public_template, CKA_EC_POINT,
          Secret(OctetString(std::string_view(reinterpret_cast<char*>(raw), size))));
      break;
    }
    case EVP_PKEY_RSA: {
      key_type = CKK_RSA;
      struct {
        CK_ATTRIBUTE_TYPE type;
        const char* name;
        bool is_public;
      } const parts[] = {
          {CKA_MODULUS, OSSL_PKEY_PARAM_RSA_N, true},
          {CKA_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E, true},
          {CKA_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D, false},
          {CKA_PRIME_1, OSSL_PKEY_PARAM_RSA_FACTOR1, false},
          {CKA_PRIME_2, OSSL_PKEY_PARAM_RSA_FACTOR2, false},
          {CKA_EXPONENT_1, OSSL_PKEY_PARAM_RSA_EXPONENT1, false},
          {CKA_EXPONENT_2, OSSL_PKEY_PARAM_RSA_EXPONENT2, false},
          {CKA_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, false},
      };
      for (const auto& part : parts) {
        MASA_ASSIGN_OR_RETURN(Secret value, BnParam(key.get(), part.name));
        if (part.is_public)
          add(public_template, part.type,
              as_secret(reinterpret_cast<const unsigned char*>(value.view().data()),
                        value.view().size()));
        add(private_template, part.type, std::move(value));
      }
      break;
    }
    default:
      return absl::InvalidArgumentError(
          "only EC P-256/P-384, Ed25519 and RSA keys can be imported");
  }

  std::lock_guard<std::mutex> lock(admin_mu_);
  CK_ATTRIBUTE same_label[] = {{CKA_CLASS, &private_class, sizeof(private_class)},
                               {CKA_TOKEN, &yes, sizeof(yes)},
                               {CKA_LABEL, label.data(), label.size()}};
  MASA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> existing,
                        FindObjects(fl_, admin_session_, same_label, 3));
  if (!existing.empty()) {
    return absl::AlreadyExistsError(
        absl::StrCat("token '", label_, "' already has a private key labelled '", label, "'"));
  }
  CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
  MASA_RETURN_IF_ERROR(Annotate(MASA_CK(fl_, C_CreateObject, admin_session_, public_template.data(),
                                        public_template.size(), &public_key),
                                absl::StrCat("importing public key '", label, "'")));
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
  absl::Status created = MASA_CK(fl_, C_CreateObject, admin_session_, private_template.data(),
                                 private_template.size(), &private_key);
  if (!created.ok()) {
    (void)MASA_CK(fl_, C_DestroyObject, admin_session_, public_key);
    return Annotate(created, absl::StrCat("importing private key '", label, "'"));
  }
  return ReadKeyInfo(private_key);
}

absl::StatusOr<CK_OBJECT_HANDLE> TokenImpl::KeyHandle(PooledSession& session, const KeyInfo& key) {
  std::string cache_key = absl::StrCat(key.id.size(), ":", key.id, key.label);
  if (auto it = session.keys.find(cache_key); it != session.keys.end()) return it->second;
  std::lock_guard<std::mutex> lock(key_lookup_mu_);

  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_BBOOL yes = CK_TRUE;
  std::vector<CK_ATTRIBUTE> search = {{CKA_CLASS, &private_class, sizeof(private_class)},
                                      {CKA_TOKEN, &yes, sizeof(yes)}};
  std::string id = key.id;
  std::string label = key.label;
  if (!id.empty()) search.push_back({CKA_ID, id.data(), id.size()});
  if (!label.empty()) search.push_back({CKA_LABEL, label.data(), label.size()});
  if (id.empty() && label.empty()) {
    return absl::InvalidArgumentError("the key has neither CKA_ID nor CKA_LABEL");
  }
  MASA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found,
                        FindObjects(fl_, session.handle, search.data(), search.size()));
  if (found.size() != 1) {
    return absl::NotFoundError(
        absl::StrCat(found.size(), " private keys on token '", label_, "' match ", key.uri));
  }
  CK_OBJECT_HANDLE handle = found.front();
  if (options_.session_key_copies) {
    // SoftHSM2 re-checks the token object's file on every use of a token object; a
    // session-object copy lives only in memory, so signing stops touching the disk.
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE copy_template[] = {{CKA_TOKEN, &no, sizeof(no)}};
    CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
    CkResult copied = MASA_CK(fl_, C_CopyObject, session.handle, handle, copy_template, 1, &copy);
    if (copied.ok()) {
      handle = copy;
    } else if (!copy_refusal_logged_.exchange(true)) {
      Log(LogLevel::kInfo,
          absl::StrCat("token '", label_, "' will not copy key ", key.uri, " (",
                       copied.status().message(), "); signing with the token object"));
    }
  }
  session.keys.emplace(std::move(cache_key), handle);
  return handle;
}

}  // namespace internal

std::string PrivateKeyUri(std::string_view token_label, std::string_view label) {
  return internal::FormatObjectUri(token_label, label, "", CKO_PRIVATE_KEY);
}

}  // namespace masa::hsm
