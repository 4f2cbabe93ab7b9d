// The audit log's Merkle tree as stored: every perfect subtree's hash (about 2n nodes for n
// entries), from which root hashes and RFC 9162 proofs take O(log n) reads.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "store/internal/audit_log.h"
#include "store/internal/codec.h"
#include "store/internal/txn.h"
#include "store/store.h"

namespace masa::store {
namespace internal {

std::string TreeKey(int level, uint64_t index) {
  std::string k = BigEndian64(((index + 1) << level) - 1);
  k += static_cast<char>(level);
  return k;
}

absl::StatusOr<Hash> GetTreeNode(Kv& kv, int level, uint64_t index) {
  auto v = kv.Get(kAuditNodes, TreeKey(level, index));
  if (absl::IsNotFound(v.status())) {
    return absl::NotFoundError(absl::StrCat("audit tree node ", level, "/", index, " not stored"));
  }
  if (!v.ok()) return v.status();
  if (v->size() != kHashSize) {
    return absl::DataLossError(absl::StrCat("audit tree node ", level, "/", index, " malformed"));
  }
  return std::string(*v);
}

absl::Status PutTreeNodes(Kv& kv, uint64_t seq, const Hash& leaf_hash) {
  const Db tree = kAuditNodes;
  Hash h = leaf_hash;
  uint64_t index = seq;
  int level = 0;
  // Every node this entry completes ends at it: their keys sort after every key stored, in
  // the order they are made, so each is appended, without looking for the last key first.
  // An append refuses one that is not after it (a node stored beyond the head).
  auto append = [&](int node_level, uint64_t node_index, const Hash& node) -> absl::Status {
    absl::Status put = kv.Put(tree, TreeKey(node_level, node_index), node, /*append=*/true);
    if (absl::IsAlreadyExists(put)) {
      return absl::DataLossError(absl::StrCat("audit tree: a node at or after ", node_level, "/",
                                              node_index, " of entry ", seq,
                                              " is already stored; nothing was appended"));
    }
    return put;
  };
  MASA_RETURN_IF_ERROR(append(0, index, h));
  while ((index & 1) == 1) {
    MASA_ASSIGN_OR_RETURN(Hash left, GetTreeNode(kv, level, index - 1));
    h = NodeHash(left, h);
    ++level;
    index >>= 1;
    MASA_RETURN_IF_ERROR(append(level, index, h));
  }
  return absl::OkStatus();
}

}  // namespace internal

namespace {

// The hash of leaves [begin, end) from stored perfect subtrees.
absl::StatusOr<Hash> SubtreeRoot(const Reader& reader, uint64_t begin, uint64_t end) {
  uint64_t n = end - begin;
  if ((n & (n - 1)) == 0) {
    int level = 0;
    while ((uint64_t{1} << level) < n) ++level;
    return reader.TreeNode(level, begin >> level);
  }
  uint64_t k = LargestPowerOfTwoBelow(n);
  MASA_ASSIGN_OR_RETURN(Hash left, SubtreeRoot(reader, begin, begin + k));
  MASA_ASSIGN_OR_RETURN(Hash right, SubtreeRoot(reader, begin + k, end));
  return NodeHash(left, right);
}

}  // namespace

absl::StatusOr<Hash> Reader::TreeNode(int level, uint64_t index) const {
  return internal::GetTreeNode(*txn_->kv, level, index);
}

absl::StatusOr<Hash> Reader::RootHash(uint64_t tree_size) const {
  MASA_ASSIGN_OR_RETURN(uint64_t size, AuditSize());
  if (tree_size > size) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree size ", tree_size, " is beyond the log (", size, " entries)"));
  }
  if (tree_size == 0) return EmptyRoot();
  return SubtreeRoot(*this, 0, tree_size);
}

absl::StatusOr<std::vector<Hash>> Reader::InclusionProof(uint64_t index, uint64_t tree_size) const {
  MASA_ASSIGN_OR_RETURN(uint64_t size, AuditSize());
  if (tree_size > size || index >= tree_size) {
    return absl::InvalidArgumentError(absl::StrCat("no entry ", index, " in a tree of size ",
                                                   tree_size, " (log has ", size, ")"));
  }
  // PATH(m, D[begin:end]) unrolled: descend towards the leaf, collecting siblings; the
  // proof lists them leaf-first, so reverse at the end.
  std::vector<Hash> path;
  uint64_t begin = 0;
  uint64_t end = tree_size;
  while (end - begin > 1) {
    uint64_t k = LargestPowerOfTwoBelow(end - begin);
    if (index < begin + k) {
      MASA_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(*this, begin + k, end));
      path.push_back(std::move(h));
      end = begin + k;
    } else {
      MASA_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(*this, begin, begin + k));
      path.push_back(std::move(h));
      begin += k;
    }
  }
  return std::vector<Hash>(path.rbegin(), path.rend());
}

absl::StatusOr<std::vector<Hash>> Reader::ConsistencyProof(uint64_t old_size,
                                                           uint64_t new_size) const {
  MASA_ASSIGN_OR_RETURN(uint64_t size, AuditSize());
  if (new_size > size || old_size > new_size) {
    return absl::InvalidArgumentError(absl::StrCat("no consistency proof from ", old_size, " to ",
                                                   new_size, " (log has ", size, ")"));
  }
  std::vector<Hash> path;
  if (old_size == 0 || old_size == new_size) return path;
  // SUBPROOF(m, D[begin:end], b) unrolled like InclusionProof.
  uint64_t m = old_size;
  uint64_t begin = 0;
  uint64_t end = new_size;
  bool whole = true;
  while (true) {
    uint64_t n = end - begin;
    if (m == n) {
      if (!whole) {
        MASA_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(*this, begin, end));
        path.push_back(std::move(h));
      }
      break;
    }
    uint64_t k = LargestPowerOfTwoBelow(n);
    if (m <= k) {
      MASA_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(*this, begin + k, end));
      path.push_back(std::move(h));
      end = begin + k;
    } else {
      MASA_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(*this, begin, begin + k));
      path.push_back(std::move(h));
      m -= k;
      begin += k;
      whole = false;
    }
  }
  // The recursion appends each sibling after its subproof, so the innermost comes first.
  return std::vector<Hash>(path.rbegin(), path.rend());
}

}  // namespace masa::store
