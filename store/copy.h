// Moving a store to PostgreSQL: `masactl store copy --from STATE --to CONNINFO`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "store/audit.h"
#include "store/store.h"

namespace masa::store {

struct StoreCopyReport {
  // Rows per table, by table name, in the order they were copied.
  std::vector<std::pair<std::string, uint64_t>> tables;
  uint64_t rows = 0;
  uint64_t audit_entries = 0;
  Hash audit_root;  // the log's root hash, the same on both sides
};

// Copies every table of a snapshot of `from` (records, indexes, the audit log with its tree
// nodes and checkpoints, byte for byte) into the PostgreSQL database `conninfo` names, which
// must hold no MASA store yet (its tables are created). One transaction: on any error
// nothing is left behind. Before committing, each table's rows are read back and compared
// with the source (count and SHA-256 over keys and values in order), and the copied audit
// log is replayed (audit_verify.h, roots and chain); kDataLoss names the first difference.
// Writes made to `from` after its snapshot are not copied: stop masad first.
absl::StatusOr<StoreCopyReport> CopyStoreToPostgres(const Store& from, const std::string& conninfo);

}  // namespace masa::store
