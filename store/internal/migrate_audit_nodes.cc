// Schema migration 7 -> 8: the audit log's Merkle tree nodes re-keyed by their last leaf.
#include <lmdb.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "store/internal/audit_log.h"
#include "store/internal/codec.h"
#include "store/internal/lmdb.h"
#include "store/internal/migrations.h"

namespace masa::store::internal {

absl::Status MigrateAuditNodesByLastLeaf(MDB_txn* txn, const Dbs& dbs) {
  auto old = OpenDb(txn, "audit_tree", 0);
  if (absl::IsNotFound(old.status())) return absl::OkStatus();  // a store without a log yet
  MASA_RETURN_IF_ERROR(old.status());
  LmdbKv kv(txn, &dbs);
  MASA_ASSIGN_OR_RETURN(AuditHead head, ReadAuditHead(kv));
  // The nodes entry `seq` completes, in the order of their new keys: its leaf (level 0),
  // then one level up for each trailing one bit of seq, as PutTreeNodes made them.
  for (uint64_t seq = 0; seq < head.size; ++seq) {
    for (int level = 0;; ++level) {
      const uint64_t index = seq >> level;
      std::string old_key(1, static_cast<char>(level));
      old_key += BigEndian64(index);
      auto hash = Get(txn, *old, old_key);
      if (!hash.ok() && !absl::IsNotFound(hash.status())) return hash.status();
      if (!hash.ok() || hash->size() != kHashSize) {
        return absl::DataLossError(absl::StrCat(
            "audit tree node ", level, "/", index, " of entry ", seq,
            absl::IsNotFound(hash.status()) ? " is missing" : " is not a 32-byte hash"));
      }
      MASA_RETURN_IF_ERROR(Put(txn, dbs[kAuditNodes], TreeKey(level, index), *hash, MDB_APPEND));
      if (((seq >> level) & 1) == 0) break;
    }
  }
  return FromMdb(mdb_drop(txn, *old, 1), "mdb_drop(audit_tree)");
}

}  // namespace masa::store::internal
