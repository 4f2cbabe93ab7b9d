// Interop: vouchers from `masactl voucher sign` (key in SoftHSM2) are accepted by the tools
// other parties use, the openssl CLI and GnuTLS certtool, with the content type RFC 8366 asks
// for, and carry exactly the voucher JSON that was asked for.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/internal/e2e.h"

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr char kAnimaJsonVoucherOid[] = "1.2.840.113549.1.9.16.1.40";
constexpr char kDataOid[] = "1.2.840.113549.1.7.1";

// One dev-init state and one customer PDC (made by the openssl CLI) for the whole suite; the
// tests only read them and write vouchers into their own folders.
class InteropTest : public DevStateSuite {
 protected:
  // Signs a voucher for `serial` pinning the suite's PDC; returns its path.
  std::string Sign(const std::string& serial, std::vector<std::string> extra = {}) {
    std::string out = out_ / (serial + ".vcj");
    std::vector<std::string> args = {"voucher", "sign",  "--state", state_->dir, "--serial",
                                     serial,    "--pdc", pdc(),     "--out",     out};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = Masactl(args);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_THAT(r.out, HasSubstr("signed voucher for serial " + serial)) << r;
    return out;
  }

  static std::string pdc() { return *root_ / "pdc.pem"; }

  // The eContentType line of `openssl cms -cmsout -print`.
  static std::string PrintedContentType(const std::string& voucher) {
    ProcessResult r =
        RunTool({OPENSSL_CLI, "cms", "-cmsout", "-print", "-inform", "DER", "-in", voucher});
    EXPECT_EQ(r.exit_code, 0) << r;
    size_t at = r.out.find("eContentType:");
    if (at == std::string::npos) return "";
    return r.out.substr(at, r.out.find('\n', at) - at);
  }

  static ProcessResult CertToolVerify(const std::string& voucher, const std::string& anchor) {
    return RunTool(
        {CERTTOOL, "--p7-verify", "--inder", "--load-ca-certificate", anchor, "--infile", voucher});
  }
  TempFolder out_;
};

TEST_F(InteropTest, OpensslVerifiesVoucherAndYieldsTheRequestedJson) {
  std::string voucher = Sign("SN-INTEROP-1");
  std::string json_path = out_ / "voucher.json";
  ProcessResult r = RunTool({OPENSSL_CLI, "cms", "-verify", "-binary", "-inform", "DER", "-in",
                             voucher, "-CAfile", state_->trust_anchor(), "-out", json_path});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("Verification successful")) << r;

  nlohmann::json doc = nlohmann::json::parse(ReadFileOrEmpty(json_path), nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << "openssl extracted no JSON: " << ReadFileOrEmpty(json_path);
  ASSERT_TRUE(doc.is_object());
  ASSERT_EQ(doc.size(), 1u) << doc.dump();
  ASSERT_TRUE(doc.contains("ietf-voucher:voucher")) << doc.dump();
  const nlohmann::json& v = doc["ietf-voucher:voucher"];
  EXPECT_EQ(v.value("serial-number", ""), "SN-INTEROP-1");
  EXPECT_EQ(v.value("assertion", ""), "logged");  // masactl's default, as the daemon's
  // The PDC is the base64 DER of the certificate: exactly the PEM body openssl wrote.
  EXPECT_EQ(v.value("pinned-domain-cert", ""), PemBody(ReadFileOrEmpty(pdc())));
  EXPECT_THAT(v.value("created-on", ""),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"));
}

TEST_F(InteropTest, DefaultContentTypeIsAnimaJsonVoucher) {
  std::string voucher = Sign("SN-INTEROP-2");
  EXPECT_THAT(PrintedContentType(voucher),
              HasSubstr(std::string("(") + kAnimaJsonVoucherOid + ")"));
  ProcessResult show = Masactl({"voucher", "show", voucher});
  EXPECT_EQ(show.exit_code, 0) << show;
  EXPECT_THAT(show.out, HasSubstr(std::string("content type: ") + kAnimaJsonVoucherOid)) << show;
  EXPECT_THAT(show.out, HasSubstr("\"serial-number\":\"SN-INTEROP-2\"")) << show;
  EXPECT_THAT(show.out, HasSubstr("signer: CN=MASA Development Signer")) << show;
}

TEST_F(InteropTest, ContentTypeDataIsPkcs7Data) {
  std::string voucher = Sign("SN-INTEROP-3", {"--content-type", "data"});
  EXPECT_THAT(PrintedContentType(voucher), HasSubstr(std::string("pkcs7-data (") + kDataOid + ")"));
  ProcessResult r = RunTool({OPENSSL_CLI, "cms", "-verify", "-binary", "-inform", "DER", "-in",
                             voucher, "-CAfile", state_->trust_anchor(), "-out", "/dev/null"});
  EXPECT_EQ(r.exit_code, 0) << r;
}

TEST_F(InteropTest, CertToolVerifiesAnimaJsonVoucher) {
  std::string voucher = Sign("SN-INTEROP-4");
  ProcessResult r = CertToolVerify(voucher, state_->trust_anchor());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("Signature status: ok")) << r;
  EXPECT_THAT(r.out, HasSubstr(std::string("eContent Type: ") + kAnimaJsonVoucherOid)) << r;
  EXPECT_THAT(r.out, HasSubstr("Signer's issuer DN: CN=MASA Development Vendor CA")) << r;
}

TEST_F(InteropTest, CertToolVerifiesDataVoucher) {
  std::string voucher = Sign("SN-INTEROP-5", {"--content-type", "data"});
  ProcessResult r = CertToolVerify(voucher, state_->trust_anchor());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("Signature status: ok")) << r;
}

// The two verifiers above are only evidence if they can say no: an unrelated trust anchor and
// a voucher with one content byte changed must both be rejected.
TEST_F(InteropTest, OpensslAndCertToolRejectWrongAnchorAndAlteredContent) {
  std::string voucher = Sign("SN-INTEROP-6");
  ProcessResult openssl_wrong_anchor =
      RunTool({OPENSSL_CLI, "cms", "-verify", "-binary", "-inform", "DER", "-in", voucher,
               "-CAfile", pdc(), "-out", "/dev/null"});
  EXPECT_NE(openssl_wrong_anchor.exit_code, 0) << openssl_wrong_anchor;
  ProcessResult certtool_wrong_anchor = CertToolVerify(voucher, pdc());
  EXPECT_NE(certtool_wrong_anchor.exit_code, 0) << certtool_wrong_anchor;

  std::string der = ReadFileOrEmpty(voucher);
  size_t at = der.find("\"serial-number\":\"SN-INTEROP-6\"");
  ASSERT_NE(at, std::string::npos) << "the voucher JSON is not in the CMS as plain text";
  der[at + std::string("\"serial-number\":\"SN-INTEROP-").size()] = '7';  // another device
  std::string altered = out_ / "altered.vcj";
  WriteFile(altered, der);
  ProcessResult openssl_altered =
      RunTool({OPENSSL_CLI, "cms", "-verify", "-binary", "-inform", "DER", "-in", altered,
               "-CAfile", state_->trust_anchor(), "-out", "/dev/null"});
  EXPECT_NE(openssl_altered.exit_code, 0) << openssl_altered;
  ProcessResult certtool_altered = CertToolVerify(altered, state_->trust_anchor());
  EXPECT_NE(certtool_altered.exit_code, 0) << certtool_altered;
}

}  // namespace
}  // namespace masa::e2e
