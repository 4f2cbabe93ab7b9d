// The one path of every service write: authorize, change and audit inside one store write
// transaction (ServiceImpl::Mutate and ServiceImpl::SubmitOperation run it).
//
//   return Mutate<PdcInfo>(&caller, [&](internal::Operation& op) -> absl::StatusOr<PdcInfo> {
//     MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kManagePdcs, group, ...));
//     MASA_RETURN_IF_ERROR(op.txn().Insert(pdc));
//     MASA_RETURN_IF_ERROR(op.Audit("pdc.upload", Target(org, pdc.id), "ok", hash));
//     return Describe(pdc);
//   });
//
// Why one path: a write used to authorize on a read snapshot and then write. A snapshot kept
// open across Store::Write keeps the store's map from growing (every snapshot of the process
// must close first), so one administrator's call stalled every voucher commit in flight for
// the store's grace period and then failed them all; and whatever the snapshot showed could
// change before the write. Here the caller's token, principal and bindings are read in the
// write transaction itself, the decision and the change see the same data, the audit entries
// commit with the change or not at all, and the calling thread holds no snapshot (Store::Write
// refuses when it does).
//
// The body runs on the store's writer thread while the caller waits, so it must be quick
// (parse and check input before), must not call the store otherwise, and may run more than
// once (the writer re-runs a commit group after it grows the map): nothing it does may have
// an effect outside the transaction except its result.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "service/internal/authz.h"
#include "store/store.h"

namespace masa::service::internal {

class Operation {
 public:
  // `access` null: an operation without a caller (the operator's masactl commands).
  Operation(store::WriteTxn& txn, std::string actor, const AccessContext* access)
      : txn_(txn), actor_(std::move(actor)), access_(access) {}
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;

  // The transaction: reads see this operation's own writes.
  store::WriteTxn& txn() const { return txn_; }
  // The caller's access as this transaction shows it. Only for operations with a caller.
  const AccessContext& access() const;
  bool has_caller() const { return access_ != nullptr; }
  // The principal id of the caller, or "masactl".
  const std::string& actor() const { return actor_; }

  // Appends an audit entry by this operation's actor; returns its sequence number.
  absl::StatusOr<uint64_t> Audit(std::string action, std::string target, std::string outcome = "ok",
                                 std::string object_hash = "");

 private:
  store::WriteTxn& txn_;
  const std::string actor_;
  const AccessContext* const access_;
};

}  // namespace masa::service::internal
