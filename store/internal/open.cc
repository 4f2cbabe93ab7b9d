// Opening a store: the databases, the schema check, migrations, and the writer thread.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status.h"
#include "store/internal/audit_log.h"
#include "store/internal/codec.h"
#include "store/internal/migrations.h"
#include "store/internal/store_impl.h"

namespace masa::store::internal {
namespace {

constexpr char kFormat[] = "masa-store";

}  // namespace

absl::Status StoreImpl::Init() {
  // A migration may need more room than the map has: grow it like a full write group does
  // (no other transaction of ours exists yet) and run the whole open transaction again.
  for (int resized = 0;;) {
    absl::Status st = InitOnce();
    // MDB_MAP_RESIZED: another process grew the map past what this one mapped at open
    // (a store larger than initial_map_size is mapped at its used size): adopt it and retry.
    if (absl::IsAborted(st) && ++resized < 100) {
      MASA_RETURN_IF_ERROR(env_.SetMapSize(0));
      continue;
    }
    size_t size = env_.MapSize();
    if (!IsMapFull(st) || options_.read_only || size >= options_.max_map_size) return st;
    size_t grown = std::min(options_.max_map_size, size * 2);
    MASA_RETURN_IF_ERROR(env_.SetMapSize(grown));
    Log(LogLevel::kInfo, absl::StrCat("store map grown to ", grown, " bytes while opening"));
  }
}

absl::Status StoreImpl::InitOnce() {
  MASA_ASSIGN_OR_RETURN(Txn owner, env_.Begin(options_.read_only));
  MDB_txn* txn = owner.get();
  unsigned create = options_.read_only ? 0 : MDB_CREATE;
  auto meta = OpenDb(txn, kDbNames[kMeta], 0);
  std::string store_path = StoreDir(options_.state_dir);
  bool fresh = false;
  if (absl::IsNotFound(meta.status())) {
    // No meta database: a new, empty environment, or someone else's LMDB file.
    MASA_ASSIGN_OR_RETURN(MDB_dbi main, OpenDb(txn, nullptr, 0));
    MASA_ASSIGN_OR_RETURN(auto cursor, MdbCursor::Open(txn, main));
    MASA_ASSIGN_OR_RETURN(bool any, cursor->Seek({}));
    if (any) {
      return absl::FailedPreconditionError(
          absl::StrCat(store_path,
                       " holds an LMDB environment that is not a MASA store (no \"meta\" "
                       "database); refusing to touch it"));
    }
    if (options_.read_only) {
      return absl::NotFoundError(absl::StrCat("no MASA store has been created in ", store_path));
    }
    fresh = true;
    MASA_ASSIGN_OR_RETURN(meta, OpenDb(txn, kDbNames[kMeta], MDB_CREATE));
  } else if (!meta.ok()) {
    return Annotate(meta.status(), absl::StrCat("opening ", store_path));
  }
  dbs_.dbi[kMeta] = *meta;
  uint64_t version = kSchemaVersion;
  if (fresh) {
    MASA_RETURN_IF_ERROR(Put(txn, *meta, "format", kFormat));
    MASA_RETURN_IF_ERROR(Put(txn, *meta, "schema_version", BigEndian64(kSchemaVersion)));
  } else {
    auto format = Get(txn, *meta, "format");
    if (!format.ok() || *format != kFormat) {
      return absl::FailedPreconditionError(absl::StrCat(
          store_path, " is an LMDB environment but not a MASA store (format record missing)"));
    }
    auto v = Get(txn, *meta, "schema_version");
    if (!v.ok() || v->size() != 8) {
      return absl::DataLossError(absl::StrCat(store_path, ": schema version record is missing"));
    }
    version = ReadBigEndian64(*v);
    if (version > kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s has schema version %d, newer than this build understands (%d); upgrade masa",
          store_path, version, kSchemaVersion));
    }
    if (version < kSchemaVersion && options_.read_only) {
      return absl::FailedPreconditionError(
          absl::StrFormat("%s has schema version %d; start masad once to migrate it to %d",
                          store_path, version, kSchemaVersion));
    }
  }
  for (int d = kMeta + 1; d < kDbCount; ++d) {
    MASA_ASSIGN_OR_RETURN(dbs_.dbi[d], OpenDb(txn, kDbNames[d], create));
  }
  if (version < kSchemaVersion && shared_) {
    // A migration rewrites records that the other process would go on reading in the old
    // layout (and an older build would write in it): migrate only when alone.
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s has schema version %d and this build needs %d, but another process (a running "
        "masad, or masactl) has the store open; stop it and start this build's masad, which "
        "migrates the store when it has it to itself",
        store_path, version, kSchemaVersion));
  }
  for (const Migration& m : kMigrations) {
    if (m.from != version) continue;
    MASA_RETURN_IF_ERROR(
        Annotate(m.run(txn, dbs_), absl::StrCat("migrating schema from version ", m.from)));
    ++version;
    MASA_RETURN_IF_ERROR(Put(txn, *meta, "schema_version", BigEndian64(version)));
    Log(LogLevel::kInfo, absl::StrCat("store migrated to schema version ", version));
  }
  if (version != kSchemaVersion) {
    return absl::InternalError(absl::StrCat("no migration from schema version ", version));
  }
  {
    LmdbKv kv(txn, &dbs_);
    MASA_ASSIGN_OR_RETURN(AuditHead head, ReadAuditHead(kv));
    audit_size_hint_.store(head.size);
    MASA_ASSIGN_OR_RETURN(auto cursor, Cursor::Open(kv, kCheckpoints));
    MASA_ASSIGN_OR_RETURN(bool any, cursor.Last());
    if (any) last_checkpoint_size_ = ReadBigEndian64(cursor.key());
  }
  MASA_RETURN_IF_ERROR(owner.Commit());
  last_checkpoint_time_ = options_.clock->Now();
  if (!options_.read_only) writer_ = std::thread([this] { WriterLoop(); });
  return absl::OkStatus();
}

}  // namespace masa::store::internal
