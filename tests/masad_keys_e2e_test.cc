// The security officer's key rotation against a running masad: `masactl key generate`,
// `key issue` and `key activate` on the state folder switch the daemon's signing key without
// a restart (the next voucher's signer certificate is the new one), the retired key's
// vouchers still verify, `key list` shows both with their use, and the audit log verifies
// with every step in it as the officer.
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/internal/e2e.h"
#include "tests/internal/https_client.h"
#include "tests/internal/masad.h"

#ifndef MASAD
#error "MASAD must name the masad binary"
#endif

namespace masa::e2e {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

class KeysE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = root_ / "state";
    MakeDevState(state_);
    ASSERT_FALSE(HasFailure());
    MakeCa(root_.path(), "pdc");
    ASSERT_FALSE(HasFailure());
    ProcessResult so =
        Masactl({"vendor", "add", "--state", state_, "--username", "so@vendor.example", "--role",
                 "security-officer", "--token-out", root_ / "so.token"});
    ASSERT_EQ(so.exit_code, 0) << so;
    ProcessResult org = Masactl({"org", "create", "--state", state_, "--name", "acme", "--admin",
                                 "admin@acme.example", "--token-out", root_ / "acme.token"});
    ASSERT_EQ(org.exit_code, 0) << org;
    ProcessResult serials = Masactl(
        {"serials", "assign", "--state", state_, "--org", "org-acme", "--serials", "K-1,K-2,K-3"});
    ASSERT_EQ(serials.exit_code, 0) << serials;
  }

  // masactl key ... as the security officer (the token through --token-file).
  ProcessResult Key(std::vector<std::string> args) {
    args.insert(args.begin(), "key");
    args.insert(args.end(), {"--state", state_, "--token-file", root_ / "so.token"});
    return Masactl(args);
  }

  TempFolder root_;
  std::string state_;
};

TEST_F(KeysE2eTest, ActivatingANewKeySwitchesTheRunningDaemonAndOldVouchersStillVerify) {
  auto started = StartMasad({.binary = MASAD, .state = state_});
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<Daemon> masad = *std::move(started);
  const std::string scratch = root_ / "http";
  ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);
  HttpsClient client(masad->ready_rest(), state_ + "/tls-ca.pem", scratch);
  const std::string auth = client.AuthFile("acme", Trimmed(ReadFileOrEmpty(root_ / "acme.token")));
  const std::string pdc = ReadFileOrEmpty(root_ / "pdc.pem");

  // A voucher by serial, downloaded; what `masactl voucher verify` says of it.
  int downloads = 0;
  auto issue_and_verify = [&](const std::string& serial) -> std::string {
    HttpAnswer a =
        client.Call("POST", "/request/ov", auth, json{{"serial_numbers", {serial}}, {"pdc", pdc}});
    EXPECT_EQ(a.status, 200) << a;
    if (a.status != 200) return "";
    std::string id = a.Json()["vouchers"][0]["voucher_id"];
    std::string out = root_ / absl::StrCat("dl-", ++downloads);
    EXPECT_EQ(mkdir(out.c_str(), 0700), 0);
    auto got = client.FetchAll({"/voucher/" + id + "/download"}, auth, out);
    EXPECT_EQ(got.at(0).status, 200);
    return got.at(0).output_file;
  };
  auto verify = [&](const std::string& file, const std::string& serial) {
    ProcessResult v = Masactl({"voucher", "verify", "--trust-anchor", state_ + "/trust-anchor.pem",
                               "--serial", serial, file});
    EXPECT_EQ(v.exit_code, 0) << v;
    return v.out;
  };

  const std::string before = issue_and_verify("K-1");
  EXPECT_THAT(verify(before, "K-1"), HasSubstr("MASA Development Signer"));

  // The adopted keys are listed: the dev-init signing key has signed one voucher.
  ProcessResult listed = Key({"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed;
  EXPECT_THAT(listed.out, HasSubstr("active voucher-signing p256"));
  EXPECT_THAT(listed.out, HasSubstr("active audit p256"));
  EXPECT_THAT(listed.out, HasSubstr("1 signatures"));
  // Without the officer's token nothing happens.
  ProcessResult anonymous = Masactl({"key", "list", "--state", state_});
  EXPECT_NE(anonymous.exit_code, 0);
  EXPECT_THAT(anonymous.err, HasSubstr("MASA_TOKEN"));

  ProcessResult generated =
      Key({"generate", "--purpose", "voucher-signing", "--algorithm", "p384"});
  ASSERT_EQ(generated.exit_code, 0) << generated;
  std::vector<std::string> fields = absl::StrSplit(Trimmed(generated.out), ' ');
  ASSERT_EQ(fields.size(), 3u) << generated.out;
  const std::string key = fields[0];
  EXPECT_EQ(fields[1], "pending");
  EXPECT_TRUE(absl::StartsWith(fields[2], "pkcs11:")) << fields[2];
  ProcessResult early = Key({"activate", key});
  EXPECT_EQ(early.exit_code, 5) << early;  // no certificate yet
  ProcessResult issued =
      Key({"issue", key, "--subject", "CN=MASA Rotated Signer,O=MASA Development Vendor"});
  ASSERT_EQ(issued.exit_code, 0) << issued;
  ProcessResult activated = Key({"activate", key});
  ASSERT_EQ(activated.exit_code, 0) << activated;
  EXPECT_THAT(activated.out, HasSubstr(key + " is now active"));

  // masad switches within its next refresh; its log says when.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!absl::StrContains(masad->log(), "vouchers are now signed with key " + key) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_THAT(masad->log(), HasSubstr("vouchers are now signed with key " + key));
  const std::string after = issue_and_verify("K-2");
  EXPECT_THAT(verify(after, "K-2"), HasSubstr("MASA Rotated Signer"));
  // The retired key's voucher still verifies.
  EXPECT_THAT(verify(before, "K-1"), HasSubstr("MASA Development Signer"));

  ProcessResult retire_again = Key({"retire", key});
  EXPECT_EQ(retire_again.exit_code, 5) << retire_again;  // the active key: activate a successor
  listed = Key({"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed;
  EXPECT_THAT(listed.out, HasSubstr(key + " active voucher-signing p384"));
  EXPECT_THAT(listed.out, HasSubstr("retired voucher-signing p256"));
  EXPECT_THAT(listed.out, HasSubstr("CN=MASA Rotated Signer"));

  EXPECT_EQ(masad->Terminate(absl::Seconds(30)), 0) << masad->log();
  ProcessResult audit = Masactl({"audit", "verify", "--state", state_});
  EXPECT_EQ(audit.exit_code, 0) << audit;
}

}  // namespace
}  // namespace masa::e2e
