// What the public Reader, Snapshot and WriteTxn hold behind their opaque pointers.
#pragma once

#include <cstdint>
#include <vector>

#include "common/time.h"
#include "store/internal/kv.h"
#include "store/internal/resize_gate.h"
#include "store/store.h"

namespace masa::store::internal {

// One transaction of either backend.
struct TxnView {
  Kv* kv = nullptr;
};

// The tables under a Reader, for what reads them whole (store copy).
struct ReaderAccess {
  static Kv& KvOf(const Reader& reader) { return *reader.txn_->kv; }
};

// An open snapshot: a read transaction of its backend (LmdbSnapshot, PgSnapshot) and the
// count against the thread that opened it.
struct SnapshotState {
  virtual ~SnapshotState() = default;
  SnapshotTicket ticket;
  TxnView view;
};

// The transaction one batch runs in (its group's, or nested in it), and what the batch
// appended to the audit log.
struct WriteState {
  TxnView view;
  const Clock* clock = nullptr;
  std::vector<uint64_t> appended;  // audit sequence numbers, in order
  std::string_view node;           // the node its audit entries name (may be empty)
};

// Calls X(T) for every record type a table holds, for the explicit instantiations of the
// templated reads (reader.cc) and writes (write_txn.cc): one list, so a new record type
// cannot be readable and not writable.
#define MASA_STORE_RECORD_TYPES(X) \
  X(Organization)                  \
  X(Group)                         \
  X(Principal)                     \
  X(RoleBinding)                   \
  X(ApiToken)                      \
  X(PinnedDomainCert)              \
  X(Component)                     \
  X(VoucherRequest)                \
  X(Voucher)                       \
  X(KeyRecord)                     \
  X(KeyApprovalRecord)

}  // namespace masa::store::internal
