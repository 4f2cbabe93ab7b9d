#include "store/testing/schema.h"

#include "common/status.h"
#include "store/internal/codec.h"
#include "store/internal/lmdb.h"
#include "store/internal/tables.h"
#include "store/store.h"

namespace masa::store::testing {

absl::Status SetSchemaVersion(const std::string& state_dir, uint64_t version) {
  internal::Env::Options options;
  options.max_dbs = internal::kDbCount + 4;
  MASA_ASSIGN_OR_RETURN(internal::Env env, internal::Env::Open(StoreDir(state_dir), options));
  MASA_ASSIGN_OR_RETURN(internal::Txn txn, env.Begin(/*read_only=*/false));
  MASA_ASSIGN_OR_RETURN(MDB_dbi meta, internal::OpenDb(txn.get(), "meta", 0));
  MASA_RETURN_IF_ERROR(
      internal::Put(txn.get(), meta, "schema_version", internal::BigEndian64(version)));
  return txn.Commit();
}

}  // namespace masa::store::testing
