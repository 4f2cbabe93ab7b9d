// The tables in PostgreSQL: one table, masa_kv (db smallint, k bytea, v bytea, primary key
// (db, k)), holding what LMDB keeps in its named databases, byte for byte (bytea orders as
// memcmp does, like LMDB's keys). A PgKv is one transaction's view of it:
//
//  - reads go to the server once per key and are remembered (`rows`);
//  - writes are kept in memory until Flush, which sends them as a few multi-row statements
//    just before COMMIT: a group of a thousand vouchers is a handful of round trips, not
//    ten thousand;
//  - a savepoint over the kept writes lets one batch of a group be rolled back alone.
//
// The writer keeps its PgKv from one transaction to the next (Retain): what it read and
// wrote stays true as long as no other node committed in between, which the writer checks
// at the start of every transaction (pg_store.cc).
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/internal/kv.h"
#include "store/internal/pg.h"

namespace masa::store::internal {

// The table's definition (schema version 1 of the PostgreSQL store, see pg_store.cc).
inline constexpr char kPgKvTable[] = "masa_kv";

class PgKv final : public Kv {
 public:
  // Reads and writes through `conn`, inside a transaction its owner began. A read-only one
  // refuses writes.
  PgKv(PgConn* conn, bool writable) : conn_(conn), writable_(writable) {}

  absl::StatusOr<std::string_view> Get(Db db, std::string_view key) override;
  absl::Status Put(Db db, std::string_view key, std::string_view value,
                   bool append = false) override;
  absl::Status Del(Db db, std::string_view key) override;
  absl::StatusOr<std::unique_ptr<KvCursor>> OpenCursor(Db db) override;
  absl::StatusOr<bool> KeyGrows(Db db, std::string_view key) override;

  // Starts remembering how to undo the kept writes (one level).
  void Savepoint();
  // Undoes every write since Savepoint, and ends it.
  void RollbackToSavepoint();
  // Keeps the writes since Savepoint, and ends it.
  void ReleaseSavepoint();

  // Sends the kept writes (multi-row upserts and deletes). The caller commits.
  absl::Status Flush();
  // The transaction committed: the kept writes are now what the server holds.
  void Committed();
  // Forgets everything read and written (a transaction that failed, or another node's
  // commit that may have changed any of it).
  void Forget();
  // How many rows it remembers (the writer forgets them past a bound).
  size_t remembered() const { return remembered_; }
  // How many writes are kept for the next Flush.
  size_t pending_writes() const;
  // Statements the last Flush sent.
  size_t flush_statements() const { return flush_statements_; }

  // For the cursor: the remembered rows of `db` (nullopt: known to be absent).
  using Rows = std::map<std::string, std::optional<std::string>, std::less<>>;
  const Rows& rows(Db db) const { return rows_[db]; }
  PgConn* conn() const { return conn_; }

 private:
  struct Undo {
    Db db;
    std::string key;
    std::optional<std::optional<std::string>> row;  // nullopt: was not remembered
    bool dirty;
  };
  void Remember(Db db, std::string key, std::optional<std::string> value, bool dirty);
  // The last key of `db` on the server and in the kept writes (nullopt: empty).
  absl::StatusOr<std::optional<std::string>> LastKey(Db db);

  PgConn* conn_;
  const bool writable_;
  std::array<Rows, kDbCount> rows_;
  std::array<std::set<std::string, std::less<>>, kDbCount> dirty_;
  // The last key of each table as far as this transaction knows (outer nullopt: not
  // looked up yet; inner nullopt: the table is empty).
  std::array<std::optional<std::optional<std::string>>, kDbCount> last_;
  bool in_savepoint_ = false;
  std::vector<Undo> undo_;
  size_t remembered_ = 0;
  size_t flush_statements_ = 0;
};

// "\x00\x05" for table 5: the big-endian int2 a binary parameter of column db is.
std::string PgDb(Db db);

}  // namespace masa::store::internal
