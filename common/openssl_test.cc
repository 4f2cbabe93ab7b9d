#include "common/openssl.h"

#include "common/file.h"
#include "gtest/gtest.h"

namespace masa {
namespace {

TEST(Certificates, ParsesPemAndDerAlike) {
  auto pem = ReadFile(std::string(MASA_VECTORS_DIR) + "/rfc8995/vendor.crt");
  ASSERT_TRUE(pem.ok());
  auto cert = ParseCertificate(*pem);
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto der = CertificateToDer(cert->get());
  ASSERT_TRUE(der.ok());
  auto again = ParseCertificate(*der);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(X509_cmp(cert->get(), again->get()), 0);
  EXPECT_EQ(SubjectName(cert->get()), "CN=highway-test.example.com CA");
}

TEST(Certificates, GarbageIsInvalidArgument) {
  EXPECT_EQ(ParseCertificate("hello").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseCertificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace masa
