#include "store/audit_verify.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/utf8.h"
#include "store/checkpoint.h"

namespace masa::store {

namespace {

absl::Status EntryError(uint64_t seq, std::string_view what) {
  return absl::DataLossError(absl::StrCat("audit entry ", seq, ": ", Sv(what)));
}

absl::Status CheckpointError(uint64_t size, std::string_view what) {
  return absl::DataLossError(absl::StrCat("checkpoint at tree size ", size, ": ", Sv(what)));
}

}  // namespace

absl::StatusOr<Checkpoint> VerifyCheckpointNoteWithKeys(std::string_view note,
                                                        const std::vector<AuditPublicKey>& keys,
                                                        size_t* index, uint32_t* key_id) {
  MASA_ASSIGN_OR_RETURN(auto lines, CheckpointNoteKeys(note));
  for (size_t i = 0; i < keys.size(); ++i) {
    for (const auto& [name, id] : lines) {
      absl::StatusOr<uint32_t> want = NoteKeyId(name, keys[i].key);
      if (!want.ok() || *want != id) continue;
      absl::StatusOr<Checkpoint> cp = VerifyCheckpointNote(note, keys[i].key);
      if (!cp.ok()) {
        return absl::Status(cp.status().code(),
                            absl::StrCat(cp.status().message(), " (audit key ", keys[i].name, ")"));
      }
      *index = i;
      if (key_id != nullptr) *key_id = id;
      return cp;
    }
  }
  std::string signed_by;
  for (const auto& [name, id] : lines) {
    absl::StrAppend(&signed_by, signed_by.empty() ? "" : ", ", ShowUntrusted(name, 128), " key ID ",
                    absl::Hex(id, absl::kZeroPad8));
  }
  std::string given;
  for (const AuditPublicKey& k : keys) absl::StrAppend(&given, given.empty() ? "" : ", ", k.name);
  return absl::DataLossError(absl::StrCat("signed by an unknown key (", signed_by,
                                          "), none of the audit keys given (", given, ")"));
}

absl::StatusOr<AuditVerifyReport> VerifyAuditLog(const Reader& reader, EVP_PKEY* public_key) {
  std::vector<AuditPublicKey> keys;
  if (public_key != nullptr) keys.push_back({"the audit key", public_key});
  return VerifyAuditLog(reader, keys);
}

absl::StatusOr<AuditVerifyReport> VerifyAuditLog(const Reader& reader,
                                                 const std::vector<AuditPublicKey>& keys) {
  AuditVerifyReport report;
  for (const AuditPublicKey& k : keys) {
    if (k.key == nullptr) return absl::InvalidArgumentError("a null audit key was given");
    report.keys.push_back({k.name, 0, 0, 0, 0});
  }
  MASA_ASSIGN_OR_RETURN(uint64_t size, reader.AuditSize());
  std::map<uint64_t, std::string> checkpoints;
  MASA_RETURN_IF_ERROR(reader.ScanCheckpoints([&](uint64_t tree_size, std::string_view note) {
    checkpoints.emplace(tree_size, std::string(note));
    return true;
  }));
  auto check_checkpoint = [&](uint64_t tree_size, const std::string& note,
                              const Hash& root) -> absl::Status {
    size_t signer = 0;
    uint32_t key_id = 0;
    absl::StatusOr<Checkpoint> cp =
        keys.empty() ? ParseCheckpointNote(note)
                     : VerifyCheckpointNoteWithKeys(note, keys, &signer, &key_id);
    if (!cp.ok()) return CheckpointError(tree_size, std::string(cp.status().message()));
    if (cp->tree_size != tree_size) {
      return CheckpointError(tree_size, absl::StrCat("the note says tree size ", cp->tree_size));
    }
    if (cp->root_hash != root) {
      return CheckpointError(
          tree_size, "signed root does not match the entries before it (an entry was altered)");
    }
    ++report.checkpoints;
    if (!keys.empty()) {
      AuditKeyUse& use = report.keys[signer];
      if (use.checkpoints == 0) use.first_tree_size = tree_size;
      use.last_tree_size = tree_size;
      ++use.checkpoints;
      use.note_key_id = key_id;
    }
    return absl::OkStatus();
  };
  if (auto it = checkpoints.find(0); it != checkpoints.end()) {
    MASA_RETURN_IF_ERROR(check_checkpoint(0, it->second, EmptyRoot()));
  }

  MerkleBuilder builder;
  Hash prev(kHashSize, '\0');
  uint64_t expected = 0;
  absl::Status problem;
  MASA_RETURN_IF_ERROR(reader.ScanAudit(0, [&](uint64_t key_seq, std::string_view bytes) {
    if (key_seq != expected) {
      problem = EntryError(
          expected, absl::StrCat("missing (the next stored entry is ", key_seq, "): deleted"));
      return false;
    }
    auto entry = DecodeAuditEntry(bytes);
    if (!entry.ok()) {
      problem = EntryError(expected,
                           absl::StrCat("cannot be decoded (edited): ", entry.status().message()));
      return false;
    }
    if (entry->seq != key_seq) {
      problem = EntryError(expected, absl::StrCat("holds sequence number ", entry->seq,
                                                  " (entries reordered or moved)"));
      return false;
    }
    if (entry->prev_hash != prev) {
      problem = EntryError(expected, expected == 0
                                         ? "previous-entry hash is not zero (edited)"
                                         : "previous-entry hash does not match the entry before "
                                           "it (edited, or an entry before it was replaced)");
      return false;
    }
    for (const MerkleBuilder::Subtree& s : builder.Append(LeafHash(bytes))) {
      auto stored = reader.TreeNode(s.level, s.index);
      if (!stored.ok() || *stored != s.hash) {
        problem = EntryError(
            expected, s.level == 0
                          ? "content does not match its stored Merkle leaf hash (edited)"
                          : absl::StrCat("stored Merkle node ", s.level, "/", s.index,
                                         " does not match the entries under it (tree altered)"));
        return false;
      }
    }
    prev = Sha256(bytes);
    ++expected;
    if (auto it = checkpoints.find(expected); it != checkpoints.end()) {
      problem = check_checkpoint(expected, it->second, builder.Root());
      if (!problem.ok()) return false;
    }
    return true;
  }));
  MASA_RETURN_IF_ERROR(problem);
  if (expected != size) {
    return EntryError(expected, absl::StrCat("missing: the log head records ", size,
                                             " entries but only ", expected, " are stored"));
  }
  for (const auto& [tree_size, note] : checkpoints) {
    if (tree_size > size) {
      return CheckpointError(tree_size, absl::StrCat("beyond the end of the log (", size,
                                                     " entries): entries were removed"));
    }
  }
  report.entries = expected;
  report.root = builder.Root();
  return report;
}

}  // namespace masa::store
