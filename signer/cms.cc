#include "signer/cms.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "signer/internal/der.h"
#include "signer/voucher_json.h"

namespace masa::signer {
namespace {

constexpr std::string_view kOidData = "1.2.840.113549.1.7.1";
constexpr std::string_view kOidAnimaJsonVoucher = "1.2.840.113549.1.9.16.1.40";
constexpr std::string_view kOidSztpConveyedInfoXml = "1.2.840.113549.1.9.16.1.42";
constexpr std::string_view kOidSztpConveyedInfoJson = "1.2.840.113549.1.9.16.1.43";

std::string ObjectToOid(const ASN1_OBJECT* obj) {
  char buf[128];
  int n = OBJ_obj2txt(buf, sizeof(buf), obj, /*no_name=*/1);
  if (n <= 0 || n >= static_cast<int>(sizeof(buf))) return "";
  return std::string(buf, static_cast<size_t>(n));
}

std::string ObjectName(const ASN1_OBJECT* obj) {
  int nid = OBJ_obj2nid(obj);
  if (nid != NID_undef) return OBJ_nid2sn(nid);
  return ObjectToOid(obj);
}

// The digest that matches the strength of the signer's key (RFC 5480 section 4 pairing).
absl::StatusOr<std::string> DigestForKey(EVP_PKEY* public_key) {
  if (EVP_PKEY_is_a(public_key, "EC")) {
    char group[64] = {0};
    size_t len = 0;
    if (!EVP_PKEY_get_group_name(public_key, group, sizeof(group), &len)) {
      return FromOpenSslErrors("reading the EC curve of the signer certificate",
                               absl::StatusCode::kInvalidArgument);
    }
    std::string_view g(group, len);
    if (g == "P-384" || g == "secp384r1") return std::string("SHA384");
    if (g == "P-521" || g == "secp521r1") return std::string("SHA512");
    return std::string("SHA256");
  }
  if (EVP_PKEY_is_a(public_key, "RSA") || EVP_PKEY_is_a(public_key, "RSA-PSS")) {
    return std::string("SHA256");
  }
  // RFC 8419 section 3: with signed attributes, Ed25519 pairs with SHA-512.
  if (EVP_PKEY_is_a(public_key, "ED25519")) return std::string("SHA512");
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported signer key type ", EVP_PKEY_get0_type_name(public_key)));
}

// d2i into a CMS_ContentInfo bound to `libctx`, rejecting trailing bytes.
absl::StatusOr<UniquePtr<CMS_ContentInfo>> DecodeCms(std::string_view der, OSSL_LIB_CTX* libctx,
                                                     const char* propq) {
  if (der.empty()) return absl::InvalidArgumentError("empty CMS");
  CMS_ContentInfo* raw = CMS_ContentInfo_new_ex(libctx, propq);
  if (raw == nullptr) return FromOpenSslErrors("CMS_ContentInfo_new_ex");
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = p + der.size();
  // On failure d2i frees *raw and sets it to null.
  if (d2i_CMS_ContentInfo(&raw, &p, static_cast<long>(der.size())) == nullptr) {
    CMS_ContentInfo_free(raw);
    return FromOpenSslErrors("not DER CMS", absl::StatusCode::kInvalidArgument);
  }
  UniquePtr<CMS_ContentInfo> cms(raw);
  if (p != end) {
    return absl::InvalidArgumentError(
        absl::StrCat(end - p, " trailing bytes after the CMS structure"));
  }
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CMS content type is ", ObjectName(CMS_get0_type(cms.get())), ", not signedData"));
  }
  return cms;
}

std::vector<UniquePtr<X509>> TakeCertificates(STACK_OF(X509) * certs) {
  std::vector<UniquePtr<X509>> out;
  if (certs == nullptr) return out;
  while (sk_X509_num(certs) > 0) out.emplace_back(sk_X509_shift(certs));
  sk_X509_free(certs);
  return out;
}

void FillContent(CMS_ContentInfo* cms, std::string* content, bool* present, std::string* oid,
                 CmsContentType* type) {
  *oid = ObjectToOid(CMS_get0_eContentType(cms));
  *type = ContentTypeFromOid(*oid);
  ASN1_OCTET_STRING** pos = CMS_get0_content(cms);
  *present = pos != nullptr && *pos != nullptr;
  if (*present) {
    content->assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*pos)),
                    static_cast<size_t>(ASN1_STRING_length(*pos)));
  }
}

absl::StatusOr<std::string> ToDer(CMS_ContentInfo* cms) {
  unsigned char* der = nullptr;
  int len = i2d_CMS_ContentInfo(cms, &der);
  if (len <= 0) return FromOpenSslErrors("encoding CMS");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// The DER of an OpenSSL object through its i2d function.
template <typename T, typename I2d>
absl::StatusOr<std::string> EncodeWithOpenSsl(const T* object, I2d i2d, std::string_view what) {
  unsigned char* der = nullptr;
  int len = i2d(object, &der);
  if (len <= 0 || der == nullptr) {
    return FromOpenSslErrors(absl::StrCat("encoding ", Sv(what)));
  }
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// RFC 8419 section 3.1: the Ed25519 signature of an Ed25519 signer over the DER SET OF its
// signed attributes, re-encoded as RFC 5652 section 5.4 defines (what CMS_verify does too).
absl::Status CheckEd25519AttributeSignature(CMS_SignerInfo* si, EVP_PKEY* pkey) {
  X509_ALGOR* digest = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &digest, nullptr);
  if (digest == nullptr || OBJ_obj2nid(digest->algorithm) != NID_sha512) {
    return absl::PermissionDeniedError(
        "CMS signature does not verify: an Ed25519 signer must use SHA-512 (RFC 8419)");
  }
  int count = CMS_signed_get_attr_count(si);
  if (count <= 0) {
    return absl::PermissionDeniedError("CMS signature does not verify: no signed attributes");
  }
  std::vector<std::string> attributes;
  for (int i = 0; i < count; ++i) {
    MASA_ASSIGN_OR_RETURN(std::string attr, EncodeWithOpenSsl(CMS_signed_get_attr(si, i),
                                                              i2d_X509_ATTRIBUTE, "an attribute"));
    attributes.push_back(std::move(attr));
  }
  std::string signed_attrs = der::SetOf(der::kSet, std::move(attributes));
  ASN1_OCTET_STRING* signature = CMS_SignerInfo_get0_signature(si);
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || signature == nullptr ||
      EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, pkey, nullptr) <= 0 ||
      EVP_DigestVerify(ctx.get(), ASN1_STRING_get0_data(signature),
                       static_cast<size_t>(ASN1_STRING_length(signature)),
                       reinterpret_cast<const unsigned char*>(signed_attrs.data()),
                       signed_attrs.size()) != 1) {
    return FromOpenSslErrors("CMS signature does not verify: bad Ed25519 signature",
                             absl::StatusCode::kPermissionDenied);
  }
  return absl::OkStatus();
}

// CMS_verify of a single-signer SignedData with the signer looked up per `flags`; returns the
// content it wrote. The signer certificate is not chain-validated here.
absl::StatusOr<std::string> CheckSignature(CMS_ContentInfo* cms, STACK_OF(X509) * certs,
                                           unsigned int flags) {
  int signers = sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms));
  if (signers != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected exactly one signer, found ", signers < 0 ? 0 : signers));
  }
  ASN1_OCTET_STRING** pos = CMS_get0_content(cms);
  if (pos == nullptr || *pos == nullptr) {
    return absl::InvalidArgumentError("the CMS has no embedded content (detached)");
  }
  UniquePtr<BIO> out(BIO_new(BIO_s_mem()));
  if (out == nullptr) return FromOpenSslErrors("BIO_new");
  // OpenSSL 3.0's CMS code passes the digest to EdDSA and fails; an Ed25519 signer's
  // signature over the attributes is checked here, CMS_verify checks everything else.
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
  bool ed25519 = false;
  if (CMS_set1_signers_certs(cms, certs, flags) >= 0) {
    EVP_PKEY* pkey = nullptr;
    CMS_SignerInfo_get0_algs(si, &pkey, nullptr, nullptr, nullptr);
    ed25519 = pkey != nullptr && EVP_PKEY_is_a(pkey, "ED25519");
    if (ed25519) MASA_RETURN_IF_ERROR(CheckEd25519AttributeSignature(si, pkey));
  }
  ERR_clear_error();
  if (CMS_verify(cms, certs, nullptr, nullptr, out.get(),
                 flags | CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY |
                     (ed25519 ? CMS_NO_ATTR_VERIFY : 0)) != 1) {
    return FromOpenSslErrors("CMS signature does not verify", absl::StatusCode::kPermissionDenied);
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<std::string> OidDer(int nid) {
  const ASN1_OBJECT* obj = OBJ_nid2obj(nid);
  if (obj == nullptr) return FromOpenSslErrors("OBJ_nid2obj");
  return EncodeWithOpenSsl(obj, i2d_ASN1_OBJECT, "an OID");
}

// The digest AlgorithmIdentifier as OpenSSL's CMS code writes it: parameters absent or NULL
// as the digest's flags say (X509_ALGOR_set_md).
absl::StatusOr<std::string> DigestAlgorithmDer(const EVP_MD* md) {
  UniquePtr<X509_ALGOR> alg(X509_ALGOR_new());
  if (alg == nullptr) return FromOpenSslErrors("X509_ALGOR_new");
  X509_ALGOR_set_md(alg.get(), md);
  return EncodeWithOpenSsl(alg.get(), i2d_X509_ALGOR, "the digest algorithm");
}

// A signature AlgorithmIdentifier: `nid` with parameters of `param_type` (V_ASN1_UNDEF: absent).
absl::StatusOr<std::string> SignatureAlgorithmDer(int nid, int param_type) {
  UniquePtr<X509_ALGOR> alg(X509_ALGOR_new());
  if (alg == nullptr || !X509_ALGOR_set0(alg.get(), OBJ_nid2obj(nid), param_type, nullptr)) {
    return FromOpenSslErrors("X509_ALGOR_set0");
  }
  return EncodeWithOpenSsl(alg.get(), i2d_X509_ALGOR, "the signature algorithm");
}

// EVP_Digest with a per-thread EVP_MD_CTX: re-initialising a context for the same digest
// skips the allocation and provider context set-up EVP_Digest repeats on every call.
bool Digest(const EVP_MD* md, std::string_view data, unsigned char* out, unsigned int* out_len) {
  thread_local UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  return ctx != nullptr && EVP_DigestInit_ex2(ctx.get(), md, nullptr) &&
         EVP_DigestUpdate(ctx.get(), data.data(), data.size()) &&
         EVP_DigestFinal_ex(ctx.get(), out, out_len);
}

void AppendDigits(int64_t value, int width, std::string* out) {
  char digits[8];
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out->append(digits, static_cast<size_t>(width));
}

// The signingTime value (RFC 5652 section 11.3): UTCTime YYMMDDHHMMSSZ for 1950 through 2049,
// GeneralizedTime YYYYMMDDHHMMSSZ otherwise; whole seconds, as OpenSSL writes it.
absl::StatusOr<std::string> SigningTimeDer(absl::Time now) {
  absl::CivilSecond t = absl::ToCivilSecond(now, absl::UTCTimeZone());
  if (t.year() < 0 || t.year() > 9999) {
    return absl::InternalError(
        absl::StrCat("the clock reads ", absl::FormatCivilTime(t), ", outside years 0..9999"));
  }
  const bool utc_time = t.year() >= 1950 && t.year() <= 2049;
  std::string text;
  AppendDigits(utc_time ? t.year() % 100 : t.year(), utc_time ? 2 : 4, &text);
  for (int field : {t.month(), t.day(), t.hour(), t.minute(), t.second()}) {
    AppendDigits(field, 2, &text);
  }
  text.push_back('Z');
  std::string out;
  der::AppendTlv(utc_time ? der::kUtcTime : der::kGeneralizedTime, text, &out);
  return out;
}

}  // namespace

std::string_view ContentTypeOid(CmsContentType type) {
  switch (type) {
    case CmsContentType::kData:
      return kOidData;
    case CmsContentType::kAnimaJsonVoucher:
      return kOidAnimaJsonVoucher;
    case CmsContentType::kSztpConveyedInfoXml:
      return kOidSztpConveyedInfoXml;
    case CmsContentType::kSztpConveyedInfoJson:
      return kOidSztpConveyedInfoJson;
    case CmsContentType::kOther:
      return "";
  }
  return "";
}

CmsContentType ContentTypeFromOid(std::string_view oid) {
  for (CmsContentType t :
       {CmsContentType::kData, CmsContentType::kAnimaJsonVoucher,
        CmsContentType::kSztpConveyedInfoXml, CmsContentType::kSztpConveyedInfoJson}) {
    if (ContentTypeOid(t) == oid) return t;
  }
  return CmsContentType::kOther;
}

CmsSigner::~CmsSigner() = default;

absl::StatusOr<std::unique_ptr<CmsSigner>> CmsSigner::Create(
    EVP_PKEY* key, X509* cert, const std::vector<X509*>& chain, CmsContentType content_type,
    OSSL_LIB_CTX* libctx, const char* propq, const Clock& clock) {
  if (key == nullptr || cert == nullptr) {
    return absl::InvalidArgumentError("CmsSigner needs a key and its certificate");
  }
  if (content_type == CmsContentType::kOther) {
    return absl::InvalidArgumentError("CmsSigner needs a known eContentType");
  }
  EVP_PKEY* cert_key = X509_get0_pubkey(cert);
  if (cert_key == nullptr) {
    return FromOpenSslErrors("reading the signer certificate's public key",
                             absl::StatusCode::kInvalidArgument);
  }
  if (X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("the signing key does not match the certificate ", SubjectName(cert)));
  }
  std::unique_ptr<CmsSigner> s(new CmsSigner());
  // The certificate, not the key, tells the curve: a provider key may not export it.
  MASA_ASSIGN_OR_RETURN(s->digest_name_, DigestForKey(cert_key));
  s->digest_.reset(EVP_MD_fetch(libctx, s->digest_name_.c_str(), propq));
  if (s->digest_ == nullptr) {
    return FromOpenSslErrors(absl::StrCat(s->digest_name_,
                                          " is not available in the library "
                                          "context"),
                             absl::StatusCode::kFailedPrecondition);
  }
  s->key_ = UpRef(key);
  s->cert_ = UpRef(cert);
  s->chain_.reset(sk_X509_new_null());
  if (s->chain_ == nullptr) return FromOpenSslErrors("sk_X509_new_null");
  for (X509* c : chain) {
    if (c == nullptr || X509_cmp(c, cert) == 0) continue;
    bool duplicate = false;
    for (int i = 0; i < sk_X509_num(s->chain_.get()); ++i) {
      if (X509_cmp(sk_X509_value(s->chain_.get(), i), c) == 0) duplicate = true;
    }
    if (duplicate) continue;
    if (!sk_X509_push(s->chain_.get(), UpRef(c).release())) {
      return FromOpenSslErrors("sk_X509_push");
    }
  }
  s->content_type_ = content_type;
  s->content_oid_.reset(OBJ_txt2obj(std::string(ContentTypeOid(content_type)).c_str(), 1));
  if (s->content_oid_ == nullptr) return FromOpenSslErrors("OBJ_txt2obj");
  s->libctx_ = libctx;
  s->has_propq_ = propq != nullptr;
  if (propq != nullptr) s->propq_ = propq;
  s->clock_ = &clock;
  // The certificate names the key type: a provider key may not say it.
  if (EVP_PKEY_is_a(cert_key, "EC")) {
    s->scheme_ = Scheme::kEcdsa;
  } else if (EVP_PKEY_is_a(cert_key, "RSA")) {
    s->scheme_ = Scheme::kRsaPkcs1;
  } else if (EVP_PKEY_is_a(cert_key, "ED25519")) {
    s->scheme_ = Scheme::kEd25519;
  } else {
    // RSA-PSS keys never passed the probe below (OpenSSL's CMS_verify refuses the padding).
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported signer key type ", EVP_PKEY_get0_type_name(cert_key)));
  }
  MASA_RETURN_IF_ERROR(s->Prepare());

  // One probe signature proves the key, its certificate and the library context fit together.
  auto probe = s->SignInternal("masa signer probe");
  if (!probe.ok()) {
    return Annotate(absl::FailedPreconditionError(probe.status().message()),
                    "cannot sign with this key in this library context");
  }
  auto verified = VerifySignedDataWithSigner(*probe, cert, libctx, propq);
  if (!verified.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the signing key does not match the certificate ", SubjectName(cert), ": ",
                     verified.status().message()));
  }
  return s;
}

absl::StatusOr<std::string> CmsSigner::Sign(std::string_view content) const {
  return SignInternal(content);
}

absl::Status CmsSigner::Prepare() {
  MASA_ASSIGN_OR_RETURN(content_info_type_, OidDer(NID_pkcs7_signed));
  MASA_ASSIGN_OR_RETURN(econtent_type_,
                        EncodeWithOpenSsl(content_oid_.get(), i2d_ASN1_OBJECT, "the eContentType"));
  MASA_ASSIGN_OR_RETURN(std::string digest_algorithm, DigestAlgorithmDer(digest_.get()));
  // RFC 5652 section 5.1: version 3 when eContentType is not id-data, else 1 (issuerAndSerial
  // signer identifiers, X.509 certificates only).
  signed_data_head_ = der::SmallInteger(content_type_ == CmsContentType::kData ? 1 : 3);
  signed_data_head_ += der::Constructed(der::kSet, {digest_algorithm});

  std::vector<std::string> certificates;
  MASA_ASSIGN_OR_RETURN(std::string signer_cert,
                        EncodeWithOpenSsl(cert_.get(), i2d_X509, "the signer certificate"));
  certificates.push_back(std::move(signer_cert));
  for (int i = 0; i < sk_X509_num(chain_.get()); ++i) {
    MASA_ASSIGN_OR_RETURN(std::string c, EncodeWithOpenSsl(sk_X509_value(chain_.get(), i), i2d_X509,
                                                           "a chain certificate"));
    certificates.push_back(std::move(c));
  }
  certificates_ = der::SetOf(der::ContextConstructed(0), std::move(certificates));

  MASA_ASSIGN_OR_RETURN(std::string issuer, EncodeWithOpenSsl(X509_get_issuer_name(cert_.get()),
                                                              i2d_X509_NAME, "the issuer name"));
  MASA_ASSIGN_OR_RETURN(std::string serial,
                        EncodeWithOpenSsl(X509_get0_serialNumber(cert_.get()), i2d_ASN1_INTEGER,
                                          "the serial number"));
  signer_info_head_ = der::SmallInteger(1);
  der::AppendConstructed(der::kSequence, {issuer, serial}, &signer_info_head_);
  signer_info_head_ += digest_algorithm;

  if (scheme_ == Scheme::kEcdsa) {
    int signature_nid = NID_undef;
    if (!OBJ_find_sigid_by_algs(&signature_nid, EVP_MD_get_type(digest_.get()),
                                NID_X9_62_id_ecPublicKey)) {
      return absl::InvalidArgumentError(
          absl::StrCat("no ECDSA signature algorithm with ", digest_name_));
    }
    MASA_ASSIGN_OR_RETURN(signature_algorithm_, SignatureAlgorithmDer(signature_nid, V_ASN1_UNDEF));
  } else if (scheme_ == Scheme::kEd25519) {
    // RFC 8419 section 3.1: id-Ed25519, parameters absent.
    MASA_ASSIGN_OR_RETURN(signature_algorithm_, SignatureAlgorithmDer(NID_ED25519, V_ASN1_UNDEF));
  } else {
    // OpenSSL's CMS code names RSASSA-PKCS1-v1_5 by the key algorithm, not by
    // sha256WithRSAEncryption; verifiers accept both (RFC 3370 section 3.2).
    MASA_ASSIGN_OR_RETURN(signature_algorithm_,
                          SignatureAlgorithmDer(NID_rsaEncryption, V_ASN1_NULL));
  }

  MASA_ASSIGN_OR_RETURN(std::string content_type_oid, OidDer(NID_pkcs9_contentType));
  content_type_attr_ = der::Constructed(
      der::kSequence, {content_type_oid, der::Constructed(der::kSet, {econtent_type_})});
  MASA_ASSIGN_OR_RETURN(signing_time_oid_, OidDer(NID_pkcs9_signingTime));
  MASA_ASSIGN_OR_RETURN(message_digest_oid_, OidDer(NID_pkcs9_messageDigest));
  return absl::OkStatus();
}

absl::StatusOr<std::string> CmsSigner::SignMessage(std::string_view message) const {
  // PureEdDSA: no digest, one call; EVP_DigestSign marks the context finalised, so each
  // signature takes a fresh one.
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return FromOpenSslErrors("EVP_MD_CTX_new");
  if (EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, libctx_, propq(), key_.get(), nullptr) <=
      0) {
    return FromOpenSslErrors("EVP_DigestSignInit_ex");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(message.data());
  size_t size = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &size, data, message.size()) <= 0) {
    return FromOpenSslErrors("signing the CMS");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, data,
                     message.size()) <= 0) {
    return FromOpenSslErrors("signing the CMS");
  }
  signature.resize(size);
  return signature;
}

absl::StatusOr<UniquePtr<EVP_PKEY_CTX>> CmsSigner::AcquireSigningContext() const {
  {
    std::lock_guard<std::mutex> lock(contexts_mu_);
    if (!contexts_.empty()) {
      UniquePtr<EVP_PKEY_CTX> ctx = std::move(contexts_.back());
      contexts_.pop_back();
      return ctx;
    }
  }
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(libctx_, key_.get(), propq()));
  if (ctx == nullptr) return FromOpenSslErrors("EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_sign_init_ex(ctx.get(), nullptr) <= 0) {
    return FromOpenSslErrors("EVP_PKEY_sign_init_ex");
  }
  // The provider learns the digest size (and, for RSA, which DigestInfo to wrap it in).
  if (EVP_PKEY_CTX_set_signature_md(ctx.get(), digest_.get()) <= 0) {
    return FromOpenSslErrors("EVP_PKEY_CTX_set_signature_md");
  }
  if (scheme_ == Scheme::kRsaPkcs1 &&
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0) {
    return FromOpenSslErrors("EVP_PKEY_CTX_set_rsa_padding");
  }
  return ctx;
}

void CmsSigner::ReleaseSigningContext(UniquePtr<EVP_PKEY_CTX> ctx) const {
  std::lock_guard<std::mutex> lock(contexts_mu_);
  if (contexts_.size() < kMaxIdleContexts) contexts_.push_back(std::move(ctx));
}

absl::StatusOr<std::string> CmsSigner::SignDigest(const unsigned char* digest, size_t len) const {
  MASA_ASSIGN_OR_RETURN(UniquePtr<EVP_PKEY_CTX> ctx, AcquireSigningContext());
  size_t size = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &size, digest, len) <= 0) {
    return FromOpenSslErrors("signing the CMS");
  }
  std::string signature(size, '\0');
  // A context whose sign failed is dropped, not pooled: its provider state is unknown.
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, digest,
                    len) <= 0) {
    return FromOpenSslErrors("signing the CMS");
  }
  ReleaseSigningContext(std::move(ctx));
  signature.resize(size);
  return signature;
}

absl::StatusOr<std::string> CmsSigner::SignInternal(std::string_view content) const {
  unsigned char content_digest[EVP_MAX_MD_SIZE];
  unsigned int content_digest_len = 0;
  if (!Digest(digest_.get(), content, content_digest, &content_digest_len)) {
    return FromOpenSslErrors("hashing the content");
  }
  MASA_ASSIGN_OR_RETURN(std::string signing_time, SigningTimeDer(clock_->Now()));
  std::string message_digest;
  der::AppendTlv(
      der::kOctetString,
      std::string_view(reinterpret_cast<const char*>(content_digest), content_digest_len),
      &message_digest);
  // RFC 5652 section 5.4: the signature covers the DER of the attributes as a SET OF; the
  // SignerInfo carries the same octets under [0] IMPLICIT.
  std::string signed_attrs = der::SetOf(
      der::kSet,
      {content_type_attr_,
       der::Constructed(der::kSequence,
                        {signing_time_oid_, der::Constructed(der::kSet, {signing_time})}),
       der::Constructed(der::kSequence,
                        {message_digest_oid_, der::Constructed(der::kSet, {message_digest})})});
  std::string signature;
  if (scheme_ == Scheme::kEd25519) {
    // RFC 8419 section 3.1: PureEdDSA over the DER of the signed attributes themselves.
    MASA_ASSIGN_OR_RETURN(signature, SignMessage(signed_attrs));
  } else {
    unsigned char attrs_digest[EVP_MAX_MD_SIZE];
    unsigned int attrs_digest_len = 0;
    if (!Digest(digest_.get(), signed_attrs, attrs_digest, &attrs_digest_len)) {
      return FromOpenSslErrors("hashing the signed attributes");
    }
    MASA_ASSIGN_OR_RETURN(signature, SignDigest(attrs_digest, attrs_digest_len));
  }
  signed_attrs[0] = static_cast<char>(der::ContextConstructed(0));

  // ContentInfo { signedData, [0] SignedData { head, EncapsulatedContentInfo { eContentType,
  // [0] OCTET STRING content }, certificates, SET { SignerInfo } } }, written front to back
  // into one buffer from the sizes of its parts: nesting finished TLVs copied the content and
  // the certificates once per level.
  const size_t signer_info_size = signer_info_head_.size() + signed_attrs.size() +
                                  signature_algorithm_.size() + der::TlvSize(signature.size());
  const size_t signer_infos_size = der::TlvSize(signer_info_size);
  const size_t econtent_size = der::TlvSize(content.size());
  const size_t encap_size = econtent_type_.size() + der::TlvSize(econtent_size);
  const size_t signed_data_size = signed_data_head_.size() + der::TlvSize(encap_size) +
                                  certificates_.size() + der::TlvSize(signer_infos_size);
  const size_t explicit_size = der::TlvSize(signed_data_size);
  const size_t content_info_size = content_info_type_.size() + der::TlvSize(explicit_size);
  std::string out;
  out.reserve(der::TlvSize(content_info_size));
  der::AppendHeader(der::kSequence, content_info_size, &out);
  out += content_info_type_;
  der::AppendHeader(der::ContextConstructed(0), explicit_size, &out);
  der::AppendHeader(der::kSequence, signed_data_size, &out);
  out += signed_data_head_;
  der::AppendHeader(der::kSequence, encap_size, &out);
  out += econtent_type_;
  der::AppendHeader(der::ContextConstructed(0), econtent_size, &out);
  der::AppendTlv(der::kOctetString, content, &out);
  out += certificates_;
  der::AppendHeader(der::kSet, signer_infos_size, &out);
  der::AppendHeader(der::kSequence, signer_info_size, &out);
  out += signer_info_head_;
  out += signed_attrs;
  out += signature_algorithm_;
  der::AppendTlv(der::kOctetString, signature, &out);
  return out;
}

absl::StatusOr<std::unique_ptr<VoucherSigner>> VoucherSigner::Create(
    EVP_PKEY* key, X509* cert, const std::vector<X509*>& chain, CmsContentType content_type,
    OSSL_LIB_CTX* libctx, const char* propq, const Clock& clock) {
  if (content_type != CmsContentType::kAnimaJsonVoucher && content_type != CmsContentType::kData) {
    return absl::InvalidArgumentError(
        "a voucher's eContentType is id-ct-animaJSONVoucher or id-data");
  }
  MASA_ASSIGN_OR_RETURN(auto cms,
                        CmsSigner::Create(key, cert, chain, content_type, libctx, propq, clock));
  return std::unique_ptr<VoucherSigner>(new VoucherSigner(std::move(cms)));
}

absl::StatusOr<std::string> VoucherSigner::Sign(const Voucher& voucher) const {
  MASA_RETURN_IF_ERROR(Validate(voucher));
  MASA_ASSIGN_OR_RETURN(std::string json, EncodeVoucherJson(voucher));
  return cms_->Sign(json);
}

absl::StatusOr<ParsedSignedData> ParseSignedData(std::string_view der, OSSL_LIB_CTX* libctx,
                                                 const char* propq) {
  MASA_ASSIGN_OR_RETURN(UniquePtr<CMS_ContentInfo> cms, DecodeCms(der, libctx, propq));
  ParsedSignedData out;
  FillContent(cms.get(), &out.content, &out.content_present, &out.content_type_oid,
              &out.content_type);
  out.certificates = TakeCertificates(CMS_get1_certs(cms.get()));
  ERR_clear_error();  // CMS_get1_certs reports nothing but may leave no error; be tidy.
  STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms.get());
  for (int i = 0; i < sk_CMS_SignerInfo_num(infos); ++i) {
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(infos, i);
    CmsSignerInfo info;
    ASN1_OCTET_STRING* keyid = nullptr;
    X509_NAME* issuer = nullptr;
    ASN1_INTEGER* serial = nullptr;
    if (CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &serial)) {
      if (keyid != nullptr) {
        info.subject_key_id.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(keyid)),
                                   static_cast<size_t>(ASN1_STRING_length(keyid)));
      }
      if (issuer != nullptr) {
        UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
        X509_NAME_print_ex(bio.get(), issuer, 0, XN_FLAG_RFC2253);
        char* data = nullptr;
        long len = BIO_get_mem_data(bio.get(), &data);
        info.issuer.assign(data, static_cast<size_t>(len));
      }
      if (serial != nullptr) {
        UniquePtr<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
        if (bn != nullptr) {
          char* hex = BN_bn2hex(bn.get());
          if (hex != nullptr) info.serial_hex = hex;
          OPENSSL_free(hex);
        }
      }
    }
    X509_ALGOR* digest = nullptr;
    X509_ALGOR* signature = nullptr;
    CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &digest, &signature);
    if (digest != nullptr) info.digest_algorithm = ObjectName(digest->algorithm);
    if (signature != nullptr) info.signature_algorithm = ObjectName(signature->algorithm);
    for (size_t c = 0; c < out.certificates.size(); ++c) {
      if (CMS_SignerInfo_cert_cmp(si, out.certificates[c].get()) == 0) {
        info.certificate = c;
        break;
      }
    }
    info.has_signed_attributes = CMS_signed_get_attr_count(si) > 0;
    out.signers.push_back(std::move(info));
  }
  ERR_clear_error();
  return out;
}

absl::StatusOr<VerifiedSignedData> VerifySignedData(std::string_view der,
                                                    const VerifyOptions& options) {
  if (options.trust_anchors.empty()) {
    return absl::InvalidArgumentError("no trust anchor to verify the CMS against");
  }
  if (options.verification_time == absl::InfinitePast()) {
    return absl::InvalidArgumentError("no verification time given");
  }
  MASA_ASSIGN_OR_RETURN(UniquePtr<CMS_ContentInfo> cms,
                        DecodeCms(der, options.libctx, options.propq));
  X509Stack untrusted(CMS_get1_certs(cms.get()));
  ERR_clear_error();  // CMS_get1_certs may leave an error behind for an empty set
  if (untrusted == nullptr) untrusted.reset(sk_X509_new_null());
  if (untrusted == nullptr) return FromOpenSslErrors("sk_X509_new_null");
  if (static_cast<size_t>(sk_X509_num(untrusted.get())) > options.max_certificates) {
    return absl::InvalidArgumentError(absl::StrCat("the CMS carries ", sk_X509_num(untrusted.get()),
                                                   " certificates; at most ",
                                                   options.max_certificates, " are accepted"));
  }
  VerifiedSignedData out;
  MASA_ASSIGN_OR_RETURN(out.content, CheckSignature(cms.get(), nullptr, 0));
  bool present = false;
  std::string ignored;
  FillContent(cms.get(), &ignored, &present, &out.content_type_oid, &out.content_type);

  // CMS_get0_signers returns a new stack of borrowed (not up-referenced) certificates.
  STACK_OF(X509)* signers = CMS_get0_signers(cms.get());
  if (signers == nullptr || sk_X509_num(signers) != 1) {
    sk_X509_free(signers);
    return FromOpenSslErrors("the signer certificate is not in the CMS",
                             absl::StatusCode::kPermissionDenied);
  }
  out.signer = UpRef(sk_X509_value(signers, 0));
  sk_X509_free(signers);

  // The chain is validated here rather than inside CMS_verify so that the purpose is "any"
  // (CMS_verify would impose smime_sign) and the failure names OpenSSL's verify reason.
  UniquePtr<X509_STORE> store(X509_STORE_new());
  if (store == nullptr) return FromOpenSslErrors("X509_STORE_new");
  for (X509* anchor : options.trust_anchors) {
    if (!X509_STORE_add_cert(store.get(), anchor)) return FromOpenSslErrors("X509_STORE_add_cert");
  }
  for (X509* extra : options.extra_untrusted) {
    if (!sk_X509_push(untrusted.get(), UpRef(extra).release())) return FromOpenSslErrors("push");
  }
  UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new_ex(options.libctx, options.propq));
  if (ctx == nullptr ||
      !X509_STORE_CTX_init(ctx.get(), store.get(), out.signer.get(), untrusted.get())) {
    return FromOpenSslErrors("X509_STORE_CTX_init");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param,
                             static_cast<time_t>(absl::ToUnixSeconds(options.verification_time)));
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_ANY);
  X509_VERIFY_PARAM_set_depth(param, options.max_chain_depth);
  unsigned long flags = 0;
  if (options.partial_chain) flags |= X509_V_FLAG_PARTIAL_CHAIN;
  if (options.check_revocation) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  X509_VERIFY_PARAM_set_flags(param, flags);
  if (options.crls != nullptr) X509_STORE_CTX_set0_crls(ctx.get(), options.crls);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::PermissionDeniedError(
        absl::StrCat("the signer certificate ", SubjectName(out.signer.get()),
                     " does not chain to a trust anchor: ", X509_verify_cert_error_string(err)));
  }
  out.chain = TakeCertificates(X509_STORE_CTX_get1_chain(ctx.get()));
  return out;
}

absl::StatusOr<VerifiedSignedData> VerifySignedDataWithSigner(std::string_view der, X509* signer,
                                                              OSSL_LIB_CTX* libctx,
                                                              const char* propq) {
  if (signer == nullptr) return absl::InvalidArgumentError("no signer certificate given");
  MASA_ASSIGN_OR_RETURN(UniquePtr<CMS_ContentInfo> cms, DecodeCms(der, libctx, propq));
  X509Stack certs(sk_X509_new_null());
  if (certs == nullptr || !sk_X509_push(certs.get(), UpRef(signer).release())) {
    return FromOpenSslErrors("sk_X509_push");
  }
  VerifiedSignedData out;
  auto content = CheckSignature(cms.get(), certs.get(), CMS_NOINTERN);
  if (!content.ok()) {
    if (content.status().code() == absl::StatusCode::kPermissionDenied) {
      return absl::PermissionDeniedError(
          absl::StrCat("not signed by ", SubjectName(signer), ": ", content.status().message()));
    }
    return content.status();
  }
  out.content = *std::move(content);
  bool present = false;
  std::string ignored;
  FillContent(cms.get(), &ignored, &present, &out.content_type_oid, &out.content_type);
  out.signer = UpRef(signer);
  out.chain.push_back(UpRef(signer));
  return out;
}

absl::StatusOr<std::string> BuildCertificateBag(const std::vector<X509*>& certificates) {
  if (certificates.empty())
    return absl::InvalidArgumentError("a certificate bag needs a certificate");
  UniquePtr<CMS_ContentInfo> cms(
      CMS_sign(nullptr, nullptr, nullptr, nullptr, CMS_PARTIAL | CMS_BINARY));
  if (cms == nullptr) return FromOpenSslErrors("CMS_sign");
  for (X509* c : certificates) {
    if (c == nullptr) return absl::InvalidArgumentError("null certificate in the bag");
    if (!CMS_add1_cert(cms.get(), c)) return FromOpenSslErrors("CMS_add1_cert");
  }
  if (!CMS_set_detached(cms.get(), 1)) return FromOpenSslErrors("CMS_set_detached");
  return ToDer(cms.get());
}

absl::StatusOr<std::vector<UniquePtr<X509>>> ParseCertificateBag(std::string_view der) {
  MASA_ASSIGN_OR_RETURN(ParsedSignedData parsed, ParseSignedData(der));
  if (parsed.certificates.empty()) {
    return absl::InvalidArgumentError("the certificate bag carries no certificate");
  }
  return std::move(parsed.certificates);
}

}  // namespace masa::signer
