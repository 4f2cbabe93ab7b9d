// The audit log: appending entries (hash chain and tree nodes) and reading them back.
#include "store/internal/audit_log.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status.h"
#include "store/internal/codec.h"
#include "store/internal/txn.h"
#include "store/store.h"

namespace masa::store {
namespace internal {
namespace {

constexpr char kHeadKey[] = "audit_head";

}  // namespace

absl::StatusOr<AuditHead> ReadAuditHead(Kv& kv) {
  AuditHead head;
  auto v = kv.Get(kMeta, kHeadKey);
  if (absl::IsNotFound(v.status())) return head;
  if (!v.ok()) return v.status();
  if (v->size() != 8 + kHashSize) return absl::DataLossError("audit head record is malformed");
  head.size = ReadBigEndian64(*v);
  head.last_hash = std::string(v->substr(8));
  return head;
}

absl::Status WriteAuditHead(Kv& kv, const AuditHead& head) {
  return kv.Put(kMeta, kHeadKey, BigEndian64(head.size) + head.last_hash);
}

}  // namespace internal

absl::StatusOr<uint64_t> Reader::AuditSize() const {
  MASA_ASSIGN_OR_RETURN(internal::AuditHead head, internal::ReadAuditHead(*txn_->kv));
  return head.size;
}

absl::StatusOr<std::string> Reader::AuditEntryBytes(uint64_t seq) const {
  auto v = txn_->kv->Get(internal::kAudit, internal::BigEndian64(seq));
  if (absl::IsNotFound(v.status())) {
    return absl::NotFoundError(absl::StrCat("audit entry ", seq, " not found"));
  }
  if (!v.ok()) return v.status();
  return std::string(*v);
}

absl::StatusOr<AuditEntry> Reader::GetAuditEntry(uint64_t seq) const {
  MASA_ASSIGN_OR_RETURN(std::string bytes, AuditEntryBytes(seq));
  auto entry = DecodeAuditEntry(bytes);
  if (!entry.ok()) return Annotate(entry.status(), absl::StrCat("audit entry ", seq));
  return entry;
}

absl::Status Reader::ScanAudit(uint64_t from,
                               const std::function<bool(uint64_t, std::string_view)>& fn) const {
  MASA_ASSIGN_OR_RETURN(auto cursor, internal::Cursor::Open(*txn_->kv, internal::kAudit));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek(internal::BigEndian64(from)));
  while (more) {
    if (cursor.key().size() != 8) return absl::DataLossError("audit key is not 8 bytes");
    if (!fn(internal::ReadBigEndian64(cursor.key()), cursor.value())) break;
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> WriteTxn::Append(const AuditEvent& event) {
  if (!event.object_hash.empty() && event.object_hash.size() != kHashSize) {
    return absl::InvalidArgumentError("audit object hash must be 32 bytes (SHA-256) or empty");
  }
  internal::Kv& kv = *state_->view.kv;
  MASA_ASSIGN_OR_RETURN(internal::AuditHead head, internal::ReadAuditHead(kv));
  AuditEntry entry;
  entry.seq = head.size;
  entry.time = state_->clock->Now();
  entry.actor = event.actor;
  entry.action = event.action;
  entry.target = event.target;
  entry.outcome = event.outcome;
  entry.object_hash = event.object_hash;
  entry.prev_hash = head.last_hash;
  entry.node = std::string(state_->node);
  std::string bytes = EncodeAuditEntry(entry);
  // An append refuses a key that is not after the last one (LMDB would otherwise write the
  // page out of order): an entry at or beyond the head means the head and the log disagree.
  absl::Status put =
      kv.Put(internal::kAudit, internal::BigEndian64(entry.seq), bytes, /*append=*/true);
  if (absl::IsAlreadyExists(put)) {
    return absl::DataLossError(
        absl::StrCat("audit log: an entry at or after ", entry.seq,
                     " is already stored although the head says the log has ", head.size,
                     " entries; nothing was appended (check it with masactl audit verify)"));
  }
  MASA_RETURN_IF_ERROR(put);
  MASA_RETURN_IF_ERROR(internal::PutTreeNodes(kv, entry.seq, LeafHash(bytes)));
  MASA_RETURN_IF_ERROR(internal::WriteAuditHead(kv, {head.size + 1, Sha256(bytes)}));
  state_->appended.push_back(entry.seq);
  return entry.seq;
}

}  // namespace masa::store
