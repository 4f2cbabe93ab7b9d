// Audit log entries and the RFC 6962 / RFC 9162 Merkle tree math over them: leaf and node
// hashes, an incremental tree builder, and verifiers for inclusion and consistency proofs
// that need nothing but a checkpoint (tree size + root hash).
//
//   MASA_ASSIGN_OR_RETURN(auto proof, snapshot.InclusionProof(seq, cp.tree_size));
//   MASA_RETURN_IF_ERROR(VerifyInclusion(LeafHash(entry_bytes), seq, cp.tree_size, proof,
//                                        cp.root_hash));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sha256.h"

namespace masa::store {

// A SHA-256 digest (common/sha256.h), always 32 bytes.
using Hash = std::string;
inline constexpr size_t kHashSize = kSha256Size;

// What a caller asks to log; the writer adds sequence number, time and previous hash.
struct AuditEvent {
  std::string actor;    // principal id, "system", or a security officer
  std::string action;   // "voucher.issue", "token.revoke", "key.activate", ...
  std::string target;   // what it acted on: a voucher id, serial, token id, key id
  std::string outcome;  // "ok", "denied", "failed: ..."
  Hash object_hash;     // SHA-256 of the object concerned (e.g. the CMS bytes), or empty
};

// One stored entry. Its encoding (EncodeAuditEntry) is the Merkle leaf and the input of the
// next entry's prev_hash: prev_hash(n) = SHA-256(bytes(n-1)); entry 0 has 32 zero bytes.
struct AuditEntry {
  uint64_t seq = 0;
  absl::Time time = absl::UnixEpoch();
  std::string actor;
  std::string action;
  std::string target;
  std::string outcome;
  Hash object_hash;
  Hash prev_hash;
  // The masad node that wrote it (StoreOptions::node_id): always on a PostgreSQL store,
  // where several nodes share one log; absent (empty) on a single LMDB node unless set.
  std::string node;
  std::string unknown_fields;  // see records.h
};

std::string EncodeAuditEntry(const AuditEntry& entry);
// kDataLoss when `bytes` is not a well-formed entry.
absl::StatusOr<AuditEntry> DecodeAuditEntry(std::string_view bytes);

// RFC 6962: SHA-256(0x00 || entry) and SHA-256(0x01 || left || right).
Hash LeafHash(std::string_view entry_bytes);
Hash NodeHash(std::string_view left, std::string_view right);
// SHA-256 of the empty string: the root of the empty tree.
Hash EmptyRoot();

// Builds a tree leaf by leaf in O(log n) memory (the right edge of perfect subtrees).
// `on_subtree(level, index, hash)` is called for every perfect subtree completed by an
// Append (level 0 is the leaf itself), in the order they complete.
class MerkleBuilder {
 public:
  struct Subtree {
    int level;
    uint64_t index;
    Hash hash;
  };
  // Appends one leaf hash and returns the perfect subtrees it completed.
  std::vector<Subtree> Append(const Hash& leaf_hash);
  uint64_t size() const { return size_; }
  Hash Root() const;

 private:
  std::vector<std::pair<int, Hash>> edge_;  // level, hash; levels strictly decreasing
  uint64_t size_ = 0;
};

// The longest inclusion or consistency path a tree of at most 2^64 leaves has.
inline constexpr size_t kMaxProofHashes = 64;

// The largest entry encoding the offline readers (proofs, exports) accept. The appliance's
// entries hold identifiers and a short outcome, a few hundred bytes.
inline constexpr size_t kMaxAuditEntryBytes = 64 * 1024;

// RFC 9162 section 2.1.3.2. OK when `proof` shows the leaf at `index` is in the tree of
// `tree_size` with `root`; kDataLoss (the log or the proof is not what it claims) otherwise,
// kInvalidArgument when index >= tree_size. A proof of more than kMaxProofHashes hashes is
// refused before any is hashed: O(kMaxProofHashes) time whatever the input.
absl::Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t tree_size,
                             const std::vector<Hash>& proof, const Hash& root);

// RFC 9162 section 2.1.4.2. OK when `proof` shows the tree of `new_size` / `new_root`
// extends the tree of `old_size` / `old_root`; kDataLoss otherwise, kInvalidArgument when
// old_size > new_size.
absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                               const Hash& new_root, const std::vector<Hash>& proof);

// Largest power of two strictly below n (n >= 2).
uint64_t LargestPowerOfTwoBelow(uint64_t n);

}  // namespace masa::store
