#include "store/internal/indexes.h"

#include <algorithm>
#include <utility>

#include "store/internal/stored_form.h"
#include "store/internal/txn.h"
#include "store/store.h"

namespace masa::store {
namespace internal {
namespace {

std::string Sep() { return std::string(1, '\0'); }

absl::Status PutIndexes(Kv& kv, const Voucher& v) {
  // Keys only (schema 9): a serial's new entry lands where its earlier ones end, a page of
  // its own for each serial of a request once the serial has a few vouchers, so the entry's
  // size decides how many pages a request rewrites. With the 100-byte summary they held
  // before, that was a page per voucher; the rare checks that need summaries read the
  // records instead (SummariesBySerial).
  MASA_RETURN_IF_ERROR(kv.Put(kIdxVoucherSerial, SerialKey(v), ""));
  MASA_RETURN_IF_ERROR(PutGrowing(kv, kIdxVoucherOrgTime, OrgTimeKey(v), ""));
  return PutGrowing(kv, kIdxVoucherRequest, RequestKey(v), "");
}

// Writes the pin entry `key`, naming `voucher_id`, unless there is one.
absl::Status EnsurePin(Kv& kv, const std::string& key, const std::string& voucher_id) {
  auto current = kv.Get(kIdxSerialPin, key);
  if (current.ok()) return absl::OkStatus();
  if (!absl::IsNotFound(current.status())) return current.status();
  SerialPin pin;
  pin.voucher_id = voucher_id;
  return kv.Put(kIdxSerialPin, key, Encode(pin));
}

}  // namespace

absl::Status PutGrowing(Kv& kv, Db db, std::string_view key, std::string_view value) {
  MASA_ASSIGN_OR_RETURN(bool grows, kv.KeyGrows(db, key));
  return kv.Put(db, key, value, grows);
}

uint64_t OrgTimeOrder(absl::Time t) {
  return static_cast<uint64_t>(absl::ToUnixNanos(t)) ^ (uint64_t{1} << 63);
}

std::string OrgTimeKey(const Voucher& v) {
  return absl::StrCat(v.organization_id, Sep(), BigEndian64(OrgTimeOrder(v.requested_at)), v.id);
}
std::string SerialPrefix(std::string_view ien, std::string_view serial) {
  return absl::StrCat(Sv(ien), Sep(), Sv(serial), Sep());
}
std::string SerialKey(const Voucher& v) { return SerialPrefix(v.ien, v.serial_number) + v.id; }
std::string RequestKey(const Voucher& v) { return absl::StrCat(v.request_id, Sep(), v.id); }
std::string PinPrefix(std::string_view ien, std::string_view serial, std::string_view org) {
  return absl::StrCat(Sv(ien), Sep(), Sv(serial), Sep(), Sv(org), Sep());
}
std::string PinKey(const Voucher& v) {
  return PinPrefix(v.ien, v.serial_number, v.organization_id) + v.pdc_sha256;
}

absl::StatusOr<std::vector<VoucherSummary>> SummariesBySerial(Kv& kv, std::string_view ien,
                                                              std::string_view serial) {
  MASA_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                        KeySuffixes(kv, kIdxVoucherSerial, SerialPrefix(ien, serial)));
  std::vector<VoucherSummary> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    auto bytes = kv.Get(kVouchers, id);
    if (absl::IsNotFound(bytes.status())) {
      return absl::DataLossError(absl::StrCat("serial index entry of ", Sv(serial),
                                              " names voucher ", absl::CEscape(id),
                                              ", which is not stored"));
    }
    if (!bytes.ok()) return bytes.status();
    MASA_ASSIGN_OR_RETURN(Voucher v, DecodeRecord<Voucher>(*bytes, id));
    out.push_back({.id = id,
                   .organization_id = std::move(v.organization_id),
                   .status = std::move(v.status),
                   .expires_at = v.expires_at,
                   .archived_at = v.archived_at,
                   .pdc_sha256 = std::move(v.pdc_sha256),
                   .superseded_at = v.superseded_at});
  }
  return out;
}

absl::Status PutVoucherIndexes(Kv& kv, const Voucher& v) { return PutIndexes(kv, v); }

absl::Status DeleteVoucherIndexes(Kv& kv, const Voucher& v) {
  for (auto [db, key] :
       {std::pair{kIdxVoucherSerial, SerialKey(v)}, std::pair{kIdxVoucherOrgTime, OrgTimeKey(v)},
        std::pair{kIdxVoucherRequest, RequestKey(v)}}) {
    absl::Status st = kv.Del(db, key);
    if (!st.ok() && !absl::IsNotFound(st)) return st;
  }
  return absl::OkStatus();
}

absl::Status AddPin(Kv& kv, const Voucher& v) {
  return v.archived_at || v.superseded_at ? absl::OkStatus() : EnsurePin(kv, PinKey(v), v.id);
}

// Reads the serial's summaries, so it runs when a voucher changes or goes, which is rare;
// an insert only looks the entry up (AddPin).
absl::Status RecomputePin(Kv& kv, const Voucher& v) {
  MASA_ASSIGN_OR_RETURN(auto summaries, SummariesBySerial(kv, v.ien, v.serial_number));
  auto holder = std::find_if(summaries.begin(), summaries.end(), [&](const VoucherSummary& s) {
    return s.organization_id == v.organization_id && s.pdc_sha256 == v.pdc_sha256 &&
           !s.archived_at && !s.superseded_at;
  });
  if (holder != summaries.end()) return EnsurePin(kv, PinKey(v), holder->id);
  absl::Status st = kv.Del(kIdxSerialPin, PinKey(v));
  return absl::IsNotFound(st) ? absl::OkStatus() : st;
}

absl::Status UpdateVoucherIndexes(Kv& kv, const Voucher* old, const Voucher& v) {
  if (old == nullptr) {
    MASA_RETURN_IF_ERROR(PutIndexes(kv, v));
    return AddPin(kv, v);
  }
  MASA_RETURN_IF_ERROR(DeleteVoucherIndexes(kv, *old));
  MASA_RETURN_IF_ERROR(PutIndexes(kv, v));
  if (PinKey(*old) != PinKey(v)) MASA_RETURN_IF_ERROR(RecomputePin(kv, *old));
  return RecomputePin(kv, v);
}

absl::StatusOr<std::vector<std::string>> KeySuffixes(Kv& kv, Db db, std::string_view prefix) {
  std::vector<std::string> out;
  MASA_RETURN_IF_ERROR(ScanPrefix(kv, db, prefix, [&](std::string_view suffix) {
    out.emplace_back(suffix);
    return true;
  }));
  return out;
}

absl::Status ScanPrefix(Kv& kv, Db db, std::string_view prefix,
                        const std::function<bool(std::string_view)>& fn) {
  MASA_ASSIGN_OR_RETURN(auto cursor, Cursor::Open(kv, db));
  MASA_ASSIGN_OR_RETURN(bool more,
                        cursor.Seek(prefix.empty() ? std::string_view("\0", 1) : prefix));
  while (more && cursor.key().substr(0, prefix.size()) == prefix) {
    if (!fn(cursor.key().substr(prefix.size()))) break;
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return absl::OkStatus();
}

}  // namespace internal

// ---------------------------------------------------------------------------------------
// Reader: the index queries

namespace {

// The vouchers named by `ids`, in that order.
absl::StatusOr<std::vector<Voucher>> GetAll(const Reader& reader,
                                            const std::vector<std::string>& ids) {
  std::vector<Voucher> out;
  for (const auto& id : ids) {
    MASA_ASSIGN_OR_RETURN(Voucher v, reader.Get<Voucher>(id));
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<Voucher>> Reader::VouchersBySerial(std::string_view ien,
                                                              std::string_view serial) const {
  MASA_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                        internal::KeySuffixes(*txn_->kv, internal::kIdxVoucherSerial,
                                              internal::SerialPrefix(ien, serial)));
  return GetAll(*this, ids);
}

absl::StatusOr<std::vector<VoucherSummary>> Reader::VoucherSummariesBySerial(
    std::string_view ien, std::string_view serial) const {
  return internal::SummariesBySerial(*txn_->kv, ien, serial);
}

absl::StatusOr<std::vector<SerialPin>> Reader::PinsBySerial(std::string_view ien,
                                                            std::string_view serial,
                                                            std::string_view org) const {
  return internal::DecodeIndexRange(*txn_->kv, internal::kIdxSerialPin,
                                    internal::PinPrefix(ien, serial, org), "pin index",
                                    &SerialPin::pdc_sha256);
}

absl::StatusOr<std::vector<Voucher>> Reader::VouchersByRequest(std::string_view request_id) const {
  MASA_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                        internal::KeySuffixes(*txn_->kv, internal::kIdxVoucherRequest,
                                              absl::StrCat(Sv(request_id), std::string(1, '\0'))));
  return GetAll(*this, ids);
}

absl::StatusOr<std::vector<Voucher>> Reader::VouchersByOrganization(std::string_view org,
                                                                    absl::Time from, absl::Time to,
                                                                    size_t limit) const {
  std::string prefix = absl::StrCat(Sv(org), std::string(1, '\0'));
  Voucher probe;
  probe.organization_id = std::string(org);
  probe.requested_at = from;
  std::string start = internal::OrgTimeKey(probe);
  const uint64_t to_order = internal::OrgTimeOrder(to);
  std::vector<std::string> ids;
  MASA_ASSIGN_OR_RETURN(auto cursor,
                        internal::Cursor::Open(*txn_->kv, internal::kIdxVoucherOrgTime));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek(start));
  while (more && ids.size() < limit && cursor.key().substr(0, prefix.size()) == prefix) {
    std::string_view rest = cursor.key().substr(prefix.size());
    if (rest.size() < 8) return absl::DataLossError("malformed organization index key");
    if (internal::ReadBigEndian64(rest) >= to_order && to != absl::InfiniteFuture()) break;
    ids.emplace_back(rest.substr(8));
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return GetAll(*this, ids);
}

}  // namespace masa::store
