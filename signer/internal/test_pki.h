// Test-only helpers for signer/ tests: software keys and a small PKI built with
// IssueCertificate. Not for production code.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "absl/time/time.h"
#include "common/file.h"
#include "common/openssl.h"
#include "signer/certificate.h"

namespace masa::signer::testing {

// A fixed "now" for tests: 2030-01-01T00:00:00Z.
inline absl::Time TestNow() { return absl::FromUnixSeconds(1893456000); }

// Generates an EC key on `curve` ("P-256", "P-384") in `libctx`; aborts the test on failure.
inline UniquePtr<EVP_PKEY> NewEcKey(const char* curve = "P-256", OSSL_LIB_CTX* libctx = nullptr) {
  UniquePtr<EVP_PKEY> key(EVP_PKEY_Q_keygen(libctx, nullptr, "EC", curve));
  EXPECT_NE(key, nullptr) << "EC keygen failed";
  return key;
}

// A key and its certificate.
struct Identity {
  UniquePtr<EVP_PKEY> key;
  UniquePtr<X509> cert;
};

// Issues `subject` for a fresh key under `issuer` (nullptr = self-signed), valid
// TestNow() - 1 day .. TestNow() + `days`.
inline Identity MakeIdentity(const std::string& subject, const Identity* issuer, bool is_ca,
                             const char* curve = "P-256", OSSL_LIB_CTX* libctx = nullptr,
                             int days = 365, uint64_t serial = 1) {
  Identity id;
  id.key = NewEcKey(curve, libctx);
  auto cert = IssueCertificate(subject, id.key.get(), issuer ? issuer->cert.get() : nullptr,
                               issuer ? issuer->key.get() : id.key.get(), libctx, nullptr,
                               TestNow() - absl::Hours(24), TestNow() + absl::Hours(24 * days),
                               is_ca, serial);
  EXPECT_TRUE(cert.ok()) << cert.status();
  if (cert.ok()) id.cert = *std::move(cert);
  return id;
}

inline std::string Vector(const std::string& name) {
  auto data = ReadFile(std::string(MASA_VECTORS_DIR) + "/" + name);
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? *data : std::string();
}

inline std::string CertDer(X509* cert) {
  auto der = CertificateToDer(cert);
  EXPECT_TRUE(der.ok());
  return der.ok() ? *der : std::string();
}

}  // namespace masa::signer::testing
