// Schema migrations 1 -> 2 and 3 -> 4: each adds a voucher index from the records; 5 -> 6
// and 6 -> 7, which only need the table that opening creates; and 2 -> 3 and 8 -> 9, which
// change nothing stored.
#include "common/status.h"
#include "store/internal/indexes.h"
#include "store/internal/lmdb.h"
#include "store/internal/migrations.h"
#include "store/internal/stored_form.h"

namespace masa::store::internal {
namespace {

// Calls fn(v) for every voucher in its stored form.
template <typename Fn>
absl::Status ForEachVoucher(MDB_txn* txn, const Dbs& dbs, Fn fn) {
  MASA_ASSIGN_OR_RETURN(auto cursor, MdbCursor::Open(txn, dbs[kVouchers]));
  MASA_ASSIGN_OR_RETURN(bool more, cursor->Seek({}));
  while (more) {
    MASA_ASSIGN_OR_RETURN(Voucher v, DecodeRecord<Voucher>(cursor->value(), cursor->key()));
    MASA_RETURN_IF_ERROR(fn(v));
    MASA_ASSIGN_OR_RETURN(more, cursor->Next());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MigrateAddRequestIndex(MDB_txn* txn, const Dbs& dbs) {
  return ForEachVoucher(txn, dbs, [&](const Voucher& v) {
    return Put(txn, dbs[kIdxVoucherRequest], RequestKey(v), "");
  });
}

absl::Status MigrateSerialIndexSummaries(MDB_txn*, const Dbs&) { return absl::OkStatus(); }

absl::Status MigrateAddPinIndex(MDB_txn* txn, const Dbs& dbs) {
  LmdbKv kv(txn, &dbs);
  return ForEachVoucher(txn, dbs, [&](const Voucher& v) { return AddPin(kv, v); });
}

absl::Status MigrateAddKeyApprovals(MDB_txn*, const Dbs&) { return absl::OkStatus(); }

absl::Status MigrateAddCmsPdcs(MDB_txn*, const Dbs&) { return absl::OkStatus(); }

absl::Status MigrateSerialIndexKeysOnly(MDB_txn*, const Dbs&) { return absl::OkStatus(); }

}  // namespace masa::store::internal
