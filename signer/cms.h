// CMS SignedData (RFC 5652) as vouchers and SZTP artefacts use it: build with an EVP_PKEY in
// a caller-chosen OSSL_LIB_CTX, parse, verify against trust anchors, and certificate bags.
//
//   MASA_ASSIGN_OR_RETURN(auto signer, masa::signer::VoucherSigner::Create(
//       key, cert, chain, masa::signer::CmsContentType::kAnimaJsonVoucher, libctx, ""));
//   MASA_ASSIGN_OR_RETURN(std::string der, signer->Sign(voucher));   // any thread
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/openssl.h"
#include "common/time.h"
#include "signer/voucher.h"

namespace masa::signer {

// The eContentType values this library knows.
enum class CmsContentType {
  kData,                  // id-data 1.2.840.113549.1.7.1 (what many deployed pledges expect)
  kAnimaJsonVoucher,      // id-ct-animaJSONVoucher 1.2.840.113549.1.9.16.1.40 (RFC 8366)
  kSztpConveyedInfoXml,   // id-ct-sztpConveyedInfoXML 1.2.840.113549.1.9.16.1.42 (RFC 8572)
  kSztpConveyedInfoJson,  // id-ct-sztpConveyedInfoJSON 1.2.840.113549.1.9.16.1.43 (RFC 8572)
  kOther,                 // anything else (parsing only)
};

// The dotted OID of `type` ("" for kOther).
std::string_view ContentTypeOid(CmsContentType type);
// The content type named by a dotted OID; kOther when it is none of the above.
CmsContentType ContentTypeFromOid(std::string_view dotted_oid);

// Signs content as CMS SignedData, DER, content embedded (not detached), signed attributes
// always present (contentType, messageDigest, signingTime), the signer certificate and the
// given chain in `certificates`. The digest follows the signer key: SHA-384 for P-384,
// SHA-512 for P-521 and Ed25519, SHA-256 otherwise (P-256, RSA). EC, RSA (PKCS#1 v1.5) and
// Ed25519 keys are supported: not RSA-PSS or Ed448. RSA stays PKCS#1 v1.5 because every
// deployed pledge verifier handles it and the signatureAlgorithm needs no parameters;
// PSS would buy nothing a device checks. Ed25519 follows RFC 8419: digestAlgorithm SHA-512
// (messageDigest attribute), signatureAlgorithm id-Ed25519 without parameters, and the
// signature PureEdDSA over the DER of the signed attributes.
//
// The output is what OpenSSL's CMS_sign (CMS_BINARY | CMS_NOSMIMECAP) produces, byte for byte
// apart from the signature value: issuerAndSerialNumber signer identifier; signed attributes
// contentType, signingTime and messageDigest; certificates and attributes in DER SET OF
// order (sorted by encoding, which puts the signer first in the usual vendor PKI but is not
// promised); signatureAlgorithm ecdsa-with-SHA* (no parameters) for EC keys and
// rsaEncryption (NULL parameters) for RSA keys, as OpenSSL writes them; id-Ed25519 for
// Ed25519 (OpenSSL 3.0 cannot make these itself).
//
// Everything that can be prepared once is prepared in Create(): the digest is fetched from
// `libctx` once, every constant part of the DER (algorithm identifiers, signer identifier,
// certificates, OIDs) is encoded once, and one probe signature is made and checked against
// `cert`'s public key, so a key that does not match its certificate (or a libctx that cannot
// sign with it) fails at start, not per request. Sign() then hashes the content and the
// signed attributes and makes exactly one private-key operation (EVP_PKEY_sign on the digest,
// or for Ed25519 EVP_DigestSign over the attributes) in `libctx` with property query `propq` (the HSM provider's context in production;
// nullptr = default). signingTime is read from `clock` (UTCTime for 1950..2049, else
// GeneralizedTime).
//
// Sign() is thread-safe: concurrent calls share immutable state and a mutex-guarded pool of
// initialised EVP_PKEY_CTX (held only to pop or push one).
class CmsSigner {
 public:
  // `key` may be a provider key whose private half never leaves the HSM; `cert` is its
  // certificate; `chain` the intermediates (and, if wanted, the root) to embed, in any order.
  // All three are up-referenced, not taken. `libctx` and `clock` must outlive the signer.
  // kInvalidArgument: a null key/cert, key/cert mismatch, unsupported key type.
  // kFailedPrecondition: the digest or signature algorithm is unavailable in `libctx`.
  static absl::StatusOr<std::unique_ptr<CmsSigner>> Create(EVP_PKEY* key, X509* cert,
                                                           const std::vector<X509*>& chain,
                                                           CmsContentType content_type,
                                                           OSSL_LIB_CTX* libctx, const char* propq,
                                                           const Clock& clock = SystemClock());
  CmsSigner(const CmsSigner&) = delete;
  CmsSigner& operator=(const CmsSigner&) = delete;
  ~CmsSigner();

  // DER SignedData over `content`, signed now (per the clock given to Create). kInternal
  // (with OpenSSL's reasons) when signing fails, or when the clock reads a year outside
  // 0..9999; kUnavailable is never produced here: a provider that reports a busy HSM surfaces
  // as kInternal with its message.
  absl::StatusOr<std::string> Sign(std::string_view content) const;

  CmsContentType content_type() const { return content_type_; }
  // "SHA256", "SHA384" or "SHA512".
  const std::string& digest_name() const { return digest_name_; }
  X509* certificate() const { return cert_.get(); }

 private:
  // How the one private-key operation is made and named in the SignerInfo.
  enum class Scheme {
    kEcdsa,     // ECDSA on the digest; DER ECDSA-Sig-Value
    kRsaPkcs1,  // RSASSA-PKCS1-v1_5 on the digest
    kEd25519,   // PureEdDSA over the signed attributes (RFC 8419)
  };

  CmsSigner() = default;
  // Encodes the constant parts of the DER; called once by Create().
  absl::Status Prepare();
  absl::StatusOr<std::string> SignInternal(std::string_view content) const;
  // The signature of the `len`-octet digest `digest` (DER ECDSA-Sig-Value or RSA octets).
  absl::StatusOr<std::string> SignDigest(const unsigned char* digest, size_t len) const;
  // The Ed25519 signature of `message` (one-shot EVP_DigestSign, no digest).
  absl::StatusOr<std::string> SignMessage(std::string_view message) const;
  // A signing context initialised for key_, digest_ and the padding: an idle one from the
  // pool or a new one. Release returns it to the pool after a successful signature.
  absl::StatusOr<UniquePtr<EVP_PKEY_CTX>> AcquireSigningContext() const;
  void ReleaseSigningContext(UniquePtr<EVP_PKEY_CTX> ctx) const;
  const char* propq() const { return has_propq_ ? propq_.c_str() : nullptr; }

  UniquePtr<EVP_PKEY> key_;
  UniquePtr<X509> cert_;
  X509Stack chain_;
  UniquePtr<EVP_MD> digest_;
  UniquePtr<ASN1_OBJECT> content_oid_;
  std::string digest_name_;
  CmsContentType content_type_ = CmsContentType::kAnimaJsonVoucher;
  Scheme scheme_ = Scheme::kEcdsa;
  OSSL_LIB_CTX* libctx_ = nullptr;
  std::string propq_;
  bool has_propq_ = false;
  const Clock* clock_ = nullptr;

  // DER prepared once (complete TLVs unless said otherwise).
  std::string content_info_type_;    // OID signedData
  std::string signed_data_head_;     // version INTEGER, then digestAlgorithms SET
  std::string econtent_type_;        // OID eContentType
  std::string certificates_;         // [0] IMPLICIT SET OF Certificate
  std::string signer_info_head_;     // version INTEGER, sid, then digestAlgorithm
  std::string signature_algorithm_;  // AlgorithmIdentifier
  std::string content_type_attr_;    // Attribute contentType
  std::string signing_time_oid_;     // OID of the signingTime attribute
  std::string message_digest_oid_;   // OID of the messageDigest attribute

  // Initialised signing contexts not in use. Setting one up (keymgmt and signature fetch,
  // provider context, digest parameter) costs about as much as the whole DER encoding; each
  // context is used by one thread at a time. Bounded: a burst of threads leaves at most
  // kMaxIdleContexts behind.
  static constexpr size_t kMaxIdleContexts = 64;
  mutable std::mutex contexts_mu_;
  mutable std::vector<UniquePtr<EVP_PKEY_CTX>> contexts_;
};

// Signs vouchers: Validate(), EncodeVoucherJson(), then CMS. Create once per key (at start
// and on rotation); Sign() from any number of threads.
class VoucherSigner {
 public:
  // As CmsSigner::Create. `content_type` is kAnimaJsonVoucher (the default of RFC 8366) or
  // kData for device profiles that expect id-data; anything else is kInvalidArgument.
  static absl::StatusOr<std::unique_ptr<VoucherSigner>> Create(
      EVP_PKEY* key, X509* cert, const std::vector<X509*>& chain,
      CmsContentType content_type = CmsContentType::kAnimaJsonVoucher,
      OSSL_LIB_CTX* libctx = nullptr, const char* propq = nullptr,
      const Clock& clock = SystemClock());

  // The DER CMS of `voucher`. kInvalidArgument (naming the leaf) when the voucher breaks a
  // Validate() rule; kInternal when signing fails. Thread-safe.
  absl::StatusOr<std::string> Sign(const Voucher& voucher) const;

  const CmsSigner& cms() const { return *cms_; }

 private:
  explicit VoucherSigner(std::unique_ptr<CmsSigner> cms) : cms_(std::move(cms)) {}
  std::unique_ptr<CmsSigner> cms_;
};

// What one SignerInfo says about its signer.
struct CmsSignerInfo {
  std::string issuer;                 // RFC 2253 issuer name; empty for a keyid SID
  std::string serial_hex;             // upper-case hex serial; empty for a keyid SID
  std::string subject_key_id;         // raw keyid octets; empty for issuer+serial SID
  std::string digest_algorithm;       // e.g. "SHA256"
  std::string signature_algorithm;    // e.g. "ecdsa-with-SHA384"
  std::optional<size_t> certificate;  // index into ParsedSignedData::certificates
  bool has_signed_attributes = false;
};

// The content of a SignedData, NOT verified.
struct ParsedSignedData {
  std::string content;           // the eContent bytes ("" when absent)
  bool content_present = false;  // false for a detached / certificate-only structure
  std::string content_type_oid;  // dotted eContentType
  CmsContentType content_type = CmsContentType::kOther;
  std::vector<UniquePtr<X509>> certificates;  // the certificates field, in order
  std::vector<CmsSignerInfo> signers;
};

// Parses DER CMS whose outer content type is signedData. Accepts any eContentType (the caller
// decides; see content_type). kInvalidArgument on bad DER, trailing bytes, another outer type.
absl::StatusOr<ParsedSignedData> ParseSignedData(std::string_view der,
                                                 OSSL_LIB_CTX* libctx = nullptr,
                                                 const char* propq = nullptr);

// What VerifySignedData checked and found.
struct VerifiedSignedData {
  std::string content;
  CmsContentType content_type = CmsContentType::kOther;
  std::string content_type_oid;
  UniquePtr<X509> signer;              // the verified signer certificate
  std::vector<UniquePtr<X509>> chain;  // signer first, trust anchor last
};

// Default bounds of VerifySignedData, so that a hostile CMS costs time and memory linear in
// its size: chain building compares each certificate with the others, and OpenSSL's own depth
// limit (100) is far above any real PKI.
//  - at most kMaxCmsCertificates certificates in the CMS `certificates` set (a voucher carries
//    its signer and a few intermediates);
//  - at most kMaxChainDepth intermediate CA certificates between the signer and its trust
//    anchor (X509_VERIFY_PARAM_set_depth: the chain holds at most kMaxChainDepth + 2).
inline constexpr size_t kMaxCmsCertificates = 16;
inline constexpr int kMaxChainDepth = 8;

// Inputs of VerifySignedData.
struct VerifyOptions {
  std::vector<X509*> trust_anchors;    // borrowed
  std::vector<X509*> extra_untrusted;  // borrowed; intermediates not embedded in the CMS
  absl::Time verification_time = absl::InfinitePast();  // must be set
  bool partial_chain = false;
  STACK_OF(X509_CRL) * crls = nullptr;  // borrowed; with check_revocation
  bool check_revocation = false;        // require CRLs for every certificate in the chain
  OSSL_LIB_CTX* libctx = nullptr;
  const char* propq = nullptr;
  size_t max_certificates = kMaxCmsCertificates;  // more embedded: kInvalidArgument
  int max_chain_depth = kMaxChainDepth;           // a longer chain: kPermissionDenied
};
// Verifies DER SignedData with exactly one signer. Checked: the structure parses; there is
// exactly one SignerInfo; its signer certificate is found among the embedded certificates
// (plus `extra_untrusted`); that certificate chains to one of `trust_anchors` at
// `verification_time` (validity periods of every certificate in the chain, signatures, CA
// basic constraints of issuers) with purpose "any" - the signer certificate needs no
// particular extended key usage; the signature over the signed attributes and the message
// digest of the embedded content. Not checked: revocation (no CRLs are consulted), the
// signingTime attribute. With `partial_chain`, a trust anchor need not be self-signed (the
// SZTP pinned-domain-cert case). kInvalidArgument: not parseable, detached content, no or
// several signers. kPermissionDenied: the signature or chain does not verify (with OpenSSL's
// reason). The CMS is refused with kInvalidArgument before any signature or chain work when
// it embeds more than `max_certificates` certificates; a chain longer than `max_chain_depth`
// intermediates fails to verify. Thread-safe.
absl::StatusOr<VerifiedSignedData> VerifySignedData(std::string_view der,
                                                    const VerifyOptions& options);

// Verifies DER SignedData against one known signer certificate and nothing else: the
// certificate is not chain-validated here (the caller has done so), embedded certificates
// are ignored for signer lookup. kPermissionDenied when `signer` did not sign it.
absl::StatusOr<VerifiedSignedData> VerifySignedDataWithSigner(std::string_view der, X509* signer,
                                                              OSSL_LIB_CTX* libctx = nullptr,
                                                              const char* propq = nullptr);

// A "certificates only" SignedData (RFC 5652 section 5 degenerate case; the RFC 8572
// owner-certificate format): no signers, no eContent (eContentType id-data), `certificates`
// in the given order. kInvalidArgument when empty.
absl::StatusOr<std::string> BuildCertificateBag(const std::vector<X509*>& certificates);

// The certificates of a DER SignedData, in order; SignerInfos, if any, are ignored.
// kInvalidArgument when it does not parse or carries no certificate.
absl::StatusOr<std::vector<UniquePtr<X509>>> ParseCertificateBag(std::string_view der);

}  // namespace masa::signer
