// Signed checkpoints of the audit log in the C2SP tlog-checkpoint / signed-note format:
//
//   <origin>\n
//   <tree size, decimal>\n
//   <base64 root hash>\n
//   \n
//   — <key name> <base64(4-byte key ID || signature)>\n
//
// Signature types (C2SP signed-note "Signature types"):
//   0x01 Ed25519: RFC 8032 signature over the note text (the three lines, final newline
//        included); key ID = SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4].
//   0x02 ECDSA (as transparency-dev/witness): ASN.1 DER ECDSA-with-SHA-256 over the note
//        text, P-256 (P-384/P-521 accepted); key ID = SHA-256(DER SubjectPublicKeyInfo)[:4].
// The audit key is an HSM key reached as an EVP_PKEY through the provider; Ed25519 is used
// when the token supports it, ECDSA P-256 otherwise. store/ never talks to the HSM itself:
// the daemon hands a CheckpointSigner to the Store.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/openssl.h"
#include "store/audit.h"

namespace masa::store {

// Signs checkpoint note texts. Implementations must be callable from the store's writer
// thread (one call at a time).
class CheckpointSigner {
 public:
  virtual ~CheckpointSigner() = default;
  // The signed-note key name, e.g. "masa.example.com/audit" (no spaces, no '+').
  virtual const std::string& KeyName() const = 0;
  // The 4-byte key ID as defined for this key's signature type (see above).
  virtual uint32_t KeyId() const = 0;
  // The raw signature over `message` (not base64, without key ID). kUnavailable when the
  // HSM is busy or absent: the store retries at the next opportunity.
  virtual absl::StatusOr<std::string> Sign(std::string_view message) = 0;
};

// The longest note text the parsers accept and SignCheckpoint writes. A note of the
// appliance is about 2 x the origin + 300 bytes.
inline constexpr size_t kMaxCheckpointNoteBytes = 8 * 1024;

// A checkpoint's signed content.
struct Checkpoint {
  std::string origin;
  uint64_t tree_size = 0;
  Hash root_hash;
};

// "origin\nsize\nbase64(root)\n".
std::string FormatCheckpointBody(const Checkpoint& checkpoint);

// A CheckpointSigner over any EVP_PKEY private key (software or an HSM key from the
// provider; `libctx` is the library context the key lives in, null for the default one).
// kInvalidArgument unless the key is Ed25519 or ECDSA on P-256/P-384/P-521.
absl::StatusOr<std::unique_ptr<CheckpointSigner>> NewEvpCheckpointSigner(
    std::string key_name, UniquePtr<EVP_PKEY> private_key, OSSL_LIB_CTX* libctx = nullptr);

// The signed-note key ID of `key_name` with `public_key` (see above).
absl::StatusOr<uint32_t> NoteKeyId(std::string_view key_name, EVP_PKEY* public_key);

// Signs `checkpoint` and returns the whole note text. kInvalidArgument when the note would
// be longer than kMaxCheckpointNoteBytes (an origin of kilobytes).
absl::StatusOr<std::string> SignCheckpoint(const Checkpoint& checkpoint, CheckpointSigner& signer);

// Parses a checkpoint note and checks that a signature line whose key ID matches
// `public_key` verifies. kInvalidArgument for a malformed note (or one longer than
// kMaxCheckpointNoteBytes, refused before parsing), kDataLoss when no line matches the key
// or the matching signature is wrong (a forged or altered checkpoint). The body's lines
// after the third (C2SP extension lines) are signed but not interpreted. O(note size).
absl::StatusOr<Checkpoint> VerifyCheckpointNote(std::string_view note, EVP_PKEY* public_key);

// The signature lines of a note: each line's key name and 4-byte key ID, in order, without
// checking anything else. kInvalidArgument for a malformed note.
absl::StatusOr<std::vector<std::pair<std::string, uint32_t>>> CheckpointNoteKeys(
    std::string_view note);

// Parses the body of a note without checking signatures (for display).
absl::StatusOr<Checkpoint> ParseCheckpointNote(std::string_view note);

// Reads a PEM public key (or a PEM private key, whose public half is used).
absl::StatusOr<UniquePtr<EVP_PKEY>> ReadPublicKeyPem(std::string_view pem);

}  // namespace masa::store
