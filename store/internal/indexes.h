// The secondary indexes of vouchers (see tables.h for their keys): building their keys,
// keeping them in step with the voucher records, and reading ranges of them.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

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

// The organization-time index key of `v`: org 0x00 u64 BE (requested_at ns + 2^63) id.
std::string OrgTimeKey(const Voucher& v);
// requested_at as the organization-time index orders it.
uint64_t OrgTimeOrder(absl::Time t);
// The serial index key of a voucher is SerialPrefix(ien, serial) + its id.
std::string SerialPrefix(std::string_view ien, std::string_view serial);
std::string SerialKey(const Voucher& v);
std::string RequestKey(const Voucher& v);
std::string PinPrefix(std::string_view ien, std::string_view serial, std::string_view org);
std::string PinKey(const Voucher& v);
// The summaries of the serial's vouchers, in index order, from their records.
absl::StatusOr<std::vector<VoucherSummary>> SummariesBySerial(Kv& kv, std::string_view ien,
                                                              std::string_view serial);

// Puts key -> value into `db`. When `key` sorts after every key there (ids and index keys
// that grow: UUIDv7 voucher and request ids, audit-like sequences) it is put with
// MDB_APPEND, which fills a page before starting the next one instead of splitting it in
// half, so such tables take about a third fewer pages and each commit writes fewer; any
// other key is put as usual. Costs one cursor step to the last key.
absl::Status PutGrowing(Kv& kv, Db db, std::string_view key, std::string_view value);

// Writes / removes the serial, organization-time and request index entries of `v` (not its
// pin entry). Removing absent entries is not an error.
absl::Status PutVoucherIndexes(Kv& kv, const Voucher& v);
absl::Status DeleteVoucherIndexes(Kv& kv, const Voucher& v);

// An inserted voucher makes its pin entry unless there is one (or it is archived or
// superseded).
absl::Status AddPin(Kv& kv, const Voucher& v);
// Makes the pin entry of v's (serial, organization, PDC) say whether a voucher that is
// neither archived nor superseded has that pin.
absl::Status RecomputePin(Kv& kv, const Voucher& v);
// Brings every index in step after the voucher `old` (null: there was none) became `v`.
absl::Status UpdateVoucherIndexes(Kv& kv, const Voucher* old, const Voucher& v);

// The rest of every key of index `db` that starts with `prefix` (voucher ids), in key order.
absl::StatusOr<std::vector<std::string>> KeySuffixes(Kv& kv, Db db, std::string_view prefix);

// Visits the keys of index `db` that start with `prefix`; fn(suffix) returns false to stop.
absl::Status ScanPrefix(Kv& kv, Db db, std::string_view prefix,
                        const std::function<bool(std::string_view)>& fn);

// Every value under `prefix` in index `db`, decoded as a T, with the rest of its key (the
// part after the prefix) in `key_rest`. kDataLoss names the entry that does not decode.
template <typename T>
absl::StatusOr<std::vector<T>> DecodeIndexRange(Kv& kv, Db db, std::string_view prefix,
                                                std::string_view what, std::string T::*key_rest) {
  std::vector<T> out;
  MASA_ASSIGN_OR_RETURN(auto cursor, Cursor::Open(kv, db));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek(prefix));
  while (more && cursor.key().substr(0, prefix.size()) == prefix) {
    T value;
    absl::Status st = Decode(cursor.value(), &value);
    if (!st.ok()) {
      return absl::DataLossError(
          absl::StrCat(Sv(what), " entry ", absl::CEscape(Sv(cursor.key())), ": ", st.message()));
    }
    value.*key_rest = std::string(cursor.key().substr(prefix.size()));
    out.push_back(std::move(value));
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return out;
}

}  // namespace masa::store::internal
