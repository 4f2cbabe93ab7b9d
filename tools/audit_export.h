// The audit log as JSON lines: what `masactl audit export` writes, and the reader with which
// `masactl audit verify --export` checks such a file with nothing but the audit public key.
//
// One JSON object a line, entries in sequence order, each checkpoint right after the entry
// that completes its tree size (one at size 0 comes first):
//   {"type":"entry","seq":N,"time":"...","actor":"...","action":"...","target":"...",
//    "outcome":"...","object_hash":"b64","prev_hash":"b64","leaf_hash":"b64",
//    "entry_bytes":"b64"}
//   {"type":"checkpoint","tree_size":N,"note":"<signed note text>"}
// entry_bytes is the entry as stored (the Merkle leaf); the other fields show it decoded.
//
//   AuditExportVerifier verifier(key.get());
//   while (reading) MASA_RETURN_IF_ERROR(verifier.Feed(chunk));
//   MASA_ASSIGN_OR_RETURN(AuditExportReport report, verifier.Finish());
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/openssl.h"
#include "store/audit.h"
#include "store/audit_verify.h"
#include "store/store.h"

namespace masa::tools {

// The longest line the reader accepts: an entry of store::kMaxAuditEntryBytes shown as
// fields and as base64 fits; a real line is a few hundred bytes.
inline constexpr size_t kMaxAuditExportLineBytes = 256 * 1024;

// The export of `reader`'s audit log (a snapshot), in the format above. kDataLoss when an
// entry does not decode (named "audit entry <seq>: ").
absl::StatusOr<std::string> ExportAuditLog(const store::Reader& reader);

// The export line of one entry (without the newline).
std::string ExportEntryLine(const store::AuditEntry& entry, std::string_view entry_bytes);

struct AuditExportReport {
  uint64_t entries = 0;
  uint64_t checkpoints = 0;  // checkpoint lines checked (signatures too when a key was given)
  store::Hash root;          // root hash of all the entries
  std::vector<store::AuditKeyUse> keys;  // which key signed which checkpoints (keys given)
};

// Checks an export line by line, as store::VerifyAuditLog checks a store: every entry line
// decodes; its fields are what its entry_bytes decode to; sequence numbers run 0, 1, 2, ...
// with none missing; each entry carries SHA-256 of the one before (zeros for entry 0); each
// leaf_hash is right; each checkpoint line comes right after the entry completing its tree
// size, in increasing sizes, and its note's size and root equal the recomputed tree's and its
// signature verifies with `audit_key` (when null, signatures are not checked, only roots).
// The first problem is the error, kDataLoss for what an altered, reordered or truncated
// export shows, kInvalidArgument for a line that is not an export line; its message starts
// with "line <n>: " and then, as masactl audit verify's, "audit entry <seq>: " or
// "checkpoint at tree size <size>: ". An export cut off after an entry (or a checkpoint) is
// not detected: nothing signs where it ends. Lines end in "\n"; the last one may lack it.
// Bounds: O(log n) memory for the tree plus one line of at most kMaxAuditExportLineBytes
// (longer is refused as soon as it is seen), O(size of the export) time. Not thread-safe.
class AuditExportVerifier {
 public:
  explicit AuditExportVerifier(EVP_PKEY* audit_key) {
    if (audit_key != nullptr) audit_keys_.push_back({"the audit key", audit_key});
  }
  // Several audit keys (an export spanning audit-key rotations): each checkpoint must verify
  // with one of them (store::VerifyCheckpointNoteWithKeys); empty: signatures not checked.
  explicit AuditExportVerifier(std::vector<store::AuditPublicKey> audit_keys)
      : audit_keys_(std::move(audit_keys)) {}
  AuditExportVerifier(const AuditExportVerifier&) = delete;
  AuditExportVerifier& operator=(const AuditExportVerifier&) = delete;

  // The next bytes of the export, split anywhere. After an error, returns that error again.
  absl::Status Feed(std::string_view bytes);
  // After the last bytes: checks the unfinished last line and returns the totals.
  absl::StatusOr<AuditExportReport> Finish();

  // What is kept between lines: the right edge of the tree (O(log n) hashes) and counters.
  struct Tree {
    store::MerkleBuilder builder;
    store::Hash prev = store::Hash(store::kHashSize, '\0');  // SHA-256 of the last entry
    bool any_checkpoint = false;
    uint64_t last_checkpoint = 0;  // tree size of the last checkpoint line
    uint64_t checkpoints = 0;
    std::vector<store::AuditKeyUse> keys;  // one per audit key given
  };

 private:
  absl::Status Line(std::string_view line);

  std::vector<store::AuditPublicKey> audit_keys_;
  absl::Status status_;
  std::string partial_;  // the unfinished line
  uint64_t line_ = 0;    // number of the line being checked, from 1
  Tree tree_;
};

// The whole export at once (tests, fuzzing): Feed(text) then Finish().
absl::StatusOr<AuditExportReport> VerifyAuditExport(std::string_view text, EVP_PKEY* audit_key);

}  // namespace masa::tools
