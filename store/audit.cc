#include "store/audit.h"

#include "absl/strings/str_cat.h"
#include "store/internal/codec.h"
#include "store/internal/record_fields.h"

namespace masa::store {

std::string EncodeAuditEntry(const AuditEntry& entry) { return internal::Encode(entry); }

absl::StatusOr<AuditEntry> DecodeAuditEntry(std::string_view bytes) {
  AuditEntry entry;
  absl::Status st = internal::Decode(bytes, &entry);
  if (!st.ok()) return absl::DataLossError(absl::StrCat("malformed audit entry: ", st.message()));
  return entry;
}

Hash LeafHash(std::string_view entry_bytes) {
  return Sha256Parts({std::string_view("\x00", 1), entry_bytes});
}
Hash NodeHash(std::string_view left, std::string_view right) {
  return Sha256Parts({std::string_view("\x01", 1), left, right});
}

Hash EmptyRoot() { return Sha256(""); }

uint64_t LargestPowerOfTwoBelow(uint64_t n) {
  uint64_t k = 1;
  while ((k << 1) < n) k <<= 1;
  return k;
}

std::vector<MerkleBuilder::Subtree> MerkleBuilder::Append(const Hash& leaf_hash) {
  std::vector<Subtree> done;
  uint64_t index = size_;
  Hash h = leaf_hash;
  int level = 0;
  done.push_back({0, index, h});
  while (!edge_.empty() && edge_.back().first == level) {
    h = NodeHash(edge_.back().second, h);
    edge_.pop_back();
    ++level;
    index >>= 1;
    done.push_back({level, index, h});
  }
  edge_.emplace_back(level, std::move(h));
  ++size_;
  return done;
}

Hash MerkleBuilder::Root() const {
  if (edge_.empty()) return EmptyRoot();
  Hash r = edge_.back().second;
  for (size_t i = edge_.size() - 1; i-- > 0;) r = NodeHash(edge_[i].second, r);
  return r;
}

absl::Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t tree_size,
                             const std::vector<Hash>& proof, const Hash& root) {
  if (index >= tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf index ", index, " is outside a tree of size ", tree_size));
  }
  if (proof.size() > kMaxProofHashes) {
    return absl::DataLossError(absl::StrCat("inclusion proof has ", proof.size(),
                                            " hashes; no tree needs more than ", kMaxProofHashes));
  }
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (p.size() != kHashSize) return absl::DataLossError("inclusion proof has a bad hash size");
    if (sn == 0) return absl::DataLossError("inclusion proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while (fn != 0 && (fn & 1) == 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::DataLossError("inclusion proof is too short");
  if (r != root) return absl::DataLossError("inclusion proof does not lead to the root hash");
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                               const Hash& new_root, const std::vector<Hash>& proof) {
  if (old_size > new_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("old size ", old_size, " is larger than new size ", new_size));
  }
  if (old_size == new_size) {
    if (!proof.empty()) return absl::DataLossError("consistency proof for equal sizes not empty");
    if (old_root != new_root) return absl::DataLossError("roots differ for equal tree sizes");
    return absl::OkStatus();
  }
  if (old_size == 0) {
    if (!proof.empty()) return absl::DataLossError("consistency proof from size 0 not empty");
    return absl::OkStatus();
  }
  if (proof.empty()) return absl::DataLossError("consistency proof is empty");
  for (const Hash& p : proof) {
    if (p.size() != kHashSize) return absl::DataLossError("consistency proof has a bad hash size");
  }
  std::vector<Hash> path;
  if ((old_size & (old_size - 1)) == 0) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return absl::DataLossError("consistency proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while (fn != 0 && (fn & 1) == 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::DataLossError("consistency proof is too short");
  if (fr != old_root) return absl::DataLossError("consistency proof does not match the old root");
  if (sr != new_root) return absl::DataLossError("consistency proof does not match the new root");
  return absl::OkStatus();
}

}  // namespace masa::store
