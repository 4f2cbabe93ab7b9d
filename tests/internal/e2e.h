// Helpers for the end-to-end tests: temporary folders, files, and running masactl, openssl
// and certtool as a user would. Every helper reports failures through GoogleTest.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/testing/subprocess.h"
#include "gtest/gtest.h"

namespace masa::e2e {

// The child-process helpers (common/testing/subprocess.h) by the short names the tests use.
using subprocess::Daemon;
using subprocess::DaemonOptions;
using subprocess::EnvChanges;
using subprocess::ProcessOptions;
using subprocess::ProcessResult;
using subprocess::RunProcess;

// A fresh, private folder under testing::TempDir(), removed with everything in it on
// destruction.
class TempFolder {
 public:
  TempFolder();
  ~TempFolder();
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFileOrEmpty(const std::string& path);  // "" (and a test failure) if unreadable
void WriteFile(const std::string& path, const std::string& data);
bool Exists(const std::string& path);
std::vector<std::string> ListFolder(const std::string& path);  // names, sorted

// Runs a program; a failure to start it is a test failure (exit_code stays -1).
ProcessResult RunTool(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Runs the masactl under test with MASA_HSM_PIN and MASA_PKCS11_MODULE removed from the
// environment (set them through `env`), and checks that no watched secret appears in what
// it prints.
ProcessResult Masactl(const std::vector<std::string>& args,
                      std::vector<std::pair<std::string, std::optional<std::string>>> env = {});

// Secrets that must never appear in any masactl output (HSM PINs). Masactl() checks each
// run against them; dev-init states register their PINs.
void WatchSecret(const std::string& secret);
void ClearWatchedSecrets();

// "signature" for a stderr holding "masactl: verification FAILED at step signature", else "".
std::string FailedStep(const std::string& err);

// A state folder made by `masactl dev-init`, its PINs watched.
struct DevState {
  std::string dir;
  std::string user_pin;
  std::string trust_anchor() const { return dir + "/trust-anchor.pem"; }
};
// Runs dev-init into `dir` (which must not exist yet); check HasFatalFailure() after it.
DevState MakeDevState(const std::string& dir);

// A self-signed P-256 CA certificate NAME.pem and key NAME.key in `dir`, by the openssl CLI.
void MakeCa(const std::string& dir, const std::string& name);
// An end-entity certificate NAME.pem / NAME.key in `dir` issued by CA.pem / CA.key there.
void MakeLeaf(const std::string& dir, const std::string& name, const std::string& ca);

// A test suite sharing one dev-init state (root()/state) and a self-signed PDC
// (root()/pdc.pem) made once in SetUpTestSuite; its tests must leave both unchanged.
class DevStateSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempFolder();
    state_ = new DevState(MakeDevState(*root_ / "state"));
    MakeCa(root_->path(), "pdc");
  }
  static void TearDownTestSuite() {
    delete state_;
    delete root_;
    state_ = nullptr;
    root_ = nullptr;
    ClearWatchedSecrets();
  }
  void SetUp() override {
    ASSERT_FALSE(state_->user_pin.empty()) << "dev-init failed in SetUpTestSuite";
  }

  static inline TempFolder* root_ = nullptr;
  static inline DevState* state_ = nullptr;
};

// The base64 body of the first PEM block in `pem`, without line breaks.
std::string PemBody(const std::string& pem);

// `s` without leading and trailing white space (a token file's newline, a command's output).
std::string Trimmed(const std::string& s);

}  // namespace masa::e2e
