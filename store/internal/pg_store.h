// The PostgreSQL Store: the same records, indexes and audit log as the LMDB store (through
// PgKv), in one database that several masad nodes share.
//
//  - Group commit as in LMDB: one writer thread per node takes every queued batch into one
//    transaction and acknowledges them once it committed. With synchronous_commit on and a
//    synchronous standby, an acknowledged batch survives the loss of the primary.
//  - One global order: every write transaction first takes a transaction-scoped advisory
//    lock, so the nodes' transactions follow each other, and each reads the audit head the
//    previous one left. Sequence numbers and tree nodes are therefore one log for all nodes.
//  - Checkpoints are signed by the node holding the lease row in masa_lease (renewed with
//    each checkpoint, taken over by another node once it expires).
//  - A lost connection fails the group with kUnavailable after the writer tried a fresh one
//    for a few seconds; nothing of a transaction that did not commit remains.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "store/internal/pg.h"
#include "store/store.h"

namespace masa::store::internal {

// The advisory lock every write transaction takes first: one global order of commits.
inline constexpr int64_t kWriteLock = 0x6d617361;  // "masa"
// "BEGIN; SELECT pg_advisory_xact_lock(kWriteLock)": a write transaction, in line.
std::string BeginWrite();

// The schema version this build creates and reads (masa_schema), and that of the database
// `conn` is connected to (0: none).
inline constexpr int kPgSchemaVersion = 1;
absl::StatusOr<int> PgSchemaVersion(PgConn& conn);
// Inside a write transaction: brings the schema from `from` to kPgSchemaVersion.
absl::Status MigratePgSchema(PgConn& conn, int from);

// Connects, creates or checks the schema, and starts the writer.
absl::StatusOr<std::unique_ptr<Store>> OpenPgStore(const StoreOptions& options);

}  // namespace masa::store::internal
