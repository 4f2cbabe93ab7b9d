// The masactl command contract as a user meets it: --help everywhere, refusals that leave
// existing files alone, bad input named and never half-written, HSM PINs kept out of every
// output, and private file modes.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/internal/e2e.h"

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    ADD_FAILURE() << "cannot stat " << path;
    return 0;
  }
  return st.st_mode & 07777;
}

TEST(MasactlHelpTest, EveryCommandAnswersHelpWithUsageOnStdout) {
  const std::vector<std::vector<std::string>> commands = {
      {"--help"},
      {"dev-init", "--help"},
      {"voucher", "--help"},
      {"voucher", "sign", "--help"},
      {"voucher", "show", "--help"},
      {"voucher", "verify", "--help"},
      {"audit", "--help"},
      {"audit", "verify", "--help"},
      {"audit", "prove", "--help"},
      {"audit", "check-proof", "--help"},
      {"audit", "export", "--help"},
      {"store", "--help"},
      {"store", "backup", "--help"},
  };
  for (const auto& args : commands) {
    SCOPED_TRACE(absl::StrJoin(args, " "));
    ProcessResult r = Masactl(args);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_THAT(r.out, StartsWith("usage: masactl ")) << r;
    if (args.size() > 1) {
      // The usage line names the command it describes.
      std::string first_line = r.out.substr(0, r.out.find('\n'));
      EXPECT_THAT(first_line, HasSubstr("masactl " + args[0])) << r;
      if (args.size() > 2) {
        EXPECT_THAT(first_line, HasSubstr(args[1])) << r;
      }
    }
    EXPECT_EQ(r.err, "") << r;
  }
}

TEST(MasactlHelpTest, NoCommandOrUnknownCommandIsAUsageError) {
  ProcessResult none = Masactl({});
  EXPECT_NE(none.exit_code, 0) << none;
  EXPECT_THAT(none.err, HasSubstr("usage: masactl")) << none;
  ProcessResult unknown = Masactl({"frobnicate"});
  EXPECT_NE(unknown.exit_code, 0) << unknown;
  EXPECT_THAT(unknown.err, HasSubstr("unknown command \"frobnicate\"")) << unknown;
  ProcessResult unknown_sub = Masactl({"voucher", "frobnicate"});
  EXPECT_NE(unknown_sub.exit_code, 0) << unknown_sub;
  EXPECT_THAT(unknown_sub.err, HasSubstr("frobnicate")) << unknown_sub;
}

TEST(MasactlDevInitTest, RefusesANonEmptyFolderAndTouchesNothing) {
  TempFolder root;
  const std::string dir = root / "state";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  WriteFile(dir + "/notes.txt", "keep me\n");
  ProcessResult r = Masactl({"dev-init", "--state", dir});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("refuses")) << r;
  EXPECT_EQ(ListFolder(dir), std::vector<std::string>{"notes.txt"});
  EXPECT_EQ(ReadFileOrEmpty(dir + "/notes.txt"), "keep me\n");
  EXPECT_EQ(ListFolder(root.path()), std::vector<std::string>{"state"}) << "debris left beside";
}

TEST(MasactlDevInitTest, MissingStateFolderIsNamed) {
  TempFolder root;
  ProcessResult r = Masactl({"voucher", "sign", "--state", root / "none", "--serial", "S", "--pdc",
                             root / "pdc.pem", "--out", root / "v.vcj"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_FALSE(Exists(root / "v.vcj"));
}

// A dev-init state shared by the tests below, which must leave it unchanged.
class MasactlStateTest : public DevStateSuite {
 protected:
  // `voucher sign` with the suite's state and PDC writing into out_, plus `extra`.
  ProcessResult Sign(std::vector<std::string> extra, const std::string& out_name = "v.vcj",
                     std::vector<std::pair<std::string, std::optional<std::string>>> env = {}) {
    std::vector<std::string> args = {"voucher",  "sign",   "--state", state_->dir,
                                     "--serial", "SN-CLI", "--out",   out_ / out_name};
    if (std::find(extra.begin(), extra.end(), "--pdc") == extra.end()) {
      args.insert(args.end(), {"--pdc", *root_ / "pdc.pem"});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return Masactl(args, std::move(env));
  }
  TempFolder out_;
};

TEST_F(MasactlStateTest, StateIsPrivate) {
  EXPECT_EQ(ModeOf(state_->dir), 0700u);
  EXPECT_EQ(ModeOf(state_->dir + "/user.pin"), 0600u);
  EXPECT_EQ(ModeOf(state_->dir + "/so.pin"), 0600u);
  EXPECT_EQ(ModeOf(state_->dir + "/tokens"), 0700u);
  EXPECT_NE(ReadFileOrEmpty(state_->dir + "/user.pin"), ReadFileOrEmpty(state_->dir + "/so.pin"));
}

TEST_F(MasactlStateTest, DevInitRefusesAnExistingState) {
  const std::vector<std::string> before = ListFolder(state_->dir);
  const std::string pin = ReadFileOrEmpty(state_->dir + "/user.pin");
  const std::string anchor = ReadFileOrEmpty(state_->trust_anchor());
  ProcessResult r = Masactl({"dev-init", "--state", state_->dir});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("refuses")) << r;
  EXPECT_EQ(ListFolder(state_->dir), before);
  EXPECT_EQ(ReadFileOrEmpty(state_->dir + "/user.pin"), pin);
  EXPECT_EQ(ReadFileOrEmpty(state_->trust_anchor()), anchor);
  // And the state still signs.
  ProcessResult sign = Sign({});
  EXPECT_EQ(sign.exit_code, 0) << sign;
}

struct BadSignInput {
  const char* name;
  std::vector<std::string> args;
  const char* message;  // what stderr must say
};

TEST_F(MasactlStateTest, BadSignInputIsNamedAndWritesNothing) {
  WriteFile(out_ / "garbage.pem",
            "-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
            "-----END CERTIFICATE-----\n");
  WriteFile(out_ / "empty.pem", "");
  const std::vector<BadSignInput> cases = {
      {"missing PDC", {"--pdc", out_ / "missing.pem"}, "missing.pem"},
      {"garbage PDC", {"--pdc", out_ / "garbage.pem"}, "garbage.pem"},
      {"empty PDC", {"--pdc", out_ / "empty.pem"}, "empty.pem"},
      {"bad --expires", {"--expires", "tomorrow"}, "\"tomorrow\" is not an RFC 3339"},
      {"unknown --assertion", {"--assertion", "maybe"}, "--assertion must be"},
      {"unknown --content-type", {"--content-type", "xml"}, "--content-type must be"},
      {"unknown flag", {"--frobnicate"}, "unknown option --frobnicate"},
      {"flag without value", {"--expires"}, "--expires needs a value"},
  };
  const std::vector<std::string> inputs = ListFolder(out_.path());
  for (const BadSignInput& c : cases) {
    SCOPED_TRACE(c.name);
    ProcessResult r = Sign(c.args);
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_EQ(ListFolder(out_.path()), inputs) << "an output or temporary file was left";
  }
}

TEST_F(MasactlStateTest, SignRefusesToOverwriteWithoutForce) {
  WriteFile(out_ / "v.vcj", "precious");
  ProcessResult r = Sign({});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("--force")) << r;
  EXPECT_EQ(ReadFileOrEmpty(out_ / "v.vcj"), "precious");

  ProcessResult forced = Sign({"--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced;
  std::string der = ReadFileOrEmpty(out_ / "v.vcj");
  ASSERT_FALSE(der.empty());
  EXPECT_EQ(static_cast<unsigned char>(der[0]), 0x30) << "not a DER voucher";
  EXPECT_EQ(ListFolder(out_.path()), std::vector<std::string>{"v.vcj"});
}

TEST_F(MasactlStateTest, WrongPinIsReportedWithoutPrintingIt) {
  const std::string wrong = "0123456789abcdef0123456789abcdef";
  ASSERT_NE(wrong, state_->user_pin);
  WatchSecret(wrong);
  ProcessResult r = Sign({}, "v.vcj", {{"MASA_HSM_PIN", wrong}});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("PIN")) << r;
  EXPECT_FALSE(Exists(out_ / "v.vcj"));
  // The PIN came from MASA_HSM_PIN (user.pin holds the right one); the right PIN there signs.
  ProcessResult right = Sign({}, "v.vcj", {{"MASA_HSM_PIN", state_->user_pin}});
  EXPECT_EQ(right.exit_code, 0) << right;
}

// Every masactl run in this suite is checked against the PINs (see e2e::Masactl); this test
// adds the commands that print the most, so that the check has something to look at.
TEST_F(MasactlStateTest, PinsAppearInNoOutput) {
  ProcessResult sign = Sign({});
  ASSERT_EQ(sign.exit_code, 0) << sign;
  ProcessResult show = Masactl({"voucher", "show", out_ / "v.vcj"});
  EXPECT_EQ(show.exit_code, 0) << show;
  ProcessResult verify = Masactl({"voucher", "verify", "--trust-anchor", state_->trust_anchor(),
                                  "--serial", "SN-CLI", out_ / "v.vcj"});
  EXPECT_EQ(verify.exit_code, 0) << verify;
  EXPECT_THAT(verify.out, HasSubstr("verification OK")) << verify;
  for (const ProcessResult* r : {&sign, &show, &verify}) {
    EXPECT_THAT(r->out + r->err, Not(HasSubstr(state_->user_pin))) << *r;
  }
}

TEST_F(MasactlStateTest, VendorAddRefusesCustomerRolesNamingTheVendorRoles) {
  for (const char* role : {"admin", "viewer", "owner"}) {
    SCOPED_TRACE(role);
    ProcessResult r =
        Masactl({"vendor", "add", "--state", state_->dir, "--username", "x@vendor.example",
                 "--role", role, "--token-out", out_ / "x.token"});
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_THAT(r.err, HasSubstr("support, account-team or security-officer")) << r;
    EXPECT_THAT(r.err, HasSubstr(role)) << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_FALSE(Exists(out_ / "x.token")) << "a token was issued";
  }
}

// The operator's way back in for an organization whose tokens are all gone.
TEST_F(MasactlStateTest, TokenIssueGivesAnExistingPrincipalANewTokenOnce) {
  ProcessResult org =
      Masactl({"org", "create", "--state", state_->dir, "--name", "tokens", "--admin",
               "admin@tokens.example", "--token-out", out_ / "first.token"});
  ASSERT_EQ(org.exit_code, 0) << org;
  ProcessResult r =
      Masactl({"token", "issue", "--state", state_->dir, "--org", "org-tokens", "--username",
               "admin@tokens.example", "--days", "90", "--token-out", out_ / "new.token"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(ModeOf(out_ / "new.token"), 0600u);
  const std::string secret = ReadFileOrEmpty(out_ / "new.token");
  EXPECT_THAT(secret, ::testing::StartsWith("masa_"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr(secret.substr(0, 20)))) << r;
  EXPECT_NE(secret, ReadFileOrEmpty(out_ / "first.token"));

  ProcessResult unknown = Masactl({"token", "issue", "--state", state_->dir, "--org", "org-tokens",
                                   "--username", "eve@tokens.example"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown;
  EXPECT_THAT(unknown.err, HasSubstr("eve@tokens.example")) << unknown;
  ProcessResult too_long = Masactl({"token", "issue", "--state", state_->dir, "--org", "org-tokens",
                                    "--username", "admin@tokens.example", "--days", "184"});
  EXPECT_EQ(too_long.exit_code, 2) << too_long;
  EXPECT_THAT(too_long.err, HasSubstr("1 to 183")) << too_long;
}

TEST_F(MasactlStateTest, SerialsAssignReadsDeviceDataFromCsvAndJsonLines) {
  ProcessResult org =
      Masactl({"org", "create", "--state", state_->dir, "--name", "devices", "--admin",
               "admin@devices.example", "--token-out", out_ / "devices.token"});
  ASSERT_EQ(org.exit_code, 0) << org;
  // A certificate as the EK certificate: the PEM body is its DER in base64.
  std::string b64;
  for (absl::string_view line : absl::StrSplit(ReadFileOrEmpty(*root_ / "pdc.pem"), '\n')) {
    if (!line.empty() && line[0] != '-') b64 += std::string(line);
  }
  ASSERT_FALSE(b64.empty());
  auto assign = [&](const std::string& name, const std::string& text) {
    WriteFile(out_ / name, text);
    return Masactl({"serials", "assign", "--state", state_->dir, "--org", "org-devices", "--file",
                    out_ / name});
  };
  ProcessResult csv = assign("d.csv",
                             "# export\nserial,model,MAC,ek_cert\n"
                             "DEV-1,DCS-7800-SUP,00-1C-73-AA-BB-CC," +
                                 b64 +
                                 "\n"
                                 "DEV-2,DCS-7800-SUP,,\n");
  ASSERT_EQ(csv.exit_code, 0) << csv;
  EXPECT_THAT(csv.out, HasSubstr("assigned 2 serial number(s) to org-devices (0 already there)"));
  // The same data again, as JSON lines: nothing changes.
  ProcessResult same = assign("d.jsonl",
                              "{\"serial\":\"DEV-1\",\"mac_addr\":\"00:1c:73:aa:bb:cc\",\"tpm\":"
                              "{\"ek_certificate\":\"" +
                                  b64 + "\"}}\n{\"serial\":\"DEV-2\"}\n");
  ASSERT_EQ(same.exit_code, 0) << same;
  EXPECT_THAT(same.out, HasSubstr("assigned 0 serial number(s) to org-devices (2 already there)"));
  // The old plain form still reads.
  ProcessResult plain = assign("d.txt", "DEV-3,DCS-7800-SUP\n");
  ASSERT_EQ(plain.exit_code, 0) << plain;
  EXPECT_THAT(plain.out, HasSubstr("assigned 1 serial"));
  // Bad input is named, by line or by serial, and nothing is written.
  ProcessResult column = assign("bad.csv", "serial,colour\nDEV-4,red\n");
  EXPECT_NE(column.exit_code, 0) << column;
  EXPECT_THAT(column.err, HasSubstr("bad.csv line 1"));
  ProcessResult mac = assign("mac.csv", "serial,mac\nDEV-5,00:1c\n");
  EXPECT_NE(mac.exit_code, 0) << mac;
  EXPECT_THAT(mac.err, HasSubstr("DEV-5"));
  EXPECT_THAT(mac.err, HasSubstr("mac_addr"));
  ProcessResult both = assign("both.csv", "serial,ek,ek_cert\nDEV-6," + b64 + "," + b64 + "\n");
  EXPECT_NE(both.exit_code, 0) << both;
  EXPECT_THAT(both.err, HasSubstr("not both"));
}

}  // namespace
}  // namespace masa::e2e
