// Fuzzes the checkpoint note parser (ParseCheckpointNote, VerifyCheckpointNote), which reads
// the signed notes of proofs and exports. The input is a note's text; the verifying key is a
// fixed Ed25519 key (the one the seeds were signed with: store/testing/audit_keys.h) and a
// fixed P-256 key (the seed ec_note is signed with it).
// Beyond not crashing, it asserts:
//  - an error is kInvalidArgument (malformed) or kDataLoss (not signed by the key), its
//    message one line of printable ASCII; notes over kMaxCheckpointNoteBytes are refused;
//  - an accepted note re-serialises identically: its text starts with
//    FormatCheckpointBody(parsed) (extension lines may follow, and are signed);
//  - a verified note parses to the same checkpoint, and signing that checkpoint again gives
//    back the note itself when it is a plain one (Ed25519 signatures are deterministic);
//  - SignCheckpoint and VerifyCheckpointNote round-trip every parsed checkpoint.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "common/openssl.h"
#include "common/testing/fuzz.h"
#include "store/checkpoint.h"
#include "store/testing/audit_keys.h"

namespace {

using masa::store::Checkpoint;

// A fixed P-256 key too: the appliance's audit key is ECDSA, whose key ID does not depend
// on the key name, so a note may name any key and still reach the signature check.
masa::store::CheckpointSigner& Signer() {
  static masa::store::CheckpointSigner* signer = [] {
    auto s = masa::store::NewEvpCheckpointSigner(
        "masa.test/audit", masa::UpRef(masa::store::testing::FuzzAuditKeyOnce()));
    if (!s.ok()) abort();
    return s->release();
  }();
  return *signer;
}

bool Same(const Checkpoint& a, const Checkpoint& b) {
  return a.origin == b.origin && a.tree_size == b.tree_size && a.root_hash == b.root_hash;
}

void CheckError(const absl::Status& st) {
  if (st.code() != absl::StatusCode::kInvalidArgument && st.code() != absl::StatusCode::kDataLoss) {
    abort();
  }
  if (!masa::testing::IsPrintableLine(std::string(st.message()))) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view note(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Checkpoint> parsed = masa::store::ParseCheckpointNote(note);
  absl::StatusOr<Checkpoint> verified =
      masa::store::VerifyCheckpointNote(note, masa::store::testing::FuzzAuditKeyOnce());
  if (!verified.ok()) CheckError(verified.status());
  absl::StatusOr<Checkpoint> ec_verified =
      masa::store::VerifyCheckpointNote(note, masa::store::testing::FuzzEcAuditKeyOnce());
  if (!ec_verified.ok()) CheckError(ec_verified.status());
  if (ec_verified.ok() && !parsed.ok()) abort();
  if (!parsed.ok()) {
    CheckError(parsed.status());
    if (verified.ok()) abort();  // verified what does not parse
    return 0;
  }
  if (size > masa::store::kMaxCheckpointNoteBytes) abort();
  std::string body = masa::store::FormatCheckpointBody(*parsed);
  if (note.substr(0, body.size()) != body) abort();  // not the text it was parsed from

  absl::StatusOr<std::string> resigned = masa::store::SignCheckpoint(*parsed, Signer());
  if (resigned.ok()) {
    absl::StatusOr<Checkpoint> back =
        masa::store::VerifyCheckpointNote(*resigned, masa::store::testing::FuzzAuditKeyOnce());
    if (!back.ok() || !Same(*back, *parsed)) abort();
  } else if (resigned.status().code() != absl::StatusCode::kInvalidArgument) {
    abort();
  }
  if (verified.ok()) {
    if (!Same(*verified, *parsed)) abort();
    // A plain note (three body lines, one signature by this key) is exactly what signing
    // its checkpoint writes.
    bool plain =
        note.substr(body.size(), 1) == "\n" && note.find('\n', body.size() + 1) == note.size() - 1;
    if (plain && (!resigned.ok() || note != *resigned)) abort();
  }
  return 0;
}
