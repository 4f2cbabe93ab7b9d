// Fuzzes DecodeAuditEntry, which reads audit entries from the store and from the offline
// tools' inputs (proofs, exports). Beyond not crashing, it asserts the round trip with
// EncodeAuditEntry in the form that holds:
//  - every accepted `b` re-encodes to an encoding that decodes to the same entry, and
//    encoding is stable: encode(decode(encode(decode(b)))) == encode(decode(b));
//  - the re-encoding is never longer than the input (it is the shortest spelling);
//  - a refusal is kDataLoss whose message names the record.
// encode(decode(b)) == b does NOT hold for every accepted b, by design of the record codec
// (store/internal/codec.h): fields may come in any order and a tag twice (the last wins),
// varints may have redundant 0x80 continuation bytes, a field may be present with its
// default value (omitted when encoded), and unknown fields are kept but re-emitted after
// the known ones. None of this weakens the audit log: the Merkle leaf and the next entry's
// prev_hash are hashes of the bytes as stored, not of a re-encoding, so any other spelling
// of an entry is a different leaf.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "store/audit.h"

namespace {

bool Same(const masa::store::AuditEntry& a, const masa::store::AuditEntry& b) {
  return a.seq == b.seq && a.time == b.time && a.actor == b.actor && a.action == b.action &&
         a.target == b.target && a.outcome == b.outcome && a.object_hash == b.object_hash &&
         a.prev_hash == b.prev_hash && a.unknown_fields == b.unknown_fields;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<masa::store::AuditEntry> entry = masa::store::DecodeAuditEntry(bytes);
  if (!entry.ok()) {
    if (entry.status().code() != absl::StatusCode::kDataLoss) abort();
    if (!absl::StartsWith(std::string(entry.status().message()), "malformed audit entry")) {
      abort();
    }
    return 0;
  }
  std::string encoded = masa::store::EncodeAuditEntry(*entry);
  absl::StatusOr<masa::store::AuditEntry> again = masa::store::DecodeAuditEntry(encoded);
  if (!again.ok() || !Same(*entry, *again)) abort();
  if (masa::store::EncodeAuditEntry(*again) != encoded) abort();
  if (encoded.size() > bytes.size()) abort();  // the canonical form is the shortest
  return 0;
}
