// Fuzzes ParseConfig, masad's TOML configuration loader (toml++ underneath). The input is
// the file's text; ParseConfig reads no files itself (paths are only resolved as strings),
// so `dir` is a fixed folder name that is never opened. Beyond not crashing, it asserts:
//  - no exception escapes (toml++ throws; an escaping one terminates, which libFuzzer
//    reports);
//  - an error is kInvalidArgument with a message of printable ASCII on one line that names
//    the key ("[section] key") or the line ("line N");
//  - an accepted configuration keeps every documented limit (ports, sizes, counts and
//    durations in range, per-client connections within the total, default validity within
//    the maximum, a decimal vendor IEN);
//  - FormatConfig is its inverse: the formatted configuration parses (in folder ".", where
//    paths resolve to themselves) to one that formats identically.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "tools/config.h"

namespace {

using masa::tools::MasadConfig;

bool PrintableLine(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return !s.empty();
}

bool InRange(const MasadConfig& c) {
  auto secs = [](absl::Duration d, int64_t lo, int64_t hi) {
    return d >= absl::Seconds(lo) && d <= absl::Seconds(hi);
  };
  auto days = [](absl::Duration d, int64_t lo, int64_t hi) {
    return d >= absl::Hours(24 * lo) && d <= absl::Hours(24 * hi);
  };
  return c.max_header_bytes >= 1024 && c.max_header_bytes <= (1 << 20) &&
         c.max_body_bytes >= 1024 && c.max_body_bytes <= (64 << 20) && c.max_connections >= 1 &&
         c.max_connections <= (1 << 20) && c.max_connections_per_client >= 1 &&
         c.max_connections_per_client <= c.max_connections && secs(c.header_timeout, 1, 3600) &&
         secs(c.request_timeout, 1, 3600) && secs(c.idle_timeout, 1, 3600) &&
         days(c.default_validity, 1, 3650) && days(c.max_validity, 1, 36500) &&
         c.default_validity <= c.max_validity && !c.vendor_ien.empty() &&
         c.vendor_ien.find_first_not_of("0123456789") == std::string::npos &&
         c.checkpoint_every_entries >= 1 && c.checkpoint_every_entries <= (1 << 30) &&
         secs(c.checkpoint_every, 1, 86400) && c.max_map_bytes >= (uint64_t{16} << 20) &&
         c.max_map_bytes <= (uint64_t{1} << 44) && c.min_commit_interval >= absl::ZeroDuration() &&
         c.min_commit_interval <= absl::Milliseconds(100) && c.workers >= 1 && c.workers <= 256 &&
         c.queue_capacity >= 20 && c.queue_capacity <= (1 << 20) && c.max_batch >= 1 &&
         c.max_batch <= 4096 && c.worker_nice >= 0 && c.worker_nice <= 19 &&
         (c.plain_http || !c.tls_certificate.empty()) &&
         c.tls_certificate.empty() == c.tls_key.empty();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<MasadConfig> config = masa::tools::ParseConfig(text, ".");
  if (!config.ok()) {
    std::string message(config.status().message());
    if (config.status().code() != absl::StatusCode::kInvalidArgument) abort();
    if (!PrintableLine(message)) abort();
    if (!absl::StrContains(message, "line ") && !absl::StrContains(message, "] ")) abort();
    return 0;
  }
  if (!InRange(*config)) abort();
  std::string formatted = masa::tools::FormatConfig(*config);
  absl::StatusOr<MasadConfig> again = masa::tools::ParseConfig(formatted, ".");
  if (!again.ok()) abort();  // FormatConfig wrote what ParseConfig refuses
  if (masa::tools::FormatConfig(*again) != formatted) abort();
  return 0;
}
