// The tables as one transaction sees them, whatever keeps them: an LMDB transaction
// (LmdbKv, lmdb.h) or a PostgreSQL one (PgKv, pg_kv.h). Everything above this line —
// records, indexes, the stored form, the audit log and its tree — is written once against
// it, so both backends store the same bytes under the same keys.
#pragma once

#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/internal/tables.h"

namespace masa::store::internal {

// A position in one table, in key order (bytewise, as memcmp orders them). Not thread-safe.
class KvCursor {
 public:
  virtual ~KvCursor() = default;
  // Positions at the first key >= `key` (the first key when `key` is empty). False at the
  // end.
  virtual absl::StatusOr<bool> Seek(std::string_view key) = 0;
  virtual absl::StatusOr<bool> Next() = 0;
  // Positions at the last key. False when the table is empty.
  virtual absl::StatusOr<bool> Last() = 0;
  // Valid while the cursor stays where it is and the transaction does not write.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
};

// One transaction. Not thread-safe; a read-only one refuses writes with
// kFailedPrecondition.
class Kv {
 public:
  virtual ~Kv() = default;
  // kNotFound when the key is absent. The view lives until the transaction ends or writes.
  virtual absl::StatusOr<std::string_view> Get(Db db, std::string_view key) = 0;
  // `append`: the caller knows the key sorts after every key in `db` (LMDB then fills pages
  // instead of splitting them); kAlreadyExists when it does not.
  virtual absl::Status Put(Db db, std::string_view key, std::string_view value,
                           bool append = false) = 0;
  // Deleting an absent key is kNotFound.
  virtual absl::Status Del(Db db, std::string_view key) = 0;
  virtual absl::StatusOr<std::unique_ptr<KvCursor>> OpenCursor(Db db) = 0;
  // True when `key` sorts after every key in `db` (or `db` is empty): an append.
  virtual absl::StatusOr<bool> KeyGrows(Db db, std::string_view key);
};

// A cursor by value, for `MASA_ASSIGN_OR_RETURN(auto c, Cursor::Open(kv, db))`.
class Cursor {
 public:
  static absl::StatusOr<Cursor> Open(Kv& kv, Db db);
  absl::StatusOr<bool> Seek(std::string_view key) { return impl_->Seek(key); }
  absl::StatusOr<bool> Next() { return impl_->Next(); }
  absl::StatusOr<bool> Last() { return impl_->Last(); }
  std::string_view key() const { return impl_->key(); }
  std::string_view value() const { return impl_->value(); }

 private:
  explicit Cursor(std::unique_ptr<KvCursor> impl) : impl_(std::move(impl)) {}
  std::unique_ptr<KvCursor> impl_;
};

}  // namespace masa::store::internal
