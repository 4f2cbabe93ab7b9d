// Fuzzes AuditExportVerifier, the reader of `masactl audit verify --export`: the input is
// an export (JSON lines), checked against a fixed Ed25519 audit key (the one the seed, a
// real export of a real store, was signed with: store/testing/audit_keys.h). Beyond not
// crashing, it asserts:
//  - the verdict (error or totals) does not depend on how the bytes are split into Feed()
//    calls (split points from a generator seeded by the input), and a verifier stays failed;
//  - an error is kInvalidArgument (not an export line) or kDataLoss (an altered export), its
//    message one line of printable ASCII starting "line <n>: ";
//  - an accepted export has at most one checkpoint per tree size (so no more than entries +
//    1), each a line of its own.
// Memory stays at the tree's right edge plus one line of kMaxAuditExportLineBytes.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "common/openssl.h"
#include "common/testing/fuzz.h"
#include "store/testing/audit_keys.h"
#include "tools/audit_export.h"

namespace {

using masa::tools::AuditExportReport;
using masa::tools::AuditExportVerifier;

bool Same(const absl::StatusOr<AuditExportReport>& a, const absl::StatusOr<AuditExportReport>& b) {
  if (a.ok() != b.ok()) return false;
  if (!a.ok()) return a.status() == b.status();
  return a->entries == b->entries && a->checkpoints == b->checkpoints && a->root == b->root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<AuditExportReport> whole =
      masa::tools::VerifyAuditExport(text, masa::store::testing::FuzzAuditKeyOnce());

  AuditExportVerifier split(masa::store::testing::FuzzAuditKeyOnce());
  std::minstd_rand random(static_cast<uint32_t>(std::hash<std::string_view>()(text)));
  absl::Status first_error;
  for (std::string_view rest = text; !rest.empty();) {
    size_t n = std::uniform_int_distribution<size_t>(1, rest.size())(random);
    absl::Status st = split.Feed(rest.substr(0, n));
    if (!first_error.ok() && st != first_error) abort();  // a failed verifier recovered
    if (first_error.ok()) first_error = st;
    rest.remove_prefix(n);
  }
  if (!Same(whole, split.Finish())) abort();

  if (!whole.ok()) {
    absl::StatusCode code = whole.status().code();
    if (code != absl::StatusCode::kInvalidArgument && code != absl::StatusCode::kDataLoss) abort();
    std::string message(whole.status().message());
    if (!masa::testing::IsPrintableLine(message) || !absl::StartsWith(message, "line ")) abort();
    return 0;
  }
  if (whole->checkpoints > whole->entries + 1) abort();
  return 0;
}
