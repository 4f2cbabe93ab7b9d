#include "store/internal/lmdb.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace masa::store::internal {

namespace {
constexpr char kMapFullTag[] = " [MDB_MAP_FULL]";
constexpr char kNoMemoryTag[] = " [ENOMEM]";
}  // namespace

absl::Status FromMdb(int rc, std::string_view what) {
  if (rc == MDB_SUCCESS) return absl::OkStatus();
  std::string message = absl::StrCat(Sv(what), ": ", mdb_strerror(rc));
  switch (rc) {
    case MDB_NOTFOUND:
      return absl::NotFoundError(message);
    case MDB_MAP_FULL:
      return absl::ResourceExhaustedError(absl::StrCat(message, kMapFullTag));
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(
          absl::StrCat(message, " (the disk holding the store is full; free space and retry)"));
    case ENOMEM:
      return absl::ResourceExhaustedError(absl::StrCat(message, kNoMemoryTag));
    case MDB_TXN_FULL:
    case MDB_CURSOR_FULL:
    case MDB_PAGE_FULL:
    case MDB_DBS_FULL:
      return absl::ResourceExhaustedError(message);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_BAD_TXN:
      return absl::DataLossError(
          absl::StrCat(message, " (the store file is corrupt or not an LMDB file)"));
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
    case MDB_BAD_VALSIZE:
    case MDB_BAD_DBI:
      return absl::FailedPreconditionError(message);
    case MDB_READERS_FULL:
    case EAGAIN:
    case EBUSY:
      return absl::UnavailableError(message);
    case MDB_MAP_RESIZED:
      return absl::AbortedError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case ENOENT:
      return absl::NotFoundError(message);
    case EINVAL:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

bool IsMapFull(const absl::Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted &&
         status.message().find(kMapFullTag) != absl::string_view::npos;
}

bool IsOutOfMemory(const absl::Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted &&
         status.message().find(kNoMemoryTag) != absl::string_view::npos;
}

Txn& Txn::operator=(Txn&& other) noexcept {
  if (this != &other) {
    Abort();
    txn_ = other.txn_;
    other.txn_ = nullptr;
  }
  return *this;
}

absl::Status Txn::Commit() {
  MDB_txn* txn = txn_;
  txn_ = nullptr;
  return FromMdb(mdb_txn_commit(txn), "mdb_txn_commit");
}

void Txn::Abort() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
  txn_ = nullptr;
}

absl::StatusOr<Env> Env::Open(const std::string& dir, const Options& options) {
  MDB_env* raw = nullptr;
  MASA_RETURN_IF_ERROR(FromMdb(mdb_env_create(&raw), "mdb_env_create"));
  Env env(raw);
  MASA_RETURN_IF_ERROR(FromMdb(mdb_env_set_maxdbs(raw, options.max_dbs), "mdb_env_set_maxdbs"));
  MASA_RETURN_IF_ERROR(FromMdb(mdb_env_set_maxreaders(raw, 252), "mdb_env_set_maxreaders"));
  if (options.map_size != 0) {
    MASA_RETURN_IF_ERROR(
        FromMdb(mdb_env_set_mapsize(raw, options.map_size), "mdb_env_set_mapsize"));
  }
  unsigned flags = MDB_NOTLS;
  if (options.read_only) flags |= MDB_RDONLY;
  int rc = mdb_env_open(raw, dir.c_str(), flags, 0600);
  if (rc != MDB_SUCCESS) {
    return Annotate(FromMdb(rc, "mdb_env_open"),
                    absl::StrCat("opening LMDB store ", dir, "/data.mdb"));
  }
  int dead = 0;
  MASA_RETURN_IF_ERROR(FromMdb(mdb_reader_check(raw, &dead), "mdb_reader_check"));
  return env;
}

Env& Env::operator=(Env&& other) noexcept {
  if (this != &other) {
    if (env_ != nullptr) mdb_env_close(env_);
    env_ = other.env_;
    other.env_ = nullptr;
  }
  return *this;
}

Env::~Env() {
  if (env_ != nullptr) mdb_env_close(env_);
}

absl::StatusOr<Txn> Env::Begin(bool read_only, MDB_txn* parent) const {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, parent, read_only ? MDB_RDONLY : 0, &txn);
  if (rc != MDB_SUCCESS) return FromMdb(rc, "mdb_txn_begin");
  return Txn(txn);
}

size_t Env::MapSize() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

absl::Status Env::SetMapSize(size_t bytes) const {
  return FromMdb(mdb_env_set_mapsize(env_, bytes), "mdb_env_set_mapsize");
}

absl::StatusOr<MDB_dbi> OpenDb(MDB_txn* txn, const char* name, unsigned flags) {
  MDB_dbi dbi = 0;
  int rc = mdb_dbi_open(txn, name, flags, &dbi);
  if (rc != MDB_SUCCESS)
    return FromMdb(rc, absl::StrCat("mdb_dbi_open(", name ? name : "main", ")"));
  return dbi;
}

absl::StatusOr<std::string_view> Get(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
  MDB_val k = ToVal(key);
  MDB_val v{0, nullptr};
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc != MDB_SUCCESS) return FromMdb(rc, "mdb_get");
  return FromVal(v);
}

absl::Status Put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value,
                 unsigned flags) {
  MDB_val k = ToVal(key);
  MDB_val v = ToVal(value);
  int rc = mdb_put(txn, dbi, &k, &v, flags);
  if (rc == MDB_KEYEXIST) return absl::AlreadyExistsError("record already exists");
  return FromMdb(rc, "mdb_put");
}

absl::Status Del(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
  MDB_val k = ToVal(key);
  return FromMdb(mdb_del(txn, dbi, &k, nullptr), "mdb_del");
}

absl::StatusOr<std::unique_ptr<MdbCursor>> MdbCursor::Open(MDB_txn* txn, MDB_dbi dbi) {
  MDB_cursor* c = nullptr;
  MASA_RETURN_IF_ERROR(FromMdb(mdb_cursor_open(txn, dbi, &c), "mdb_cursor_open"));
  return std::unique_ptr<MdbCursor>(new MdbCursor(c));
}

MdbCursor::~MdbCursor() {
  if (cursor_ != nullptr) mdb_cursor_close(cursor_);
}

absl::StatusOr<bool> MdbCursor::Move(MDB_cursor_op op) {
  int rc = mdb_cursor_get(cursor_, &key_, &value_, op);
  if (rc == MDB_NOTFOUND) return false;
  MASA_RETURN_IF_ERROR(FromMdb(rc, "mdb_cursor_get"));
  return true;
}

absl::StatusOr<bool> MdbCursor::Seek(std::string_view key) {
  if (key.empty()) return Move(MDB_FIRST);
  key_ = ToVal(key);
  return Move(MDB_SET_RANGE);
}

absl::StatusOr<bool> MdbCursor::Next() { return Move(MDB_NEXT); }
absl::StatusOr<bool> MdbCursor::Last() { return Move(MDB_LAST); }

absl::StatusOr<std::unique_ptr<KvCursor>> LmdbKv::OpenCursor(Db db) {
  MASA_ASSIGN_OR_RETURN(std::unique_ptr<MdbCursor> c, MdbCursor::Open(txn_, (*dbs_)[db]));
  return std::unique_ptr<KvCursor>(std::move(c));
}

}  // namespace masa::store::internal
