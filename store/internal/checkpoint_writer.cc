// Signed checkpoints of the audit tree, written when enough entries or time went by.
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "store/checkpoint.h"
#include "store/internal/audit_log.h"
#include "store/internal/codec.h"
#include "store/internal/store_impl.h"
#include "store/internal/txn.h"

namespace masa::store::internal {

absl::StatusOr<CheckpointOutcome> CheckpointIn(
    Kv& kv, const CheckpointDue& due,
    const std::function<std::shared_ptr<CheckpointSigner>()>& signer_now) {
  MASA_ASSIGN_OR_RETURN(AuditHead head, ReadAuditHead(kv));
  CheckpointOutcome outcome{.log_size = head.size};
  {
    MASA_ASSIGN_OR_RETURN(auto cursor, Cursor::Open(kv, kCheckpoints));
    MASA_ASSIGN_OR_RETURN(bool any, cursor.Last());
    if (any) outcome.last_size = ReadBigEndian64(cursor.key());
  }
  if (head.size <= outcome.last_size) return outcome;
  if (!due.force && head.size - outcome.last_size < due.every_entries && !due.time_due) {
    return outcome;
  }
  const TxnView view{&kv};
  MASA_ASSIGN_OR_RETURN(Hash root, Reader(&view).RootHash(head.size));
  store::Checkpoint cp{due.origin, head.size, root};
  std::shared_ptr<CheckpointSigner> signer = signer_now();
  if (signer == nullptr) return absl::FailedPreconditionError("no checkpoint signer configured");
  auto note = SignCheckpoint(cp, *signer);
  if (!note.ok()) {
    Log(LogLevel::kWarning,
        absl::StrCat("audit checkpoint not signed: ", note.status().ToString()));
    return note.status();
  }
  MASA_RETURN_IF_ERROR(kv.Put(kCheckpoints, BigEndian64(head.size), *note));
  outcome.last_size = head.size;
  outcome.written = true;
  return outcome;
}

absl::Status StoreImpl::WriteCheckpoint() {
  if (!has_signer_.load()) return absl::FailedPreconditionError("no checkpoint signer configured");
  return Checkpoint(/*force=*/true);
}

std::shared_ptr<CheckpointSigner> StoreImpl::Signer() const {
  std::lock_guard<std::mutex> lock(signer_mu_);
  return signer_;
}

void StoreImpl::SetCheckpointSigner(std::shared_ptr<CheckpointSigner> signer) {
  // Taking checkpoint_mu_ first waits out a checkpoint being signed with the old key, so
  // the old signer is never used again once this returns (and no two signers ever sign at
  // once: CheckpointSigner is called one call at a time).
  std::lock_guard<std::mutex> cp_lock(checkpoint_mu_);
  CheckpointSigner* current = signer.get();
  std::shared_ptr<CheckpointSigner> old;  // released after the lock: it may be the last owner
  {
    std::lock_guard<std::mutex> lock(signer_mu_);
    old = std::exchange(signer_, std::move(signer));
    has_signer_.store(current != nullptr);
  }
  if (current != nullptr) {
    Log(LogLevel::kInfo, absl::StrCat("audit checkpoints are now signed by ", current->KeyName(),
                                      " key ID ", absl::Hex(current->KeyId(), absl::kZeroPad8)));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);  // wake the writer: its tick may change
  }
  cv_.notify_one();
}

absl::Status StoreImpl::Checkpoint(bool force) {
  std::lock_guard<std::mutex> cp_lock(checkpoint_mu_);
  absl::Time now = options_.clock->Now();
  if (!force && audit_size_hint_.load() == last_checkpoint_size_ &&
      now - last_checkpoint_time_ >= options_.checkpoint_every) {
    // The hint counts this process's commits only; another process (masactl) may have
    // appended since. Look at the log itself before deciding there is nothing to sign.
    auto snap = Read();
    auto size = snap.ok() ? snap->AuditSize() : absl::StatusOr<uint64_t>(snap.status());
    if (size.ok() && *size > audit_size_hint_.load()) audit_size_hint_.store(*size);
  }
  if (!force &&
      audit_size_hint_.load() - last_checkpoint_size_ < options_.checkpoint_every_entries &&
      (audit_size_hint_.load() == last_checkpoint_size_ ||
       now - last_checkpoint_time_ < options_.checkpoint_every)) {
    return absl::OkStatus();
  }
  const auto start = std::chrono::steady_clock::now();
  SharedGate share = ShareGate();
  MASA_ASSIGN_OR_RETURN(Txn txn, env_.Begin(/*read_only=*/false));
  LmdbKv kv(txn.get(), &dbs_);
  const bool time_due = now - last_checkpoint_time_ >= options_.checkpoint_every;
  MASA_ASSIGN_OR_RETURN(CheckpointOutcome outcome,
                        CheckpointIn(kv,
                                     {.force = force,
                                      .every_entries = options_.checkpoint_every_entries,
                                      .time_due = time_due,
                                      .origin = options_.checkpoint_origin},
                                     [this] { return Signer(); }));
  last_checkpoint_size_ = outcome.last_size;
  audit_size_hint_.store(outcome.log_size);
  if (!outcome.written) return absl::OkStatus();
  last_checkpoint_time_ = now;
  MASA_RETURN_IF_ERROR(txn.Commit());
  recorder_.AddCheckpoint(std::chrono::steady_clock::now() - start);
  return absl::OkStatus();
}

}  // namespace masa::store::internal
