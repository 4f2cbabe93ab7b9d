#include "common/openssl.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"

namespace masa {

UniquePtr<EVP_PKEY> UpRef(EVP_PKEY* key) {
  if (key != nullptr) EVP_PKEY_up_ref(key);
  return UniquePtr<EVP_PKEY>(key);
}

UniquePtr<X509> UpRef(X509* cert) {
  if (cert != nullptr) X509_up_ref(cert);
  return UniquePtr<X509>(cert);
}

absl::Status FromOpenSslErrors(std::string_view what, absl::StatusCode code) {
  std::string message(what);
  const char* sep = ": ";
  unsigned long err;
  const char* data = nullptr;
  int flags = 0;
  while ((err = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    const char* reason = ERR_reason_error_string(err);
    absl::StrAppend(&message, sep, reason != nullptr ? reason : buf);
    // Providers (ours among them) put the useful part in the error data.
    if ((flags & ERR_TXT_STRING) && data != nullptr && *data != '\0') {
      absl::StrAppend(&message, " (", data, ")");
    }
    sep = "; ";
  }
  return absl::Status(code, message);
}

namespace {
bool LooksLikePem(std::string_view data) {
  return data.find("-----BEGIN") != std::string_view::npos;
}
}  // namespace

absl::StatusOr<std::vector<UniquePtr<X509>>> ParseCertificates(std::string_view data) {
  std::vector<UniquePtr<X509>> certs;
  if (LooksLikePem(data)) {
    UniquePtr<BIO> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    while (true) {
      UniquePtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
      if (cert == nullptr) break;
      // As for DER below: a certificate read is one read, whatever d2i queued about it.
      ERR_clear_error();
      certs.push_back(std::move(cert));
    }
    unsigned long err = ERR_peek_last_error();
    if (!certs.empty() && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) ERR_clear_error();
    if (certs.empty() || ERR_peek_error() != 0) {
      return FromOpenSslErrors("not a valid PEM certificate", absl::StatusCode::kInvalidArgument);
    }
    return certs;
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data());
  UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(data.size())));
  if (cert == nullptr) {
    return FromOpenSslErrors("not a valid DER or PEM certificate",
                             absl::StatusCode::kInvalidArgument);
  }
  // d2i_X509 succeeds on a certificate whose extensions do not decode, but queues an error
  // (ossl_x509v3_cache_extensions); left there, it would surface in an unrelated message.
  // Such a certificate is marked EXFLAG_INVALID for callers that care.
  ERR_clear_error();
  if (p != reinterpret_cast<const unsigned char*>(data.data()) + data.size()) {
    return absl::InvalidArgumentError("trailing bytes after the DER certificate");
  }
  certs.push_back(std::move(cert));
  return certs;
}

absl::StatusOr<UniquePtr<X509>> ParseCertificate(std::string_view data) {
  auto certs = ParseCertificates(data);
  if (!certs.ok()) return certs.status();
  if (certs->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected one certificate, found ", certs->size()));
  }
  return std::move(certs->front());
}

absl::StatusOr<std::string> CertificateToDer(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) return FromOpenSslErrors("encoding certificate");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::string> PublicKeyToDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = key == nullptr ? 0 : i2d_PUBKEY(key, &der);
  if (len <= 0) return FromOpenSslErrors("encoding a public key");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::string> CertificateToPem(X509* cert) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) return FromOpenSslErrors("encoding certificate");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string SubjectName(X509* cert) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace masa
