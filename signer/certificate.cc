#include "signer/certificate.h"

#include <openssl/err.h>
#include <openssl/objects.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace masa::signer {
namespace {

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  UniquePtr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (ext == nullptr || !X509_add_ext(cert, ext.get(), -1)) {
    return FromOpenSslErrors(absl::StrCat("adding extension ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> SplitDn(std::string_view dn) {
  std::vector<std::string> parts;
  bool slash_form = !dn.empty() && dn.front() == '/';
  std::string current;
  if (slash_form) {
    for (size_t i = 1; i < dn.size(); ++i) {
      if (dn[i] == '\\' && i + 1 < dn.size()) {
        current.push_back(dn[++i]);
      } else if (dn[i] == '/') {
        parts.push_back(std::move(current));
        current.clear();
      } else {
        current.push_back(dn[i]);
      }
    }
  } else {
    for (size_t i = 0; i < dn.size(); ++i) {
      if (dn[i] == '\\' && i + 1 < dn.size()) {
        current.push_back(dn[++i]);
      } else if (dn[i] == ',') {
        parts.push_back(std::move(current));
        current.clear();
      } else {
        current.push_back(dn[i]);
      }
    }
  }
  parts.push_back(std::move(current));
  if (!slash_form) std::reverse(parts.begin(), parts.end());
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string& part : parts) {
    size_t b = part.find_first_not_of(' ');
    size_t e = part.find_last_not_of(' ');
    std::string p = b == std::string::npos ? "" : part.substr(b, e - b + 1);
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == p.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("distinguished name component \"", p, "\" is not TYPE=value"));
    }
    out.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  return out;
}

}  // namespace

const char* SignatureDigestFor(EVP_PKEY* public_key) {
  if (EVP_PKEY_is_a(public_key, "ED25519") || EVP_PKEY_is_a(public_key, "ED448")) return nullptr;
  if (EVP_PKEY_is_a(public_key, "EC")) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(public_key, group, sizeof(group), &len)) {
      std::string_view g(group, len);
      if (g == "P-384" || g == "secp384r1") return "SHA384";
      if (g == "P-521" || g == "secp521r1") return "SHA512";
    }
    ERR_clear_error();
  }
  return "SHA256";
}

absl::StatusOr<UniquePtr<X509_NAME>> ParseDistinguishedName(std::string_view subject) {
  if (subject.empty()) return absl::InvalidArgumentError("empty distinguished name");
  MASA_ASSIGN_OR_RETURN(auto components, SplitDn(subject));
  UniquePtr<X509_NAME> name(X509_NAME_new());
  if (name == nullptr) return FromOpenSslErrors("X509_NAME_new");
  for (const auto& [type, value] : components) {
    if (!X509_NAME_add_entry_by_txt(name.get(), type.c_str(), MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(value.data()),
                                    static_cast<int>(value.size()), -1, 0)) {
      return FromOpenSslErrors(absl::StrCat("distinguished name component ", type, "=", value),
                               absl::StatusCode::kInvalidArgument);
    }
  }
  return name;
}

absl::StatusOr<UniquePtr<X509>> IssueCertificate(std::string_view subject, EVP_PKEY* subject_key,
                                                 X509* issuer_cert, EVP_PKEY* issuer_key,
                                                 OSSL_LIB_CTX* libctx, const char* propq,
                                                 absl::Time not_before, absl::Time not_after,
                                                 bool is_ca, uint64_t serial,
                                                 std::string_view server_alt_names) {
  if (subject_key == nullptr || issuer_key == nullptr) {
    return absl::InvalidArgumentError("IssueCertificate needs a subject key and an issuer key");
  }
  if (not_after <= not_before) {
    return absl::InvalidArgumentError("not_after must be later than not_before");
  }
  if (serial == 0) return absl::InvalidArgumentError("serial must be positive");
  MASA_ASSIGN_OR_RETURN(UniquePtr<X509_NAME> name, ParseDistinguishedName(subject));

  UniquePtr<X509> cert(X509_new_ex(libctx, propq));
  if (cert == nullptr) return FromOpenSslErrors("X509_new_ex");
  UniquePtr<ASN1_STRING> serial_number(ASN1_INTEGER_new());
  if (serial_number == nullptr || !ASN1_INTEGER_set_uint64(serial_number.get(), serial) ||
      !X509_set_version(cert.get(), X509_VERSION_3) ||
      !X509_set_serialNumber(cert.get(), serial_number.get()) ||
      !X509_set_subject_name(cert.get(), name.get()) ||
      !X509_set_issuer_name(cert.get(), issuer_cert != nullptr ? X509_get_subject_name(issuer_cert)
                                                               : name.get()) ||
      !X509_set_pubkey(cert.get(), subject_key) ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()),
                    static_cast<time_t>(absl::ToUnixSeconds(not_before))) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                    static_cast<time_t>(absl::ToUnixSeconds(not_after))) == nullptr) {
    return FromOpenSslErrors("building the certificate");
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert != nullptr ? issuer_cert : cert.get(), cert.get(), nullptr,
                 nullptr, 0);
  MASA_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints,
                                    is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
  MASA_RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_key_usage,
                   is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"));
  MASA_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  // For a self-signed certificate the AKI is read from the SKI just added to it.
  MASA_RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!server_alt_names.empty()) {
    MASA_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_alt_name,
                                      std::string(server_alt_names).c_str()));
    MASA_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth"));
  }

  EVP_PKEY* issuer_public = issuer_cert != nullptr ? X509_get0_pubkey(issuer_cert) : subject_key;
  if (issuer_public == nullptr) {
    return FromOpenSslErrors("reading the issuer's public key", absl::StatusCode::kInvalidArgument);
  }
  UniquePtr<EVP_MD_CTX> md_ctx(EVP_MD_CTX_new());
  if (md_ctx == nullptr) return FromOpenSslErrors("EVP_MD_CTX_new");
  if (EVP_DigestSignInit_ex(md_ctx.get(), nullptr, SignatureDigestFor(issuer_public), libctx, propq,
                            issuer_key, nullptr) != 1) {
    return FromOpenSslErrors("EVP_DigestSignInit_ex with the issuer key");
  }
  if (X509_sign_ctx(cert.get(), md_ctx.get()) <= 0) {
    return FromOpenSslErrors("signing the certificate");
  }
  return cert;
}

namespace {
std::string OctetString(const ASN1_OCTET_STRING* s) {
  if (s == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}
}  // namespace

std::string SubjectKeyId(X509* cert) {
  if (cert == nullptr) return "";
  std::string out = OctetString(X509_get0_subject_key_id(cert));
  ERR_clear_error();
  return out;
}

std::string AuthorityKeyId(X509* cert) {
  if (cert == nullptr) return "";
  std::string out = OctetString(X509_get0_authority_key_id(cert));
  ERR_clear_error();
  return out;
}

absl::Status CheckIssuedBy(X509* cert, X509* issuer) {
  if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) != 0) {
    UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), X509_get_issuer_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return absl::InvalidArgumentError(
        absl::StrCat("its issuer \"", absl::string_view(data, static_cast<size_t>(len)),
                     "\" is not the subject \"", SubjectName(issuer), "\""));
  }
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  if (key == nullptr || X509_verify(cert, key) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "its signature does not verify with the public key of \"", SubjectName(issuer), "\""));
  }
  return absl::OkStatus();
}

}  // namespace masa::signer
