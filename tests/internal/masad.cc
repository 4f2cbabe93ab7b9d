#include "tests/internal/masad.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace masa::e2e {
namespace {

constexpr char kReadyPrefix[] = "masad listening on ";
constexpr char kLocalUrl[] = "https://127.0.0.1:";
constexpr char kMetricsPrefix[] = "masad metrics on ";

}  // namespace

absl::StatusOr<std::unique_ptr<subprocess::Daemon>> StartMasad(const MasadOptions& options) {
  if (options.binary.empty() || options.state.empty()) {
    return absl::InvalidArgumentError("StartMasad needs the masad binary and a state folder");
  }
  if (options.days_ahead > 0 && options.libfaketime.empty()) {
    return absl::InvalidArgumentError("StartMasad: days_ahead needs libfaketime");
  }
  subprocess::EnvChanges env = {{"MASA_HSM_PIN", std::nullopt},
                                {"MASA_PKCS11_MODULE", std::nullopt}};
  if (options.days_ahead > 0) {
    env.push_back({"LD_PRELOAD", options.libfaketime});
    env.push_back({"FAKETIME", absl::StrCat("+", options.days_ahead, "d")});
    env.push_back({"FAKETIME_DONT_FAKE_MONOTONIC", "1"});
    env.push_back({"FAKETIME_NO_CACHE", "1"});
    // Under ASan, the preloaded library comes before ASan's runtime, which it then refuses
    // unless told that this order is intended.
    const char* asan = std::getenv("ASAN_OPTIONS");
    env.push_back({"ASAN_OPTIONS", absl::StrCat(asan ? asan : "", asan && *asan ? ":" : "",
                                                "verify_asan_link_order=0")});
  }
  env.insert(env.end(), options.env.begin(), options.env.end());
  absl::StatusOr<std::unique_ptr<subprocess::Daemon>> masad = subprocess::Daemon::Start(
      {.argv = {options.binary, "--config", options.state + "/masad.toml", "--listen",
                "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--grpc-listen", ""},
       .env = std::move(env),
       .ready_prefix = kReadyPrefix,
       .start_timeout = options.start_timeout,
       .log_path = options.state + "/masad.log"});
  if (!masad.ok()) return masad.status();
  if (!absl::StartsWith((*masad)->ready_rest(), kLocalUrl)) {
    return absl::InvalidArgumentError(absl::StrCat("masad is listening on ", (*masad)->ready_rest(),
                                                   ", not ", kLocalUrl, "PORT"));
  }
  return masad;
}

uint16_t MasadPort(const subprocess::Daemon& masad) {
  int port = 0;
  if (!absl::SimpleAtoi(masad.ready_rest().substr(sizeof(kLocalUrl) - 1), &port)) return 0;
  return static_cast<uint16_t>(port);
}

std::string MasadMetricsUrl(const subprocess::Daemon& masad) {
  const std::string out = masad.output();
  const size_t at = out.find(kMetricsPrefix);
  if (at == std::string::npos) return "";
  const size_t end = out.find('\n', at);
  if (end == std::string::npos) return "";
  return out.substr(at + sizeof(kMetricsPrefix) - 1, end - at - sizeof(kMetricsPrefix) + 1);
}

}  // namespace masa::e2e
