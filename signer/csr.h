// Key ceremony helpers: a PKCS#10 request signed by an HSM key, an end-entity certificate
// issued by a CA key in the HSM, and the checks an imported certificate must pass (it holds
// the key, it chains to the trust anchor).
//
//   MASA_ASSIGN_OR_RETURN(std::string csr, signer::CreateCsr("CN=MASA 2027,O=Vendor",
//       public_key.get(), hsm_key.get(), provider->libctx(), nullptr));
//   MASA_RETURN_IF_ERROR(signer::CheckCertificateKey(leaf.get(), public_key_der));
//   MASA_RETURN_IF_ERROR(signer::CheckChain({leaf.get(), ca.get()}, anchor.get(), absl::Now()));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/openssl.h"

namespace masa::signer {

// A DER PKCS#10 request (RFC 2986) for `public_key` with `subject` (as IssueCertificate
// parses it), signed by `private_key` in `libctx` / `propq` (an HSM key through the
// provider; the private half never leaves it). The signature algorithm follows the key:
// ecdsa-with-SHA256/384 for P-256/P-384, sha256WithRSAEncryption for RSA, Ed25519 for
// Ed25519. The request carries no attributes or extensions (the CA decides them).
// kInvalidArgument: null key, bad subject; kInternal: OpenSSL could not sign (its reasons).
// Thread-safe.
absl::StatusOr<std::string> CreateCsr(std::string_view subject, EVP_PKEY* public_key,
                                      EVP_PKEY* private_key, OSSL_LIB_CTX* libctx,
                                      const char* propq);

// An end-entity certificate for `public_key` issued by `ca_cert` / `ca_key` (the vendor CA,
// its key in the HSM): random 63-bit serial, basicConstraints CA:FALSE (critical), keyUsage
// digitalSignature (critical), subjectKeyIdentifier and authorityKeyIdentifier, the given
// `subject` and validity [not_before, not_after]. kInvalidArgument: bad subject, empty
// validity, null arguments. Thread-safe.
absl::StatusOr<UniquePtr<X509>> IssueEndEntityCertificate(std::string_view subject,
                                                          EVP_PKEY* public_key, X509* ca_cert,
                                                          EVP_PKEY* ca_key, OSSL_LIB_CTX* libctx,
                                                          const char* propq, absl::Time not_before,
                                                          absl::Time not_after);

// A positive random serial number below 2^63 (OpenSSL's RAND_bytes). CA/Browser Forum
// practice asks for 64 bits of CSPRNG output; 63 keep the INTEGER positive in 8 octets.
absl::StatusOr<uint64_t> RandomSerial();

// OK when `cert`'s subject public key is `public_key_der` (a DER SubjectPublicKeyInfo,
// compared as keys, not as bytes). kFailedPrecondition "the certificate <subject> holds
// another public key than the key's"; kInvalidArgument when `public_key_der` does not parse.
absl::Status CheckCertificateKey(X509* cert, std::string_view public_key_der);

// OK when `chain` (leaf first, then intermediates in any order; the anchor itself may be
// included) verifies up to `trust_anchor` at `at`: signatures, validity periods, CA basic
// constraints of every issuer (purpose "any"). kFailedPrecondition naming the failing
// certificate and OpenSSL's reason ("certificate has expired", "unable to get local issuer
// certificate", ...); kInvalidArgument for an empty chain or null anchor. Thread-safe.
absl::Status CheckChain(const std::vector<X509*>& chain, X509* trust_anchor, absl::Time at);

}  // namespace masa::signer
