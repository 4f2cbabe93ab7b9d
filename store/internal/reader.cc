// Reading records, and the snapshots readers run in.
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "store/internal/codec.h"
#include "store/internal/store_impl.h"
#include "store/internal/stored_form.h"
#include "store/internal/txn.h"
#include "store/store.h"

namespace masa::store {

using internal::TableTraits;

template <typename T>
absl::StatusOr<T> Reader::Get(std::string_view key) const {
  auto v = txn_->kv->Get(TableTraits<T>::kDb, key);
  if (absl::IsNotFound(v.status())) {
    return absl::NotFoundError(
        absl::StrCat(TableTraits<T>::kName, " ", absl::CEscape(Sv(key)), " not found"));
  }
  if (!v.ok()) return v.status();
  return internal::DecodeStored<T>(*txn_->kv, *v, key);
}

template <typename T>
absl::StatusOr<std::vector<T>> Reader::List(std::string_view start_key, size_t limit) const {
  std::vector<T> out;
  MASA_ASSIGN_OR_RETURN(auto cursor, internal::Cursor::Open(*txn_->kv, TableTraits<T>::kDb));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek(start_key));
  while (more && out.size() < limit) {
    MASA_ASSIGN_OR_RETURN(T record,
                          internal::DecodeStored<T>(*txn_->kv, cursor.value(), cursor.key()));
    out.push_back(std::move(record));
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return out;
}

#define MASA_INSTANTIATE(T)                                          \
  template absl::StatusOr<T> Reader::Get<T>(std::string_view) const; \
  template absl::StatusOr<std::vector<T>> Reader::List<T>(std::string_view, size_t) const;
MASA_STORE_RECORD_TYPES(MASA_INSTANTIATE)
#undef MASA_INSTANTIATE

absl::StatusOr<std::optional<std::string>> Reader::LatestCheckpoint() const {
  MASA_ASSIGN_OR_RETURN(auto cursor, internal::Cursor::Open(*txn_->kv, internal::kCheckpoints));
  MASA_ASSIGN_OR_RETURN(bool any, cursor.Last());
  if (!any) return std::optional<std::string>();
  return std::optional<std::string>(std::string(cursor.value()));
}

absl::Status Reader::ScanCheckpoints(
    const std::function<bool(uint64_t, std::string_view)>& fn) const {
  MASA_ASSIGN_OR_RETURN(auto cursor, internal::Cursor::Open(*txn_->kv, internal::kCheckpoints));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek({}));
  while (more) {
    if (cursor.key().size() != 8) return absl::DataLossError("checkpoint key is not 8 bytes");
    if (!fn(internal::ReadBigEndian64(cursor.key()), cursor.value())) break;
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Reader::SchemaVersion() const {
  MASA_ASSIGN_OR_RETURN(std::string_view v, txn_->kv->Get(internal::kMeta, "schema_version"));
  if (v.size() != 8) return absl::DataLossError("schema version record is malformed");
  return internal::ReadBigEndian64(v);
}

// ---------------------------------------------------------------------------------------
// Snapshot

Snapshot::Snapshot(std::unique_ptr<internal::SnapshotState> state)
    : Reader(&state->view), state_(std::move(state)) {}

Snapshot::Snapshot(Snapshot&& other) noexcept
    : Reader(other.txn_), state_(std::move(other.state_)) {
  other.txn_ = nullptr;
}

// The state ends its read transaction, then its share of the resize gate, then the count
// against the thread that opened it.
Snapshot::~Snapshot() = default;

namespace internal {

SharedGate StoreImpl::ShareGate() const {
  // A thread that holds a snapshot already holds a share that a waiting resize waits for:
  // it must not queue behind that resize.
  return SharedGate(&resize_gate_, /*nested=*/SnapshotsOpenedOnThisThread() > 0);
}

absl::StatusOr<Snapshot> StoreImpl::Read() const {
  for (int attempt = 0; attempt < 3; ++attempt) {
    SharedGate share = ShareGate();
    auto txn = env_.Begin(/*read_only=*/true);
    if (txn.ok()) {
      return Snapshot(std::make_unique<LmdbSnapshot>(std::move(share), *std::move(txn), &dbs_));
    }
    if (!absl::IsAborted(txn.status())) return txn.status();
    share.Release();
    MASA_RETURN_IF_ERROR(AdoptMapSize());
  }
  return absl::UnavailableError("the store map keeps being resized; retry");
}

}  // namespace internal
}  // namespace masa::store
