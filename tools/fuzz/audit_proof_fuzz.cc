// Fuzzes CheckAuditProof, the offline check of `masactl audit check-proof`: the input is the
// proof's JSON text, checked against a fixed Ed25519 audit key (the one the seed, a real
// proof from a real store, was signed with: store/testing/audit_keys.h). Beyond not
// crashing, it asserts:
//  - an error is kInvalidArgument (not a proof) or kDataLoss (a proof that does not check
//    out), its message one line of printable ASCII;
//  - an accepted proof is for an entry inside the signed tree, and its bytes hold that
//    entry's sequence number;
//  - the bounds of audit_proof.h hold: texts over kMaxAuditProofBytes are refused (run with
//    a -max_len above it now and then to see it).
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/openssl.h"
#include "common/testing/fuzz.h"
#include "store/testing/audit_keys.h"
#include "tools/audit_proof.h"

namespace {}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<masa::tools::AuditProofCheck> check =
      masa::tools::CheckAuditProof(text, masa::store::testing::FuzzAuditKeyOnce());
  if (!check.ok()) {
    absl::StatusCode code = check.status().code();
    if (code != absl::StatusCode::kInvalidArgument && code != absl::StatusCode::kDataLoss) abort();
    if (!masa::testing::IsPrintableLine(std::string(check.status().message()))) abort();
    return 0;
  }
  if (size > masa::tools::kMaxAuditProofBytes) abort();
  if (check->index >= check->tree_size || check->entry.seq != check->index) abort();
  return 0;
}
