// Issuing X.509 certificates for the development and test PKI (vendor CA, MASA signer, owner
// CA, owner certificates), signed with any EVP_PKEY, including HSM keys behind a provider.
//
//   MASA_ASSIGN_OR_RETURN(auto ca, masa::signer::IssueCertificate("CN=Vendor CA,O=Example",
//       ca_key, nullptr, ca_key, nullptr, nullptr, now, now + absl::Hours(24 * 3650), true, 1));
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/openssl.h"

namespace masa::signer {

// Issues an X.509 v3 certificate for `subject_key`'s public key.
//  - `subject`: a distinguished name, either RFC 4514 ("CN=Device CA,O=Example,C=US", most
//    specific first, as SubjectName() prints) or OpenSSL's "/C=US/O=Example/CN=Device CA"
//    (encoding order). Attribute types are OpenSSL short or long names (CN, O, OU, C, L, ST,
//    serialNumber, DC, ...). "\," escapes a comma in the RFC 4514 form.
//  - `issuer_cert`: the issuing CA's certificate, or nullptr for a self-signed certificate
//    (then the issuer is `subject` and `issuer_key` must be `subject_key`'s private half).
//  - `issuer_key`: signs. Only its private operation is used: the signature algorithm is
//    chosen from the issuer's certificate (or `subject_key` when self-signed), so an HSM key
//    whose public half the provider does not export works. The digest follows the key
//    (SHA-384 for P-384, SHA-512 for P-521, else SHA-256).
//  - `libctx`, `propq`: the library context and property query the signature runs in.
//  - `serial`: positive; callers keep serials unique per issuer.
// Extensions: basicConstraints (critical; cA as `is_ca`), keyUsage (critical;
// keyCertSign+cRLSign for a CA, digitalSignature otherwise), subjectKeyIdentifier (SHA-1 of
// the public key, RFC 5280 method 1), authorityKeyIdentifier (the issuer's key identifier).
// A TLS server certificate: `server_alt_names` non-empty (OpenSSL's subjectAltName form,
// "DNS:localhost,IP:127.0.0.1") adds that subjectAltName and extendedKeyUsage serverAuth.
// kInvalidArgument: bad DN, null keys, not_after <= not_before, serial 0.
// kInternal: OpenSSL failed to build or sign (with its reasons). Thread-safe.
absl::StatusOr<UniquePtr<X509>> IssueCertificate(std::string_view subject, EVP_PKEY* subject_key,
                                                 X509* issuer_cert, EVP_PKEY* issuer_key,
                                                 OSSL_LIB_CTX* libctx, const char* propq,
                                                 absl::Time not_before, absl::Time not_after,
                                                 bool is_ca, uint64_t serial,
                                                 std::string_view server_alt_names = {});

// Parses `subject` as IssueCertificate does. kInvalidArgument names the bad component.
absl::StatusOr<UniquePtr<X509_NAME>> ParseDistinguishedName(std::string_view subject);

// The digest a certificate or CSR signature by a key like `public_key` uses, matched to its
// strength: SHA384 for P-384, SHA512 for P-521, SHA256 otherwise; null for EdDSA (PureEdDSA
// takes no digest).
const char* SignatureDigestFor(EVP_PKEY* public_key);

// Whether `issuer` issued `cert`: `cert`'s issuer name equals `issuer`'s subject (X.509 name
// comparison) and `cert`'s signature verifies with `issuer`'s public key. kInvalidArgument
// saying which failed, naming both subjects. Validity periods, basicConstraints and keyUsage
// are not looked at: an end-entity key (an RFC 8995 registrar pinned as the domain
// certificate) that signed a certificate has still proven that its holder endorsed it.
// Thread-safe.
absl::Status CheckIssuedBy(X509* cert, X509* issuer);

// The keyIdentifier of `cert`'s subjectKeyIdentifier / authorityKeyIdentifier extension as
// raw bytes; empty when the extension (or the keyIdentifier field) is absent.
std::string SubjectKeyId(X509* cert);
std::string AuthorityKeyId(X509* cert);

}  // namespace masa::signer
