// Writing records inside a batch's transaction, with their indexes kept in step.
#include <optional>
#include <string>
#include <type_traits>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "store/internal/indexes.h"
#include "store/internal/stored_form.h"
#include "store/internal/txn.h"
#include "store/store.h"

namespace masa::store {

using internal::Kv;
using internal::TableTraits;

namespace {

absl::Status CheckKeyPart(std::string_view part, std::string_view what, bool allow_empty) {
  if (!allow_empty && part.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(what), " must not be empty"));
  }
  if (part.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(what), " must not contain a NUL byte"));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status ValidateKey(const T& r) {
  return CheckKeyPart(TableTraits<T>::Key(r), absl::StrCat(TableTraits<T>::kName, " key"), false);
}
template <>
absl::Status ValidateKey(const Component& r) {
  MASA_RETURN_IF_ERROR(CheckKeyPart(r.ien, "component ien", false));
  return CheckKeyPart(r.serial_number, "component serial number", false);
}
template <>
absl::Status ValidateKey(const Voucher& r) {
  MASA_RETURN_IF_ERROR(CheckKeyPart(r.id, "voucher id", false));
  MASA_RETURN_IF_ERROR(CheckKeyPart(r.ien, "voucher ien", true));
  MASA_RETURN_IF_ERROR(CheckKeyPart(r.serial_number, "voucher serial number", true));
  MASA_RETURN_IF_ERROR(CheckKeyPart(r.organization_id, "voucher organization", true));
  return CheckKeyPart(r.request_id, "voucher request id", true);
}

template <typename T>
absl::Status UpdateIndexes(Kv&, const T*, const T&) {
  return absl::OkStatus();
}
template <>
absl::Status UpdateIndexes(Kv& kv, const Voucher* old, const Voucher& v) {
  return internal::UpdateVoucherIndexes(kv, old, v);
}

template <typename T>
absl::Status PutRecord(Kv& kv, const T& r, bool insert) {
  MASA_RETURN_IF_ERROR(ValidateKey(r));
  std::string key = TableTraits<T>::Key(r);
  const internal::Db db = TableTraits<T>::kDb;
  // A key after the last one (a new UUIDv7 id) cannot be there: no look-up, and an append.
  MASA_ASSIGN_OR_RETURN(bool grows, kv.KeyGrows(db, key));
  std::optional<T> old;
  if (!grows) {
    auto existing = kv.Get(db, key);
    if (existing.ok()) {
      if (insert) {
        return absl::AlreadyExistsError(
            absl::StrCat(TableTraits<T>::kName, " ", absl::CEscape(key), " already exists"));
      }
      MASA_ASSIGN_OR_RETURN(old, internal::DecodeRecord<T>(*existing, key));
    } else if (!absl::IsNotFound(existing.status())) {
      return existing.status();
    }
  }
  MASA_ASSIGN_OR_RETURN(std::string stored, internal::EncodeStored(kv, r));
  MASA_RETURN_IF_ERROR(kv.Put(db, key, stored, grows));
  return UpdateIndexes<T>(kv, old ? &*old : nullptr, r);
}

}  // namespace

WriteTxn::WriteTxn(internal::WriteState* state) : Reader(&state->view), state_(state) {}

template <typename T>
absl::Status WriteTxn::Put(const T& record) {
  return PutRecord(*state_->view.kv, record, /*insert=*/false);
}

template <typename T>
absl::Status WriteTxn::Insert(const T& record) {
  return PutRecord(*state_->view.kv, record, /*insert=*/true);
}

template <typename T>
absl::Status WriteTxn::Delete(std::string_view key) {
  MASA_ASSIGN_OR_RETURN(T old, Get<T>(key));
  internal::Kv& kv = *state_->view.kv;
  MASA_RETURN_IF_ERROR(kv.Del(TableTraits<T>::kDb, key));
  if constexpr (std::is_same_v<T, Voucher>) {
    MASA_RETURN_IF_ERROR(internal::DeleteVoucherIndexes(kv, old));
    MASA_RETURN_IF_ERROR(internal::RecomputePin(kv, old));
  }
  return absl::OkStatus();
}

#define MASA_INSTANTIATE(T)                            \
  template absl::Status WriteTxn::Put<T>(const T&);    \
  template absl::Status WriteTxn::Insert<T>(const T&); \
  template absl::Status WriteTxn::Delete<T>(std::string_view);
MASA_STORE_RECORD_TYPES(MASA_INSTANTIATE)
#undef MASA_INSTANTIATE

}  // namespace masa::store
