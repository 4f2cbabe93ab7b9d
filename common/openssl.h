// Owning pointers for OpenSSL handles and the one translation of OpenSSL's error queue.
//   masa::UniquePtr<X509> cert(PEM_read_bio_X509(...));
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ossl_typ.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace masa {
namespace internal {
template <typename T>
struct Deleter;
#define MASA_OPENSSL_DELETER(type, fn)        \
  template <>                                 \
  struct Deleter<type> {                      \
    void operator()(type* p) const { fn(p); } \
  }
MASA_OPENSSL_DELETER(BIO, BIO_free_all);
MASA_OPENSSL_DELETER(BIGNUM, BN_free);
MASA_OPENSSL_DELETER(CMS_ContentInfo, CMS_ContentInfo_free);
MASA_OPENSSL_DELETER(ECDSA_SIG, ECDSA_SIG_free);
MASA_OPENSSL_DELETER(EVP_MD, EVP_MD_free);
MASA_OPENSSL_DELETER(EVP_MD_CTX, EVP_MD_CTX_free);
MASA_OPENSSL_DELETER(EVP_PKEY, EVP_PKEY_free);
MASA_OPENSSL_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
MASA_OPENSSL_DELETER(OSSL_LIB_CTX, OSSL_LIB_CTX_free);
MASA_OPENSSL_DELETER(OSSL_PROVIDER, OSSL_PROVIDER_unload);
MASA_OPENSSL_DELETER(OSSL_STORE_CTX, OSSL_STORE_close);
MASA_OPENSSL_DELETER(OSSL_STORE_INFO, OSSL_STORE_INFO_free);
MASA_OPENSSL_DELETER(X509, X509_free);
MASA_OPENSSL_DELETER(X509_NAME, X509_NAME_free);
MASA_OPENSSL_DELETER(X509_REQ, X509_REQ_free);
MASA_OPENSSL_DELETER(X509_STORE, X509_STORE_free);
MASA_OPENSSL_DELETER(X509_STORE_CTX, X509_STORE_CTX_free);
MASA_OPENSSL_DELETER(X509_ALGOR, X509_ALGOR_free);
MASA_OPENSSL_DELETER(X509_EXTENSION, X509_EXTENSION_free);
MASA_OPENSSL_DELETER(ASN1_OBJECT, ASN1_OBJECT_free);
// ASN1_STRING covers ASN1_INTEGER, ASN1_OCTET_STRING and ASN1_TIME (one type in OpenSSL).
MASA_OPENSSL_DELETER(ASN1_STRING, ASN1_STRING_free);
#undef MASA_OPENSSL_DELETER

struct X509StackDeleter {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
}  // namespace internal

// Owns one OpenSSL object of type T and frees it with T's own free function.
template <typename T>
using UniquePtr = std::unique_ptr<T, internal::Deleter<T>>;

// Owns a stack of certificates and every certificate in it.
using X509Stack = std::unique_ptr<STACK_OF(X509), internal::X509StackDeleter>;

// Returns a new owning reference to `key` / `cert` (the up-ref idiom of BoringSSL).
UniquePtr<EVP_PKEY> UpRef(EVP_PKEY* key);
UniquePtr<X509> UpRef(X509* cert);

// Drains the calling thread's OpenSSL error queue into one Status with `code`, the message
// being `what` followed by OpenSSL's reasons. Call right after the failing OpenSSL call.
absl::Status FromOpenSslErrors(std::string_view what,
                               absl::StatusCode code = absl::StatusCode::kInternal);

// Parses one certificate given as PEM or DER; kInvalidArgument says which form failed.
absl::StatusOr<UniquePtr<X509>> ParseCertificate(std::string_view pem_or_der);
// Parses every certificate in a PEM bundle (or one DER certificate), in order; at least one.
// Both forms accept the same certificates: one whose extensions do not decode is returned
// (X509_get_extension_flags has EXFLAG_INVALID) and the error queue is left empty.
absl::StatusOr<std::vector<UniquePtr<X509>>> ParseCertificates(std::string_view pem_or_der);
// Encodes `cert` as DER / PEM.
absl::StatusOr<std::string> CertificateToDer(X509* cert);
absl::StatusOr<std::string> CertificateToPem(X509* cert);
// The DER SubjectPublicKeyInfo of `key`'s public half (an HSM key's too, through the
// provider). kInternal when it cannot be encoded (null key included).
absl::StatusOr<std::string> PublicKeyToDer(EVP_PKEY* key);
// The subject as a one-line RFC 2253 string, for messages.
std::string SubjectName(X509* cert);

}  // namespace masa
