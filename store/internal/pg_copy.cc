// CopyStoreToPostgres (store/copy.h): table by table through the Kv interface.
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status.h"
#include "store/audit_verify.h"
#include "store/copy.h"
#include "store/internal/codec.h"
#include "store/internal/pg.h"
#include "store/internal/pg_kv.h"
#include "store/internal/pg_store.h"
#include "store/internal/txn.h"

namespace masa::store {
namespace {

using internal::Db;
using internal::Kv;

// Writes kept in memory before they are sent.
constexpr size_t kFlushEvery = 5000;

// Rows and a SHA-256 chain over length-prefixed keys and values, in key order.
struct TableDigest {
  uint64_t rows = 0;
  std::string sha256;
};

absl::StatusOr<TableDigest> Digest(Kv& kv, Db db) {
  TableDigest d;
  d.sha256 = std::string(kSha256Size, '\0');
  MASA_ASSIGN_OR_RETURN(auto cursor, internal::Cursor::Open(kv, db));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek({}));
  while (more) {
    d.sha256 = Sha256Parts({d.sha256, internal::BigEndian64(cursor.key().size()), cursor.key(),
                            internal::BigEndian64(cursor.value().size()), cursor.value()});
    ++d.rows;
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return d;
}

}  // namespace

absl::StatusOr<StoreCopyReport> CopyStoreToPostgres(const Store& from,
                                                    const std::string& conninfo) {
  MASA_RETURN_IF_ERROR(internal::CheckConnInfo(conninfo));
  MASA_ASSIGN_OR_RETURN(Snapshot snap, from.Read());
  Kv& source = internal::ReaderAccess::KvOf(snap);
  MASA_ASSIGN_OR_RETURN(internal::PgConn conn, internal::PgConn::Connect(conninfo));
  MASA_RETURN_IF_ERROR(conn.Exec(internal::BeginWrite(), "beginning the copy"));
  MASA_ASSIGN_OR_RETURN(int version, internal::PgSchemaVersion(conn));
  if (version > 0) {
    MASA_ASSIGN_OR_RETURN(internal::PgResult r,
                          conn.Query("SELECT count(*)::int8 FROM masa_kv", {}, "counting rows"));
    const uint64_t rows = internal::ReadBigEndian64(internal::PgValue(r.get(), 0, 0));
    if (rows > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("the target database already holds a MASA store (", rows,
                       " rows); copy into an empty database (createdb), nothing was written"));
    }
  }
  if (version < internal::kPgSchemaVersion) {
    MASA_RETURN_IF_ERROR(internal::MigratePgSchema(conn, version));
  }
  StoreCopyReport report;
  internal::PgKv target(&conn, /*writable=*/true);
  for (int d = 0; d < internal::kDbCount; ++d) {
    const Db db = static_cast<Db>(d);
    MASA_ASSIGN_OR_RETURN(auto cursor, internal::Cursor::Open(source, db));
    MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek({}));
    uint64_t rows = 0;
    while (more) {
      MASA_RETURN_IF_ERROR(target.Put(db, cursor.key(), cursor.value()));
      ++rows;
      if (target.pending_writes() >= kFlushEvery) {
        MASA_RETURN_IF_ERROR(target.Flush());
        target.Forget();
      }
      MASA_ASSIGN_OR_RETURN(more, cursor.Next());
    }
    MASA_RETURN_IF_ERROR(target.Flush());
    target.Forget();
    report.tables.emplace_back(internal::kDbNames[d], rows);
    report.rows += rows;
  }
  // Read everything back, as the next transaction will see it.
  for (int d = 0; d < internal::kDbCount; ++d) {
    const Db db = static_cast<Db>(d);
    MASA_ASSIGN_OR_RETURN(TableDigest want, Digest(source, db));
    MASA_ASSIGN_OR_RETURN(TableDigest got, Digest(target, db));
    if (want.rows != got.rows || want.sha256 != got.sha256) {
      return absl::DataLossError(absl::StrCat("table ", internal::kDbNames[d], ": ", want.rows,
                                              " rows in the source, ", got.rows,
                                              " read back, or their bytes differ; nothing was "
                                              "committed"));
    }
  }
  internal::TxnView view{&target};
  const Reader copied(&view);
  MASA_ASSIGN_OR_RETURN(AuditVerifyReport verified, VerifyAuditLog(copied, nullptr));
  MASA_ASSIGN_OR_RETURN(uint64_t size, snap.AuditSize());
  MASA_ASSIGN_OR_RETURN(Hash root, snap.RootHash(size));
  if (verified.entries != size || verified.root != root) {
    return absl::DataLossError("the copied audit log does not have the source's root hash");
  }
  report.audit_entries = size;
  report.audit_root = root;
  MASA_RETURN_IF_ERROR(conn.Exec("COMMIT", "committing the copy"));
  return report;
}

}  // namespace masa::store
