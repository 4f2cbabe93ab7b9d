#include "store/internal/kv.h"

#include <utility>

#include "common/status.h"

namespace masa::store::internal {

absl::StatusOr<bool> Kv::KeyGrows(Db db, std::string_view key) {
  MASA_ASSIGN_OR_RETURN(std::unique_ptr<KvCursor> cursor, OpenCursor(db));
  MASA_ASSIGN_OR_RETURN(bool any, cursor->Last());
  return !any || key > cursor->key();
}

absl::StatusOr<Cursor> Cursor::Open(Kv& kv, Db db) {
  MASA_ASSIGN_OR_RETURN(std::unique_ptr<KvCursor> impl, kv.OpenCursor(db));
  return Cursor(std::move(impl));
}

}  // namespace masa::store::internal
