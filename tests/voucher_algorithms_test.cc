// Every key algorithm the HSM offers signs vouchers through our OpenSSL provider, for both
// eContentTypes: a vendor CA key in the HSM certifies a signing key in the HSM (after a
// PKCS#10 request signed inside the HSM), and each voucher verifies with the openssl CLI,
// with `masactl voucher verify` and with our verifier, as a device vendor would check it.
#include <openssl/opensslv.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hsm/provider/provider.h"
#include "hsm/testing/softhsm_token.h"
#include "signer/certificate.h"
#include "signer/cms.h"
#include "signer/csr.h"
#include "signer/verifier.h"
#include "tests/internal/e2e.h"

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;

struct AlgorithmCase {
  hsm::KeyType type;
  const char* name;
  const char* signature_algorithm;  // as openssl cms -cmsout -print names it
};

class VoucherAlgorithmTest : public ::testing::TestWithParam<AlgorithmCase> {
 protected:
  void SetUp() override {
    auto temp = hsm::testing::TempToken::Create();
    ASSERT_TRUE(temp.ok()) << temp.status();
    temp_ = std::move(*temp);
    auto ctx = hsm::ProviderContext::Create(temp_->token());
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    provider_ = std::move(*ctx);
  }

  // A key pair of `type` in the HSM: the private half as a provider key, and the public half.
  void MakeKey(hsm::KeyType type, const std::string& label, UniquePtr<EVP_PKEY>* private_key,
               UniquePtr<EVP_PKEY>* public_key) {
    auto info = temp_->token()->GenerateKeyPair(type, label);
    ASSERT_TRUE(info.ok()) << info.status();
    auto key = provider_->LoadPrivateKey(info->uri);
    ASSERT_TRUE(key.ok()) << key.status();
    auto pub = provider_->PublicKey(*info);
    ASSERT_TRUE(pub.ok()) << pub.status();
    *private_key = std::move(*key);
    *public_key = std::move(*pub);
  }

  std::string WritePem(X509* cert, const std::string& name) {
    auto pem = CertificateToPem(cert);
    EXPECT_TRUE(pem.ok()) << pem.status();
    WriteFile(dir_ / name, pem.ok() ? *pem : "");
    return dir_ / name;
  }

  // RFC 8419 with the openssl CLI alone, for OpenSSL versions whose cms command cannot: the
  // signed attributes are the SignerInfo's [0] (the only one at depth 5, as asn1parse
  // shows), re-tagged as the SET OF they are signed as; the signature is the last 64 bytes
  // (SignerInfo ends the structure); openssl pkeyutl checks PureEdDSA over them with the
  // public key of the leaf certificate.
  void CheckEd25519AttributesWithOpenssl(const std::string& file, const std::string& leaf_pem) {
    ProcessResult parse = RunTool({OPENSSL_CLI, "asn1parse", "-inform", "DER", "-in", file});
    ASSERT_EQ(parse.exit_code, 0) << parse;
    size_t offset = 0, header = 0, length = 0;
    bool found = false;
    for (absl::string_view line : absl::StrSplit(parse.out, '\n')) {
      if (line.find("d=5") == absl::string_view::npos ||
          line.find("cons: cont [ 0 ]") == absl::string_view::npos) {
        continue;
      }
      ASSERT_EQ(std::sscanf(std::string(line).c_str(), " %zu:d=5 hl=%zu l=%zu", &offset, &header,
                            &length),
                3)
          << line;
      found = true;
    }
    ASSERT_TRUE(found) << parse.out;
    std::string der = ReadFileOrEmpty(file);
    ASSERT_GE(der.size(), offset + header + length);
    std::string attrs = der.substr(offset, header + length);
    attrs[0] = '\x31';  // [0] IMPLICIT -> SET
    WriteFile(dir_ / "attrs.der", attrs);
    WriteFile(dir_ / "sig.bin", der.substr(der.size() - 64));
    ProcessResult pub = RunTool(
        {OPENSSL_CLI, "x509", "-in", leaf_pem, "-pubkey", "-noout", "-out", dir_ / "pub.pem"});
    ASSERT_EQ(pub.exit_code, 0) << pub;
    ProcessResult check =
        RunTool({OPENSSL_CLI, "pkeyutl", "-verify", "-pubin", "-inkey", dir_ / "pub.pem", "-rawin",
                 "-in", dir_ / "attrs.der", "-sigfile", dir_ / "sig.bin"});
    EXPECT_EQ(check.exit_code, 0) << check;
    EXPECT_THAT(check.out, HasSubstr("Signature Verified Successfully")) << check;
  }

  TempFolder dir_;
  std::unique_ptr<hsm::testing::TempToken> temp_;
  std::unique_ptr<hsm::ProviderContext> provider_;
};

TEST_P(VoucherAlgorithmTest, VouchersVerifyWithOpensslMasactlAndOurVerifier) {
  const AlgorithmCase& c = GetParam();
  const absl::Time now = absl::Now();
  UniquePtr<EVP_PKEY> ca_key, ca_pub, key, pub;
  MakeKey(c.type, "vendor-ca", &ca_key, &ca_pub);
  MakeKey(c.type, "masa-signing", &key, &pub);
  ASSERT_NE(key, nullptr);
  ASSERT_NE(ca_key, nullptr);

  // The vendor CA (self-signed, in the HSM) and a CSR signed inside the HSM.
  auto ca = signer::IssueCertificate("CN=Vendor CA,O=Example", ca_pub.get(), nullptr, ca_key.get(),
                                     provider_->libctx(), nullptr, now - absl::Hours(1),
                                     now + absl::Hours(24 * 365), true, 1);
  ASSERT_TRUE(ca.ok()) << ca.status();
  const std::string anchor = WritePem(ca->get(), "anchor.pem");
  auto csr = signer::CreateCsr("CN=MASA signer,O=Example", pub.get(), key.get(),
                               provider_->libctx(), nullptr);
  ASSERT_TRUE(csr.ok()) << csr.status();
  WriteFile(dir_ / "req.der", *csr);
  ProcessResult req = RunTool({OPENSSL_CLI, "req", "-inform", "DER", "-in", dir_ / "req.der",
                               "-verify", "-noout", "-subject"});
  EXPECT_EQ(req.exit_code, 0) << req;
  EXPECT_THAT(req.out + req.err, HasSubstr("CN = MASA signer")) << req;

  auto leaf = signer::IssueEndEntityCertificate("CN=MASA signer,O=Example", pub.get(), ca->get(),
                                                ca_key.get(), provider_->libctx(), nullptr,
                                                now - absl::Hours(1), now + absl::Hours(24 * 90));
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  auto spki = [&](EVP_PKEY* k) {
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(k, &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len > 0 ? len : 0));
    OPENSSL_free(der);
    return out;
  };
  EXPECT_TRUE(signer::CheckCertificateKey(leaf->get(), spki(pub.get())).ok());
  EXPECT_EQ(signer::CheckCertificateKey(leaf->get(), spki(ca_pub.get())).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(signer::CheckChain({leaf->get(), ca->get()}, ca->get(), now).ok());
  const std::string leaf_pem = WritePem(leaf->get(), "leaf.pem");
  ProcessResult chain = RunTool({OPENSSL_CLI, "verify", "-CAfile", anchor, leaf_pem});
  EXPECT_EQ(chain.exit_code, 0) << chain;

  signer::Voucher voucher;
  voucher.created_on = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  voucher.expires_on = *voucher.created_on + absl::Hours(24);
  voucher.assertion = signer::Assertion::kVerified;
  voucher.serial_number = "ALG-0001";
  auto pdc = CertificateToDer(ca->get());
  ASSERT_TRUE(pdc.ok());
  voucher.pinned_domain_cert = *pdc;

  for (signer::CmsContentType type :
       {signer::CmsContentType::kAnimaJsonVoucher, signer::CmsContentType::kData}) {
    SCOPED_TRACE(signer::ContentTypeOid(type));
    auto vs = signer::VoucherSigner::Create(key.get(), leaf->get(), {ca->get()}, type,
                                            provider_->libctx(), nullptr);
    ASSERT_TRUE(vs.ok()) << vs.status();
    auto der = (*vs)->Sign(voucher);
    ASSERT_TRUE(der.ok()) << der.status();
    const std::string file =
        dir_ / absl::StrCat(c.name, "-", (type == signer::CmsContentType::kData ? "data" : "anima"),
                            ".vcj");
    WriteFile(file, *der);

    // Our verifier, in the default library context, as a device would.
    X509* anchors[] = {ca->get()};
    signer::VerifyOptions options;
    options.trust_anchors = {anchors[0]};
    options.verification_time = now;
    auto verified = signer::VerifySignedData(*der, options);
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(verified->content_type, type);

    // The openssl CLI: the structure it reads, then the signature and chain.
    ProcessResult print =
        RunTool({OPENSSL_CLI, "cms", "-cmsout", "-print", "-inform", "DER", "-in", file});
    EXPECT_EQ(print.exit_code, 0) << print;
    EXPECT_THAT(print.out, HasSubstr(c.signature_algorithm));
    std::vector<std::string> verify = {OPENSSL_CLI, "cms", "-verify", "-binary",        "-inform",
                                       "DER",       "-in", file,      "-CAfile",        anchor,
                                       "-purpose",  "any", "-out",    dir_ / "out.json"};
#if OPENSSL_VERSION_NUMBER < 0x30200000L
    // OpenSSL before 3.2 hands SHA-512 to EdDSA when checking the signed attributes and
    // fails; it still checks the chain and the content digest, and the Ed25519 signature
    // over the attributes is checked separately below with openssl pkeyutl.
    if (c.type == hsm::KeyType::kEd25519) verify.push_back("-no_attr_verify");
#endif
    ProcessResult r = RunTool(verify);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_THAT(r.err, HasSubstr("Verification successful")) << r;
    EXPECT_THAT(ReadFileOrEmpty(dir_ / "out.json"), HasSubstr("\"serial-number\":\"ALG-0001\""));
    if (c.type == hsm::KeyType::kEd25519) CheckEd25519AttributesWithOpenssl(file, leaf_pem);

    // masactl voucher verify: every device-side check.
    ProcessResult m =
        Masactl({"voucher", "verify", "--trust-anchor", anchor, "--serial", "ALG-0001", file});
    EXPECT_EQ(m.exit_code, 0) << m;

    // A voucher altered in one byte of its content verifies nowhere.
    std::string tampered = *der;
    size_t at = tampered.find("ALG-0001");
    ASSERT_NE(at, std::string::npos);
    tampered[at] = 'B';
    EXPECT_EQ(signer::VerifySignedData(tampered, options).status().code(),
              absl::StatusCode::kPermissionDenied);
    WriteFile(dir_ / "tampered.vcj", tampered);
    std::vector<std::string> bad = verify;
    bad[7] = dir_ / "tampered.vcj";
    EXPECT_NE(RunTool(bad).exit_code, 0);
    EXPECT_NE(Masactl({"voucher", "verify", "--trust-anchor", anchor, "--serial", "BLG-0001",
                       dir_ / "tampered.vcj"})
                  .exit_code,
              0);
    // Nor does one whose signature is altered (its last byte ends the SignerInfo).
    std::string forged = *der;
    forged.back() = static_cast<char>(forged.back() ^ 0x01);
    EXPECT_EQ(signer::VerifySignedData(forged, options).status().code(),
              absl::StatusCode::kPermissionDenied);
    WriteFile(dir_ / "forged.vcj", forged);
    EXPECT_NE(Masactl({"voucher", "verify", "--trust-anchor", anchor, "--serial", "ALG-0001",
                       dir_ / "forged.vcj"})
                  .exit_code,
              0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllAlgorithms, VoucherAlgorithmTest,
    ::testing::Values(AlgorithmCase{hsm::KeyType::kEcP256, "P256", "ecdsa-with-SHA256"},
                      AlgorithmCase{hsm::KeyType::kEcP384, "P384", "ecdsa-with-SHA384"},
                      AlgorithmCase{hsm::KeyType::kRsa3072, "Rsa3072", "rsaEncryption"},
                      AlgorithmCase{hsm::KeyType::kEd25519, "Ed25519", "ED25519"}),
    [](const ::testing::TestParamInfo<AlgorithmCase>& info) { return info.param.name; });

// masactl dev-init --algorithm ed25519: the development state's MASA key is Ed25519, and
// masactl signs vouchers with it that masactl voucher verify accepts.
TEST(DevInitAlgorithmTest, Ed25519StateSignsVouchersThatVerify) {
  // SoftHSM2 2.6.1 leaks in every EdDSA signature; hsm/token.cc keeps LeakSanitizer off that
  // (ASan build), so masactl needs no suppressions of its own.
  TempFolder dir;
  const std::string state = dir / "state";
  ProcessResult init = Masactl({"dev-init", "--state", state, "--algorithm", "ed25519"});
  ASSERT_EQ(init.exit_code, 0) << init;
  ProcessResult print =
      RunTool({OPENSSL_CLI, "x509", "-in", state + "/masa.pem", "-noout", "-text"});
  EXPECT_THAT(print.out, HasSubstr("Public Key Algorithm: ED25519")) << print;
  ProcessResult sign = Masactl({"voucher", "sign", "--state", state, "--serial", "ED-1", "--pdc",
                                state + "/trust-anchor.pem", "--out", dir / "ed.vcj"});
  ASSERT_EQ(sign.exit_code, 0) << sign;
  ProcessResult verify = Masactl({"voucher", "verify", "--trust-anchor",
                                  state + "/trust-anchor.pem", "--serial", "ED-1", dir / "ed.vcj"});
  EXPECT_EQ(verify.exit_code, 0) << verify;
  EXPECT_NE(Masactl({"dev-init", "--state", dir / "other", "--algorithm", "dsa"}).exit_code, 0);
}

}  // namespace
}  // namespace masa::e2e
