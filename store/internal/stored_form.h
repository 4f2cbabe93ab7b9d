// Records as they sit in their tables: decoding with kDataLoss, and the stored form of a
// voucher, whose CMS certificate set and pinned-domain-cert are kept once, in
// cms_certificates and cms_pdcs (see tables.h).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "store/internal/codec.h"
#include "store/internal/kv.h"
#include "store/internal/record_fields.h"
#include "store/internal/tables.h"
#include "store/records.h"

namespace masa::store::internal {

// Decodes the bytes stored under `key`; kDataLoss naming the table and key when they do not
// decode.
template <typename T>
absl::StatusOr<T> DecodeRecord(std::string_view bytes, std::string_view key) {
  T record;
  absl::Status st = Decode(bytes, &record);
  if (!st.ok()) {
    return absl::DataLossError(absl::StrCat(TableTraits<T>::kName, " record ",
                                            absl::CEscape(Sv(key)), ": ", st.message()));
  }
  return record;
}

// The bytes to store for `r`. A voucher whose CMS is a SignedData with certificates is
// stored without them: the set goes to cms_certificates under its SHA-256 (unless it is
// there already) and the record names the hash and where the set was cut out. So does the
// base64 text of its pinned-domain-cert, when its content is a JSON voucher, to cms_pdcs.
template <typename T>
absl::StatusOr<std::string> EncodeStored(Kv&, const T& r) {
  return Encode(r);
}
template <>
absl::StatusOr<std::string> EncodeStored(Kv& kv, const Voucher& v);

// The record stored as `bytes` under `key`, as handed out: a voucher's CMS whole again,
// byte for byte. kDataLoss when its certificate set or pinned-domain-cert is missing or
// does not match its hash.
template <typename T>
absl::StatusOr<T> DecodeStored(Kv&, std::string_view bytes, std::string_view key) {
  return DecodeRecord<T>(bytes, key);
}
template <>
absl::StatusOr<Voucher> DecodeStored(Kv& kv, std::string_view bytes, std::string_view key);

}  // namespace masa::store::internal
