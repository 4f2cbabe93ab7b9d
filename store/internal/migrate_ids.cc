#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "common/uuid.h"
#include "store/internal/codec.h"
#include "store/internal/indexes.h"
#include "store/internal/lmdb.h"
#include "store/internal/migrations.h"
#include "store/internal/record_fields.h"

namespace masa::store::internal {
namespace {

// The id prefixes and status names masad wrote before schema 5.
constexpr std::string_view kOldVoucherPrefix = "v-";
constexpr std::string_view kOldRequestPrefix = "req-";
constexpr std::string_view kOldVoucherCompleted = "issued";
constexpr std::string_view kOldRequestCompleted = "complete";
constexpr std::string_view kCompleted = "completed";

// Records are read this many at a time, so that the callback may write to the same table
// without a cursor open on it.
constexpr size_t kChunk = 1024;

std::string MapId(const std::string& id, std::string_view prefix) {
  std::optional<std::string> uuid = LegacyIdToUuid(id, prefix);
  return uuid ? *std::move(uuid) : id;
}

// Calls fn(key, value) for every entry of `dbi` in key order. Entries fn writes that sort
// after the current one are visited too; every fn here leaves an entry it has rewritten
// unchanged on a second visit.
template <typename Fn>
absl::Status ForEachEntry(MDB_txn* txn, MDB_dbi dbi, Fn fn) {
  std::string start;
  while (true) {
    std::vector<std::pair<std::string, std::string>> chunk;
    {
      MASA_ASSIGN_OR_RETURN(std::unique_ptr<MdbCursor> cursor, MdbCursor::Open(txn, dbi));
      MASA_ASSIGN_OR_RETURN(bool more, cursor->Seek(start));
      while (more && chunk.size() < kChunk) {
        chunk.emplace_back(cursor->key(), cursor->value());
        MASA_ASSIGN_OR_RETURN(more, cursor->Next());
      }
    }
    if (chunk.empty()) return absl::OkStatus();
    for (const auto& [key, value] : chunk) MASA_RETURN_IF_ERROR(fn(key, value));
    start = chunk.back().first + std::string(1, '\0');
  }
}

template <typename T>
absl::StatusOr<T> DecodeOrDataLoss(std::string_view bytes, std::string_view key,
                                   std::string_view what) {
  T record;
  absl::Status st = Decode(bytes, &record);
  if (!st.ok()) {
    return absl::DataLossError(
        absl::StrCat(Sv(what), " record ", absl::CEscape(Sv(key)), ": ", st.message()));
  }
  return record;
}

// Moves a record from `old_key` to `new_key` (or rewrites it in place when they are equal).
absl::Status Rekey(MDB_txn* txn, MDB_dbi dbi, std::string_view what, const std::string& old_key,
                   const std::string& new_key, const std::string& bytes) {
  if (new_key != old_key) {
    auto existing = Get(txn, dbi, new_key);
    if (existing.ok()) {
      return absl::InternalError(
          absl::StrCat(Sv(what), " ", old_key, " maps to ", new_key, ", which exists already"));
    }
    if (!absl::IsNotFound(existing.status())) return existing.status();
    MASA_RETURN_IF_ERROR(Del(txn, dbi, old_key));
  }
  return Put(txn, dbi, new_key, bytes);
}

}  // namespace

absl::Status MigrateIdsToUuids(MDB_txn* txn, const Dbs& dbs) {
  LmdbKv kv(txn, &dbs);
  size_t requests = 0, vouchers = 0, pins = 0;
  MASA_RETURN_IF_ERROR(ForEachEntry(
      txn, dbs[kVoucherRequests],
      [&](const std::string& key, const std::string& value) -> absl::Status {
        MASA_ASSIGN_OR_RETURN(VoucherRequest r,
                              DecodeOrDataLoss<VoucherRequest>(value, key, "VoucherRequest"));
        const std::string old_id = r.id;
        r.id = MapId(r.id, kOldRequestPrefix);
        bool renamed = r.status == kOldRequestCompleted;
        if (renamed) r.status = std::string(kCompleted);
        if (r.id == old_id && !renamed) return absl::OkStatus();
        ++requests;
        return Rekey(txn, dbs[kVoucherRequests], "request", key, r.id, Encode(r));
      }));
  MASA_RETURN_IF_ERROR(ForEachEntry(
      txn, dbs[kVouchers], [&](const std::string& key, const std::string& value) -> absl::Status {
        // The stored form (CMS without its certificate set, which stays where it is).
        MASA_ASSIGN_OR_RETURN(Voucher old, DecodeOrDataLoss<Voucher>(value, key, "Voucher"));
        Voucher v = old;
        v.id = MapId(v.id, kOldVoucherPrefix);
        v.request_id = MapId(v.request_id, kOldRequestPrefix);
        if (v.status == kOldVoucherCompleted) v.status = std::string(kCompleted);
        if (v.id == old.id && v.request_id == old.request_id && v.status == old.status) {
          return absl::OkStatus();
        }
        ++vouchers;
        MASA_RETURN_IF_ERROR(DeleteVoucherIndexes(kv, old));
        MASA_RETURN_IF_ERROR(Rekey(txn, dbs[kVouchers], "voucher", key, v.id, Encode(v)));
        return PutVoucherIndexes(kv, v);
      }));
  MASA_RETURN_IF_ERROR(ForEachEntry(
      txn, dbs[kIdxSerialPin],
      [&](const std::string& key, const std::string& value) -> absl::Status {
        MASA_ASSIGN_OR_RETURN(SerialPin pin, DecodeOrDataLoss<SerialPin>(value, key, "pin index"));
        std::string id = MapId(pin.voucher_id, kOldVoucherPrefix);
        if (id == pin.voucher_id) return absl::OkStatus();
        ++pins;
        pin.voucher_id = std::move(id);
        return Put(txn, dbs[kIdxSerialPin], key, Encode(pin));
      }));
  Log(LogLevel::kInfo,
      absl::StrCat("voucher and request ids are UUIDs now: ", requests, " requests, ", vouchers,
                   " vouchers and ", pins, " pin entries rewritten"));
  return absl::OkStatus();
}

}  // namespace masa::store::internal
