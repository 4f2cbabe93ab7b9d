// Schema migrations that live outside store.cc, and what they may use of it. Each runs
// inside the write transaction that opens the store, from one schema version to the next
// (see kMigrations in store.cc); a failure rolls the whole open back.
#pragma once

#include <lmdb.h>

#include "absl/status/status.h"
#include "store/internal/tables.h"
#include "store/records.h"

namespace masa::store::internal {

// Writes / removes the serial, organization-time and request index entries of `v` (not its
// pin entry). Removing absent entries is not an error. Defined in store.cc.
absl::Status PutVoucherIndexes(MDB_txn* txn, const Dbs& dbs, const Voucher& v);
absl::Status DeleteVoucherIndexes(MDB_txn* txn, const Dbs& dbs, const Voucher& v);

// 4 -> 5: voucher and request ids become RFC 9562 UUIDv7s and the status names those of
// the product documentation.
//
// An id of the old forms ("v-"/"req-" + [12 hex digits of Unix ms] + 16 random hex
// digits) becomes LegacyIdToUuid(id) (common/uuid.h): records are re-keyed, each voucher's
// request_id follows, its index entries are rewritten under the new keys, and pin entries
// name the new voucher id. The mapping is a pure function of the old id, so the service
// still finds a record by its old id without an alias table. An id of neither form (never
// made by masad) is kept as it is. Voucher status "issued" becomes "completed" (also in the
// serial summaries) and request status "complete" becomes "completed". The audit log is
// not touched: its entries keep naming the old ids, and Voucher::audit_seq still points at
// each voucher's entry. kDataLoss for a record that does not decode; kInternal when an old
// id maps onto a record that exists already (nothing is written then).
absl::Status MigrateIdsToUuids(MDB_txn* txn, const Dbs& dbs);

}  // namespace masa::store::internal
