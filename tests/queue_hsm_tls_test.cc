// queue's HTTPS server with its key in an HSM: a SoftHSM2 key behind the OpenSSL provider
// signs the TLS handshake, for curl over TLS 1.2 and 1.3. An integration test: it puts hsm/,
// hsm/provider/ and signer/ (for the certificate) under queue/, which the layering lets only
// tests/ do (it lived in queue/http_server_test.cc before).
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hsm/provider/provider.h"
#include "hsm/testing/softhsm_token.h"
#include "queue/http_server.h"
#include "queue/testing/http_test_util.h"
#include "signer/certificate.h"

namespace masa::queue {
namespace {

using ::testing::HasSubstr;
using testing::CommandResult;
using testing::Curl;
using testing::RunCommand;
using testing::StartServer;
using testing::TestHandler;

// The server key lives in SoftHSM2 and signs the handshake through the provider.
TEST(HttpServerHsmTest, TlsWithAnHsmKey) {
  auto temp = hsm::testing::TempToken::Create();
  ASSERT_TRUE(temp.ok()) << temp.status();
  auto info = (*temp)->token()->GenerateKeyPair(hsm::KeyType::kEcP256, "tls");
  ASSERT_TRUE(info.ok()) << info.status();
  auto ctx = hsm::ProviderContext::Create((*temp)->token());
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  auto key = (*ctx)->LoadPrivateKey(info->uri);
  ASSERT_TRUE(key.ok()) << key.status();
  auto pub = (*ctx)->PublicKey(*info);
  ASSERT_TRUE(pub.ok()) << pub.status();
  absl::Time now = absl::Now();
  auto cert = signer::IssueCertificate("CN=localhost,O=MASA test", pub->get(), nullptr, key->get(),
                                       (*ctx)->libctx(), nullptr, now - absl::Hours(1),
                                       now + absl::Hours(24), false, 7);
  ASSERT_TRUE(cert.ok()) << cert.status();

  TestHandler handler;
  HttpServerOptions o;
  o.address = "127.0.0.1";
  o.tls_chain = {cert->get()};
  o.tls_key = key->get();
  o.libctx = (*ctx)->libctx();
  auto server = StartServer(o, &handler);
  ASSERT_NE(server, nullptr);
  for (const char* version : {"--tlsv1.2 --tls-max 1.2", "--tlsv1.3"}) {
    // -k: the certificate has no subjectAltName; what matters is the handshake signature.
    CommandResult r = RunCommand(
        Curl(absl::StrCat("-v -k ", version, " https://127.0.0.1:", server->port(), "/hsm")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("subject: O=MASA test; CN=localhost"));
    EXPECT_THAT(r.output, HasSubstr("path=/hsm"));
  }
  server->Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace masa::queue
