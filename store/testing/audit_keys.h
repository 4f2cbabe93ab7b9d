// Test support: fixed audit keys, so that fuzz targets and the tests that write their seeds
// sign and verify with the same keys. Test keys, public on purpose; never an appliance's.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>

#include "common/openssl.h"

namespace masa::store::testing {

// The Ed25519 audit key the audit fuzz seeds (proofs, exports, notes) are signed with.
inline constexpr char kFuzzAuditKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIERfFJZEODdZMOvMBY4DadRkgwh+Ga2dc90HMLSqSJBo\n"
    "-----END PRIVATE KEY-----\n";

// A P-256 audit key (the checkpoint note fuzz seed ec_note is signed with it).
inline constexpr char kFuzzEcAuditKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgT2awes1LzZ+LHTDZ\n"
    "uDx5XrUox8j40aHJBxwgrXgvT7ehRANCAARA8p79jUDsgiBgXpw4IoDXFTxwd7hZ\n"
    "nqYiZMxwpzSBH7zeBqaM0CA3Y6Y8EVWAQP2/HTcvRgVbUPYHPHPpX1Iy\n"
    "-----END PRIVATE KEY-----\n";

// The private key of a PEM text above; null if it does not parse.
inline UniquePtr<EVP_PKEY> KeyFromPem(const char* pem) {
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem, -1));
  return UniquePtr<EVP_PKEY>(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// The two keys above, parsed once and kept for the life of the process (fuzz targets call
// these on every input); abort if they do not parse.
inline EVP_PKEY* FuzzAuditKeyOnce() {
  static EVP_PKEY* key = KeyFromPem(kFuzzAuditKeyPem).release();
  if (key == nullptr) abort();
  return key;
}
inline EVP_PKEY* FuzzEcAuditKeyOnce() {
  static EVP_PKEY* key = KeyFromPem(kFuzzEcAuditKeyPem).release();
  if (key == nullptr) abort();
  return key;
}

}  // namespace masa::store::testing
