// `masactl voucher` as an operator and a device vendor meet it: the extended ownership voucher
// (platform key certificate) signed, checked by openssl and libyang, shown and verified; the
// MASA's own certificate as a trust anchor; the default assertion; and every signature with
// the MASA key in the audit log.
#include <pwd.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/internal/e2e.h"

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A dev-init state shared by the suite. Signing appends to its audit log; each test uses
// its own serial numbers and output folder.
class MasactlVoucherTest : public DevStateSuite {
 protected:
  void SetUp() override {
    DevStateSuite::SetUp();
    MakeCa(dir_.path(), "owner");
    MakeLeaf(dir_.path(), "platform", "owner");
    MakeCa(dir_.path(), "stranger");
    MakeLeaf(dir_.path(), "stranger-platform", "stranger");
  }

  ProcessResult Sign(const std::string& serial, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "voucher", "sign",  "--state",          state_->dir, "--serial",
        serial,    "--pdc", dir_ / "owner.pem", "--out",     dir_ / (serial + ".vcj")};
    args.insert(args.end(), extra.begin(), extra.end());
    return Masactl(args);
  }

  ProcessResult Verify(const std::string& serial, const std::string& anchor) {
    return Masactl({"voucher", "verify", "--trust-anchor", anchor, "--serial", serial,
                    dir_ / (serial + ".vcj")});
  }

  // The voucher JSON as `openssl cms -verify` extracts it (checked against the vendor CA).
  std::string OpensslJson(const std::string& serial) {
    const std::string json = dir_ / (serial + ".json");
    ProcessResult r =
        RunTool({OPENSSL_CLI, "cms", "-verify", "-binary", "-inform", "DER", "-in",
                 dir_ / (serial + ".vcj"), "-CAfile", state_->trust_anchor(), "-out", json});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_THAT(r.err, HasSubstr("Verification successful")) << r;
    return ReadFileOrEmpty(json);
  }

  // libyang's verdict on a voucher JSON file: ietf-voucher (RFC 8366) plus our module.
  ProcessResult YangCheck(const std::string& json_path) {
    return RunTool({VOUCHER_YANG_CHECK, MASA_YANG_PATH, json_path, "masa-extended-voucher"});
  }

  // "AB:CD:..." as `openssl x509 -fingerprint -sha256` prints it.
  std::string Fingerprint(const std::string& pem_path) {
    ProcessResult r =
        RunTool({OPENSSL_CLI, "x509", "-noout", "-fingerprint", "-sha256", "-in", pem_path});
    EXPECT_EQ(r.exit_code, 0) << r;
    std::string out = r.out.substr(r.out.find('=') + 1);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }

  TempFolder dir_;
};

TEST_F(MasactlVoucherTest, ExtendedVoucherCarriesThePlatformKeyCertificate) {
  ProcessResult sign = Sign("SN-EXT-1", {"--platform-cert", dir_ / "platform.pem"});
  ASSERT_EQ(sign.exit_code, 0) << sign;

  // In the signed JSON, as openssl extracts it: our module's qualified member, DER base64.
  std::string json = OpensslJson("SN-EXT-1");
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << json;
  const nlohmann::json& v = doc["ietf-voucher:voucher"];
  EXPECT_EQ(v.value("masa-extended-voucher:platform-key-certificate", ""),
            PemBody(ReadFileOrEmpty(dir_ / "platform.pem")))
      << json;
  EXPECT_EQ(v.value("pinned-domain-cert", ""), PemBody(ReadFileOrEmpty(dir_ / "owner.pem")));

  // A valid instance of ietf-voucher's voucher-artifact augmented by our module.
  ProcessResult yang = YangCheck(dir_ / "SN-EXT-1.json");
  EXPECT_EQ(yang.exit_code, 0) << yang;

  // show: subject, issuer and SHA-256 fingerprint.
  ProcessResult show = Masactl({"voucher", "show", dir_ / "SN-EXT-1.vcj"});
  ASSERT_EQ(show.exit_code, 0) << show;
  EXPECT_THAT(show.out, HasSubstr("platform-key-certificate:\n"
                                  "  subject: CN=platform,O=Example Customer\n"
                                  "  issuer: CN=owner,O=Example Customer\n"
                                  "  SHA-256: " +
                                  Fingerprint(dir_ / "platform.pem") + "\n"))
      << show;

  // verify: checked against the pinned-domain-cert and reported.
  ProcessResult verify = Verify("SN-EXT-1", state_->trust_anchor());
  ASSERT_EQ(verify.exit_code, 0) << verify;
  EXPECT_THAT(verify.out,
              HasSubstr("platform-key-certificate: OK (issued by the "
                        "pinned-domain-cert)\n  subject: CN=platform,O=Example Customer"))
      << verify;
  EXPECT_THAT(verify.out, HasSubstr("verification OK")) << verify;
}

TEST_F(MasactlVoucherTest, PlatformKeyCertificateFromAnotherIssuerIsRefused) {
  ProcessResult sign = Sign("SN-EXT-2", {"--platform-cert", dir_ / "stranger-platform.pem"});
  EXPECT_NE(sign.exit_code, 0) << sign;
  EXPECT_THAT(sign.err, HasSubstr("stranger-platform.pem: not issued by the pinned-domain "
                                  "certificate: its issuer \"CN=stranger,O=Example Customer\""))
      << sign;
  EXPECT_FALSE(Exists(dir_ / "SN-EXT-2.vcj"));
}

TEST_F(MasactlVoucherTest, YangCheckRefusesWhatTheModulesDoNotAllow) {
  ASSERT_EQ(Sign("SN-EXT-3", {"--platform-cert", dir_ / "platform.pem"}).exit_code, 0);
  std::string json = OpensslJson("SN-EXT-3");
  // The leaf without its module's name is not part of ietf-voucher.
  std::string unqualified = json;
  unqualified.replace(unqualified.find("masa-extended-voucher:"), 22, "");
  WriteFile(dir_ / "unqualified.json", unqualified);
  ProcessResult r = YangCheck(dir_ / "unqualified.json");
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("platform-key-certificate")) << r;
  // Not base64.
  std::string not_binary = json;
  size_t at = not_binary.find("\"masa-extended-voucher:platform-key-certificate\":\"") + 50;
  not_binary.insert(at, 1, '*');  // not the const char* overload: GCC 12 -O3 -Wrestrict
  WriteFile(dir_ / "not-binary.json", not_binary);
  EXPECT_EQ(YangCheck(dir_ / "not-binary.json").exit_code, 1);
}

// Devices are often provisioned with the MASA's signing certificate rather than the vendor
// CA; verify accepts it as a partial-chain anchor, as `openssl cms -verify -partial_chain`.
TEST_F(MasactlVoucherTest, TheMasaSigningCertificateIsAnAcceptedTrustAnchor) {
  ASSERT_EQ(Sign("SN-ANCHOR-1").exit_code, 0);
  ProcessResult openssl = RunTool({OPENSSL_CLI, "cms", "-verify", "-binary", "-partial_chain",
                                   "-inform", "DER", "-in", dir_ / "SN-ANCHOR-1.vcj", "-CAfile",
                                   state_->dir + "/masa.pem", "-out", "/dev/null"});
  ASSERT_EQ(openssl.exit_code, 0) << openssl;

  ProcessResult own = Verify("SN-ANCHOR-1", state_->dir + "/masa.pem");
  EXPECT_EQ(own.exit_code, 0) << own;
  EXPECT_THAT(own.out, HasSubstr("verification OK")) << own;
  ProcessResult ca = Verify("SN-ANCHOR-1", state_->trust_anchor());
  EXPECT_EQ(ca.exit_code, 0) << ca;

  ProcessResult stranger = Verify("SN-ANCHOR-1", dir_ / "stranger.pem");
  EXPECT_NE(stranger.exit_code, 0) << stranger;
  EXPECT_EQ(FailedStep(stranger.err), "signature") << stranger;
  EXPECT_THAT(stranger.err, HasSubstr("the voucher was signed by \"CN=MASA Development Signer,"
                                      "O=MASA Development Vendor\"; the trust anchor must be"))
      << stranger;
  EXPECT_THAT(stranger.err, HasSubstr("given: CN=stranger,O=Example Customer")) << stranger;
}

// The vendor's default assertion: "logged" unless [voucher] assertion says otherwise.
TEST_F(MasactlVoucherTest, SignUsesTheConfiguredDefaultAssertion) {
  ASSERT_EQ(Sign("SN-ASSERT-1").exit_code, 0);
  EXPECT_THAT(OpensslJson("SN-ASSERT-1"), HasSubstr("\"assertion\":\"logged\""));

  const std::string config = state_->dir + "/masad.toml";
  const std::string original = ReadFileOrEmpty(config);
  WriteFile(config, original + "\n[voucher]\nassertion = \"proximity\"\n");
  ProcessResult configured = Sign("SN-ASSERT-2");
  ProcessResult explicit_flag = Sign("SN-ASSERT-3", {"--assertion", "verified"});
  WriteFile(config, original + "\n[voucher]\nassertion = \"sometimes\"\n");
  ProcessResult bad = Sign("SN-ASSERT-4");
  WriteFile(config, original);
  ASSERT_EQ(configured.exit_code, 0) << configured;
  EXPECT_THAT(OpensslJson("SN-ASSERT-2"), HasSubstr("\"assertion\":\"proximity\""));
  ASSERT_EQ(explicit_flag.exit_code, 0) << explicit_flag;
  EXPECT_THAT(OpensslJson("SN-ASSERT-3"), HasSubstr("\"assertion\":\"verified\""));
  EXPECT_NE(bad.exit_code, 0) << bad;
  EXPECT_THAT(bad.err, HasSubstr("[voucher] assertion: \"sometimes\" is not one of verified, "
                                 "logged, proximity, agent-proximity"))
      << bad;
}

// Every signature with the MASA key is audited: the entry names the local operator, the
// serial and the CMS hash, and the log still verifies.
TEST_F(MasactlVoucherTest, SignIsAuditedAsTheLocalOperator) {
  ProcessResult sign = Sign("SN-AUDIT-1");
  ASSERT_EQ(sign.exit_code, 0) << sign;
  const struct passwd* pw = getpwuid(geteuid());
  ASSERT_NE(pw, nullptr);
  const std::string actor = absl::StrCat("masactl:", pw->pw_name);
  EXPECT_THAT(sign.out, HasSubstr("audited: voucher.sign by " + actor)) << sign;

  ProcessResult verify = Masactl({"audit", "verify", "--state", state_->dir});
  EXPECT_EQ(verify.exit_code, 0) << verify;
  EXPECT_THAT(verify.out, HasSubstr("audit log OK")) << verify;

  ProcessResult hash = RunTool({OPENSSL_CLI, "dgst", "-sha256", "-binary", "-out",
                                dir_ / "hash.bin", dir_ / "SN-AUDIT-1.vcj"});
  ASSERT_EQ(hash.exit_code, 0) << hash;
  ProcessResult b64 = RunTool({OPENSSL_CLI, "base64", "-A", "-in", dir_ / "hash.bin"});
  ASSERT_EQ(b64.exit_code, 0) << b64;

  ProcessResult exported = Masactl({"audit", "export", "--state", state_->dir});
  ASSERT_EQ(exported.exit_code, 0) << exported;
  int found = 0;
  for (absl::string_view line : absl::StrSplit(exported.out, '\n', absl::SkipEmpty())) {
    nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
    if (e.is_discarded() || e.value("type", "") != "entry") continue;
    if (e.value("target", "") != "serial:9/SN-AUDIT-1") continue;
    ++found;
    EXPECT_EQ(e.value("action", ""), "voucher.sign") << line;
    EXPECT_EQ(e.value("actor", ""), actor) << line;
    EXPECT_EQ(e.value("object_hash", ""), b64.out) << line;
    EXPECT_THAT(e.value("outcome", ""), HasSubstr("ok: assertion logged")) << line;
  }
  EXPECT_EQ(found, 1) << exported.out;

  // A refused signature writes neither a voucher nor an entry.
  ProcessResult refused = Sign("SN-AUDIT-2", {"--assertion", "maybe"});
  EXPECT_NE(refused.exit_code, 0);
  ProcessResult again = Masactl({"audit", "export", "--state", state_->dir});
  EXPECT_THAT(again.out, Not(HasSubstr("SN-AUDIT-2")));
}

}  // namespace
}  // namespace masa::e2e
