// The schema migrations. Each runs inside the write transaction that opens the store, from
// one schema version to the next (kMigrations, run in order by open.cc); a failure rolls
// the whole open back.
#pragma once

#include <lmdb.h>

#include <cstdint>

#include "absl/status/status.h"
#include "store/internal/tables.h"
#include "store/records.h"

namespace masa::store::internal {

// 1 -> 2: vouchers got an index by request id (migrate_indexes.cc).
absl::Status MigrateAddRequestIndex(MDB_txn* txn, const Dbs& dbs);
// 2 -> 3: the serial index held each voucher's summary instead of "" from schema 3 to 8.
// Since schema 9 nothing reads an entry's value, so a store older than 3 keeps its "".
absl::Status MigrateSerialIndexSummaries(MDB_txn* txn, const Dbs& dbs);
// 3 -> 4: the pin index, built from the vouchers.
absl::Status MigrateAddPinIndex(MDB_txn* txn, const Dbs& dbs);

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
absl::Status MigrateIdsToUuids(MDB_txn* txn, const Dbs& dbs);  // migrate_ids.cc

// 5 -> 6: the key_approvals table, which opening creates empty; nothing else changes
// (KeyRecord's new fields decode with defaults from older records).
absl::Status MigrateAddKeyApprovals(MDB_txn* txn, const Dbs& dbs);  // migrate_indexes.cc

// 6 -> 7: the cms_pdcs table, which opening creates empty. Vouchers written before keep
// their pinned-domain-cert inline and read as they did (no cms_pdc_sha256); only new and
// renewed records are stored without it. Rewriting every voucher here would hold the open
// for minutes on a large store, for pages that are never written again.
absl::Status MigrateAddCmsPdcs(MDB_txn* txn, const Dbs& dbs);  // migrate_indexes.cc

// 7 -> 8: the Merkle tree's nodes move from audit_tree (keyed level, index: each commit
// rewrote the last, half-full page of every level, about 20 pages) to audit_nodes (keyed
// last leaf, level: the nodes an entry completes are appended, filling pages). Every node
// of the log's tree is copied, in the new key order, and audit_tree is dropped. kDataLoss
// naming the node when one the tree must hold is missing or not a hash.
absl::Status MigrateAuditNodesByLastLeaf(MDB_txn* txn, const Dbs& dbs);  // migrate_audit_nodes.cc

// 8 -> 9: new serial index entries hold only their key, and the summaries come from the
// voucher records. Entries written before keep their summary bytes, which nothing reads:
// rewriting them would hold the open for a pass over the whole index, to shrink pages that
// are not written again. The version changes so that an older build, which would read ""
// as a summary, refuses the store.
absl::Status MigrateSerialIndexKeysOnly(MDB_txn* txn, const Dbs& dbs);  // migrate_indexes.cc

// A schema migration: runs inside the open-time write txn, from version `from` to from+1.
struct Migration {
  uint64_t from;
  absl::Status (*run)(MDB_txn* txn, const Dbs& dbs);
};

inline constexpr Migration kMigrations[] = {
    {1, MigrateAddRequestIndex},      {2, MigrateSerialIndexSummaries}, {3, MigrateAddPinIndex},
    {4, MigrateIdsToUuids},           {5, MigrateAddKeyApprovals},      {6, MigrateAddCmsPdcs},
    {7, MigrateAuditNodesByLastLeaf}, {8, MigrateSerialIndexKeysOnly}};

}  // namespace masa::store::internal
