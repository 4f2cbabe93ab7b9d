#include "hsm/testing/softhsm_token.h"

#include <stdlib.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/status.h"

#ifndef MASA_SOFTHSM2_MODULE
#define MASA_SOFTHSM2_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#endif

// LeakSanitizer's suppressions for every binary that links masa::hsm_testing (see lsan.supp):
// what libsofthsm2 allocates itself and leaks is SoftHSM2's. Our own leaks are still reported.
extern "C" const char* __lsan_default_suppressions() { return "leak:libsofthsm2.so\n"; }

namespace masa::hsm::testing {
namespace {

std::mutex g_mu;
std::string* g_softhsm_dir = nullptr;  // guarded by g_mu; set once, never freed
std::atomic<int> g_next_token{0};

void RemoveSoftHsmDir() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_softhsm_dir == nullptr) return;
  std::error_code ignored;
  std::filesystem::remove_all(*g_softhsm_dir, ignored);
}

absl::StatusOr<std::string> MakeTempDir(const std::string& parent, std::string_view prefix) {
  std::string pattern = absl::StrCat(parent, "/", Sv(prefix), "XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return FromErrno(errno, "mkdtemp", pattern);
  return pattern;
}

}  // namespace

std::string SoftHsmModulePath() { return MASA_SOFTHSM2_MODULE; }

absl::StatusOr<std::string> SoftHsmConfigPath() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_softhsm_dir == nullptr) {
    std::error_code error;
    std::string tmp = std::filesystem::temp_directory_path(error).string();
    if (error) tmp = "/tmp";
    MASA_ASSIGN_OR_RETURN(std::string dir, MakeTempDir(tmp, "masa-softhsm-"));
    MASA_RETURN_IF_ERROR(MakeDirectory(dir + "/tokens", 0700));
    MASA_RETURN_IF_ERROR(WriteFileAtomic(dir + "/softhsm2.conf",
                                         absl::StrCat("directories.tokendir = ", dir,
                                                      "/tokens\n"
                                                      "objectstore.backend = file\n"
                                                      "log.level = ERROR\n"
                                                      "slots.removable = false\n"),
                                         0600));
    if (setenv("SOFTHSM2_CONF", (dir + "/softhsm2.conf").c_str(), 1) != 0) {
      return FromErrno(errno, "setenv SOFTHSM2_CONF for", dir);
    }
    g_softhsm_dir = new std::string(dir);
    std::atexit(RemoveSoftHsmDir);
  }
  return *g_softhsm_dir + "/softhsm2.conf";
}

absl::StatusOr<std::unique_ptr<TempToken>> TempToken::Create(TokenOptions options) {
  MASA_ASSIGN_OR_RETURN(std::string config, SoftHsmConfigPath());
  std::unique_ptr<TempToken> temp(new TempToken);
  MASA_ASSIGN_OR_RETURN(temp->module_, Module::Load(SoftHsmModulePath()));
  temp->label_ = absl::StrCat("masa-test-", g_next_token.fetch_add(1));
  MASA_ASSIGN_OR_RETURN(temp->so_pin_, Secret::RandomHex(8));
  MASA_ASSIGN_OR_RETURN(temp->user_pin_, Secret::RandomHex(8));
  MASA_RETURN_IF_ERROR(
      Annotate(temp->module_->InitToken(temp->label_, temp->so_pin_, temp->user_pin_),
               absl::StrCat("TempToken (SOFTHSM2_CONF=", config, ")")));
  MASA_ASSIGN_OR_RETURN(temp->token_,
                        Token::Open(temp->module_, temp->label_, temp->user_pin_, options));
  MASA_ASSIGN_OR_RETURN(temp->dir_, MakeTempDir(temp->softhsm_dir(), temp->label_ + "-"));
  MASA_RETURN_IF_ERROR(
      WriteFileAtomic(temp->user_pin_file(), temp->user_pin_.view(), 0600, /*exclusive=*/true));
  return temp;
}

TempToken::~TempToken() {
  token_.reset();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string TempToken::softhsm_dir() const {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_softhsm_dir != nullptr ? *g_softhsm_dir : std::string();
}

std::string TempToken::KeyUri(std::string_view key_label) const {
  return PrivateKeyUri(label_, key_label);
}

}  // namespace masa::hsm::testing
