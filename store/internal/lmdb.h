// The one place that includes lmdb.h: an environment owner, move-only transactions whose
// destructor aborts, and FromMdb(), the single translation of LMDB return codes.
#pragma once

#include <lmdb.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/internal/kv.h"
#include "store/internal/tables.h"

namespace masa::store::internal {

// Translates an LMDB or errno return code into a Status whose code says what the caller
// should do: MDB_MAP_FULL / ENOSPC -> kResourceExhausted, MDB_CORRUPTED / MDB_INVALID /
// MDB_PAGE_NOTFOUND -> kDataLoss, MDB_VERSION_MISMATCH / MDB_INCOMPATIBLE ->
// kFailedPrecondition, MDB_NOTFOUND -> kNotFound, EACCES -> kPermissionDenied,
// MDB_READERS_FULL / EAGAIN -> kUnavailable. `what` names the failing call.
absl::Status FromMdb(int rc, std::string_view what);

// True when `status` came from FromMdb(MDB_MAP_FULL, ...): the caller may grow the map.
bool IsMapFull(const absl::Status& status);

// True when `status` came from FromMdb(ENOMEM, ...): e.g. mmap refused the map's size
// (address space limited by ulimit -v).
bool IsOutOfMemory(const absl::Status& status);

// Views bytes as an MDB_val (LMDB never writes through a key or data given to mdb_put).
inline MDB_val ToVal(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view FromVal(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

// A transaction owner. Aborts in its destructor unless committed. Move-only; not
// thread-safe. A read transaction may move between threads (the env uses MDB_NOTLS).
class Txn {
 public:
  Txn() = default;
  explicit Txn(MDB_txn* txn) : txn_(txn) {}
  Txn(Txn&& other) noexcept : txn_(other.txn_) { other.txn_ = nullptr; }
  Txn& operator=(Txn&& other) noexcept;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() { Abort(); }

  MDB_txn* get() const { return txn_; }
  explicit operator bool() const { return txn_ != nullptr; }

  // Commits. The handle is released first because LMDB frees it even when commit fails.
  absl::Status Commit();
  void Abort();

 private:
  MDB_txn* txn_ = nullptr;
};

// Owns an MDB_env. Thread-safe as LMDB is; the owner serializes resizes against txns.
// Const methods act on the shared environment, as LMDB's own calls do: const here means the
// handle does not change, not that the environment does not.
class Env {
 public:
  struct Options {
    size_t map_size = 0;
    unsigned max_dbs = 32;
    bool read_only = false;
  };

  // Opens the environment in the existing folder `dir` (data.mdb, lock.mdb). Flags:
  // MDB_NOTLS always; durable commits (no MDB_NOSYNC/MDB_NOMETASYNC); MDB_RDONLY when
  // read_only. Stale reader slots of dead processes are cleared.
  static absl::StatusOr<Env> Open(const std::string& dir, const Options& options);

  Env() = default;
  Env(Env&& other) noexcept : env_(other.env_) { other.env_ = nullptr; }
  Env& operator=(Env&& other) noexcept;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  ~Env();

  MDB_env* get() const { return env_; }

  // Begins a transaction; `parent` for a nested write txn. MDB_MAP_RESIZED (another
  // process grew the map) comes back as kAborted so the caller can adopt the new size.
  absl::StatusOr<Txn> Begin(bool read_only, MDB_txn* parent = nullptr) const;

  // Current map size in bytes.
  size_t MapSize() const;
  // Sets the map size (0: adopt the size another process set). The caller guarantees no
  // transaction of this process is active (see ResizeGate).
  absl::Status SetMapSize(size_t bytes) const;

 private:
  explicit Env(MDB_env* env) : env_(env) {}
  MDB_env* env_ = nullptr;
};

// Thin typed helpers; each returns FromMdb() statuses that name the call.
absl::StatusOr<MDB_dbi> OpenDb(MDB_txn* txn, const char* name, unsigned flags);
// kNotFound when the key is absent. The view lives until the txn ends or writes.
absl::StatusOr<std::string_view> Get(MDB_txn* txn, MDB_dbi dbi, std::string_view key);
absl::Status Put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value,
                 unsigned flags = 0);
// Deleting an absent key is kNotFound.
absl::Status Del(MDB_txn* txn, MDB_dbi dbi, std::string_view key);

// A cursor owner; closed in the destructor (read cursors must be closed before the txn
// ends, write cursors are closed by LMDB with the txn but closing first is harmless).
class MdbCursor final : public KvCursor {
 public:
  static absl::StatusOr<std::unique_ptr<MdbCursor>> Open(MDB_txn* txn, MDB_dbi dbi);
  MdbCursor(const MdbCursor&) = delete;
  MdbCursor& operator=(const MdbCursor&) = delete;
  ~MdbCursor() override;

  // Seek: MDB_SET_RANGE, or MDB_FIRST for an empty key.
  absl::StatusOr<bool> Seek(std::string_view key) override;
  absl::StatusOr<bool> Next() override;
  absl::StatusOr<bool> Last() override;
  std::string_view key() const override { return FromVal(key_); }
  std::string_view value() const override { return FromVal(value_); }

 private:
  explicit MdbCursor(MDB_cursor* c) : cursor_(c) {}
  absl::StatusOr<bool> Move(MDB_cursor_op op);
  MDB_cursor* cursor_ = nullptr;
  MDB_val key_{0, nullptr};
  MDB_val value_{0, nullptr};
};

// The tables through one LMDB transaction, which the caller owns and which must outlive
// this. `dbs` are the environment's open databases.
class LmdbKv final : public Kv {
 public:
  LmdbKv(MDB_txn* txn, const Dbs* dbs) : txn_(txn), dbs_(dbs) {}
  absl::StatusOr<std::string_view> Get(Db db, std::string_view key) override {
    return internal::Get(txn_, (*dbs_)[db], key);
  }
  absl::Status Put(Db db, std::string_view key, std::string_view value,
                   bool append = false) override {
    return internal::Put(txn_, (*dbs_)[db], key, value, append ? MDB_APPEND : 0);
  }
  absl::Status Del(Db db, std::string_view key) override {
    return internal::Del(txn_, (*dbs_)[db], key);
  }
  absl::StatusOr<std::unique_ptr<KvCursor>> OpenCursor(Db db) override;

 private:
  MDB_txn* txn_;
  const Dbs* dbs_;
};

}  // namespace masa::store::internal
