// The RFC 8995 Appendix C voucher, verified through `masactl voucher verify` as a device
// would, intact and with one byte changed in its content, signature or certificate.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/internal/e2e.h"

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;

const std::string kVectors = std::string(MASA_VECTORS_DIR) + "/rfc8995";
const std::string kVoucher = kVectors + "/voucher_00-D0-E5-F2-00-02.b64";
const std::string kVendor = kVectors + "/vendor.crt";
constexpr char kSerial[] = "00-D0-E5-F2-00-02";
constexpr char kNonce[] = "-_XE9zK9q8Ll1qylMtLKeg";    // the nonce in the voucher (base64url)
constexpr char kWhenValid[] = "2021-06-01T00:00:00Z";  // every certificate is valid then

class Rfc8995VoucherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProcessResult r = RunTool({"base64", "-d", kVoucher});
    ASSERT_EQ(r.exit_code, 0) << r;
    der_ = r.out;
    ASSERT_EQ(static_cast<unsigned char>(der_[0]), 0x30) << "not a DER SEQUENCE";
  }

  ProcessResult Verify(const std::string& voucher, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"voucher", "verify", "--trust-anchor", kVendor};
    if (std::find(extra.begin(), extra.end(), "--serial") == extra.end()) {
      args.insert(args.end(), {"--serial", kSerial});
    }
    if (std::find(extra.begin(), extra.end(), "--at") == extra.end()) {
      args.insert(args.end(), {"--at", kWhenValid});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(voucher);
    return Masactl(args);
  }

  // Writes the vector's DER with the low bit of the byte at `offset` flipped; returns the file.
  std::string Flipped(size_t offset) {
    EXPECT_LT(offset, der_.size());
    std::string copy = der_;
    copy[offset] = static_cast<char>(copy[offset] ^ 0x01);
    std::string path = dir_ / ("flipped-" + std::to_string(offset) + ".der");
    WriteFile(path, copy);
    return path;
  }

  TempFolder dir_;
  std::string der_;
};

TEST_F(Rfc8995VoucherTest, AcceptedWithTheVendorAnchorAtAValidTime) {
  ProcessResult r = Verify(kVoucher, {"--nonce", kNonce});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("voucher signature: OK (signer CN=highway-test.example.com MASA)"));
  EXPECT_THAT(r.out, HasSubstr("serial-number 00-D0-E5-F2-00-02, assertion logged"));
  // created-on is written as 2021-04-13T17:43:24.589-04:00 and shown in UTC.
  EXPECT_THAT(r.out, HasSubstr("created-on 2021-04-13T21:43:24.589Z"));
  EXPECT_THAT(r.out, HasSubstr("pinned-domain-cert: CN=fountain-test.example.com"));
  EXPECT_THAT(r.out, HasSubstr("verification OK"));
}

TEST_F(Rfc8995VoucherTest, DerCopyIsAcceptedToo) {
  std::string path = dir_ / "voucher.der";
  WriteFile(path, der_);
  ProcessResult r = Verify(path, {"--nonce", kNonce});
  EXPECT_EQ(r.exit_code, 0) << r;
}

// The voucher carries a nonce; a device that sent none (or another) must not accept it.
TEST_F(Rfc8995VoucherTest, NonceMustMatchTheOneTheDeviceSent) {
  ProcessResult none = Verify(kVoucher);
  EXPECT_NE(none.exit_code, 0) << none;
  EXPECT_EQ(FailedStep(none.err), "nonce") << none;
  ProcessResult other = Verify(kVoucher, {"--nonce", "AAAAAAAAAAAAAAAAAAAAAA"});
  EXPECT_NE(other.exit_code, 0) << other;
  EXPECT_EQ(FailedStep(other.err), "nonce") << other;
}

TEST_F(Rfc8995VoucherTest, OneByteChangedInTheContentFailsAtSignature) {
  // Turn the serial number into another device's (...-02 -> ...-03), the forgery that matters.
  const std::string field = std::string("\"serial-number\":\"") + kSerial + "\"";
  size_t at = der_.find(field);
  ASSERT_NE(at, std::string::npos);
  std::string copy = der_;
  copy[at + field.size() - 2] = '3';
  std::string path = dir_ / "content.der";
  WriteFile(path, copy);
  ProcessResult r = Verify(path, {"--serial", "00-D0-E5-F2-00-03", "--nonce", kNonce});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(FailedStep(r.err), "signature") << r;
  EXPECT_THAT(r.out, Not(HasSubstr("verification OK"))) << r;
}

TEST_F(Rfc8995VoucherTest, OneByteChangedInTheSignatureFailsAtSignature) {
  // The SignerInfo signature is the last element: the final OCTET STRING asn1parse lists.
  std::string path = dir_ / "voucher.der";
  WriteFile(path, der_);
  ProcessResult parse = RunTool({OPENSSL_CLI, "asn1parse", "-inform", "DER", "-in", path});
  ASSERT_EQ(parse.exit_code, 0) << parse;
  std::vector<std::string> lines = absl::StrSplit(parse.out, '\n', absl::SkipWhitespace());
  ASSERT_FALSE(lines.empty());
  const std::string& last = lines.back();  // " 1500:d=5  hl=2 l=  72 prim: OCTET STRING ..."
  ASSERT_THAT(last, HasSubstr("prim: OCTET STRING")) << parse.out;
  size_t offset = 0, header = 0, length = 0;
  ASSERT_EQ(std::sscanf(last.c_str(), " %zu:d=%*d hl=%zu l=%zu", &offset, &header, &length), 3)
      << last;
  ASSERT_EQ(offset + header + length, der_.size()) << "the signature is not the last element";
  // The ECDSA signature's last byte is the low byte of s.
  ProcessResult r = Verify(Flipped(der_.size() - 1), {"--nonce", kNonce});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(FailedStep(r.err), "signature") << r;
}

TEST_F(Rfc8995VoucherTest, OneByteChangedInTheEmbeddedCertificateFailsAtSignature) {
  ProcessResult cert =
      RunTool({OPENSSL_CLI, "x509", "-in", kVectors + "/masa.crt", "-outform", "DER"});
  ASSERT_EQ(cert.exit_code, 0) << cert;
  size_t at = der_.find(cert.out);
  ASSERT_NE(at, std::string::npos) << "masa.crt is not embedded in the voucher";
  // Change the certificate's subject "... MASA" to "... LASA": still well-formed, still found
  // by the SignerInfo (issuer and serial are unchanged), but no longer what the CA signed.
  const std::string name = "highway-test.example.com MASA";
  size_t subject = der_.find(name, at);
  ASSERT_LT(subject, at + cert.out.size());
  ProcessResult r = Verify(Flipped(subject + name.size() - 4), {"--nonce", kNonce});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(FailedStep(r.err), "signature") << r;
}

TEST_F(Rfc8995VoucherTest, WrongSerialFailsAtSerialNumber) {
  ProcessResult r = Verify(kVoucher, {"--serial", "00-D0-E5-F2-00-03", "--nonce", kNonce});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(FailedStep(r.err), "serial-number") << r;
  EXPECT_THAT(r.err, HasSubstr("00-D0-E5-F2-00-03")) << r;
}

TEST_F(Rfc8995VoucherTest, AfterTheMasaCertificateExpiredFailsAtSignature) {
  // masa.crt and vendor.crt end on 2023-04-13.
  ProcessResult r = Verify(kVoucher, {"--at", "2024-06-01T00:00:00Z", "--nonce", kNonce});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(FailedStep(r.err), "signature") << r;
  EXPECT_THAT(r.err, HasSubstr("expired")) << r;
}

// A pledge provisioned with the MASA certificate itself rather than the vendor CA.
TEST_F(Rfc8995VoucherTest, TheMasaCertificateIsAcceptedAsAPartialChainAnchor) {
  ProcessResult r = Masactl({"voucher", "verify", "--trust-anchor", kVectors + "/masa.crt",
                             "--serial", kSerial, "--at", kWhenValid, "--nonce", kNonce, kVoucher});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("verification OK")) << r;
}

TEST_F(Rfc8995VoucherTest, AnotherTrustAnchorFailsAtSignature) {
  ProcessResult r =
      Masactl({"voucher", "verify", "--trust-anchor", kVectors + "/ownerca_secp384r1.crt",
               "--serial", kSerial, "--at", kWhenValid, "--nonce", kNonce, kVoucher});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(FailedStep(r.err), "signature") << r;
}

}  // namespace
}  // namespace masa::e2e
