#include "tests/internal/e2e.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#ifndef MASACTL
#error "MASACTL must name the masactl binary"
#endif

namespace masa::e2e {
namespace {

std::vector<std::string>& WatchedSecrets() {
  static auto* secrets = new std::vector<std::string>();
  return *secrets;
}

}  // namespace

TempFolder::TempFolder() {
  std::string pattern = absl::StrCat(::testing::TempDir(), "masa-e2e-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << ": " << std::strerror(errno);
  }
  path_ = pattern;
}

TempFolder::~TempFolder() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return "";
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> ListFolder(const std::string& path) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    names.push_back(entry.path().filename().string());
  }
  if (ec) ADD_FAILURE() << "cannot list " << path << ": " << ec.message();
  std::sort(names.begin(), names.end());
  return names;
}

ProcessResult RunTool(const std::vector<std::string>& argv, const ProcessOptions& options) {
  absl::StatusOr<ProcessResult> r = RunProcess(argv, options);
  if (!r.ok()) {
    ADD_FAILURE() << r.status();
    ProcessResult failed;
    failed.argv = argv;
    return failed;
  }
  EXPECT_FALSE(r->timed_out) << *r;
  return *std::move(r);
}

ProcessResult Masactl(const std::vector<std::string>& args,
                      std::vector<std::pair<std::string, std::optional<std::string>>> env) {
  ProcessOptions options;
  options.env = {{"MASA_HSM_PIN", std::nullopt}, {"MASA_PKCS11_MODULE", std::nullopt}};
  for (auto& e : env) options.env.push_back(std::move(e));
  std::vector<std::string> argv = {MASACTL};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = RunTool(argv, options);
  for (const std::string& secret : WatchedSecrets()) {
    EXPECT_THAT(r.out, ::testing::Not(::testing::HasSubstr(secret))) << "a PIN appears on stdout\n"
                                                                     << r;
    EXPECT_THAT(r.err, ::testing::Not(::testing::HasSubstr(secret))) << "a PIN appears on stderr\n"
                                                                     << r;
  }
  return r;
}

void WatchSecret(const std::string& secret) {
  if (!secret.empty()) WatchedSecrets().push_back(secret);
}

void ClearWatchedSecrets() { WatchedSecrets().clear(); }

std::string FailedStep(const std::string& err) {
  static constexpr char kMarker[] = "verification FAILED at step ";
  size_t at = err.find(kMarker);
  if (at == std::string::npos) return "";
  at += sizeof(kMarker) - 1;
  size_t end = err.find_first_of(" \n", at);
  return err.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

DevState MakeDevState(const std::string& dir) {
  DevState state{dir, ""};
  ProcessResult r = Masactl({"dev-init", "--state", dir});
  EXPECT_EQ(r.exit_code, 0) << r;
  if (r.exit_code != 0) return state;
  // Watch the PIN itself, not the file: a trailing newline would hide a printed PIN.
  state.user_pin = std::string(absl::StripAsciiWhitespace(ReadFileOrEmpty(dir + "/user.pin")));
  std::string so_pin(absl::StripAsciiWhitespace(ReadFileOrEmpty(dir + "/so.pin")));
  EXPECT_GE(state.user_pin.size(), 8u) << "user.pin is too short to be a PIN";
  WatchSecret(state.user_pin);
  WatchSecret(so_pin);
  // dev-init ran before the PINs were known: check its output now.
  EXPECT_THAT(r.out, ::testing::Not(::testing::HasSubstr(state.user_pin))) << r;
  EXPECT_THAT(r.out, ::testing::Not(::testing::HasSubstr(so_pin))) << r;
  EXPECT_THAT(r.err, ::testing::Not(::testing::HasSubstr(state.user_pin))) << r;
  EXPECT_THAT(r.err, ::testing::Not(::testing::HasSubstr(so_pin))) << r;
  return state;
}

void MakeCa(const std::string& dir, const std::string& name) {
  ProcessResult r = RunTool({OPENSSL_CLI,
                             "req",
                             "-x509",
                             "-newkey",
                             "ec",
                             "-pkeyopt",
                             "ec_paramgen_curve:P-256",
                             "-nodes",
                             "-days",
                             "3650",
                             "-subj",
                             absl::StrCat("/O=Example Customer/CN=", name),
                             "-addext",
                             "basicConstraints=critical,CA:TRUE",
                             "-addext",
                             "keyUsage=critical,keyCertSign,cRLSign",
                             "-keyout",
                             absl::StrCat(dir, "/", name, ".key"),
                             "-out",
                             absl::StrCat(dir, "/", name, ".pem")});
  EXPECT_EQ(r.exit_code, 0) << r;
}

void MakeLeaf(const std::string& dir, const std::string& name, const std::string& ca) {
  const std::string base = absl::StrCat(dir, "/", name);
  ProcessResult req =
      RunTool({OPENSSL_CLI, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-subj", absl::StrCat("/O=Example Customer/CN=", name), "-keyout",
               base + ".key", "-out", base + ".csr"});
  ASSERT_EQ(req.exit_code, 0) << req;
  WriteFile(base + ".ext", "keyUsage=critical,digitalSignature\n");
  ProcessResult x509 = RunTool({OPENSSL_CLI, "x509", "-req", "-in", base + ".csr", "-CA",
                                absl::StrCat(dir, "/", ca, ".pem"), "-CAkey",
                                absl::StrCat(dir, "/", ca, ".key"), "-days", "825", "-set_serial",
                                "2", "-extfile", base + ".ext", "-out", base + ".pem"});
  EXPECT_EQ(x509.exit_code, 0) << x509;
}

std::string Trimmed(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

std::string PemBody(const std::string& pem) {
  std::string body;
  bool in = false;
  std::istringstream lines(pem);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("-----BEGIN", 0) == 0) {
      in = true;
    } else if (line.rfind("-----END", 0) == 0) {
      break;
    } else if (in) {
      body += line;
    }
  }
  return body;
}

}  // namespace masa::e2e
