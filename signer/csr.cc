#include "signer/csr.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "signer/certificate.h"

namespace masa::signer {

absl::StatusOr<std::string> CreateCsr(std::string_view subject, EVP_PKEY* public_key,
                                      EVP_PKEY* private_key, OSSL_LIB_CTX* libctx,
                                      const char* propq) {
  if (public_key == nullptr || private_key == nullptr) {
    return absl::InvalidArgumentError("a certificate request needs the key's both halves");
  }
  MASA_ASSIGN_OR_RETURN(UniquePtr<X509_NAME> name, ParseDistinguishedName(subject));
  UniquePtr<X509_REQ> req(X509_REQ_new_ex(libctx, propq));
  if (req == nullptr || !X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) ||
      !X509_REQ_set_subject_name(req.get(), name.get()) ||
      !X509_REQ_set_pubkey(req.get(), public_key)) {
    return FromOpenSslErrors("building the certificate request");
  }
  UniquePtr<EVP_MD_CTX> md_ctx(EVP_MD_CTX_new());
  if (md_ctx == nullptr ||
      EVP_DigestSignInit_ex(md_ctx.get(), nullptr, SignatureDigestFor(public_key), libctx, propq,
                            private_key, nullptr) != 1) {
    return FromOpenSslErrors("preparing to sign the certificate request with the key");
  }
  if (X509_REQ_sign_ctx(req.get(), md_ctx.get()) <= 0) {
    return FromOpenSslErrors("signing the certificate request");
  }
  // What the CA will check first: the request's own signature with its public key.
  if (X509_REQ_verify(req.get(), public_key) != 1) {
    return FromOpenSslErrors("the signed request does not verify with the key's public half");
  }
  unsigned char* der = nullptr;
  int len = i2d_X509_REQ(req.get(), &der);
  if (len <= 0) return FromOpenSslErrors("encoding the certificate request");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<uint64_t> RandomSerial() {
  uint64_t serial = 0;
  while (serial == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial)) != 1) {
      return FromOpenSslErrors("drawing a random serial number");
    }
    serial &= ~(uint64_t{1} << 63);
  }
  return serial;
}

absl::StatusOr<UniquePtr<X509>> IssueEndEntityCertificate(std::string_view subject,
                                                          EVP_PKEY* public_key, X509* ca_cert,
                                                          EVP_PKEY* ca_key, OSSL_LIB_CTX* libctx,
                                                          const char* propq, absl::Time not_before,
                                                          absl::Time not_after) {
  if (ca_cert == nullptr) return absl::InvalidArgumentError("no CA certificate given");
  MASA_ASSIGN_OR_RETURN(uint64_t serial, RandomSerial());
  return IssueCertificate(subject, public_key, ca_cert, ca_key, libctx, propq, not_before,
                          not_after, /*is_ca=*/false, serial);
}

absl::Status CheckCertificateKey(X509* cert, std::string_view public_key_der) {
  if (cert == nullptr) return absl::InvalidArgumentError("no certificate given");
  const auto* p = reinterpret_cast<const unsigned char*>(public_key_der.data());
  UniquePtr<EVP_PKEY> key(d2i_PUBKEY(nullptr, &p, static_cast<long>(public_key_der.size())));
  if (key == nullptr) {
    return FromOpenSslErrors("the key's public half is not a DER SubjectPublicKeyInfo",
                             absl::StatusCode::kInvalidArgument);
  }
  EVP_PKEY* cert_key = X509_get0_pubkey(cert);
  if (cert_key == nullptr || EVP_PKEY_eq(cert_key, key.get()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(absl::StrCat("the certificate ", SubjectName(cert),
                                                      " holds another public key than the key's"));
  }
  return absl::OkStatus();
}

absl::Status CheckChain(const std::vector<X509*>& chain, X509* trust_anchor, absl::Time at) {
  if (chain.empty() || chain.front() == nullptr || trust_anchor == nullptr) {
    return absl::InvalidArgumentError("a chain check needs a certificate and a trust anchor");
  }
  UniquePtr<X509_STORE> store(X509_STORE_new());
  X509Stack untrusted(sk_X509_new_null());
  if (store == nullptr || untrusted == nullptr || !X509_STORE_add_cert(store.get(), trust_anchor)) {
    return FromOpenSslErrors("preparing the trust store");
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (chain[i] != nullptr && !sk_X509_push(untrusted.get(), UpRef(chain[i]).release())) {
      return FromOpenSslErrors("sk_X509_push");
    }
  }
  UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (ctx == nullptr ||
      !X509_STORE_CTX_init(ctx.get(), store.get(), chain.front(), untrusted.get())) {
    return FromOpenSslErrors("X509_STORE_CTX_init");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(absl::ToUnixSeconds(at)));
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_ANY);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    X509* failed = X509_STORE_CTX_get_current_cert(ctx.get());
    ERR_clear_error();
    return absl::FailedPreconditionError(
        absl::StrCat("the certificate chain of ", SubjectName(chain.front()),
                     " does not verify to the trust anchor ", SubjectName(trust_anchor), ": ",
                     X509_verify_cert_error_string(err),
                     failed != nullptr ? absl::StrCat(" (at ", SubjectName(failed), ")") : ""));
  }
  return absl::OkStatus();
}

}  // namespace masa::signer
